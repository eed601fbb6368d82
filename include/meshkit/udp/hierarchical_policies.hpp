// udp/hierarchical_policies.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_UDP_HIERARCHICAL_POLICIES_HPP
#define MESHKIT_UDP_HIERARCHICAL_POLICIES_HPP

#include <meshkit/hierarchy/dynamic_strategy.hpp>
#include <meshkit/node.hpp>
#include <meshkit/topology/hierarchical_mesh.hpp>
#include <meshkit/topology/summary_aggregator.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/udp/transport.hpp>
#include <meshkit/udp/udp_policies.hpp>

namespace meshkit::udp {

/** Reference node 3, the hierarchical mesh, over real UDP: `topology::hierarchical_mesh` on an Asio socket.

    Secure like every `udp_policies` node (`security::secure_transport`:
    its id is its key, every unicast datagram sealed in a Noise session).
    Beacons go to the node's seeds (`node.join`) and, with
    `secure_transport::join_group` and the group joined as a seed, to a LAN
    multicast group that every node in range hears. A group has no
    pairwise session, so beacons go there unsealed but signed by their
    sender, and a node takes nothing else from the group. See
    docs/reference/hierarchical.md and docs/security.md.
*/
template <class Strategy = hierarchy::dynamic_strategy, class Aggregator = topology::summary_aggregator>
struct hierarchical_policies : udp_policies {
    using hierarchy = Strategy;
    using engines = type_list<topology::hierarchical_mesh<Aggregator>>;
};

template <class Strategy = hierarchy::dynamic_strategy, class Aggregator = topology::summary_aggregator>
using hierarchical_node = basic_node<hierarchical_policies<Strategy, Aggregator>>;

} // namespace meshkit::udp

#endif // MESHKIT_UDP_HIERARCHICAL_POLICIES_HPP
