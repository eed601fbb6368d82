// wire/channel.hpp
// ~~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_CHANNEL_HPP
#define MESHKIT_WIRE_CHANNEL_HPP

#include <cstdint>

namespace meshkit::wire {

/** Which of a node's transports carries a message kind.

    Each message type says it once, with
    `static constexpr wire::channel travels_on = wire::channel::stream;`;
    without it a message is a datagram. Small, loss-tolerant protocol
    traffic (membership, gossip, probes) stays on datagrams; what must
    arrive whole and in order, or is larger than a datagram (bulk sync,
    acknowledged publications, attachment sessions), goes on a stream.
*/
enum class channel : std::uint8_t {
    /** One datagram (UDP, the simulator's datagrams): may be lost, duplicated or reordered; at most the transport's datagram size. */
    datagram,
    /** One frame of an ordered, reliable stream (TCP, the simulator's streams), opened by the node on first use. */
    stream,
};

/// The channel message type `M` travels on.
template <class M> inline constexpr channel channel_of = channel::datagram;
template <class M>
    requires requires { M::travels_on; }
inline constexpr channel channel_of<M> = M::travels_on;

/// A short lowercase name, for logs.
constexpr char const* to_string(channel c) noexcept
{
    return c == channel::stream ? "stream" : "datagram";
}

} // namespace meshkit::wire

#endif // MESHKIT_WIRE_CHANNEL_HPP
