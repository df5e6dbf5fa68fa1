# Third-party libraries, all from the distribution (find_package, no downloads).
# The static build uses fmt and spdlog in header-only mode, so the binary needs
# no libfmt/libspdlog at run time (Debian ships no static libfmt).
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)

add_library(pycache_clean_deps INTERFACE)
if(PYCACHE_CLEAN_STATIC)
  get_target_property(_fmt_inc fmt::fmt-header-only INTERFACE_INCLUDE_DIRECTORIES)
  get_target_property(_spd_inc spdlog::spdlog_header_only INTERFACE_INCLUDE_DIRECTORIES)
  target_include_directories(pycache_clean_deps SYSTEM INTERFACE ${_fmt_inc} ${_spd_inc})
  target_compile_definitions(pycache_clean_deps INTERFACE FMT_HEADER_ONLY=1 SPDLOG_FMT_EXTERNAL)
  target_link_libraries(pycache_clean_deps INTERFACE Threads::Threads)
else()
  target_link_libraries(pycache_clean_deps INTERFACE spdlog::spdlog fmt::fmt Threads::Threads)
endif()
