// discovery/peer_record.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_PEER_RECORD_HPP
#define MESHKIT_DISCOVERY_PEER_RECORD_HPP

#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace meshkit::discovery {

/** What cache gossip says about one peer: the shareable part of a `cached_peer`.

    A node's own experience of a peer (successes, failures, RTT) never
    leaves it. No clock value is in it, so it means the same on any host:

    - `version` is a counter the peer itself raises whenever it changes or
      refreshes its record, so the newest copy wins wherever copies meet. A
      peer that restarts and hears an older incarnation of itself with a
      higher version jumps past it (as SWIM refutes a suspicion).
    - `age_s` is how long ago, as the sender knows it, the peer last gave
      evidence of life. Each hop adds the time the record sat in its cache,
      so a record stops getting younger when its origin dies and expires
      everywhere at the same age, whatever each host's clock says.
*/
struct peer_record {
    node_id id;
    /// Present only when the peer broadcasts (Flashback's IP-sharing rule).
    std::optional<endpoint> address;
    nat::nat_type nat = nat::nat_type::unknown;
    /// `peer_capability` bits.
    std::uint8_t capabilities = 0;
    bool broadcasting = false;
    std::uint64_t version = 0;
    /// Seconds since the peer was last known alive, at the moment the sender sent this record.
    std::uint32_t age_s = 0;
    /// Public peers that hold sessions with it: intermediaries for a punch, relays.
    std::vector<endpoint> introducers;
};

/** The record to gossip for a cached peer, or nothing when it must not be shared.

    The one place that decides what leaves a node about a third party: a
    peer that does not broadcast, or whose address is unknown, is never
    described to anyone. `now_s` is this node's clock in seconds, the
    clock `p.last_seen_s` is in: only the difference leaves the node.
*/
inline std::optional<peer_record> shareable(cached_peer const& p, std::int64_t now_s)
{
    if (!p.broadcasting || p.addresses.empty() || p.version == 0)
        return std::nullopt;
    auto const age = std::clamp<std::int64_t>(now_s - p.last_seen_s, 0, std::numeric_limits<std::uint32_t>::max());
    return peer_record{p.id,        p.addresses.back(), p.nat, p.capabilities, true, p.version,
                       static_cast<std::uint32_t>(age), p.introducers};
}

/** The cache entry for a gossiped record, last seen `r.age_s` before `now_s` (this node's clock).

    @return nothing for a record that must not be stored: one from a peer
    that does not broadcast, or one without an address.
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
    return p;
}

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_PEER_RECORD_HPP
