// The out-of-line parts of fmt and spdlog, compiled once for the static
// build. Debian ships both libraries' implementation headers (fmt's
// format-inl.h, spdlog's *-inl.h) but no static archive; compiling them in
// every translation unit (FMT_HEADER_ONLY, spdlog's header-only mode) made
// each file of ours pay for them. With PYCACHE_CLEAN_BUNDLED_LIBS the other
// files see only declarations (spdlog's SPDLOG_COMPILED_LIB mode) and this
// file supplies the definitions and the template instances they use. Builds
// that link Debian's shared libraries, or that use the libraries header-only
// (cross builds), compile nothing here.
#ifdef PYCACHE_CLEAN_BUNDLED_LIBS

#include <fmt/format-inl.h>

#include <mutex>

#include <spdlog/cfg/helpers-inl.h>
#include <spdlog/common-inl.h>
#include <spdlog/details/backtracer-inl.h>
#include <spdlog/details/log_msg-inl.h>
#include <spdlog/details/log_msg_buffer-inl.h>
#include <spdlog/details/os-inl.h>
#include <spdlog/details/periodic_worker-inl.h>
#include <spdlog/details/registry-inl.h>
#include <spdlog/logger-inl.h>
#include <spdlog/pattern_formatter-inl.h>
#include <spdlog/sinks/ansicolor_sink-inl.h>
#include <spdlog/sinks/base_sink-inl.h>
#include <spdlog/sinks/sink-inl.h>
#include <spdlog/spdlog-inl.h>

// fmt: the instances that format.h declares extern or leaves undefined.
FMT_BEGIN_NAMESPACE
namespace detail {
template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
template void buffer<char>::append(const char*, const char*);
template void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                         locale_ref);
}  // namespace detail
FMT_END_NAMESPACE

// spdlog: the sinks we instantiate (ours derives from base_sink<std::mutex>;
// the registry's default logger writes through the colour console sink).
template class spdlog::sinks::base_sink<std::mutex>;
template class spdlog::sinks::ansicolor_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stdout_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stderr_sink<spdlog::details::console_mutex>;

#endif  // PYCACHE_CLEAN_BUNDLED_LIBS
