// inbound.hpp
// ~~~~~~~~~~~
#ifndef MESHKIT_INBOUND_HPP
#define MESHKIT_INBOUND_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/wire/channel.hpp>
#include <meshkit/wire/envelope.hpp>

namespace meshkit {

/// Where a decoded message came from: the address and channel it arrived on, and its envelope.
struct inbound {
    /** The address it came from (the last hop, as the network saw it).

        On a stream a peer opened, that is its connecting address; a reply
        sent there goes back on the same stream.
    */
    endpoint from;
    /// The envelope: type, original sender, message id, hops.
    wire::envelope header;
    /// The transport it arrived on: always the one its message kind travels on (`wire::channel_of`).
    wire::channel channel = wire::channel::datagram;
};

} // namespace meshkit

#endif // MESHKIT_INBOUND_HPP
