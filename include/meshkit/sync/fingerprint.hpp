// sync/fingerprint.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_FINGERPRINT_HPP
#define MESHKIT_SYNC_FINGERPRINT_HPP

#include <meshkit/security/detail/sodium.hpp>
#include <meshkit/sync/id_sum.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace meshkit::sync {

/// 16 bytes that stand for a range's contents: equal sets give equal fingerprints.
using fingerprint = std::array<std::uint8_t, 16>;

/** The fingerprint of a range holding `count` items whose ids sum to `sum`.

    BLAKE2b-128 (libsodium) of the sum's 32 bytes and the count as eight
    little-endian bytes. Hashing the sum keeps its algebra private: two
    different sets have the same fingerprint only by a 2^-128 accident
    or by ids chosen to collide in the sum, which content hashes prevent.
    The count makes a set and that set plus items summing to zero differ.
*/
inline fingerprint fingerprint_of(id_sum const& sum, std::uint64_t count)
{
    security::detail::ensure_sodium();
    std::array<std::uint8_t, 40> input{};
    auto const s = sum.bytes();
    std::copy(s.begin(), s.end(), input.begin());
    for (std::size_t b = 0; b < 8; ++b)
        input[32 + b] = static_cast<std::uint8_t>(count >> (8 * b));
    fingerprint out{};
    crypto_generichash(out.data(), out.size(), input.data(), input.size(), nullptr, 0);
    return out;
}

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_FINGERPRINT_HPP
