// topology/mesh_config.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPOLOGY_MESH_CONFIG_HPP
#define MESHKIT_TOPOLOGY_MESH_CONFIG_HPP

#include <meshkit/hierarchy/geo_position.hpp>
#include <meshkit/hierarchy/mobility.hpp>
#include <meshkit/hierarchy/node_resources.hpp>
#include <meshkit/time.hpp>
#include <meshkit/topology/beacon.hpp>
#include <meshkit/topology/beacon_config.hpp>
#include <meshkit/topology/parent_selector.hpp>
#include <meshkit/topology/selective_router.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace meshkit::topology {

/** The settings of `hierarchical_mesh`: what the node says of itself, and Peat's timing, with Peat's values.

    The level and role are not here: they are the hierarchy policy's
    (`hierarchy::static_strategy`, `dynamic_strategy`, `hybrid_strategy`).
*/
struct mesh_config {
    // -- what the node's beacon says ---------------------------------------
    geo_position position;
    std::vector<std::string> capabilities;
    std::optional<meshkit::mobility> mobility;
    std::optional<node_resources> resources;
    /// Whether it takes children; no value: when its resources allow (`can_carry_children`), else yes.
    std::optional<bool> can_parent;
    std::uint8_t parent_priority = 0;
    bool operational = true;

    beacon_config beacons;
    selection_config selection;
    router_config routing;

    /// The highest level of the deployment: a node there is a root (consumes what comes up, has no parent).
    std::uint8_t top_level = 3;

    // -- the topology builder (Peat's TopologyConfig) --------------------------
    /// How often a node with a parent weighs a better one.
    duration reevaluation_interval = std::chrono::seconds(30);
    /// No change of parent by score within this long of the last (a lost parent is replaced at once).
    duration parent_change_cooldown = std::chrono::seconds(60);
    /// A parent not heard from for this long is lost, whatever else happened.
    duration parent_timeout = std::chrono::seconds(180);
    /// Same-level peers tracked for lateral traffic, nearest first.
    std::size_t max_lateral = 10;
    /// Children tracked; more still send upward and are served, they are just not listed.
    std::size_t max_children = 256;

    // -- failover (Peat's TopologyManager) ------------------------------------
    /// A packet to the parent not acknowledged within this long makes the parent suspect.
    duration ack_timeout = std::chrono::seconds(1);
    /// Retries of a suspect parent (probes), waiting `retry_initial`, doubling up to `retry_max`.
    std::uint32_t max_retries = 3;
    duration retry_initial = std::chrono::seconds(1);
    duration retry_max = std::chrono::seconds(60);
    /** Failed retries after which the node moves to the next-best parent while one exists (it keeps the
        suspect parent for all `max_retries` only when there is none). 1 re-homes children in a few seconds;
        Peat retries 3 times first. */
    std::uint32_t retries_before_fallback = 1;
    /** Upward packets held until the parent releases them (`hm_ack::released`), including while detached
        or partitioned: when full, the oldest is dropped and counted. */
    std::size_t max_telemetry_buffer = 100;
    /// A held packet the parent received and never released is given again after this long (it restarted).
    duration release_timeout = std::chrono::seconds(60);
    /// Downward and lateral packets awaiting a hop's receipt, resent up to 3 times.
    std::size_t max_hop_pending = 256;

    // -- aggregation -----------------------------------------------------------
    /// How often a node with children sends up what its aggregator folded.
    duration aggregation_interval = std::chrono::seconds(5);

    // -- partitions (Peat's PartitionDetector) --------------------------------
    /// Checks with no operational node above before a partition is declared, spaced 2 s doubling to 30 s.
    std::uint32_t partition_attempts = 3;
    duration partition_backoff_initial = std::chrono::seconds(2);
    duration partition_backoff_max = std::chrono::seconds(30);

    /// Where beacons go besides the nodes already heard (seeds, a LAN group); more are ignored.
    std::size_t max_beacon_targets = 256;
    /** Whether each beacon also goes to every node heard, one datagram each. Turn it off when the targets
        include a multicast group (a LAN, a radio net) that reaches every node in range with one datagram. */
    bool beacon_to_heard = true;

    /// Whether the node may take children (`can_parent`, else its resources, else yes).
    [[nodiscard]] bool takes_children() const noexcept
    {
        if (can_parent)
            return *can_parent;
        return resources ? resources->can_carry_children() : true;
    }

    /// @throws std::invalid_argument for an implausible position, bad capabilities, or timing that cannot work.
    void validate() const
    {
        beacons.validate();
        selection.validate();
        if (!position.is_plausible())
            throw std::invalid_argument("meshkit: mesh_config::position is not a position on Earth");
        if (capabilities.size() > max_capabilities)
            throw std::invalid_argument("meshkit: mesh_config::capabilities lists more than 16");
        for (auto const& c : capabilities)
            if (c.empty() || c.size() > max_capability_length)
                throw std::invalid_argument("meshkit: mesh_config::capabilities holds an empty name or one over 32 bytes");
        if (top_level > max_hierarchy_level)
            throw std::invalid_argument("meshkit: mesh_config::top_level is above 15");
        if (ack_timeout.count() <= 0 || retry_initial.count() <= 0 || aggregation_interval.count() <= 0 ||
            reevaluation_interval.count() <= 0 || partition_backoff_initial.count() <= 0)
            throw std::invalid_argument("meshkit: mesh_config intervals must be positive");
        if (max_telemetry_buffer == 0)
            throw std::invalid_argument("meshkit: mesh_config::max_telemetry_buffer must be positive");
    }
};

} // namespace meshkit::topology

#endif // MESHKIT_TOPOLOGY_MESH_CONFIG_HPP
