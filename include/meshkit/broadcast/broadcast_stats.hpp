// broadcast/broadcast_stats.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_BROADCAST_STATS_HPP
#define MESHKIT_BROADCAST_BROADCAST_STATS_HPP

#include <cstdint>

namespace meshkit::broadcast {

/** What a broadcast engine counted. Relative message redundancy over a run
    is `payloads_received / first_receipts - 1`, summed over all nodes.
*/
struct broadcast_stats {
    /// Payload-carrying messages received (first copies and duplicates).
    std::uint64_t payloads_received = 0;
    /// Broadcasts delivered for the first time.
    std::uint64_t first_receipts = 0;
    /// Payload copies that were duplicates.
    std::uint64_t duplicates = 0;
    /// Payload messages sent.
    std::uint64_t payloads_sent = 0;
    /// Lazy announcements sent (Plumtree's IHAVE entries).
    std::uint64_t announcements_sent = 0;
    /// GRAFTs sent: missing messages recovered through a lazy link, or tree optimisations.
    std::uint64_t grafts_sent = 0;
    /// PRUNEs sent.
    std::uint64_t prunes_sent = 0;

    // -- what was refused, dropped or forgotten: each is also a metric ---------

    /// `broadcast()` calls refused with `errc::queue_full` (backpressure: nothing accepted, nothing lost).
    std::uint64_t publish_refused = 0;
    /// Copies of our own broadcasts that came back (never delivered to ourselves).
    std::uint64_t own_returned = 0;
    /// Copies refused as older than the duplicate window (they may have been delivered before).
    std::uint64_t too_old = 0;
    /// Message ids forgotten by the byte bound before their window ended.
    std::uint64_t ids_evicted_early = 0;
    /// Payloads dropped from the repair cache by the byte bound before their repair window ended.
    std::uint64_t repair_evicted_early = 0;
    /// GRAFTs for a message no longer cached: the grafting node cannot be repaired from here.
    std::uint64_t graft_misses = 0;
    /// Eager copies a full neighbour queue turned into an announcement (repaired by GRAFT, not lost).
    std::uint64_t eager_overflow = 0;
    /// GRAFT replies dropped because the neighbour's queue was full (the grafter asks again).
    std::uint64_t graft_replies_dropped = 0;
    /// Queued copies dropped because their neighbour's link went down.
    std::uint64_t queued_dropped = 0;
    /// Announced messages requested at once, untracked, because the missing-message table was full (a lost reply is not retried).
    std::uint64_t missing_overflow = 0;
    /// Copies that reached the hop limit: delivered, not forwarded.
    std::uint64_t hop_limited = 0;
    /// Payloads from a node that is not a neighbour: dropped unread (nobody outside the overlay injects a broadcast).
    std::uint64_t from_strangers = 0;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_BROADCAST_STATS_HPP
