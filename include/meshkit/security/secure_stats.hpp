// security/secure_stats.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SECURITY_SECURE_STATS_HPP
#define MESHKIT_SECURITY_SECURE_STATS_HPP

#include <cstdint>

namespace meshkit::security {

/** What a `secure_transport` counted: every datagram it refused is in one of these.

    `report_metrics` adds them to a metrics sink as `meshkit_secure_*_total`.
*/
struct secure_stats {
    std::uint64_t handshakes_initiated = 0;
    std::uint64_t handshakes_completed = 0;
    /// Handshake messages that failed to authenticate or arrived out of turn.
    std::uint64_t handshake_failures = 0;
    /// Handshakes abandoned after `handshake_timeout`.
    std::uint64_t handshake_timeouts = 0;
    /// Handshakes whose peer proved a key other than the node id expected at its address.
    std::uint64_t unexpected_peers = 0;
    /// Cookie replies sent instead of a handshake, under load.
    std::uint64_t cookies_sent = 0;
    /// Handshake starts refused by the per-source rate limit.
    std::uint64_t rate_limited = 0;
    /// Data frames whose counter was seen before or is older than the replay window.
    std::uint64_t replayed = 0;
    /// Data frames that failed authentication.
    std::uint64_t decrypt_failures = 0;
    /// Data frames from an address with no session.
    std::uint64_t no_session = 0;
    /// Frames too short, too long, or of no known type.
    std::uint64_t malformed = 0;
    /// Datagrams dropped: a full queue while a handshake completes, or a handshake abandoned with them queued.
    std::uint64_t queue_dropped = 0;
    /// New handshakes on an established session (time, count, or silence).
    std::uint64_t rekeys = 0;
    /// Peers evicted to make room (`max_peers`).
    std::uint64_t evictions = 0;
    /// Datagrams sent and received inside sessions.
    std::uint64_t datagrams_sealed = 0;
    std::uint64_t datagrams_opened = 0;
    /// Handshake and cookie bytes sent and received, before and after authentication (the amplification ledger).
    std::uint64_t handshake_bytes_in = 0;
    std::uint64_t handshake_bytes_out = 0;
    /// Unsealed datagrams sent to and taken from the joined LAN group (`join_group`).
    std::uint64_t group_sent = 0;
    std::uint64_t group_received = 0;
};

/// What a `secure_stream_transport` counted.
struct secure_stream_stats {
    std::uint64_t handshakes_completed = 0;
    /// Handshake messages that failed to authenticate or parse, or named an id that is not the proven key's.
    std::uint64_t handshake_failures = 0;
    /// Handshakes with another node than the one `expect_peer` named.
    std::uint64_t unexpected_peers = 0;
    /// Inbound streams closed unheard because `max_pending_handshakes` were already waiting.
    std::uint64_t refused_busy = 0;
    /// Handshakes closed after `handshake_timeout` without completing.
    std::uint64_t handshake_timeouts = 0;
    /// Frames that failed authentication: the stream is closed (a stream cannot skip a frame).
    std::uint64_t decrypt_failures = 0;
};

} // namespace meshkit::security

#endif // MESHKIT_SECURITY_SECURE_STATS_HPP
