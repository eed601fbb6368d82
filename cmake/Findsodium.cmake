# Findsodium.cmake: finds libsodium, which Debian's libsodium-dev installs
# with a pkg-config file but no CMake package config.
#
# Defines sodium_FOUND, sodium_VERSION, sodium_INCLUDE_DIR, sodium_LIBRARY
# and the imported target sodium::sodium.

find_path(sodium_INCLUDE_DIR NAMES sodium.h)
find_library(sodium_LIBRARY NAMES sodium libsodium)

if(sodium_INCLUDE_DIR AND EXISTS "${sodium_INCLUDE_DIR}/sodium/version.h")
    file(STRINGS "${sodium_INCLUDE_DIR}/sodium/version.h" _sodium_version_line
         REGEX "^#define SODIUM_VERSION_STRING \"[0-9.]+\"")
    string(REGEX REPLACE "^#define SODIUM_VERSION_STRING \"([0-9.]+)\".*" "\\1" sodium_VERSION "${_sodium_version_line}")
    unset(_sodium_version_line)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(sodium REQUIRED_VARS sodium_LIBRARY sodium_INCLUDE_DIR VERSION_VAR sodium_VERSION)

if(sodium_FOUND AND NOT TARGET sodium::sodium)
    add_library(sodium::sodium UNKNOWN IMPORTED)
    set_target_properties(sodium::sodium PROPERTIES
        IMPORTED_LOCATION "${sodium_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${sodium_INCLUDE_DIR}")
endif()
mark_as_advanced(sodium_INCLUDE_DIR sodium_LIBRARY)
