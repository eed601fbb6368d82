// concepts/node_policies.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_NODE_POLICIES_HPP
#define MESHKIT_CONCEPTS_NODE_POLICIES_HPP

#include <meshkit/concepts/clock.hpp>
#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/concepts/metrics_sink.hpp>
#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/concepts/transport.hpp>

namespace meshkit {

/** A complete policy bundle for `basic_node`.

    `P` names each policy as a member type and each models its concept.
    `basic_node` checks the members one by one instead of this concept, so
    that a broken bundle gets one message per broken policy; this concept is
    for constraining user templates that take a bundle.
*/
template <class P>
concept node_policies = transport<typename P::transport> && clock<typename P::clock> &&
                        discovery_strategy<typename P::discovery> && hierarchy_strategy<typename P::hierarchy> &&
                        storage_backend<typename P::storage> && metrics_sink<typename P::metrics>;

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_NODE_POLICIES_HPP
