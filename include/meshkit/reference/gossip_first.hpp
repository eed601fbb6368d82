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
#include <meshkit/node_policies.hpp>
#include <meshkit/type_list.hpp>

#include <chrono>

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

/// The peer-cache settings of the reference node: Flashback's 2 h expiry, room for a large mesh.
inline discovery::bootstrap_cache_config gossip_first_cache_config()
{
    discovery::bootstrap_cache_config c;
    c.capacity = 4096;
    c.stale_after = std::chrono::hours(2);
    return c;
}

} // namespace meshkit::reference

#endif // MESHKIT_REFERENCE_GOSSIP_FIRST_HPP
