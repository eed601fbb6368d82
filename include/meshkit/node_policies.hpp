// node_policies.hpp
// ~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NODE_POLICIES_HPP
#define MESHKIT_NODE_POLICIES_HPP

#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/discovery/static_seeds.hpp>
#include <meshkit/hierarchy/flat.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/membership/liveness.hpp>
#include <meshkit/metrics/null_metrics.hpp>
#include <meshkit/node.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/sim/virtual_clock.hpp>
#include <meshkit/storage/memory_store.hpp>
#include <meshkit/type_list.hpp>

namespace meshkit {

/** The policy bundle for a node on the simulator.

    Static seeds, a flat hierarchy, memory storage, no metrics and the
    liveness engine. Derive from it to change one policy at a time.
*/
struct sim_policies {
    // Fully qualified: inside the class, `discovery` names the member being
    // declared, so `discovery::static_seeds` would mean two things.
    using transport = ::meshkit::sim::transport;
    using clock = ::meshkit::sim::virtual_clock;
    using discovery = ::meshkit::discovery::static_seeds;
    using hierarchy = ::meshkit::hierarchy::flat;
    using storage = ::meshkit::storage::memory_store;
    using metrics = ::meshkit::metrics::null_metrics;
    using engines = type_list<membership::liveness>;
};

/// A node on `sim::network` with the default policies.
using sim_node = basic_node<sim_policies>;

/// The simulator bundle running the gossip overlay: HyParView membership and Plumtree broadcast.
struct sim_gossip_policies : sim_policies {
    using engines = type_list<membership::hyparview, broadcast::plumtree>;
};

/// A gossip-overlay node on `sim::network`.
using sim_gossip_node = basic_node<sim_gossip_policies>;

} // namespace meshkit

#endif // MESHKIT_NODE_POLICIES_HPP
