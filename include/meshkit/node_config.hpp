// node_config.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_NODE_CONFIG_HPP
#define MESHKIT_NODE_CONFIG_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/membership/liveness.hpp>
#include <meshkit/node_id.hpp>

#include <cstdint>
#include <optional>

namespace meshkit {

/** Settings of a `basic_node` and of the standard engines it hosts.

    Every field has a working default, so `sim_node n{net}` runs as is.
*/
struct node_config {
    /// The node's identity. Unset: the one in storage, or a new one derived from `seed` (then stored).
    std::optional<node_id> id;
    /// Seeds the node's random choices; with the simulator's seed it fixes a run completely.
    std::uint64_t seed = 0;
    /// The address to bind. Unspecified: the transport picks (the simulator hands out a fresh one).
    endpoint listen{};
    /// Settings of the liveness engine.
    membership::liveness_config liveness{};
};

} // namespace meshkit

#endif // MESHKIT_NODE_CONFIG_HPP
