// discovery/peer_record.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_PEER_RECORD_HPP
#define MESHKIT_DISCOVERY_PEER_RECORD_HPP

#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace meshkit::discovery {

/** What cache gossip says about one peer: the shareable part of a `cached_peer`.

    A node's own experience of a peer (successes, failures, RTT) never
    leaves it. `version` is set by the peer itself (its clock in
    milliseconds when it last changed or refreshed its record), so the
    newest copy wins wherever copies meet, and a record stops being
    refreshed when its origin dies.
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
    /// Public peers that hold sessions with it: intermediaries for a punch, relays.
    std::vector<endpoint> introducers;
};

/** The record to gossip for a cached peer, or nothing when it must not be shared.

    The one place that decides what leaves a node about a third party: a
    peer that does not broadcast, or whose address is unknown, is never
    described to anyone.
*/
inline std::optional<peer_record> shareable(cached_peer const& p)
{
    if (!p.broadcasting || p.addresses.empty() || p.version == 0)
        return std::nullopt;
    return peer_record{p.id, p.addresses.back(), p.nat, p.capabilities, true, p.version, p.introducers};
}

/** The cache entry for a gossiped record; its last-seen time is the origin's own.

    @return nothing for a record that must not be stored: one from a peer
    that does not broadcast, or one without an address.
*/
inline std::optional<cached_peer> to_cached(peer_record const& r)
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
    p.last_seen_s = static_cast<std::int64_t>(r.version / 1000);
    p.source = peer_source::gossip;
    return p;
}

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_PEER_RECORD_HPP
