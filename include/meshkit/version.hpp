// version.hpp
// ~~~~~~~~~~~
#ifndef MESHKIT_VERSION_HPP
#define MESHKIT_VERSION_HPP

/// meshkit's version as MAJOR * 10000 + MINOR * 100 + PATCH.
#define MESHKIT_VERSION 100 // 0.1.0

/// The version as a string, for logs and `--version`.
#define MESHKIT_VERSION_STRING "0.1.0"

#endif // MESHKIT_VERSION_HPP
