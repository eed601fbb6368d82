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
    /// This copy's number on the link it travels (1, 2, ...): what the receiver acknowledges (`pt_ack`).
    std::uint32_t link_seq = 0;
    /** The broadcast's version: one more than the highest its origin had seen (a Lamport counter, never a clock).

        Orders broadcasts the same way on every node, so anti-entropy
        (`sync::anti_entropy`) can reconcile "everything from version F on".
    */
    std::uint64_t version = 0;
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

/// One message asked for inside a `pt_graft`.
struct graft_entry {
    message_key key;
    std::uint16_t round = 0;
};

/** "Push to me eagerly from now on, and send me these messages."

    GRAFTs for one neighbour are coalesced, up to 25 per datagram. No
    entries at all asks for no message: the tree optimisation's "become my
    eager parent".
*/
struct pt_graft {
    static constexpr wire::type_id wire_id = 0x0022;
    std::vector<graft_entry> entries;
};

/// "Your eager copies are duplicates: announce to me lazily instead."
struct pt_prune {
    static constexpr wire::type_id wire_id = 0x0023;
};

/** "I have received your copies up to `link_seq`; send up to `limit`": the sender's window on this link.

    Sent after every `ack_every` payloads or `ack_delay` after the first
    unacknowledged one, whichever comes first; cumulative, so a lost ACK
    is made good by the next. `limit` is the receiver's credit: normally
    `link_seq` plus the window; a receiver whose own queues are backed up
    keeps acknowledging but stops raising it, so the sender pauses without
    taking the silence for loss (backpressure, hop by hop).
*/
struct pt_ack {
    static constexpr wire::type_id wire_id = 0x0024;
    std::uint32_t link_seq = 0;
    std::uint32_t limit = 0;
};

/// The messages the Plumtree engine speaks.
using plumtree_messages = wire::registry<pt_gossip, pt_ihave, pt_graft, pt_prune, pt_ack>;

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_PLUMTREE_MESSAGES_HPP
