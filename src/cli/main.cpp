// Entry point: everything, including the error boundary, lives in cli::run.
#include "command.hpp"

int main(int argc, char** argv) {
  return pycache_clean::cli::run(argc, argv);
}
