// detail/hash.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_HASH_HPP
#define MESHKIT_DETAIL_HASH_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace meshkit::detail {

/// splitmix64's finaliser: a fast bijective mixer, used to derive seeds and hashes.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// Folds `v` into the running hash `h`; order-sensitive, so it can hash a trace.
constexpr std::uint64_t hash_combine(std::uint64_t h, std::uint64_t v) noexcept
{
    return mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

/** Hashes bytes eight at a time.

    Not cryptographic: it identifies simulator traces and spreads hash
    tables, never against an adversary. Stored files are checked with the
    standard CRC-32 instead (storage/file_store.hpp), which any tool can
    recompute.
    Reading whole words keeps trace hashing off the simulator's profile.
*/
inline std::uint64_t hash_bytes(std::span<std::byte const> bytes, std::uint64_t seed = 0) noexcept
{
    std::uint64_t h = mix64(seed ^ bytes.size());
    std::size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, bytes.data() + i, 8);
        h = hash_combine(h, w);
    }
    std::uint64_t tail = 0;
    if (i < bytes.size())
        std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
    return hash_combine(h, tail);
}

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_HASH_HPP
