// concepts/aggregator.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_AGGREGATOR_HPP
#define MESHKIT_CONCEPTS_AGGREGATOR_HPP

#include <meshkit/topology/upward_item.hpp>

#include <concepts>
#include <cstddef>

namespace meshkit {

/** How a leader folds what comes up from its cell into less: the hierarchical mesh's aggregation policy.

    A type `A` models `aggregator` if, for `a` an `A`, `ca` an `A const`
    and `item` a `topology::upward_item`:

    1. `a.fold(item)` takes the item into the summary being built and
       returns true, or returns false to leave it alone (the node then
       forwards it up as it is). It must not keep `item.payload`'s span.
    2. `ca.pending()` says how many items were folded since the last
       summary (convertible to `std::size_t`); the node sends no summary
       while it is 0.
    3. `a.take_summary()` returns a `topology::aggregate_summary` of
       everything folded since the last one, and starts a new one.

    `topology::no_aggregation` folds nothing (every reading travels to
    the root on its own); `topology::summary_aggregator` folds
    `node_state` readings and `cell_summary` summaries into one
    `cell_summary`. See docs/concepts/aggregator.md.
*/
template <class A>
concept aggregator = std::move_constructible<A> && requires(A& a, A const& ca, topology::upward_item const& item) {
    { a.fold(item) } -> std::same_as<bool>;
    { ca.pending() } -> std::convertible_to<std::size_t>;
    { a.take_summary() } -> std::same_as<topology::aggregate_summary>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_AGGREGATOR_HPP
