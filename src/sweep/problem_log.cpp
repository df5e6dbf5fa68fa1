// The list of what a walk had to leave, kept in bounded memory: a tree with
// hundreds of thousands of unreadable caches (another user's, `chmod 000`)
// must not cost memory in proportion (the documented promise: no figure grows
// with the number of findings). Past the first few hundred, problems are
// written to an anonymous temporary file as `ERRNO<TAB>PATH<NUL>` records
// (a path holds no NUL) and read back, in order, only when the report is
// written.
#include "sweep/problem_log.hpp"

#include <cstdlib>
#include <string>

namespace pycache_clean {

void ProblemLog::push_back(PathProblem problem) {
  ++m_count;
  if (m_head.size() < k_in_memory || m_spill_failed) {
    m_head.push_back(std::move(problem));
    return;
  }
  if (!m_spill) {
    m_spill.reset(open_anonymous_temp_file());
    if (!m_spill) {
      m_spill_failed = true;  // keep them after all: a report beats a bound
      m_head.push_back(std::move(problem));
      return;
    }
  }
  std::fprintf(m_spill.get(), "%d\t", problem.error);
  std::fwrite(problem.path.data(), 1, problem.path.size(), m_spill.get());
  std::fputc('\0', m_spill.get());
}

void ProblemLog::for_each(const std::function<void(const PathProblem&)>& visit) const {
  for (const auto& p : m_head) visit(p);
  if (!m_spill) return;
  std::FILE* f = m_spill.get();
  std::fflush(f);
  std::rewind(f);
  PathProblem p;
  std::string number;
  for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) {
    number.clear();
    for (; c != EOF && c != '\t'; c = std::fgetc(f)) number.push_back(static_cast<char>(c));
    p.error = std::atoi(number.c_str());
    p.path.clear();
    for (c = std::fgetc(f); c != EOF && c != '\0'; c = std::fgetc(f))
      p.path.push_back(static_cast<char>(c));
    visit(p);
  }
  std::fseek(f, 0, SEEK_END);  // further problems append
}

}  // namespace pycache_clean
