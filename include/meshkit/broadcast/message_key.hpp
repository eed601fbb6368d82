// broadcast/message_key.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_MESSAGE_KEY_HPP
#define MESHKIT_BROADCAST_MESSAGE_KEY_HPP

#include <meshkit/node_id.hpp>
#include <meshkit/wire/envelope.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>

namespace meshkit::broadcast {

/** Names one broadcast: its origin and the origin's sequence number.

    Exact, not a hash, so two broadcasts can never be confused; 40 bytes on
    the wire.
*/
struct message_key {
    node_id origin;
    std::uint64_t seq = 0;

    friend auto operator<=>(message_key const&, message_key const&) = default;
};

/** The largest payload a broadcast engine accepts by default.

    One 1,200-byte datagram less the envelope, the key, the engine's header
    (round or hops, TTL, a link sequence number, a version: 14 bytes at
    most) and the payload's length prefix (3 bytes covers any length that
    fits).
*/
inline constexpr std::size_t default_max_payload = 1200 - wire::envelope_size - 40 - 14 - 3;

/** Where a node's broadcast sequence numbers start.

    A node that restarts with the same identity must not reuse numbers its
    peers still remember as seen (they would drop its new broadcasts as
    duplicates). The start is this run's incarnation (`ctx.incarnation()`,
    counted on the node's storage) in the top bits, so a node that keeps
    its storage starts above every number of its earlier runs, and a random
    draw of 55 bits below it, so one without storage lands far from its
    last run's numbers (within 2^40 below them, where peers would refuse
    it as too old, with a chance of 2^-15). No clock reading: it would mean
    nothing to another host (and it added nothing to the draw).
*/
template <class Ctx>
std::uint64_t first_sequence(Ctx& ctx)
{
    std::uint64_t const incarnation = std::min<std::uint64_t>(ctx.incarnation(), 127);
    return (incarnation << 56) | (ctx.rng()() >> 9);
}

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_MESSAGE_KEY_HPP
