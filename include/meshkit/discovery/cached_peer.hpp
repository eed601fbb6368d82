// discovery/cached_peer.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_CACHED_PEER_HPP
#define MESHKIT_DISCOVERY_CACHED_PEER_HPP

#include <meshkit/discovery/peer_record.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
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
    /** The peer's record exactly as it signed it (its age zero), on secure nodes.

        What cache gossip passes on about the peer, verbatim: the fields
        above may since have moved (an address that answered, say), and
        any change would void the signature. Set from the newest version.
    */
    std::optional<peer_record> signed_record;
};

/** The record to gossip for a cached peer, or nothing when it must not be shared.

    The one place that decides what leaves a node about a third party: a
    peer that does not broadcast, or whose address is unknown, is never
    described to anyone. A peer's own signed record goes out verbatim;
    `signed_only` (a secure node) shares nothing else, since its peers
    would refuse an unsigned record anyway. `now_s` is this node's clock
    in seconds, the clock `p.last_seen_s` is in: only the difference
    leaves the node.
*/
inline std::optional<peer_record> shareable(cached_peer const& p, std::int64_t now_s, bool signed_only = false)
{
    if (!p.broadcasting || p.addresses.empty() || p.version == 0)
        return std::nullopt;
    auto const age =
        static_cast<std::uint32_t>(std::clamp<std::int64_t>(now_s - p.last_seen_s, 0, std::numeric_limits<std::uint32_t>::max()));
    if (p.signed_record) {
        peer_record r = *p.signed_record;
        r.age_s = age;
        return r;
    }
    if (signed_only)
        return std::nullopt;
    return peer_record{p.id, p.addresses.back(), p.nat, p.capabilities, true, p.version, age, p.introducers, {}};
}

/** The cache entry for a gossiped record, last seen `r.age_s` before `now_s` (this node's clock).

    A signed record is kept as it came (`cached_peer::signed_record`), to
    be passed on unchanged. @return nothing for a record that must not be
    stored: one from a peer that does not broadcast, or one without an
    address.
*/
inline std::optional<cached_peer> to_cached(peer_record const& r, std::int64_t now_s)
{
    if (!r.broadcasting || !r.address || r.id.is_zero())
        return std::nullopt;
    cached_peer p;
    p.id = r.id;
    p.addresses = {*r.address};
    p.capabilities = r.capabilities;
    p.nat = r.nat <= nat::nat_type::symmetric ? r.nat : nat::nat_type::unknown; // a value from a newer peer
    p.broadcasting = true;
    p.version = r.version;
    p.introducers = r.introducers;
    p.last_seen_s = now_s - static_cast<std::int64_t>(r.age_s);
    p.source = peer_source::gossip;
    if (r.signature) {
        p.signed_record = r;
        p.signed_record->age_s = 0;
    }
    return p;
}

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_CACHED_PEER_HPP
