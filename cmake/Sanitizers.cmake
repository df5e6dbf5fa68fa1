# ASan + UBSan for every target when PYCACHE_CLEAN_SANITIZE is on. Sanitized
# binaries cannot be linked fully static, so the option also turns that off.
add_library(pycache_clean_sanitizers INTERFACE)
if(PYCACHE_CLEAN_SANITIZE)
  set(PYCACHE_CLEAN_STATIC OFF CACHE BOOL "" FORCE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(pycache_clean_sanitizers INTERFACE ${_san})
  target_link_options(pycache_clean_sanitizers INTERFACE ${_san})
endif()
