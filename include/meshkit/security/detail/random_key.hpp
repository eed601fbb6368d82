// security/detail/random_key.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_DETAIL_RANDOM_KEY_HPP
#define MESHKIT_SECURITY_DETAIL_RANDOM_KEY_HPP

#include <meshkit/detail/rng.hpp>

#include <sodium.h>

#include <array>
#include <cstdint>

namespace meshkit::security::detail {

/** 32 random bytes for a key (an ephemeral, a cookie secret).

    From the seeded generator when `Deterministic` (the simulator: a run
    replays bit for bit), else from the operating system.
*/
template <bool Deterministic>
[[nodiscard]] std::array<std::uint8_t, 32> random_key(::meshkit::detail::rng& rng)
{
    std::array<std::uint8_t, 32> k;
    if constexpr (Deterministic)
        rng.fill(k);
    else
        randombytes_buf(k.data(), k.size());
    return k;
}

} // namespace meshkit::security::detail

#endif // MESHKIT_SECURITY_DETAIL_RANDOM_KEY_HPP
