// broadcast/delivered.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_DELIVERED_HPP
#define MESHKIT_BROADCAST_DELIVERED_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/peer_info.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::broadcast {

/// A broadcast reached this node for the first time. Every broadcast engine emits it.
struct delivered {
    message_key key;
    /// How many hops the copy that arrived first travelled (1 = straight from the origin).
    std::uint16_t hops = 0;
    /// The neighbour it came from.
    peer_info from;
    std::vector<std::byte> payload;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_DELIVERED_HPP
