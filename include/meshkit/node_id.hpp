// node_id.hpp
// ~~~~~~~~~~~
#ifndef MESHKIT_NODE_ID_HPP
#define MESHKIT_NODE_ID_HPP

#include <meshkit/detail/hash.hpp>
#include <meshkit/detail/rng.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace meshkit {

/** A 256-bit node identity.

    256 bits is the size of an Ed25519 public key, so a later identity policy
    can make the id the key itself. It is a plain aggregate, so it travels on
    the wire as its 32 bytes with no hand-written serialisation.
*/
struct node_id {
    std::array<std::uint8_t, 32> bytes{};

    friend constexpr auto operator<=>(node_id const&, node_id const&) = default;

    /// True for the all-zero id, which no node is ever given.
    [[nodiscard]] constexpr bool is_zero() const noexcept
    {
        for (auto b : bytes)
            if (b != 0)
                return false;
        return true;
    }

    /// A deterministic id derived from `seed`; distinct seeds give distinct ids.
    [[nodiscard]] static node_id from_seed(std::uint64_t seed) noexcept
    {
        detail::rng r{seed};
        node_id id;
        for (std::size_t i = 0; i < id.bytes.size(); i += 8) {
            std::uint64_t w = r();
            std::memcpy(id.bytes.data() + i, &w, 8);
        }
        // The first word is the seed itself (mixed bijectively), so two seeds never collide.
        std::uint64_t const head = detail::mix64(seed);
        std::memcpy(id.bytes.data(), &head, 8);
        return id;
    }

    /// The full id as 64 lowercase hex digits.
    [[nodiscard]] std::string to_hex() const
    {
        static constexpr char digits[] = "0123456789abcdef";
        std::string s;
        s.reserve(64);
        for (auto b : bytes) {
            s.push_back(digits[b >> 4]);
            s.push_back(digits[b & 0xf]);
        }
        return s;
    }

    /// The first 8 hex digits: enough to tell nodes apart in a log.
    [[nodiscard]] std::string short_hex() const { return to_hex().substr(0, 8); }

    /// Parses 64 hex digits; anything else yields no value.
    [[nodiscard]] static std::optional<node_id> parse(std::string_view hex) noexcept
    {
        if (hex.size() != 64)
            return std::nullopt;
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        node_id id;
        for (std::size_t i = 0; i < 32; ++i) {
            int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            id.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
        }
        return id;
    }
};

} // namespace meshkit

template <>
struct std::hash<meshkit::node_id> {
    std::size_t operator()(meshkit::node_id const& id) const noexcept
    {
        // Ids are uniformly distributed already; one word is a good hash.
        std::uint64_t w;
        std::memcpy(&w, id.bytes.data(), 8);
        return static_cast<std::size_t>(w);
    }
};

#endif // MESHKIT_NODE_ID_HPP
