# Third-party libraries, all from the distribution (find_package, no downloads).
# The static build compiles fmt's and spdlog's implementation headers once,
# in src/util/libraries.cpp (PYCACHE_CLEAN_BUNDLED_LIBS; the other files see
# declarations only), so the binary needs no libfmt/libspdlog at run time
# (Debian ships no static libfmt). Cross builds use them header-only.
find_package(Threads REQUIRED)
add_library(pycache_clean_deps INTERFACE)

if(CMAKE_CROSSCOMPILING)
  # Cross builds (Windows, Linux aarch64): CLI11, fmt and spdlog are used
  # header-only from Debian's -dev packages. Their directories are mirrored
  # into the build tree so that the cross compiler sees them without the rest
  # of /usr/include (the host's glibc headers must never reach a cross compile).
  set(PYCACHE_CLEAN_HOST_INCLUDE /usr/include CACHE PATH "Where CLI11/fmt/spdlog headers are")
  set(_mirror ${PROJECT_BINARY_DIR}/host-headers)
  file(MAKE_DIRECTORY ${_mirror})
  foreach(_dir CLI fmt spdlog toml++)
    if(NOT EXISTS ${PYCACHE_CLEAN_HOST_INCLUDE}/${_dir})
      message(FATAL_ERROR "${PYCACHE_CLEAN_HOST_INCLUDE}/${_dir} is missing: "
                          "apt-get install libcli11-dev libfmt-dev libspdlog-dev libtomlplusplus-dev")
    endif()
    if(NOT EXISTS ${_mirror}/${_dir})
      file(CREATE_LINK ${PYCACHE_CLEAN_HOST_INCLUDE}/${_dir} ${_mirror}/${_dir} SYMBOLIC)
    endif()
  endforeach()
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 SYSTEM INTERFACE ${_mirror})
  target_include_directories(pycache_clean_deps SYSTEM INTERFACE ${_mirror})
  target_compile_definitions(pycache_clean_deps INTERFACE FMT_HEADER_ONLY=1 SPDLOG_FMT_EXTERNAL)
  target_link_libraries(pycache_clean_deps INTERFACE Threads::Threads)
  return()
endif()

find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
# toml++ (libtomlplusplus-dev): its headers only; src/config/config.cpp compiles
# the implementation once (TOML_IMPLEMENTATION), so no library is linked.
find_path(PYCACHE_CLEAN_TOMLPP_INCLUDE toml++/toml.h)
if(NOT PYCACHE_CLEAN_TOMLPP_INCLUDE)
  message(FATAL_ERROR "toml++/toml.h is missing: apt-get install libtomlplusplus-dev")
endif()
target_include_directories(pycache_clean_deps SYSTEM INTERFACE ${PYCACHE_CLEAN_TOMLPP_INCLUDE})
if(PYCACHE_CLEAN_STATIC)
  get_target_property(_fmt_inc fmt::fmt-header-only INTERFACE_INCLUDE_DIRECTORIES)
  get_target_property(_spd_inc spdlog::spdlog_header_only INTERFACE_INCLUDE_DIRECTORIES)
  target_include_directories(pycache_clean_deps SYSTEM INTERFACE ${_fmt_inc} ${_spd_inc})
  target_compile_definitions(pycache_clean_deps INTERFACE PYCACHE_CLEAN_BUNDLED_LIBS
                             SPDLOG_COMPILED_LIB SPDLOG_FMT_EXTERNAL)
  target_link_libraries(pycache_clean_deps INTERFACE Threads::Threads)
else()
  target_link_libraries(pycache_clean_deps INTERFACE spdlog::spdlog fmt::fmt Threads::Threads)
endif()
