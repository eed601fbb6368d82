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
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_BROADCAST_STATS_HPP
