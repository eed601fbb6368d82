// broadcast/plumtree_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_PLUMTREE_MESSAGES_HPP
#define MESHKIT_BROADCAST_PLUMTREE_MESSAGES_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::broadcast {

/// A broadcast's payload, pushed eagerly along the tree.
struct pt_gossip {
    static constexpr wire::type_id wire_id = 0x0020;
    message_key key;
    /// Hops from the origin so far.
    std::uint16_t round = 0;
    std::vector<std::byte> payload;
};

/// One announcement inside an `pt_ihave`.
struct ihave_entry {
    message_key key;
    std::uint16_t round = 0;
};

/// Lazy push: "I have these"; a receiver missing one grafts the sender.
struct pt_ihave {
    static constexpr wire::type_id wire_id = 0x0021;
    std::vector<ihave_entry> entries;
};

/// "Send me this message, and push to me eagerly from now on." An empty key asks for no message.
struct pt_graft {
    static constexpr wire::type_id wire_id = 0x0022;
    message_key key;
    std::uint16_t round = 0;
};

/// "Your eager copies are duplicates: announce to me lazily instead."
struct pt_prune {
    static constexpr wire::type_id wire_id = 0x0023;
};

/// The messages the Plumtree engine speaks.
using plumtree_messages = wire::registry<pt_gossip, pt_ihave, pt_graft, pt_prune>;

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_PLUMTREE_MESSAGES_HPP
