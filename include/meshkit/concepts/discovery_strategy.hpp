// concepts/discovery_strategy.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_DISCOVERY_STRATEGY_HPP
#define MESHKIT_CONCEPTS_DISCOVERY_STRATEGY_HPP

#include <meshkit/endpoint.hpp>

#include <concepts>
#include <cstddef>
#include <vector>

namespace meshkit {

/// What happened when the node tried a candidate a discovery strategy gave it.
enum class contact_outcome {
    /** The candidate answered. */
    reached = 1,
    /** The candidate did not answer within the engine's attempts. */
    unreachable,
};

/** Where candidate peers come from.

    A type `D` models `discovery_strategy` if, for `d` a `D`, `n` a
    `std::size_t`, `ep` an `endpoint` and `o` a `contact_outcome`:

    1. `d.candidates(n)` returns at most `n` endpoints worth contacting now,
       best first. The node calls it at start and whenever it has fewer live
       peers than it wants.
    2. `d.report(ep, o)` tells the strategy how a contact went, so a cache can
       learn which candidates are good.

    See docs/concepts/discovery_strategy.md.
*/
template <class D>
concept discovery_strategy = requires(D& d, std::size_t n, endpoint const& ep, contact_outcome o) {
    { d.candidates(n) } -> std::same_as<std::vector<endpoint>>;
    { d.report(ep, o) } -> std::same_as<void>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_DISCOVERY_STRATEGY_HPP
