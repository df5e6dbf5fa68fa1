# `cpack -G DEB` builds a Debian package of the installed files. Debian
# packages link the distribution's shared libraries: build the package from the
# `deb` preset (scripts/build-deb.sh), which links Debian's libfmt/libspdlog,
# strips the binary and lets dpkg-shlibdeps compute the dependencies. The
# static binary is for wheels and standalone use.
set(CPACK_PACKAGE_NAME "pycache-clean")
set(CPACK_PACKAGE_VENDOR "pycache-clean authors")
set(CPACK_PACKAGE_CONTACT "pycache-clean authors <maintainers@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "clear Python bytecode caches safely and keep them fresh")
# The extended description (CPack puts the summary above it and indents it).
set(CPACK_PACKAGE_DESCRIPTION
    "pycache-clean removes __pycache__ directories and stray .pyc files without
ever following a symbolic link or removing anything that is not a cache,
finds the caches CPython would still load although they no longer match
their source, and keeps code fixers (ruff, black, pre-commit hooks) and
running test suites apart with kernel locks, so that a test run never
imports a half-rewritten file and caches it.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "devel")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_STRIP_FILES ON)
if(PYCACHE_CLEAN_STATIC)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
include(CPack)
