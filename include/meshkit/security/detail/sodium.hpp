// security/detail/sodium.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_DETAIL_SODIUM_HPP
#define MESHKIT_SECURITY_DETAIL_SODIUM_HPP

#include <meshkit/security/error.hpp>

#include <sodium.h>

#include <system_error>

namespace meshkit::security::detail {

/** Initialises libsodium once per process; every entry point of the security layer calls it first.

    `sodium_init` is thread-safe and idempotent; it fails only when the
    system has no entropy source, which no key could be made without.
    @throws std::system_error (`errc::no_crypto`) then.
*/
inline void ensure_sodium()
{
    static bool const ready = sodium_init() >= 0;
    if (!ready)
        throw std::system_error(make_error_code(errc::no_crypto));
}

} // namespace meshkit::security::detail

#endif // MESHKIT_SECURITY_DETAIL_SODIUM_HPP
