// tests/support/keys.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
// Fixed signing keys for tests: the same on every run and host.

#ifndef MESHKIT_TESTS_SUPPORT_KEYS_HPP
#define MESHKIT_TESTS_SUPPORT_KEYS_HPP

#include <meshkit/security/signing_key.hpp>

#include <array>
#include <cstdint>

namespace meshkit::test {

/// The key whose 32-byte seed is `n` repeated: distinct `n`, distinct keys.
inline security::signing_key key_of(std::uint8_t n)
{
    std::array<std::uint8_t, security::signing_key::seed_size> seed{};
    seed.fill(n);
    return security::signing_key(seed);
}

} // namespace meshkit::test

#endif // MESHKIT_TESTS_SUPPORT_KEYS_HPP
