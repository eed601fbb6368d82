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
    /// Its version (Plumtree's Lamport stamp; 0 from engines that keep none).
    std::uint64_t version = 0;
};

/** This node broadcast a payload: what an engine that keeps a log of the topic records of its own.

    Plumtree emits it from `broadcast`; it never delivers a node's own
    broadcast to itself.
*/
struct published {
    message_key key;
    std::uint64_t version = 0;
    std::vector<std::byte> payload;
};

/** Another engine obtained broadcast `key` outside the tree (anti-entropy): the broadcast engine takes it as seen.

    So the copy the tree may still bring is a duplicate, not a second
    delivery; and its version raises the engine's Lamport counter.
*/
struct recovered {
    message_key key;
    std::uint64_t version = 0;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_DELIVERED_HPP
