# Warnings for the project's own targets, attached through an INTERFACE target.
# Errors only when PYCACHE_CLEAN_WERROR is on (CI), so a newer compiler's new
# warning never breaks a user's build.
add_library(pycache_clean_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(pycache_clean_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                         -Wnon-virtual-dtor -Wold-style-cast -Wcast-align)
  if(PYCACHE_CLEAN_WERROR)
    target_compile_options(pycache_clean_warnings INTERFACE -Werror)
  endif()
endif()
