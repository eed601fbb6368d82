// node_config.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_NODE_CONFIG_HPP
#define MESHKIT_NODE_CONFIG_HPP

#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/broadcast/push_gossip.hpp>
#include <meshkit/discovery/peer_gossip.hpp>
#include <meshkit/discovery/registry.hpp>
#include <meshkit/discovery/registry_client.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/membership/liveness.hpp>
#include <meshkit/nat/connector.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <optional>
#include <type_traits>

namespace meshkit {

/** Settings of a `basic_node` and of the standard engines it hosts.

    Every field has a working default, so `sim_node n{net}` runs as is.
*/
struct node_config {
    /// The node's identity. Unset: the one in storage, or a new one derived from `seed` (then stored).
    std::optional<node_id> id;
    /** Seeds the node's random choices; with the simulator's seed it fixes a run completely.

        Unset: on the simulator, derived from the node's address (still
        deterministic); on a real transport, fresh entropy.
    */
    std::optional<std::uint64_t> seed;
    /// The address to bind. Unspecified: the transport picks (the simulator hands out a fresh one).
    endpoint listen{};
    /// Settings of the liveness engine.
    membership::liveness_config liveness{};
    /// Settings of the HyParView engine.
    membership::hyparview_config hyparview{};
    /// Settings of the Plumtree engine.
    broadcast::plumtree_config plumtree{};
    /// Settings of the push-gossip engine.
    broadcast::push_gossip_config push_gossip{};
    /// Settings of the connection ladder.
    nat::connector_config connector{};
    /// Settings of cache gossip.
    discovery::peer_gossip_config peer_gossip{};
    /// Settings of the registry engine (on the registry node) and of its clients.
    discovery::registry_config registry{};
    discovery::registry_client_config registry_client{};
};

/** How `basic_node` builds each standard engine from its `node_config`.

    Found by argument-dependent lookup; a user engine can provide its own
    overload, be constructible from `node_config const&`, or be
    default-constructible.
*/
inline membership::liveness make_engine(std::type_identity<membership::liveness>, node_config const& c)
{
    return membership::liveness(c.liveness);
}
inline membership::hyparview make_engine(std::type_identity<membership::hyparview>, node_config const& c)
{
    return membership::hyparview(c.hyparview);
}
inline broadcast::plumtree make_engine(std::type_identity<broadcast::plumtree>, node_config const& c)
{
    return broadcast::plumtree(c.plumtree);
}
inline broadcast::push_gossip make_engine(std::type_identity<broadcast::push_gossip>, node_config const& c)
{
    return broadcast::push_gossip(c.push_gossip);
}

inline nat::connector make_engine(std::type_identity<nat::connector>, node_config const& c)
{
    return nat::connector(c.connector);
}
inline discovery::peer_gossip make_engine(std::type_identity<discovery::peer_gossip>, node_config const& c)
{
    return discovery::peer_gossip(c.peer_gossip);
}
inline discovery::registry_server make_engine(std::type_identity<discovery::registry_server>, node_config const& c)
{
    return discovery::registry_server(c.registry);
}
inline discovery::registry_client make_engine(std::type_identity<discovery::registry_client>, node_config const& c)
{
    return discovery::registry_client(c.registry_client);
}

} // namespace meshkit

#endif // MESHKIT_NODE_CONFIG_HPP
