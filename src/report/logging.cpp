// The stderr logger. A small spdlog sink of our own instead of spdlog's
// pattern formatter: the level word is left out for information, -v's
// included (`pycache-clean: [WAIT] ...`), and kept for the rest
// (`pycache-clean: warning: src/__pycache__: Permission denied`), coloured only
// when stderr is a terminal and NO_COLOR is unset; and a live progress line can
// be erased before a message and redrawn after it.
#include "report/logging.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "platform/terminal.hpp"
#include "util/json.hpp"

namespace pycache_clean {

namespace {

std::atomic<void (*)()> g_erase_status{nullptr};
std::atomic<void (*)()> g_redraw_status{nullptr};

// Runs `write` with the status line erased before and redrawn after.
template <typename Write>
void around_status_line(Write write) {
  // Both hooks or neither: they may be unset while this is written.
  auto erase = g_erase_status.load();
  auto redraw = g_redraw_status.load();
  if (!erase || !redraw) erase = redraw = nullptr;
  if (erase) erase();
  write();
  if (redraw) redraw();
}

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StderrSink(bool colour) : m_colour(colour) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string line = "pycache-clean: ";
    // -v's explanations are information too: no level word, as plain info.
    if (msg.level != spdlog::level::info && msg.level != spdlog::level::debug) {
      const char* colour = "";
      switch (msg.level) {
        case spdlog::level::warn:
          colour = "\033[33m";
          break;
        case spdlog::level::err:
        case spdlog::level::critical:
          colour = "\033[1;31m";
          break;
        default:
          colour = "\033[2m";
      }
      auto name = spdlog::level::to_string_view(msg.level);
      if (m_colour) line += colour;
      line.append(name.data(), name.size());
      if (m_colour) line += "\033[0m";
      line += ": ";
    }
    line += terminal_safe(std::string_view(msg.payload.data(), msg.payload.size()));
    line.push_back('\n');
    around_status_line([&] {
      std::fwrite(line.data(), 1, line.size(), stderr);
      std::fflush(stderr);
    });
  }
  void flush_() override { std::fflush(stderr); }

 private:
  bool m_colour;
};

}  // namespace

namespace {

spdlog::level::level_enum spdlog_level(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return spdlog::level::trace;
    case LogLevel::debug:
      return spdlog::level::debug;
    case LogLevel::info:
      return spdlog::level::info;
    case LogLevel::warn:
      return spdlog::level::warn;
    case LogLevel::error:
      break;
  }
  return spdlog::level::err;
}

LogLevel log_level(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return LogLevel::trace;
    case spdlog::level::debug:
      return LogLevel::debug;
    case spdlog::level::info:
      return LogLevel::info;
    case spdlog::level::warn:
      return LogLevel::warn;
    default:
      return LogLevel::error;
  }
}

}  // namespace

void configure_logging(int verbosity, ColourChoice colour) {
  bool coloured = colour == ColourChoice::always ||
                  (colour == ColourChoice::automatic && use_colour(Stream::err));
  auto sink = std::make_shared<StderrSink>(coloured);
  auto logger = std::make_shared<spdlog::logger>("pycache-clean", sink);
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum level = spdlog::level::info;
  if (verbosity < 0) level = spdlog::level::warn;
  if (verbosity == 1) level = spdlog::level::debug;
  if (verbosity >= 2) level = spdlog::level::trace;
  spdlog::set_level(level);
  if (verbosity == 0) spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug etc.
  spdlog::flush_on(spdlog::level::trace);
  set_log_sink(log_level(spdlog::default_logger_raw()->level()),
               [](LogLevel at, const std::string& m) {
                 spdlog::default_logger_raw()->log(spdlog_level(at), "{}", m);
               });
}

void write_stdout_line(const std::string& raw, const std::string& lead) {
  std::string text = lead + terminal_safe(raw);
  around_status_line([&] {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    if (g_erase_status.load()) std::fflush(stdout);  // keep order with the status line
  });
}

void write_stdout(const std::string& raw) {
  std::string text = terminal_safe(raw);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void set_status_line_hooks(void (*erase)(), void (*redraw)()) {
  g_erase_status = erase;
  g_redraw_status = redraw;
}

}  // namespace pycache_clean
