#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sweep/walker.hpp"

namespace pycache_clean::cli {

// A live one-line counter on stderr (directories visited, and what the
// summary counts: `__pycache__` directories for a sweep, cache files for
// `check`) for a walk that runs longer than about half a second, on a
// terminal only. It erases itself when the walk ends; log messages erase and
// redraw it.
class Progress {
 public:
  enum class Counts { cache_directories, cache_files };
  // Shows nothing unless `enabled` (stderr is a terminal and not -q).
  Progress(const WalkCounters& counters, bool enabled, Counts counts = Counts::cache_directories);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

 private:
  void run();
  const WalkCounters& m_counters;
  std::chrono::steady_clock::time_point m_start;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace pycache_clean::cli
