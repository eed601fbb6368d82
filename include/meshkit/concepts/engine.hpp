// concepts/engine.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_ENGINE_HPP
#define MESHKIT_CONCEPTS_ENGINE_HPP

#include <meshkit/type_list.hpp>
#include <meshkit/wire/registry.hpp>

#include <concepts>
#include <type_traits>

namespace meshkit {

namespace detail {
template <class T> struct is_registry : std::false_type {};
template <class... Ms> struct is_registry<wire::registry<Ms...>> : std::true_type {};
template <class T> struct is_type_list : std::false_type {};
template <class... Ts> struct is_type_list<type_list<Ts...>> : std::true_type {};
} // namespace detail

/** A sans-IO protocol engine that `basic_node` can host.

    A type `E` models `engine` if:

    1. `E::messages` is a `wire::registry` of the messages it speaks;
    2. `E::events` is a `type_list` of the events it emits;
    3. it is move-constructible (the node builds it, then stores it).

    Its hooks are templates on the context type, so they are checked where
    the node instantiates them: `basic_node` requires an
    `on_message(ctx, inbound, M)` for every `M` in `E::messages`. The other
    hooks (`start`, `add_candidate`, `on_datagram`, `on_timer`, `on_event`,
    `on_unreachable`, `broadcast`) are optional.

    See docs/concepts/engine.md.
*/
template <class E>
concept engine = requires {
    typename E::messages;
    typename E::events;
} && detail::is_registry<typename E::messages>::value && detail::is_type_list<typename E::events>::value &&
                 std::move_constructible<E>;

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_ENGINE_HPP
