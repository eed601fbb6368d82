// transport_protocol.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TRANSPORT_PROTOCOL_HPP
#define MESHKIT_TRANSPORT_PROTOCOL_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshkit {

/** Which transport an address belongs to: the part of an `endpoint` that says how to reach it.

    One byte on the wire, so a peer record can advertise a stream address
    beside its datagram address. The simulator's transports claim the
    protocols they model (`sim::transport` is `udp`, `sim::stream_transport`
    is `tcp`), so a simulated node and a real one put the same bytes in
    their records. Values 2 to 127 are kept for meshkit; an application's
    own transport takes one from 128 up and names it with
    `static constexpr transport_protocol protocol`.
*/
enum class transport_protocol : std::uint8_t {
    /** Datagrams over UDP (and the simulator's datagrams); the default, so a bare `a.b.c.d:port` is UDP. */
    udp = 0,
    /** Length-prefixed frames over TCP (and the simulator's streams). */
    tcp = 1,
};

/// `udp`, `tcp`, or `t<number>` for a protocol meshkit does not name: the scheme in `tcp://a.b.c.d:port`.
inline std::string to_string(transport_protocol p)
{
    switch (p) {
    case transport_protocol::udp:
        return "udp";
    case transport_protocol::tcp:
        return "tcp";
    }
    return "t" + std::to_string(static_cast<unsigned>(p));
}

/// Reads a scheme written by `to_string(transport_protocol)`; anything else yields no value.
inline std::optional<transport_protocol> parse_transport_protocol(std::string_view scheme)
{
    if (scheme == "udp")
        return transport_protocol::udp;
    if (scheme == "tcp")
        return transport_protocol::tcp;
    if (scheme.size() < 2 || scheme.size() > 4 || scheme.front() != 't')
        return std::nullopt;
    unsigned n = 0;
    for (char c : scheme.substr(1)) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > 255 || (scheme.size() > 2 && scheme[1] == '0'))
        return std::nullopt;
    return static_cast<transport_protocol>(n);
}

} // namespace meshkit

#endif // MESHKIT_TRANSPORT_PROTOCOL_HPP
