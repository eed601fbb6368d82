// endpoint.hpp
// ~~~~~~~~~~~~
#ifndef MESHKIT_ENDPOINT_HPP
#define MESHKIT_ENDPOINT_HPP

#include <meshkit/detail/hash.hpp>
#include <meshkit/transport_protocol.hpp>

#include <arpa/inet.h>

#include <array>
#include <bit>
#include <charconv>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace meshkit {

/** An address a node's transport can reach: an IP address, a port, and the transport.

    IPv4 is held as an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291),
    so one fixed-size aggregate covers both families, compares and hashes
    cheaply, and goes on the wire as 19 bytes. `transport` says which of a
    node's transports the address belongs to: the same IP and port over UDP
    and over TCP are two endpoints, and a node sends to an endpoint only on
    the transport it names (see `basic_node`). The simulator, the
    transports and every engine share this type.
*/
struct endpoint {
    std::array<std::uint8_t, 16> ip{};
    std::uint16_t port = 0;
    /// The transport the address belongs to; UDP unless said otherwise.
    transport_protocol transport = transport_protocol::udp;

    friend constexpr auto operator<=>(endpoint const&, endpoint const&) = default;

    // Hand-written because the defaulted one calls memcmp; addresses are
    // compared on every simulated delivery.
    friend constexpr bool operator==(endpoint const& a, endpoint const& b) noexcept
    {
        using words = std::array<std::uint64_t, 2>;
        auto const wa = std::bit_cast<words>(a.ip), wb = std::bit_cast<words>(b.ip);
        return a.port == b.port && a.transport == b.transport && wa[0] == wb[0] && wa[1] == wb[1];
    }

    /// The same IP address and port on transport `p`.
    [[nodiscard]] constexpr endpoint on(transport_protocol p) const noexcept
    {
        endpoint e = *this;
        e.transport = p;
        return e;
    }

    /// An IPv4 endpoint from the address in host byte order.
    [[nodiscard]] static constexpr endpoint v4(std::uint32_t address, std::uint16_t port) noexcept
    {
        endpoint e;
        e.ip[10] = 0xff;
        e.ip[11] = 0xff;
        e.ip[12] = static_cast<std::uint8_t>(address >> 24);
        e.ip[13] = static_cast<std::uint8_t>(address >> 16);
        e.ip[14] = static_cast<std::uint8_t>(address >> 8);
        e.ip[15] = static_cast<std::uint8_t>(address);
        e.port = port;
        return e;
    }

    /// An IPv4 endpoint from four octets.
    [[nodiscard]] static constexpr endpoint v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                                               std::uint16_t port) noexcept
    {
        return v4(std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d, port);
    }

    /// True when the address is IPv4-mapped.
    [[nodiscard]] constexpr bool is_v4() const noexcept
    {
        for (int i = 0; i < 10; ++i)
            if (ip[i] != 0)
                return false;
        return ip[10] == 0xff && ip[11] == 0xff;
    }

    /// The IPv4 address in host byte order; meaningful only when `is_v4()`.
    [[nodiscard]] constexpr std::uint32_t v4_address() const noexcept
    {
        return std::uint32_t{ip[12]} << 24 | std::uint32_t{ip[13]} << 16 | std::uint32_t{ip[14]} << 8 | ip[15];
    }

    /// True when no address has been set (all zero, port 0), whatever the transport.
    [[nodiscard]] constexpr bool is_unspecified() const noexcept { return on(transport_protocol::udp) == endpoint{}; }

    /// `a.b.c.d:port` or `[v6]:port`, after `tcp://` (or another scheme) when the transport is not UDP.
    [[nodiscard]] std::string to_string() const
    {
        std::string const scheme =
            transport == transport_protocol::udp ? std::string() : meshkit::to_string(transport) + "://";
        char buf[INET6_ADDRSTRLEN] = {};
        if (is_v4()) {
            std::uint8_t v4bytes[4] = {ip[12], ip[13], ip[14], ip[15]};
            ::inet_ntop(AF_INET, v4bytes, buf, sizeof buf);
            return scheme + std::string(buf) + ":" + std::to_string(port);
        }
        ::inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
        return scheme + "[" + std::string(buf) + "]:" + std::to_string(port);
    }

    /** Parses `a.b.c.d:port` or `[v6]:port`, optionally after a scheme (`udp://`, `tcp://`, `t200://`).

        Without a scheme the address is UDP. Anything else yields no value.
    */
    [[nodiscard]] static std::optional<endpoint> parse(std::string_view text)
    {
        transport_protocol protocol = transport_protocol::udp;
        if (auto const sep = text.find("://"); sep != std::string_view::npos) {
            auto const p = parse_transport_protocol(text.substr(0, sep));
            if (!p)
                return std::nullopt;
            protocol = *p;
            text.remove_prefix(sep + 3);
        }
        auto e = parse_address(text);
        if (e)
            e->transport = protocol;
        return e;
    }

private:
    [[nodiscard]] static std::optional<endpoint> parse_address(std::string_view text)
    {
        std::string host;
        std::string_view port_text;
        bool v6 = false;
        if (!text.empty() && text.front() == '[') {
            auto close = text.find(']');
            if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
                return std::nullopt;
            host = std::string(text.substr(1, close - 1));
            port_text = text.substr(close + 2);
            v6 = true;
        } else {
            auto colon = text.rfind(':');
            if (colon == std::string_view::npos)
                return std::nullopt;
            host = std::string(text.substr(0, colon));
            port_text = text.substr(colon + 1);
        }
        unsigned port = 0;
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 || port_text.empty())
            return std::nullopt;
        endpoint e;
        e.port = static_cast<std::uint16_t>(port);
        if (v6) {
            if (::inet_pton(AF_INET6, host.c_str(), e.ip.data()) != 1)
                return std::nullopt;
            return e;
        }
        std::uint8_t v4bytes[4];
        if (::inet_pton(AF_INET, host.c_str(), v4bytes) != 1)
            return std::nullopt;
        e.ip[10] = e.ip[11] = 0xff;
        std::memcpy(e.ip.data() + 12, v4bytes, 4);
        return e;
    }
};

} // namespace meshkit

template <>
struct std::hash<meshkit::endpoint> {
    std::size_t operator()(meshkit::endpoint const& e) const noexcept
    {
        std::uint64_t hi, lo;
        std::memcpy(&hi, e.ip.data(), 8);
        std::memcpy(&lo, e.ip.data() + 8, 8);
        // UDP (0) hashes as the port alone did before endpoints carried a transport.
        std::uint64_t const port_and_transport =
            e.port | std::uint64_t{static_cast<std::uint8_t>(e.transport)} << 16;
        return static_cast<std::size_t>(
            meshkit::detail::hash_combine(meshkit::detail::hash_combine(hi, lo), port_and_transport));
    }
};

#endif // MESHKIT_ENDPOINT_HPP
