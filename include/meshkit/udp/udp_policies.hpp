// udp/udp_policies.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_UDP_POLICIES_HPP
#define MESHKIT_UDP_UDP_POLICIES_HPP

#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/discovery/static_seeds.hpp>
#include <meshkit/hierarchy/flat.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/node.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/storage/memory_store.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/udp/steady_clock.hpp>
#include <meshkit/udp/transport.hpp>

namespace meshkit {

/** The policy bundle for a real node over UDP.

    The same engines as `sim_gossip_policies` (HyParView and Plumtree), on
    an Asio socket wrapped in `security::secure_transport` (Noise sessions;
    the node's id is its Ed25519 key) and the steady clock, with in-memory
    metrics so a running node can report its counters. The environment is
    an `asio::io_context`.
*/
struct udp_policies {
    using transport = ::meshkit::security::secure_transport<::meshkit::udp::transport>;
    using clock = ::meshkit::udp::steady_clock;
    using discovery = ::meshkit::discovery::static_seeds;
    using hierarchy = ::meshkit::hierarchy::flat;
    using storage = ::meshkit::storage::memory_store;
    using metrics = ::meshkit::metrics::in_memory_metrics;
    using engines = type_list<membership::hyparview, broadcast::plumtree>;
};

/// A gossip-overlay node on a real UDP socket.
using udp_node = basic_node<udp_policies>;

} // namespace meshkit

#endif // MESHKIT_UDP_UDP_POLICIES_HPP
