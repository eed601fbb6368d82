// nat/connector_stats.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_CONNECTOR_STATS_HPP
#define MESHKIT_NAT_CONNECTOR_STATS_HPP

#include <cstdint>

namespace meshkit::nat {

/** What a connector has done, for tests, reports and metrics.

    One set of counters for the whole engine: the ladder counts connections
    and passes, the punch coordinator what it coordinated and refused, the
    relay server the sessions and frames it served, and the ladder what its
    reliable channels delivered, acknowledged and sent again.
*/
struct connector_stats {
    std::uint64_t direct = 0, punched = 0, relayed = 0, upgrades = 0, failovers = 0, failed_passes = 0;
    std::uint64_t punches_coordinated = 0, punches_refused = 0;
    /// As an intermediary: reversed connections asked of a target (`nt_connect_back`), for a public requester.
    std::uint64_t reversals_coordinated = 0;
    /// As the dialer: connections that a punch (or a reversal) raced from the start, instead of after `direct_timeout`.
    std::uint64_t raced = 0;
    /// Birthday probing: punches that took part (either side), sockets opened, probes sent, and hits (a path found).
    std::uint64_t birthday_punches = 0, birthday_sockets = 0, birthday_probes = 0, birthday_hits = 0;
    std::uint64_t relay_sessions_opened = 0, relay_sessions_refused = 0, relayed_frames = 0, relayed_bytes = 0;
    /// As the relay: sessions ended because they spent their time or byte quota.
    std::uint64_t relay_quota_exceeded = 0;
    /// As a relayed end: sessions renewed after the relay ended them for their quota.
    std::uint64_t relay_renewals = 0;
    std::uint64_t messages_delivered = 0, messages_acked = 0, retransmissions = 0;
    /// Messages still unacknowledged when a connection the peer opened was forgotten (reported as `messages_undelivered`).
    std::uint64_t messages_undelivered = 0;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_CONNECTOR_STATS_HPP
