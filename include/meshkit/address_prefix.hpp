// address_prefix.hpp
// ~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ADDRESS_PREFIX_HPP
#define MESHKIT_ADDRESS_PREFIX_HPP

#include <meshkit/endpoint.hpp>

#include <array>
#include <cstdint>

namespace meshkit {

/** The network an address belongs to, for colocation limits: its IPv4 /24 or its IPv6 /48.

    One operator typically holds a whole /24 or /48, so an attacker who
    runs many nodes tends to share one. Limiting how many view entries a
    prefix may hold (`membership::hyparview_config::max_active_per_prefix`)
    bounds what one such network can take of a node's neighbours, as
    gossipsub's IP colocation score and Bitcoin's netgroup buckets do.
*/
struct address_prefix {
    std::array<std::uint8_t, 16> bits{};

    friend constexpr bool operator==(address_prefix const&, address_prefix const&) = default;

    /// The prefix `e`'s IP address is in (the port and transport do not matter).
    [[nodiscard]] static constexpr address_prefix of(endpoint const& e) noexcept
    {
        address_prefix p;
        // IPv4 is mapped (::ffff:a.b.c.d): 12 bytes of mapping, then 3 of the /24.
        std::size_t const keep = e.is_v4() ? 15 : 6;
        for (std::size_t i = 0; i < keep; ++i)
            p.bits[i] = e.ip[i];
        return p;
    }
};

/** Whether `e` is in address space no stranger on the internet can hold.

    Loopback, private (RFC 1918, RFC 4193), link-local, and shared
    (RFC 6598, carrier-grade NAT) addresses. A node's LAN or test
    network puts many honest nodes in one such prefix, so colocation
    limits leave them out unless told otherwise.
*/
[[nodiscard]] constexpr bool is_private_address(endpoint const& e) noexcept
{
    if (e.is_v4()) {
        std::uint32_t const a = e.v4_address();
        return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == 0xac1 /* 172.16/12 */ ||
               (a >> 16) == 0xc0a8 /* 192.168/16 */ || (a >> 16) == 0xa9fe /* 169.254/16 */ ||
               (a >> 22) == (0x6440 >> 6) /* 100.64/10 */;
    }
    bool loopback = e.ip[15] == 1;
    for (std::size_t i = 0; i < 15; ++i)
        loopback = loopback && e.ip[i] == 0;
    return loopback || (e.ip[0] & 0xfe) == 0xfc /* fc00::/7 */ || (e.ip[0] == 0xfe && (e.ip[1] & 0xc0) == 0x80);
}

} // namespace meshkit

#endif // MESHKIT_ADDRESS_PREFIX_HPP
