// udp/udp_topic_policies.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_UDP_TOPIC_POLICIES_HPP
#define MESHKIT_UDP_UDP_TOPIC_POLICIES_HPP

#include <meshkit/node.hpp>
#include <meshkit/storage/sqlite_store.hpp>
#include <meshkit/topic/topic_policies.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/udp/udp_policies.hpp>

namespace meshkit {

/** The policy bundle for a real node in several topics, each reconciling what its broadcasts missed.

    `udp_policies` (a Noise-secured UDP socket, the steady clock, static
    seeds) with `topic::reliable_gossip_topics` as its one engine and a
    SQLite database as its storage: the node's identity and every topic's
    log of recent broadcasts live in one file, so a restarted node keeps
    what it had and reconciles only what it missed. Build it on
    `storage::sqlite_store(":memory:")` for a node that keeps nothing.
*/
struct udp_topic_policies : udp_policies {
    using storage = ::meshkit::storage::sqlite_store;
    using engines = type_list<topic::reliable_gossip_topics>;
};

/// A node on a real UDP socket that joins topics and keeps their logs in SQLite.
using udp_topic_node = basic_node<udp_topic_policies>;

} // namespace meshkit

#endif // MESHKIT_UDP_UDP_TOPIC_POLICIES_HPP
