// reference/hierarchical.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_REFERENCE_HIERARCHICAL_HPP
#define MESHKIT_REFERENCE_HIERARCHICAL_HPP

#include <meshkit/hierarchy/dynamic_strategy.hpp>
#include <meshkit/hierarchy/hybrid_strategy.hpp>
#include <meshkit/hierarchy/static_strategy.hpp>
#include <meshkit/node.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/result.hpp>
#include <meshkit/topology/hierarchical_mesh.hpp>
#include <meshkit/topology/summary_aggregator.hpp>
#include <meshkit/type_list.hpp>

#include <optional>
#include <span>
#include <system_error>

namespace meshkit::reference {

/** Reference node 3, the hierarchical mesh (Peat), on the simulator.

    One engine, `topology::hierarchical_mesh`, over datagrams; the
    hierarchy policy (`Strategy`: `hierarchy::static_strategy`,
    `dynamic_strategy` or `hybrid_strategy`) decides levels and roles, the
    aggregator (`Aggregator`) what a leader sends up. See
    docs/reference/hierarchical.md.
*/
template <class Strategy = hierarchy::dynamic_strategy, class Aggregator = topology::summary_aggregator>
struct hierarchical_policies : sim_policies {
    using hierarchy = Strategy;
    using engines = type_list<topology::hierarchical_mesh<Aggregator>>;
};

template <class Strategy = hierarchy::dynamic_strategy, class Aggregator = topology::summary_aggregator>
using hierarchical_node = basic_node<hierarchical_policies<Strategy, Aggregator>>;

namespace detail {
template <class List> struct first_engine;
template <class E, class... Rest> struct first_engine<type_list<E, Rest...>> {
    using type = E;
};
} // namespace detail

/// The engine type of a hierarchical node's bundle (its first engine: `topology::hierarchical_mesh<A>`).
template <class Policies>
using mesh_engine_of = typename detail::first_engine<typename Policies::engines>::type;

/// Reports a reading (or status) upward from `node`: `topology::hierarchical_mesh::report`.
template <class Policies>
result<topology::packet_key> report(basic_node<Policies>& node, topology::data_type type,
                                    std::span<std::byte const> payload)
{
    return node.template with_engine<mesh_engine_of<Policies>>(
        [&](auto& e, auto& ctx) { return e.report(ctx, type, payload); });
}

/// Sends a command or configuration down, or coordination across: `topology::hierarchical_mesh::send`.
template <class Policies>
std::error_code send(basic_node<Policies>& node, topology::data_type type, std::optional<node_id> destination,
                     std::span<std::byte const> payload)
{
    return node.template with_engine<mesh_engine_of<Policies>>(
        [&](auto& e, auto& ctx) { return e.send(ctx, type, destination, payload); });
}

/// The node's mesh engine, to read its parent, children, stats.
template <class Policies>
auto const& mesh(basic_node<Policies> const& node)
{
    return node.template engine<mesh_engine_of<Policies>>();
}

} // namespace meshkit::reference

#endif // MESHKIT_REFERENCE_HIERARCHICAL_HPP
