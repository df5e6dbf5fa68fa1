# ASan + UBSan for every target when PYCACHE_CLEAN_SANITIZE is on. Sanitized
# binaries cannot be linked fully static, so the option also turns that off.
add_library(pycache_clean_sanitizers INTERFACE)
if(PYCACHE_CLEAN_SANITIZE)
  set(PYCACHE_CLEAN_STATIC OFF CACHE BOOL "" FORCE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(pycache_clean_sanitizers INTERFACE ${_san})
  target_link_options(pycache_clean_sanitizers INTERFACE ${_san})
endif()

# libFuzzer targets (tests/fuzz): clang only. The core is built with the
# fuzzer's coverage instrumentation and ASan; only the fuzz targets link
# libFuzzer's main.
option(PYCACHE_CLEAN_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
if(PYCACHE_CLEAN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PYCACHE_CLEAN_FUZZ needs clang (-DCMAKE_CXX_COMPILER=clang++-14)")
  endif()
  set(PYCACHE_CLEAN_STATIC OFF CACHE BOOL "" FORCE)
  set(PYCACHE_CLEAN_TESTS OFF CACHE BOOL "" FORCE)
  target_compile_options(pycache_clean_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(pycache_clean_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
