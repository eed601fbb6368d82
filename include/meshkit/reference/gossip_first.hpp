// reference/gossip_first.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_REFERENCE_GOSSIP_FIRST_HPP
#define MESHKIT_REFERENCE_GOSSIP_FIRST_HPP

#include <meshkit/discovery/bootstrap_cache.hpp>
#include <meshkit/discovery/peer_gossip.hpp>
#include <meshkit/discovery/registry.hpp>
#include <meshkit/discovery/registry_client.hpp>
#include <meshkit/nat/connector.hpp>
#include <meshkit/node.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/type_list.hpp>

#include <chrono>
#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit::reference {

/** Reference node 1: gossip-first peer discovery with coordinated NAT traversal.

    The composition of ant-quic's gossip-first design and Flashback's
    bootstrap and gossip protocol: a persistent, quality-ranked peer cache
    (`bootstrap_cache`) as the discovery policy, fed by cache gossip
    (`peer_gossip`); the connection ladder (`connector`) that reaches any
    cached peer directly, by a coordinated punch or through a relay; and
    a reporting-only registry client. On the simulator;
    `udp::gossip_first_node` (udp/gossip_first_policies.hpp) runs it over
    UDP. No clock value crosses the wire (records carry versions and
    ages), so its nodes may run on hosts whose clocks are unrelated.
*/
struct gossip_first_policies : sim_policies {
    using discovery = ::meshkit::discovery::bootstrap_cache;
    using engines = type_list<::meshkit::nat::connector, ::meshkit::discovery::peer_gossip,
                              ::meshkit::discovery::registry_client>;
};

/// A gossip-first node on the simulator.
using gossip_first_node = basic_node<gossip_first_policies>;

/// The registry node: registrations and connection reports, nothing else.
struct registry_policies : sim_policies {
    using engines = type_list<::meshkit::discovery::registry_server>;
};

/// A registry node on the simulator.
using registry_node = basic_node<registry_policies>;

/** The gossip-first node on the simulator with Noise sessions (`security::secure_transport`): its id is its key.

    What `udp::gossip_first_node` is on real sockets; `meshkit-sim
    gossip-first` runs the scenario with both and prints the KPIs side by side.
*/
struct secure_gossip_first_policies : gossip_first_policies {
    using transport = ::meshkit::security::secure_transport<::meshkit::sim::transport>;
};
using secure_gossip_first_node = basic_node<secure_gossip_first_policies>;

/// The registry node on the simulator with Noise sessions.
struct secure_registry_policies : registry_policies {
    using transport = ::meshkit::security::secure_transport<::meshkit::sim::transport>;
};
using secure_registry_node = basic_node<secure_registry_policies>;

/// The peer-cache settings of the reference node: Flashback's 2 h expiry, room for a large mesh.
inline discovery::bootstrap_cache_config gossip_first_cache_config()
{
    discovery::bootstrap_cache_config c;
    c.capacity = 4096;
    c.stale_after = std::chrono::hours(2);
    return c;
}

// -- the facade: what tools and users call on a gossip-first node -------------------
//
// Each takes any `basic_node` whose engines include `nat::connector` (and
// `discovery::peer_gossip` for `leave`): `gossip_first_node` on the
// simulator and `udp::gossip_first_node` alike. They reach the engines
// through `basic_node::with_engine`, so what an engine raises during the
// call is delivered to the node's handler when the call returns.

/** Starts the connection ladder towards `peer`, whose record must be in the node's peer cache.

    @return `nat::errc::unknown_peer` when the cache has no address for it,
    `nat::errc::connection_limit` when the node holds `max_connections`; success when
    already connected or connecting. The outcome arrives as `link_up` or
    `nat::connection_failed`.
*/
template <class Policies>
std::error_code connect(basic_node<Policies>& node, node_id const& peer)
{
    return node.template with_engine<nat::connector>([&](auto& c, auto& ctx) { return c.connect(ctx, peer); });
}

/** Sends `payload` to `peer` over its connection: delivered once (`nat::peer_message` there), acknowledged.

    It may be called right after `connect`: the message waits until the
    ladder has a path.

    @return `nat::errc::not_connected` without a connection to `peer`,
    `errc::message_too_large` over `max_payload`, `errc::queue_full` when
    `max_pending_messages` are unacknowledged.
*/
template <class Policies>
std::error_code send(basic_node<Policies>& node, node_id const& peer, std::span<std::byte const> payload)
{
    return node.template with_engine<nat::connector>(
        [&](auto& c, auto& ctx) { return c.send(ctx, peer, payload); });
}

/// What `publish` did with a message for one connection.
struct publish_outcome {
    node_id peer;
    /// Why the connection did not take the message; success when it did.
    std::error_code error;
    /// Taken, but the connection is still climbing the ladder: it goes once the path is up.
    bool queued = false;
};

/** Sends `payload` to every peer the node holds a connection with (each as `send` does).

    @return one outcome per connection, in the order of `connections`;
    empty when the node has none, so a message nobody can take is never
    dropped silently.
*/
template <class Policies>
std::vector<publish_outcome> publish(basic_node<Policies>& node, std::span<std::byte const> payload)
{
    std::vector<publish_outcome> out;
    for (auto const& c : node.template engine<nat::connector>().connections()) {
        std::error_code const ec = reference::send(node, c.peer, payload);
        out.push_back({c.peer, ec, !ec && !c.established});
    }
    return out;
}

/// Every connection the node holds, made or being made (`nat::connection_info`).
template <class Policies>
std::vector<nat::connection_info> connections(basic_node<Policies> const& node)
{
    return node.template engine<nat::connector>().connections();
}

/** Tells the mesh that this node leaves: cache gossip spreads its departure, and peers drop its record at once.

    Only a node that broadcasts its address and has announced itself sends
    anything. Call it before `stop()`.
*/
template <class Policies>
void leave(basic_node<Policies>& node)
{
    node.template with_engine<discovery::peer_gossip>([](auto& g, auto& ctx) { g.leave(ctx); });
}

} // namespace meshkit::reference

#endif // MESHKIT_REFERENCE_GOSSIP_FIRST_HPP
