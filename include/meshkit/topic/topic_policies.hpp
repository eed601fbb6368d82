// topic/topic_policies.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_TOPIC_POLICIES_HPP
#define MESHKIT_TOPIC_TOPIC_POLICIES_HPP

#include <meshkit/node.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/sync/anti_entropy.hpp>
#include <meshkit/topic/topic_host.hpp>
#include <meshkit/type_list.hpp>

namespace meshkit::topic {

/// The simulator bundle with gossip topics: a HyParView overlay and a Plumtree tree per topic joined.
struct sim_topic_policies : ::meshkit::sim_policies {
    using engines = type_list<gossip_topics>;
};

/// A node on `sim::network` that joins topics.
using sim_topic_node = basic_node<sim_topic_policies>;

/** Gossip topics that miss nothing: HyParView, Plumtree and anti-entropy in each.

    What a broadcast misses (a partition, links rewired as it passed) the
    topic's anti-entropy reconciles from a peer's log ([anti-entropy.md](../../docs/anti-entropy.md)).
*/
using reliable_gossip_topics = topic_host<membership::hyparview, broadcast::plumtree, sync::anti_entropy>;

/// The simulator bundle with reliable gossip topics.
struct sim_reliable_topic_policies : ::meshkit::sim_policies {
    using engines = type_list<reliable_gossip_topics>;
};

/// A node on `sim::network` whose topics reconcile what their broadcasts missed.
using sim_reliable_topic_node = basic_node<sim_reliable_topic_policies>;

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_TOPIC_POLICIES_HPP
