// birthday_probe.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BIRTHDAY_PROBE_HPP
#define MESHKIT_BIRTHDAY_PROBE_HPP

#include <meshkit/endpoint.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace meshkit {

/** The datagram of birthday-paradox probing, below every session and envelope.

    A random symmetric NAT gives each destination a new random port, so a
    peer behind a port-filtering NAT cannot guess the one mapping a single
    socket would open. Birthday probing makes many: the symmetric side
    opens many sockets, each sending one of these to the other side (each
    opens a mapping that admits that side), while the other side sends
    these to random ports of the symmetric side's address. With k sockets
    and n probes over a range of R ports, a probe lands in an open
    mapping with probability 1 - (1 - k/R)^n: 64 % for 256 and 256,
    98 % for 256 and 1,024 over Linux's 64,512 ports (research/nat.md §1.5;
    Tailscale's "How NAT traversal works").

    The datagram is 12 bytes: the magic `mkbp`, then a token (u64, little
    endian) that the intermediary chose for this one punch. It carries
    nothing else, so it can be sent before any session. A transport takes
    any datagram of exactly these 12 bytes with this magic for one (an
    envelope starts with `MK`, a secure transport's packet with 0x01-0x05,
    so no message of the node's is mistaken for it): it never reaches the
    node as a message.
*/
struct birthday_probe {
    static constexpr std::size_t size = 12;
    static constexpr std::array<std::byte, 4> magic{std::byte{'m'}, std::byte{'k'}, std::byte{'b'}, std::byte{'p'}};

    std::uint64_t token = 0;

    /// Its bytes on the wire.
    [[nodiscard]] std::array<std::byte, size> encode() const noexcept
    {
        std::array<std::byte, size> out{};
        for (std::size_t i = 0; i < magic.size(); ++i)
            out[i] = magic[i];
        for (std::size_t i = 0; i < 8; ++i)
            out[4 + i] = static_cast<std::byte>((token >> (8 * i)) & 0xFF);
        return out;
    }

    /// The probe in `datagram`; nothing when it is not exactly one.
    [[nodiscard]] static std::optional<birthday_probe> parse(std::span<std::byte const> datagram) noexcept
    {
        if (datagram.size() != size)
            return std::nullopt;
        for (std::size_t i = 0; i < magic.size(); ++i)
            if (datagram[i] != magic[i])
                return std::nullopt;
        std::uint64_t token = 0;
        for (std::size_t i = 0; i < 8; ++i)
            token |= static_cast<std::uint64_t>(std::to_integer<std::uint8_t>(datagram[4 + i])) << (8 * i);
        return birthday_probe{token};
    }
};

/** What a transport calls when a birthday probe carrying `token` reached one of its extra sockets from `from`.

    From then on the transport sends to `from` through that socket: its
    NAT mapping is the one `from` can reach.
*/
using birthday_hit_handler = std::function<void(endpoint const& from, std::uint64_t token)>;

} // namespace meshkit

#endif // MESHKIT_BIRTHDAY_PROBE_HPP
