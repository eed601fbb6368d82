// tcp/substrate_transient_policies.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TCP_SUBSTRATE_TRANSIENT_POLICIES_HPP
#define MESHKIT_TCP_SUBSTRATE_TRANSIENT_POLICIES_HPP

#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/node.hpp>
#include <meshkit/reference/substrate_transient.hpp>
#include <meshkit/security/secure_stream_transport.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/tcp/transport.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/udp/steady_clock.hpp>
#include <meshkit/udp/transport.hpp>

namespace meshkit::tcp {

/// The secure transports of both sides: Noise sessions on UDP, a Noise handshake on every TCP stream.
using secure_transports = type_list<security::secure_transport<udp::transport>,
                                    security::secure_stream_transport<tcp::transport>>;

/** The substrate/transient reference node on real sockets: the mesh on UDP, attachments on TCP.

    The simulator bundles' engines and hierarchy policy with
    `udp::transport` and `tcp::transport` (one port number: the UDP
    address for the mesh and probes, the TCP address where transients
    attach), both secure (`security::secure_transport`,
    `security::secure_stream_transport`: the node's id is its key, and
    every datagram and stream frame is sealed and proves its sender), the
    steady clock and in-memory metrics. The environment is an
    `asio::io_context`. No clock value crosses the wire: catch-up asks by
    age, records carry versions.
*/
struct substrate_policies : reference::substrate_policies {
    using transports = secure_transports;
    using clock = udp::steady_clock;
    using metrics = ::meshkit::metrics::in_memory_metrics;
};

/// The transient side on real sockets: one TCP attachment, UDP for RTT probes.
struct transient_policies : reference::transient_policies {
    using transports = secure_transports;
    using clock = udp::steady_clock;
    using metrics = ::meshkit::metrics::in_memory_metrics;
};

using substrate_node = basic_node<substrate_policies>;
using transient_node = basic_node<transient_policies>;

} // namespace meshkit::tcp

#endif // MESHKIT_TCP_SUBSTRATE_TRANSIENT_POLICIES_HPP
