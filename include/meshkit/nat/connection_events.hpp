// nat/connection_events.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_CONNECTION_EVENTS_HPP
#define MESHKIT_NAT_CONNECTION_EVENTS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::nat {

/** Events the connector emits.

    Cache gossip listens to them (a direct connection is a gossip
    neighbour), the registry reporter turns `link_up` into a report,
    and the application sees them all.
*/

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

/** A connection was forgotten while `count` application messages to `peer` were unacknowledged.

    The peer fell silent for `connector_config::connection_timeout`. Those
    messages were not delivered, or their acknowledgements were lost: the
    connector cannot tell which, and does not send them again. A
    connection this node opened to reach a peer is retried through the
    ladder and keeps its messages; one the peer opened, and an introducer
    session, are forgotten, and this report is how a message sent on one
    is never dropped silently.
*/
struct messages_undelivered {
    node_id peer;
    std::size_t count = 0;
};

/// An application message from a connected peer, delivered once.
struct peer_message {
    node_id from;
    std::vector<std::byte> payload;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_CONNECTION_EVENTS_HPP
