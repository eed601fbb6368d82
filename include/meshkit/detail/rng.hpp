// detail/rng.hpp
// ~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_RNG_HPP
#define MESHKIT_DETAIL_RNG_HPP

#include <meshkit/detail/hash.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>

namespace meshkit::detail {

/// Whether `Transport` is deterministic (the simulator): then every random choice comes from the seed.
template <class Transport>
inline constexpr bool is_deterministic = requires { requires Transport::deterministic; };


/// GCC and Clang's 128-bit integer, for exact 64x64 multiplications.
__extension__ using uint128 = unsigned __int128;

/** xoshiro256** with its own bounded-integer and real draws.

    The standard distributions are implementation-defined, so the same seed
    would give different simulations under libstdc++ and libc++. Every draw
    meshkit makes goes through these functions instead, which are specified
    bit for bit. It models UniformRandomBitGenerator, so it can still feed
    `std::shuffle` where portability does not matter.
*/
class rng {
public:
    using result_type = std::uint64_t;

    explicit rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

    void reseed(std::uint64_t seed) noexcept
    {
        for (auto& word : s_) {
            seed += 0x9e3779b97f4a7c15ULL;
            word = mix64(seed);
        }
    }

    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

    result_type operator()() noexcept
    {
        std::uint64_t const result = rotl(s_[1] * 5, 7) * 9;
        std::uint64_t const t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// A uniform integer in [0, n); n == 0 yields 0. Lemire's method, unbiased.
    std::uint64_t below(std::uint64_t n) noexcept
    {
        if (n == 0)
            return 0;
        uint128 m = static_cast<uint128>((*this)()) * n;
        auto low = static_cast<std::uint64_t>(m);
        if (low < n) {
            std::uint64_t const threshold = (0 - n) % n;
            while (low < threshold) {
                m = static_cast<uint128>((*this)()) * n;
                low = static_cast<std::uint64_t>(m);
            }
        }
        return static_cast<std::uint64_t>(m >> 64);
    }

    /// A uniform integer in [lo, hi].
    std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept
    {
        if (hi <= lo)
            return lo;
        return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
    }

    /// A uniform real in [0, 1) with 53 random bits.
    double unit() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

    /// True with probability p.
    bool chance(double p) noexcept { return p > 0 && (p >= 1 || unit() < p); }

    /// Fills `out` with random bytes: each word's 8 bytes in memory order (a seed for a key, on the simulator).
    void fill(std::span<std::uint8_t> out) noexcept
    {
        for (std::size_t i = 0; i < out.size(); i += 8) {
            std::uint64_t const w = (*this)();
            std::memcpy(out.data() + i, &w, std::min<std::size_t>(8, out.size() - i));
        }
    }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

    std::uint64_t s_[4]{};
};

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_RNG_HPP
