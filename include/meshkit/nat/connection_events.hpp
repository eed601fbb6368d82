// nat/connection_events.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_CONNECTION_EVENTS_HPP
#define MESHKIT_NAT_CONNECTION_EVENTS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/nat/connection_method.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::nat {

/** Events the connector emits.

    Cache gossip listens to them (a direct connection is a gossip
    neighbour), the registry reporter turns `connection_up` into a report,
    and the application sees them all.
*/

/** A connection to `peer` works, or moved to a better method.

    Emitted on both sides. `initiated` is true on the side that asked for
    the connection, which is the side whose `attempts` and `time_to_connect`
    measure the ladder.
*/
struct connection_up {
    node_id peer;
    /// The peer's address on a direct or punched path; its relay's on a relayed one.
    endpoint address;
    connection_method method = connection_method::direct;
    bool initiated = false;
    /// Passes up the ladder (1 for a first-try success).
    unsigned attempts = 1;
    duration time_to_connect{};
    /// A relayed connection that became direct or punched.
    bool upgraded = false;
    nat_type peer_nat = nat_type::unknown;
};

/** A relayed connection moved to another relay: the old one went silent.

    `outage` is how long the connection went without the relay answering:
    from the last frame through the old relay to the first through the new.
*/
struct relay_failover {
    node_id peer;
    endpoint old_relay;
    endpoint new_relay;
    duration outage{};
};

/// A connection was lost: its peer went silent past the timeout.
struct connection_down {
    node_id peer;
    endpoint address;
};

/** The ladder ran out of rungs for `peer`: no direct path, no punch, no relay.

    The connector retries after an exponentially growing backoff; this
    event reports each failed pass.
*/
struct connection_failed {
    node_id peer;
    unsigned attempts = 0;
    duration retry_in{};
};

/** The node's view of its own address changed: enough observers agree, or the NAT's behaviour became clear.

    `introducers` are the public peers it keeps sessions with, which others
    can ask to coordinate a punch to it or relay for it.
*/
struct address_observed {
    endpoint address;
    nat_type nat = nat_type::unknown;
    std::vector<endpoint> introducers;
};

/// An application message from a connected peer, delivered once.
struct peer_message {
    node_id from;
    std::vector<std::byte> payload;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_CONNECTION_EVENTS_HPP
