#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fs/fs_ops.hpp"
#include "platform/process.hpp"

namespace pycache_clean {

// Which trusted caches `check` proves by compiling their source.
enum class VerifyMode {
  none,     // the header and ctime judgement alone
  changed,  // `auto`: caches whose source shows any sign of change since
  all,      // every cache CPython would trust
};

// What compiling a source said about the code a cache holds.
struct CodeComparison {
  enum class Result {
    same,          // equal code objects: the cache runs what the source says
    differs,       // CPython loads other code than the source's (detail: which field, where)
    source_error,  // the source does not compile (detail: the SyntaxError)
    unavailable,   // no interpreter answered (detail: why)
    timed_out,     // the interpreter took longer than the deadline: it was killed
    not_sent,      // the source or body could not be read, or outgrew the cap (detail)
    cache_error,   // the interpreter cannot load the cache itself (detail: its error)
  };
  Result result = Result::unavailable;
  std::string detail;
};

// The places a CPython 3.`minor` interpreter is looked for, in order:
// `python3.X` in each absolute directory of `path_env` (PATH), then under
// `pyenv_root`/versions/3.X.*/bin (newest first), uv's python directory
// under `home`, then system_python_locations(). Never the current directory.
std::vector<std::string> python_candidates(int major, int minor, const std::string& path_env,
                                           const std::string& home, const std::string& pyenv_root);

// Compares the code a cache holds with what CPython makes of its source,
// asking one long-lived interpreter per version and thread (an isolated
// `python3.X -I -S` reading requests on stdin): `marshal.loads` of the cache
// body against `compile(source, name, 'exec', dont_inherit=True,
// optimize=N)`, as importlib's source_to_code does it. Code objects are
// compared, not marshal bytes (reference flags differ). Safe to call from
// many threads; each version's interpreter is found once, its magic number
// checked against the cache's.
class CodeVerifier {
 public:
  CodeVerifier();
  ~CodeVerifier();
  CodeVerifier(const CodeVerifier&) = delete;
  CodeVerifier& operator=(const CodeVerifier&) = delete;

  // Hands bytes to `sink` in pieces of any size; 0, or errno when they
  // could not all be read. FsOps::read_source fits.
  using Bytes = std::function<int(const FsOps::ChunkSink& sink)>;

  // One cache to compare with its source. Both are streamed to the
  // interpreter as they are read (this process holds one piece at a time);
  // past `max_bytes` of either, nothing more is sent and the comparison is
  // not_sent.
  struct Request {
    int major = 3;
    int minor = 0;            // the cache's CPython major.minor
    std::uint32_t magic = 0;  // its magic number
    int opt = 0;              // its optimisation level (0-2)
    std::string_view name;    // the source file's name
    Bytes source;             // the source's bytes
    Bytes body;               // the marshal stream after the cache's header
    std::uint64_t max_bytes = k_max_verified_bytes;
    // How long the interpreter may take to answer once it has everything;
    // then it is killed (a new one serves the next request).
    int timeout_ms = k_default_verify_timeout_ms;
  };
  static constexpr std::uint64_t k_max_verified_bytes = 8u << 20;
  static constexpr int k_default_verify_timeout_ms = 10000;
  CodeComparison compare(const Request& request);

  // Each interpreter used, by version (`3.11` -> its path).
  std::map<std::string, std::string> interpreters() const;

 private:
  // One interpreter of a version: its path, the release it reports
  // (`3.11.7`) and its helpers at rest.
  struct Program {
    std::string path;
    std::string release;
    std::vector<std::unique_ptr<Coprocess>> idle;
  };
  // Every interpreter of a version that reports its magic number, one per
  // release, the first found first: the others are asked only when it finds
  // the code different (another patch release's compiler may lay it out
  // otherwise).
  struct Version {
    bool searched = false;
    std::vector<Program> programs;
  };
  // Searches once per version; false (with `why`) when none answers.
  bool find_programs(int major, int minor, std::uint32_t magic, std::string& why);
  std::unique_ptr<Coprocess> take(int major, int minor, std::size_t program, std::string& why);
  void give_back(int major, int minor, std::size_t program, std::unique_ptr<Coprocess> helper);
  CodeComparison ask(const Request& request, std::size_t program);

  mutable std::mutex m_mutex;
  std::map<std::pair<int, int>, Version> m_versions;
  std::map<std::pair<int, int>, std::uint32_t> m_magic;  // each version's, as caches say
};

}  // namespace pycache_clean
