// Proof by compilation: does a cache hold the code its source compiles to?
//
// Headers and ctimes only hint that a source changed after its cache was
// written; CPython itself can say whether it matters. Per version one
// interpreter is found (PATH, pyenv, uv, /usr/local/bin, /usr/bin; never the
// current directory) and started isolated (`-I -S -B`: no environment
// variables, no site, no user directory, nothing from the current directory
// on sys.path). It announces its bytecode magic, which must be the cache's,
// then answers one request per line: the cache body and the source bytes go
// over its stdin, and it compares `marshal.loads(body)` with `compile(source,
// ...)` as importlib's SourceLoader.source_to_code does
// (Lib/importlib/_bootstrap_external.py: `compile(data, path, 'exec',
// dont_inherit=True, optimize=...)`). Code objects compare by what they run
// (code_richcompare: bytecode, constants, names, line table), not by the file
// name they were compiled under, so a copied tree's caches compare equal. The
// source is read by this process through the walker's handles and sent as
// bytes: the interpreter opens no file of the tree.
#include "check/code_verifier.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "fs/fs_ops.hpp"
#include "platform/path.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

// The helper, for CPython 3.6 and later. It first says its magic number and
// release (`M3495 3.11.7`). Requests: two little-endian 32-bit numbers
// (optimisation level, name length) and the name; then the source and the
// body, each as pieces (a 32-bit length, the bytes) ended by an empty one;
// then `C` (compare) or `X` (the sender gave up: the source could not be
// read, or grew past the cap). Answers: S (the same code), D<what> (differs:
// which field of which function), C<error> (the source does not compile),
// L<error> (the cache does not load), X (given up).
//
// Code is compared field by field, recursively into nested code objects:
// bytecode, arguments, flags, locals, names, the exception table, the line
// of each instruction (co_lines, or findlinestarts before 3.10: what
// tracebacks, inspect and pytest show; column positions, which patch
// releases encode differently, are not compared), and constants by value
// and exact type, a float or complex by its bytes (so a NaN equals itself
// and 0.0 is not -0.0), a frozenset as a set (its order follows string
// hashing, which differs from process to process, as does whether marshal
// wrote a string as interned). `==` on code objects misses line numbers
// before 3.11 and never equals a NaN; where it holds (and, before 3.11,
// the lines too), every field does, so it is the fast path.
constexpr const char* k_helper = R"(import sys, marshal, struct
from importlib.util import MAGIC_NUMBER
i, o = sys.stdin.buffer, sys.stdout.buffer
o.write(b'M%d %d.%d.%d\n' % ((int.from_bytes(MAGIC_NUMBER[:2], 'little'),) + sys.version_info[:3]))
o.flush()
code_type = type(compile('', '', 'exec'))
FIELDS = (('co_code', 'bytecode'), ('co_argcount', 'arguments'),
          ('co_posonlyargcount', 'arguments'), ('co_kwonlyargcount', 'arguments'),
          ('co_flags', 'flags'), ('co_nlocals', 'locals'), ('co_names', 'names'),
          ('co_varnames', 'local names'), ('co_freevars', 'free names'),
          ('co_cellvars', 'cell names'), ('co_name', 'name'), ('co_exceptiontable', 'exception table'))
def lines(c):
    if hasattr(c, 'co_lines'):
        return list(c.co_lines())
    import dis
    return list(dis.findlinestarts(c))
def same_lines(a, b):
    if a.co_firstlineno != b.co_firstlineno or lines(a) != lines(b):
        return False
    ca = [c for c in a.co_consts if isinstance(c, code_type)]
    cb = [c for c in b.co_consts if isinstance(c, code_type)]
    return len(ca) == len(cb) and all(same_lines(x, y) for x, y in zip(ca, cb))
EQ_HAS_LINES = sys.version_info >= (3, 11)
def canon(x):
    t = type(x)
    if t is float or t is complex:
        return (t.__name__, marshal.dumps(x))
    if t is tuple:
        return ('tuple',) + tuple(canon(e) for e in x)
    if t is frozenset:
        return ('frozenset',) + tuple(sorted(canon(e) for e in x))
    return (t.__name__, x)
def same_const(x, y):
    if isinstance(x, code_type) and isinstance(y, code_type):
        return diff(x, y) is None
    return canon(x) == canon(y)
def diff(a, b):
    where = getattr(a, 'co_qualname', a.co_name)
    for attr, what in FIELDS:
        if getattr(a, attr, None) != getattr(b, attr, None):
            return '%s of %s' % (what, where)
    if a.co_firstlineno != b.co_firstlineno or lines(a) != lines(b):
        return 'line numbers of %s' % where
    if len(a.co_consts) != len(b.co_consts):
        return 'constants of %s' % where
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, code_type) and isinstance(y, code_type):
            d = diff(x, y)
            if d:
                return d
        elif not same_const(x, y):
            return 'constants of %s' % where
    return None
def take(n):
    b = i.read(n)
    if len(b) != n:
        raise SystemExit(0)
    return b
def pieces():
    parts = []
    while True:
        n, = struct.unpack('<I', take(4))
        if not n:
            return b''.join(parts)
        parts.append(take(n))
while True:
    h = i.read(8)
    if len(h) < 8:
        break
    opt, nn = struct.unpack('<II', h)
    name = take(nn).decode('utf-8', 'replace')
    source, body = pieces(), pieces()
    if take(1) != b'C':
        o.write(b'X\n')
        o.flush()
        continue
    try:
        cached = marshal.loads(body)
        if not isinstance(cached, code_type):
            raise ImportError('Non-code object')
    except Exception as e:
        r = 'L%s: %s' % (type(e).__name__, e)
    else:
        try:
            fresh = compile(source, name, 'exec', dont_inherit=True, optimize=opt)
        except Exception as e:
            r = 'C%s: %s' % (type(e).__name__, e)
        else:
            # Fast: == holds only if every field does (from 3.11 columns
            # too, and constants by exact type); before 3.11 it skips lines.
            if cached == fresh and (EQ_HAS_LINES or same_lines(cached, fresh)):
                d = None
            else:
                d = diff(cached, fresh)
            r = 'S' if d is None else 'D' + d
    o.write(r.replace('\n', ' ').encode('utf-8', 'replace') + b'\n')
    o.flush()
)";

// How long an interpreter may take to start and say its magic number.
constexpr int k_start_timeout_ms = 20000;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

void put_u32(std::string& out, std::size_t n) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

// Directories `root`/*/`sub` that exist, newest version name first.
std::vector<std::string> versioned_dirs(const std::string& root, const std::string& prefix,
                                        const std::string& sub) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(std::filesystem::u8path(root), ec), end;
       !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().u8string();
    if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(name);
  }
  // "3.11.10" after "3.11.9": compare the numbers, not the text.
  auto key = [](const std::string& s) {
    std::vector<long> parts;
    for (std::size_t i = 0; i < s.size();) {
      if (std::isdigit(static_cast<unsigned char>(s[i]))) {
        std::size_t j = i;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        parts.push_back(std::stol(s.substr(i, std::min<std::size_t>(j - i, 9))));
        i = j;
      } else {
        ++i;
      }
    }
    return parts;
  };
  std::sort(names.begin(), names.end(),
            [&](const std::string& a, const std::string& b) { return key(a) > key(b); });
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(root + "/" + n + sub);
  return out;
}

}  // namespace

std::vector<std::string> python_candidates(int major, int minor, const std::string& path_env,
                                           const std::string& home, const std::string& pyenv_root) {
  std::string exe = fmt::format("python{}.{}{}", major, minor, executable_suffix());
  std::vector<std::string> dirs;
  char sep = path_list_separator();
  for (std::size_t start = 0; start <= path_env.size();) {
    std::size_t end = path_env.find(sep, start);
    if (end == std::string::npos) end = path_env.size();
    std::string dir = path_env.substr(start, end - start);
    // "" and "." would mean the tree being checked; pyenv's shims (slow
    // scripts) give way to the versions they stand for, searched below.
    if (is_absolute_path(dir) && (pyenv_root.empty() || dir != pyenv_root + "/shims"))
      dirs.push_back(dir);
    start = end + 1;
  }
  std::string version = fmt::format("{}.{}", major, minor);
  if (!pyenv_root.empty())
    for (auto& d : versioned_dirs(pyenv_root + "/versions", version + ".", "/bin"))
      dirs.push_back(d);
  if (!home.empty())
    for (auto& d : versioned_dirs(home + "/.local/share/uv/python",
                                  fmt::format("cpython-{}.", version), "/bin"))
      dirs.push_back(d);
  std::vector<std::string> out;
  out.reserve(dirs.size());
  for (const auto& d : dirs) out.push_back(d + "/" + exe);
  for (auto& p : system_python_locations(major, minor)) out.push_back(p);
  std::vector<std::string> unique;
  for (auto& c : out)
    if (std::find(unique.begin(), unique.end(), c) == unique.end()) unique.push_back(c);
  return unique;
}

CodeVerifier::CodeVerifier() = default;
CodeVerifier::~CodeVerifier() = default;

namespace {

// Starts the helper under `path`: the helper and the release it reports,
// or null when it does not start or is not of `magic`.
std::unique_ptr<Coprocess> start_helper(const std::string& path, std::uint32_t magic,
                                        std::string& release) {
  auto started = start_coprocess({path, "-I", "-S", "-B", "-c", k_helper});
  if (!started) return nullptr;
  std::unique_ptr<Coprocess> helper = *std::move(started);
  std::string line;
  if (!helper->read_line(line, k_start_timeout_ms)) return nullptr;
  std::string expected = fmt::format("M{} ", magic);
  if (line.compare(0, expected.size(), expected) != 0) {
    log_debug("{}: bytecode magic {}, not {}: not used", path, line.substr(1), magic);
    return nullptr;
  }
  release = line.substr(expected.size());
  return helper;
}

}  // namespace

bool CodeVerifier::find_programs(int major, int minor, std::uint32_t magic, std::string& why) {
  std::string version = fmt::format("{}.{}", major, minor);
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    Version& v = m_versions[{major, minor}];
    if (v.searched) {
      if (v.programs.empty()) why = "no python" + version + " found";
      return !v.programs.empty();
    }
  }
  // Outside the lock (another thread may search too; the first to finish
  // is kept). Each candidate started here stays as a helper at rest.
  std::string home = env_or("HOME", env_or("USERPROFILE", ""));
  std::string pyenv = env_or("PYENV_ROOT", home.empty() ? "" : home + "/.pyenv");
  std::vector<Program> found;
  for (const auto& candidate : python_candidates(major, minor, env_or("PATH", ""), home, pyenv)) {
    if (!is_executable_file(candidate)) continue;
    std::string release;
    auto helper = start_helper(candidate, magic, release);
    if (!helper || std::any_of(found.begin(), found.end(),
                               [&](const Program& p) { return p.release == release; }))
      continue;
    log_debug("verifying CPython {} caches by compiling with {} ({}){}", version, candidate,
              release, found.empty() ? "" : ", where the first finds the code different");
    found.push_back(Program{candidate, release, {}});
    found.back().idle.push_back(std::move(helper));
  }
  std::lock_guard<std::mutex> lock(m_mutex);
  Version& v = m_versions[{major, minor}];
  if (!v.searched) {
    v.searched = true;
    v.programs = std::move(found);
    if (v.programs.empty())
      log_warn(
          "no python{} found (PATH, pyenv, uv, {}): its caches are judged without compiling "
          "(unverified)",
          version, system_python_locations(major, minor).front());
  }
  if (v.programs.empty()) why = "no python" + version + " found";
  return !v.programs.empty();
}

std::unique_ptr<Coprocess> CodeVerifier::take(int major, int minor, std::size_t program,
                                              std::string& why) {
  std::string path;
  std::uint32_t magic = 0;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    Program& p = m_versions[{major, minor}].programs.at(program);
    if (!p.idle.empty()) {
      auto helper = std::move(p.idle.back());
      p.idle.pop_back();
      return helper;
    }
    path = p.path;
    magic = m_magic[{major, minor}];
  }
  std::string release;
  auto helper = start_helper(path, magic, release);
  if (!helper) why = path + " did not start";
  return helper;
}

void CodeVerifier::give_back(int major, int minor, std::size_t program,
                             std::unique_ptr<Coprocess> helper) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_versions[{major, minor}].programs.at(program).idle.push_back(std::move(helper));
}

namespace {

// Sends one request's source and body to `helper` as pieces, never holding
// more than the piece at hand. Says whether the helper took it all
// (`helper_gone` otherwise) and why the request was given up, if it was.
struct Streamed {
  bool helper_gone = false;
  std::string given_up;  // the source or body could not be read, or grew past the cap
};

Streamed stream_request(Coprocess& helper, const CodeVerifier::Request& r) {
  Streamed s;
  std::string head;
  put_u32(head, static_cast<std::size_t>(r.opt));
  put_u32(head, r.name.size());
  head.append(r.name);
  s.helper_gone = !helper.send(head);
  for (const auto& item : {std::pair{"source", &r.source}, std::pair{"cache", &r.body}}) {
    const char* what = item.first;
    const CodeVerifier::Bytes* bytes = item.second;
    std::uint64_t sent = 0;
    int err = (*bytes)([&](const char* data, std::size_t n) {
      if (s.helper_gone || !s.given_up.empty() || n == 0) return;
      if (sent + n > r.max_bytes) {
        s.given_up = fmt::format("{} larger than {} MiB", what, r.max_bytes >> 20);
        return;
      }
      std::string length;
      put_u32(length, n);
      s.helper_gone = !helper.send(length) || !helper.send(std::string_view(data, n));
      sent += n;
    });
    if (err != 0 && s.given_up.empty()) s.given_up = fmt::format("{}: {}", what, errno_text(err));
    std::string end;
    put_u32(end, 0);
    s.helper_gone = s.helper_gone || !helper.send(end);
  }
  s.helper_gone = s.helper_gone || !helper.send(s.given_up.empty() ? "C" : "X");
  return s;
}

}  // namespace

CodeComparison CodeVerifier::ask(const Request& r, std::size_t program) {
  using Result = CodeComparison::Result;
  std::string why;
  std::unique_ptr<Coprocess> helper = take(r.major, r.minor, program, why);
  if (!helper) return {Result::unavailable, why};
  Streamed sent = stream_request(*helper, r);
  std::string answer;
  auto start = std::chrono::steady_clock::now();
  int wait_ms = r.timeout_ms > 0 ? r.timeout_ms : -1;  // 0: no deadline
  if (sent.helper_gone || !helper->read_line(answer, wait_ms) || answer.empty()) {
    // The helper is dropped (killed) here; the next request starts another.
    if (!sent.helper_gone && wait_ms > 0 &&
        std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(wait_ms))
      return {Result::timed_out,
              fmt::format("compile timed out after {} s", r.timeout_ms / 1000.0)};
    return {Result::unavailable, fmt::format("python{}.{} stopped answering", r.major, r.minor)};
  }
  give_back(r.major, r.minor, program, std::move(helper));
  if (!sent.given_up.empty()) return {Result::not_sent, sent.given_up};
  switch (answer[0]) {
    case 'S':
      return {Result::same, ""};
    case 'D':
      return {Result::differs, answer.substr(1)};
    case 'C':
      return {Result::source_error, answer.substr(1)};
    case 'L':
      return {Result::cache_error, answer.substr(1)};
    default:
      return {Result::unavailable, "unexpected answer: " + answer};
  }
}

CodeComparison CodeVerifier::compare(const Request& r) {
  using Result = CodeComparison::Result;
  std::string why;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_magic[{r.major, r.minor}] = r.magic;
  }
  if (!find_programs(r.major, r.minor, r.magic, why)) return {Result::unavailable, why};
  CodeComparison first = ask(r, 0);
  if (first.result != Result::differs) return first;
  // Another patch release of this version (its compiler may lay the same
  // source out otherwise) may be the one that wrote the cache.
  std::size_t count = 0;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    count = m_versions[{r.major, r.minor}].programs.size();
  }
  for (std::size_t i = 1; i < count; ++i) {
    CodeComparison other = ask(r, i);
    if (other.result == Result::same) return other;
  }
  return first;
}

std::map<std::string, std::string> CodeVerifier::interpreters() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  std::map<std::string, std::string> out;
  for (const auto& [version, v] : m_versions)
    if (!v.programs.empty())
      out[fmt::format("{}.{}", version.first, version.second)] = v.programs.front().path;
  return out;
}

}  // namespace pycache_clean
