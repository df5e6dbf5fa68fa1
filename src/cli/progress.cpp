// The progress line. Drawn by one thread that sleeps until the delay has
// passed (PYCACHE_CLEAN_PROGRESS_DELAY_MS overrides the 500 ms, for tests),
// then redraws ten times a second with "\r...\033[K"; the logger erases it
// before each message through set_status_line_hooks.
#include "cli/progress.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "report/logging.hpp"

namespace pycache_clean::cli {

namespace {

std::mutex g_draw_mutex;
const WalkCounters* g_counters = nullptr;
bool g_count_files = false;
bool g_drawn = false;

void draw_locked() {
  if (!g_counters) return;
  auto dirs = g_counters->dirs_visited.load(std::memory_order_relaxed);
  std::string line =
      g_count_files
          ? fmt::format("\r[pycache-clean] {} directories, {} caches checked\033[K", dirs,
                        g_counters->caches_checked.load(std::memory_order_relaxed))
          : fmt::format("\r[pycache-clean] {} directories, {} __pycache__ directories\033[K", dirs,
                        g_counters->caches_found.load(std::memory_order_relaxed));
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  g_drawn = true;
}

void erase_locked() {
  if (!g_drawn) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  g_drawn = false;
}

void erase_hook() {
  g_draw_mutex.lock();  // held until redraw_hook: no redraw in between
  erase_locked();
}

void redraw_hook() {
  draw_locked();
  g_draw_mutex.unlock();
}

std::chrono::milliseconds delay() {
  const char* env = std::getenv("PYCACHE_CLEAN_PROGRESS_DELAY_MS");
  return std::chrono::milliseconds(env ? std::atoi(env) : 500);
}

}  // namespace

Progress::Progress(const WalkCounters& counters, bool enabled, Counts counts)
    : m_counters(counters), m_start(std::chrono::steady_clock::now()) {
  g_count_files = counts == Counts::cache_files;
  if (enabled) m_thread = std::thread([this] { run(); });
}

Progress::~Progress() {
  if (!m_thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

void Progress::run() {
  std::unique_lock<std::mutex> lock(m_mutex);
  // Draw once the delay has passed, even when the walk ended just then.
  auto due = m_start + delay();
  if (m_cv.wait_until(lock, due, [this] { return m_stop; }) &&
      std::chrono::steady_clock::now() < due)
    return;
  {
    std::lock_guard<std::mutex> draw(g_draw_mutex);
    g_counters = &m_counters;
    draw_locked();
  }
  set_status_line_hooks(erase_hook, redraw_hook);
  while (!m_cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return m_stop; })) {
    std::lock_guard<std::mutex> draw(g_draw_mutex);
    draw_locked();
  }
  set_status_line_hooks(nullptr, nullptr);
  std::lock_guard<std::mutex> draw(g_draw_mutex);
  erase_locked();
  g_counters = nullptr;
}

}  // namespace pycache_clean::cli
