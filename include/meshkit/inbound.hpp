// inbound.hpp
// ~~~~~~~~~~~
#ifndef MESHKIT_INBOUND_HPP
#define MESHKIT_INBOUND_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/wire/envelope.hpp>

namespace meshkit {

/// Where a decoded message came from: the address it arrived from and its envelope.
struct inbound {
    /// The address the datagram came from (the last hop, as the network saw it).
    endpoint from;
    /// The envelope: type, original sender, message id, hops.
    wire::envelope header;
};

} // namespace meshkit

#endif // MESHKIT_INBOUND_HPP
