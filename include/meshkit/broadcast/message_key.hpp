// broadcast/message_key.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_MESSAGE_KEY_HPP
#define MESHKIT_BROADCAST_MESSAGE_KEY_HPP

#include <meshkit/node_id.hpp>
#include <meshkit/wire/envelope.hpp>

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
    (round or hops, TTL, a link sequence number: 8 bytes at most) and the
    payload's length prefix (3 bytes covers any length that fits).
*/
inline constexpr std::size_t default_max_payload = 1200 - wire::envelope_size - 40 - 8 - 3;

/** Where a node's broadcast sequence numbers start.

    From the clock mixed with a random draw, so a node that restarts with
    the same identity does not reuse numbers its peers still remember as
    seen (and drop as duplicates).
*/
template <class Ctx>
std::uint64_t first_sequence(Ctx& ctx)
{
    return (static_cast<std::uint64_t>(ctx.now().time_since_epoch().count()) ^ (ctx.rng()() >> 8)) >> 1;
}

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_MESSAGE_KEY_HPP
