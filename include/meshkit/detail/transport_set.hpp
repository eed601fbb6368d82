// detail/transport_set.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_TRANSPORT_SET_HPP
#define MESHKIT_DETAIL_TRANSPORT_SET_HPP

#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/concepts/transport.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/transport_protocol.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/wire/channel.hpp>

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

/*  The transports a node owns, as one object: built in order at one IP and
    port, each reached by its index or by the protocol an endpoint names.
    `basic_node` keeps one; what a bundle may name is checked here so the
    node's checks stay one line each.
*/

namespace meshkit {
namespace detail {

/// The channel transport `T` carries: frames for a stream transport, else datagrams.
template <class T>
inline constexpr wire::channel channel_carried_by =
    stream_transport<T> ? wire::channel::stream : wire::channel::datagram;

/// The protocol addresses on `T` name: `T::protocol`, else UDP for datagrams and TCP for streams.
template <class T>
inline constexpr transport_protocol protocol_of =
    stream_transport<T> ? transport_protocol::tcp : transport_protocol::udp;
template <class T>
    requires requires { T::protocol; }
inline constexpr transport_protocol protocol_of<T> = T::protocol;

/// Whether `T` can be one of a node's transports.
template <class T>
inline constexpr bool is_node_transport = transport<T> || stream_transport<T>;

template <class... Ts>
consteval bool protocols_distinct() noexcept
{
    transport_protocol const p[] = {protocol_of<Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
        for (std::size_t j = i + 1; j < sizeof...(Ts); ++j)
            if (p[i] == p[j])
                return false;
    return true;
}

/// Whether `T` looks meant as a stream transport: then the stream check names what it lacks.
template <class T>
inline constexpr bool looks_like_stream_transport = requires { &T::on_stream; } || requires { &T::connect; };

template <class T>
consteval bool check_node_transport() noexcept
{
    if constexpr (transport<T>)
        return true;
    else if constexpr (looks_like_stream_transport<T>)
        return check_stream_transport<T>();
    else {
        static_assert(is_node_transport<T>,
                      "meshkit: every type in Policies::transports must model meshkit::transport (datagrams) or "
                      "meshkit::stream_transport (see docs/concepts/transport.md and "
                      "docs/concepts/stream_transport.md)");
        return false;
    }
}

/** Checks a bundle's transport list with meshkit's messages; `basic_node` calls it.

    Pinned by tests/compile_fail/bad_transport_set.cpp and bad_stream_transport.cpp.
*/
template <class... Ts>
consteval bool check_transport_set(type_list<Ts...>*) noexcept
{
    static_assert(sizeof...(Ts) > 0, "meshkit: Policies::transports is empty; a node needs a datagram transport");
    if (!(check_node_transport<Ts>() && ...))
        return false;
    if constexpr (sizeof...(Ts) > 0)
        static_assert(transport<std::tuple_element_t<0, std::tuple<Ts...>>>,
                      "meshkit: the first type in Policies::transports must be a datagram transport "
                      "(meshkit::transport): the node's address, clock and liveness are its");
    static_assert(protocols_distinct<Ts...>(),
                  "meshkit: two types in Policies::transports name the same transport_protocol, so an endpoint could "
                  "not say which it belongs to; give one `static constexpr meshkit::transport_protocol protocol`");
    return true;
}

/// One transport of a set, told apart from the others by its index.
template <std::size_t I, class T>
struct transport_slot {
    T value;

    template <class Env>
    transport_slot(Env& env, endpoint const& at) : value(env, at)
    {
    }
};

template <class Indices, class... Ts>
class transport_set_impl;

/** A node's transports, built in order: the first at the configured address, each other at its IP and port.

    The simulator and the real transports alike let a stream listener share
    the datagram transport's port (UDP and TCP ports are separate), so one
    IP and port names a node, and the protocol says which transport.
*/
template <std::size_t... I, class... Ts>
class transport_set_impl<std::index_sequence<I...>, Ts...> : transport_slot<I, Ts>... {
public:
    static constexpr std::size_t size = sizeof...(Ts);
    using first_type = std::tuple_element_t<0, std::tuple<Ts...>>;

    template <std::size_t J>
    using type_at = std::tuple_element_t<J, std::tuple<Ts...>>;

    /// Whether some transport carries channel `C`.
    template <wire::channel C>
    static constexpr bool carries = ((channel_carried_by<Ts> == C) || ...);

    /// The index of the first transport that carries channel `C` (`size` when none does).
    template <wire::channel C>
    static constexpr std::size_t first_of_channel = [] {
        constexpr bool hit[] = {(channel_carried_by<Ts> == C)...};
        for (std::size_t k = 0; k < sizeof...(Ts); ++k)
            if (hit[k])
                return k;
        return sizeof...(Ts);
    }();

    template <class Env>
    transport_set_impl(Env& env, endpoint const& listen)
        // Bases are built in order, so the first is up when the others ask where it listens.
        : transport_slot<I, Ts>(env, I == 0 ? listen : first().local_endpoint().on(protocol_of<Ts>))...
    {
    }

    template <std::size_t J>
    [[nodiscard]] auto& get() noexcept
    {
        return static_cast<transport_slot<J, type_at<J>>&>(*this).value;
    }

    template <std::size_t J>
    [[nodiscard]] auto const& get() const noexcept
    {
        return static_cast<transport_slot<J, type_at<J>> const&>(*this).value;
    }

    [[nodiscard]] first_type& first() noexcept { return get<0>(); }
    [[nodiscard]] first_type const& first() const noexcept { return get<0>(); }

    /// Calls `f.template operator()<J>(transport)` for each transport in order.
    template <class F>
    void for_each(F&& f)
    {
        (f.template operator()<I>(get<I>()), ...);
    }

    /** Calls `f.template operator()<J>(transport)` for the transport addresses on protocol `p` belong to.

        @return false when no transport of the set has that protocol.
    */
    template <class F>
    bool with_protocol(transport_protocol p, F&& f)
    {
        return ((p == protocol_of<Ts> ? (f.template operator()<I>(get<I>()), true) : false) || ...);
    }

    /// Where transport `J` listens, on its protocol.
    template <std::size_t J>
    [[nodiscard]] endpoint local_endpoint() const
    {
        return get<J>().local_endpoint().on(protocol_of<type_at<J>>);
    }
};

template <class... Ts>
using transport_set = transport_set_impl<std::index_sequence_for<Ts...>, Ts...>;

template <class List>
struct transport_set_of;
template <class... Ts>
struct transport_set_of<type_list<Ts...>> {
    using type = transport_set<Ts...>;
};

} // namespace detail
} // namespace meshkit

#endif // MESHKIT_DETAIL_TRANSPORT_SET_HPP
