// udp/gossip_first_policies.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_GOSSIP_FIRST_POLICIES_HPP
#define MESHKIT_UDP_GOSSIP_FIRST_POLICIES_HPP

#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/node.hpp>
#include <meshkit/reference/gossip_first.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/storage/file_store.hpp>
#include <meshkit/udp/steady_clock.hpp>
#include <meshkit/udp/transport.hpp>

namespace meshkit::udp {

/** The gossip-first reference node on a real UDP socket.

    The simulator bundle's engines and peer cache, with the Asio transport
    wrapped in `security::secure_transport` (Noise sessions; the node's id
    is its Ed25519 key, kept in the file store) and the steady clock, in-memory metrics, and a file store: a restarted node
    keeps its identity and its peer cache. The environment is an
    `asio::io_context`.

    No clock value crosses the wire, so its nodes may run on any hosts:
    the steady clock counts from each host's boot and nothing compares two
    hosts' readings (tests/tools/meshkit_gossip_first_test.sh proves it in
    time namespaces days apart).
*/
struct gossip_first_policies : reference::gossip_first_policies {
    using transport = ::meshkit::security::secure_transport<::meshkit::udp::transport>;
    using clock = ::meshkit::udp::steady_clock;
    using storage = ::meshkit::storage::file_store;
    using metrics = ::meshkit::metrics::in_memory_metrics;
};

/// A gossip-first node over UDP.
using gossip_first_node = basic_node<gossip_first_policies>;

/// The registry node over UDP.
struct registry_policies : reference::registry_policies {
    using transport = ::meshkit::security::secure_transport<::meshkit::udp::transport>;
    using clock = ::meshkit::udp::steady_clock;
    using metrics = ::meshkit::metrics::in_memory_metrics;
};

/// A registry node over UDP.
using registry_node = basic_node<registry_policies>;

} // namespace meshkit::udp

#endif // MESHKIT_UDP_GOSSIP_FIRST_POLICIES_HPP
