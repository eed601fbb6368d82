// reference/substrate_transient.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_REFERENCE_SUBSTRATE_TRANSIENT_HPP
#define MESHKIT_REFERENCE_SUBSTRATE_TRANSIENT_HPP

#include <meshkit/attach/substrate.hpp>
#include <meshkit/attach/transient.hpp>
#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/hierarchy/substrate_transient.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/node.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/security/secure_stream_transport.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/sim/stream_transport.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/type_list.hpp>

#include <cstddef>
#include <span>
#include <system_error>
#include <type_traits>

namespace meshkit::reference {

/** Reference node 2, the substrate side: the flat mesh (HyParView + Plumtree) and the children attached to it.

    REPRAM's substrate/transient mesh (Discovery Protocol v2), with what
    REPRAM never built: attachment chosen by measured RTT and Vivaldi
    coordinates, the anti-flap rule, a migration that overlaps the old
    attachment with the new, catch-up from a bounded log, and a re-attach
    loop. Mesh on datagrams, attachments on streams. On the simulator;
    `tcp::substrate_node` (tcp/substrate_transient_policies.hpp) runs it
    over UDP and TCP. See docs/reference/substrate-transient.md.
*/
struct substrate_policies : sim_policies {
    using transports = type_list<sim::transport, sim::stream_transport>;
    using hierarchy = ::meshkit::hierarchy::substrate_transient;
    using engines = type_list<membership::hyparview, broadcast::plumtree, attach::substrate>;
};

/// Reference node 2, the transient side: attached to one substrate at a time, never in the mesh.
struct transient_policies : sim_policies {
    using transports = type_list<sim::transport, sim::stream_transport>;
    using hierarchy = ::meshkit::hierarchy::substrate_transient;
    using engines = type_list<attach::transient>;
};

using substrate_node = basic_node<substrate_policies>;
using transient_node = basic_node<transient_policies>;

/// Both sides' simulated transports made secure: Noise sessions on datagrams, a Noise handshake on each stream.
using secure_sim_transports = type_list<security::secure_transport<sim::transport>,
                                        security::secure_stream_transport<sim::stream_transport>>;

/// The substrate on the simulator with secure transports, as `tcp::substrate_node` runs: its id is its key.
struct secure_substrate_policies : substrate_policies {
    using transports = secure_sim_transports;
};
/// The transient on the simulator with secure transports.
struct secure_transient_policies : transient_policies {
    using transports = secure_sim_transports;
};

using secure_substrate_node = basic_node<secure_substrate_policies>;
using secure_transient_node = basic_node<secure_transient_policies>;

// -- the facade: what tools and users call on either kind ----------------------------

namespace detail {
template <class T, class... Ts>
constexpr bool lists(type_list<Ts...> const*) noexcept
{
    return (std::is_same_v<T, Ts> || ...);
}
} // namespace detail

/// Whether a node of `Policies` is a substrate (its engines include `attach::substrate`).
template <class Policies>
inline constexpr bool is_substrate = detail::lists<attach::substrate>(static_cast<typename Policies::engines const*>(nullptr));

/// Whether a node of `Policies` is a transient (its engines include `attach::transient`).
template <class Policies>
inline constexpr bool is_transient = detail::lists<attach::transient>(static_cast<typename Policies::engines const*>(nullptr));

/// A bundle of this mesh: a substrate or a transient (so `publish` here is not the gossip-first node's).
template <class Policies>
concept attachment_mesh_policies = is_substrate<Policies> || is_transient<Policies>;

/** Publishes `data` to every node of the mesh, substrates and transients, each delivering it once
    (`attach::published`).

    On a substrate: into the mesh at once (`errc::queue_full` when Plumtree's
    queues are full: retry on `broadcast::ready_to_publish`). On a transient:
    through its substrate, kept until acknowledged and resent on the next
    attachment, buffered while detached. `errc::message_too_large` above
    `attach::max_publication_size`.
*/
template <attachment_mesh_policies Policies>
std::error_code publish(basic_node<Policies>& node, std::span<std::byte const> data)
{
    if constexpr (is_substrate<Policies>)
        return node.template with_engine<attach::substrate>([&](auto& e, auto& ctx) { return e.publish(ctx, data); });
    else
        return node.template with_engine<attach::transient>([&](auto& e, auto& ctx) { return e.publish(ctx, data); });
}

/// A substrate leaving on purpose: every child is told to move now (`goodbye{shutdown}`) before the node stops.
template <class Policies>
void shutdown(basic_node<Policies>& node)
{
    node.template with_engine<attach::substrate>([](auto& e, auto& ctx) { e.shutdown(ctx); });
}

} // namespace meshkit::reference

#endif // MESHKIT_REFERENCE_SUBSTRATE_TRANSIENT_HPP
