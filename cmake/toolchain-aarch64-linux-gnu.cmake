# Cross-compiles the static Linux aarch64 build from Debian (package
# g++-aarch64-linux-gnu): one self-contained executable for the aarch64
# wheel. With qemu-user-static installed it runs under emulation.
#
#   cmake --preset aarch64
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(_triple aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${_triple}-gcc)
set(CMAKE_CXX_COMPILER ${_triple}-g++)

set(CMAKE_FIND_ROOT_PATH /usr/${_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(PYCACHE_CLEAN_QEMU NAMES qemu-aarch64-static qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
if(PYCACHE_CLEAN_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PYCACHE_CLEAN_QEMU})
endif()
