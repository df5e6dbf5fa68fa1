// Entry point: everything, including the error boundary, lives in cli::run.
#include "cli/run.hpp"

int main(int argc, char** argv) {
  return pycache_clean::cli::run(argc, argv);
}
