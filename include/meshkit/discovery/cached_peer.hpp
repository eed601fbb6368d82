// discovery/cached_peer.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_CACHED_PEER_HPP
#define MESHKIT_DISCOVERY_CACHED_PEER_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <vector>

namespace meshkit::discovery {

/// What a cached peer offers other nodes; a bit set.
enum peer_capability : std::uint8_t {
    /// It forwards traffic for peers that cannot reach each other.
    can_relay = 1,
    /// It introduces peers for a coordinated hole punch.
    can_coordinate = 2,
    /// It is a bootstrap node: public, long-lived, announced to the registry.
    is_bootstrap = 4,
};

/// Where a cache entry came from.
enum class peer_source : std::uint8_t {
    /// Configured bootstrap node.
    seed = 1,
    /// Learned from another node's cache gossip.
    gossip,
    /// Learned by connecting to it.
    connection,
};

/** One peer in a `bootstrap_cache`.

    A plain aggregate, so the cache persists it with no serialisation code
    (cache gossip sends the shareable part, a `peer_record`). Times are seconds on the node's clock:
    what freshness needs. On the simulator that clock survives restarts; a
    real node's steady clock starts again at boot, so persisted ages are
    approximate there.
*/
struct cached_peer {
    node_id id;
    /// Addresses it was reached at, newest last (bounded by the cache).
    std::vector<endpoint> addresses;
    /// `peer_capability` bits it claims.
    std::uint8_t capabilities = 0;
    nat::nat_type nat = nat::nat_type::unknown;
    /// Evidence that it is reachable without a NAT in the way (it accepted an unsolicited contact).
    bool publicly_reachable = false;
    std::uint32_t successes = 0;
    std::uint32_t failures = 0;
    /// Failures since the last success: what says a peer is gone rather than unlucky.
    std::uint32_t consecutive_failures = 0;
    /// Smoothed round trip in microseconds; 0 when never measured.
    std::uint32_t rtt_us = 0;
    std::int64_t first_seen_s = 0;
    std::int64_t last_seen_s = 0;
    peer_source source = peer_source::gossip;
    /** Whether the peer chose to share its address (Flashback's `is_broadcasting`).

        Only such peers are ever gossiped on: a peer that does not broadcast
        never has its address leave the nodes it talks to.
    */
    bool broadcasting = false;
    /// The origin's version of its own record; the newest copy wins a merge.
    std::uint64_t version = 0;
    /// Public peers it keeps sessions with: who can introduce us for a hole punch, or relay.
    std::vector<endpoint> introducers;
    /// The cache revision at which this node last changed the entry: what incremental cache gossip asks about.
    std::uint64_t changed_rev = 0;
};

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_CACHED_PEER_HPP
