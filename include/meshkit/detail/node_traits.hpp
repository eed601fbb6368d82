// detail/node_traits.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_NODE_TRAITS_HPP
#define MESHKIT_DETAIL_NODE_TRAITS_HPP

#include <meshkit/concepts/engine.hpp>
#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/concepts/transport.hpp>
#include <meshkit/detail/stream_table.hpp>
#include <meshkit/membership/liveness.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/stream_lifecycle.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstddef>
#include <tuple>
#include <type_traits>

/*  What basic_node reads off a policy bundle: each named policy (or a
    marker for a missing one, so the node's checks can name it), the engine
    list and what it adds up to (the tuple, every message, every event),
    and which engine owns a message type.
*/

namespace meshkit {

namespace detail {

/// Stands in for a policy the bundle does not name, so the check below reports it clearly.
struct missing_policy {};

#define MESHKIT_DETAIL_POLICY_OF(name)                                                                   \
    template <class P> struct name##_of { using type = missing_policy; };                               \
    template <class P> requires requires { typename P::name; } struct name##_of<P> { using type = typename P::name; };

MESHKIT_DETAIL_POLICY_OF(transport)
MESHKIT_DETAIL_POLICY_OF(clock)
MESHKIT_DETAIL_POLICY_OF(discovery)
MESHKIT_DETAIL_POLICY_OF(hierarchy)
MESHKIT_DETAIL_POLICY_OF(storage)
MESHKIT_DETAIL_POLICY_OF(metrics)
#undef MESHKIT_DETAIL_POLICY_OF

/** The transports a bundle names: `Policies::transports` (a `type_list`), else its one `transport`.

    A bundle that derives from one naming `transport` and adds `transports`
    gets the list: the list wins.
*/
template <class P> struct transports_of { using type = type_list<typename transport_of<P>::type>; };
template <class P> requires requires { typename P::transports; }
struct transports_of<P> { using type = typename P::transports; };

/// Whether the bundle names its transports as a list (else one `transport`, checked with its own message).
template <class P>
inline constexpr bool names_transport_list = requires { typename P::transports; };

/// The node's table of open streams on stream transport `T`; nothing for a datagram transport.
struct no_stream_table {
    void set_limit(std::size_t) noexcept {}
};
template <class T> struct stream_table_of { using type = no_stream_table; };
template <class T> requires stream_transport<T> struct stream_table_of<T> { using type = stream_table<T>; };
template <class List> struct stream_tables_of;
template <class... Ts> struct stream_tables_of<type_list<Ts...>> {
    using type = std::tuple<typename stream_table_of<Ts>::type...>;
};

template <class P> struct engines_of { using type = type_list<membership::liveness>; };
template <class P> requires requires { typename P::engines; } struct engines_of<P> { using type = typename P::engines; };

template <class List> struct all_engines : std::false_type {};
template <class... Es> struct all_engines<type_list<Es...>> : std::bool_constant<(engine<Es> && ...)> {};

/// Whether engine `E` reads and feeds the node's discovery policy as a peer cache.
template <class E> inline constexpr bool needs_peer_cache = false;
template <class E> requires requires { E::needs_peer_cache; }
inline constexpr bool needs_peer_cache<E> = E::needs_peer_cache;

template <class List> struct any_needs_peer_cache : std::false_type {};
template <class... Es>
struct any_needs_peer_cache<type_list<Es...>> : std::bool_constant<(needs_peer_cache<Es> || ...)> {};

template <class List> struct engine_tuple;
template <class... Es> struct engine_tuple<type_list<Es...>> {
    using type = std::tuple<Es...>;
    using messages = wire::registry_union<typename Es::messages...>;
    using events = type_list_union<type_list<peer_up, peer_down, contact_failed, peers_wanted, transport_error,
                                             stream_opened, stream_ended>,
                                   typename Es::events...>;
};

/// The index of the first engine in `Tuple` whose registry holds `M`.
template <class M, class Tuple, std::size_t I = 0>
constexpr std::size_t owner_of() noexcept
{
    static_assert(I < std::tuple_size_v<Tuple>, "meshkit: no engine of this node handles that message type");
    if constexpr (std::tuple_element_t<I, Tuple>::messages::template contains<M>)
        return I;
    else
        return owner_of<M, Tuple, I + 1>();
}

} // namespace detail

} // namespace meshkit

#endif // MESHKIT_DETAIL_NODE_TRAITS_HPP
