#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "fs/fs_ops.hpp"

namespace pycache_clean {

// Which list of a report a problem belongs to.
enum class ProblemKind { kept, unreadable, bad_root, link };

// What a walk had to leave (kept, unreadable, missing), in the order it
// happened, in bounded memory whatever their number: the first
// k_in_memory problems are held, the rest go to an anonymous temporary file
// (removed by the system when closed) and come back through for_each. Where
// no temporary file can be made, they are held in memory after all.
class ProblemLog {
 public:
  static constexpr std::size_t k_in_memory = 256;

  ProblemLog() = default;
  ProblemLog(ProblemLog&&) noexcept = default;
  ProblemLog& operator=(ProblemLog&&) noexcept = default;

  void push_back(PathProblem problem);
  std::size_t size() const { return m_count; }
  bool empty() const { return m_count == 0; }
  // The `i`-th problem, for `i` below min(size(), k_in_memory).
  const PathProblem& operator[](std::size_t i) const { return m_head.at(i); }
  const PathProblem& front() const { return m_head.at(0); }
  // Every problem, in order (those spilled are read back from the file).
  void for_each(const std::function<void(const PathProblem&)>& visit) const;

 private:
  struct CloseFile {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::vector<PathProblem> m_head;
  std::unique_ptr<std::FILE, CloseFile> m_spill;
  bool m_spill_failed = false;
  std::size_t m_count = 0;
};

}  // namespace pycache_clean
