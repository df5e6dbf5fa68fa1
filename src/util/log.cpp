// The logging facade's state: a threshold and a sink, both atomic, so that a
// message from any thread sees either the old sink or the new one.
#include "util/log.hpp"

#include <atomic>
#include <cstdio>

namespace pycache_clean {

namespace {

std::atomic<int> g_threshold{static_cast<int>(LogLevel::info)};
std::atomic<LogSink> g_sink{nullptr};

}  // namespace

bool log_enabled(LogLevel level) {
  return static_cast<int>(level) >= g_threshold.load(std::memory_order_relaxed);
}

void log_write(LogLevel level, const std::string& message) {
  if (LogSink sink = g_sink.load()) {
    sink(level, message);
    return;
  }
  std::fprintf(stderr, "pycache-clean: %s\n", message.c_str());
}

void set_log_sink(LogLevel threshold, LogSink sink) {
  g_sink = sink;
  g_threshold = static_cast<int>(threshold);
}

}  // namespace pycache_clean
