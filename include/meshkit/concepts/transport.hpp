// concepts/transport.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_TRANSPORT_HPP
#define MESHKIT_CONCEPTS_TRANSPORT_HPP

#include <meshkit/endpoint.hpp>

#include <concepts>
#include <cstddef>
#include <functional>
#include <span>
#include <system_error>

namespace meshkit {

/// What a transport calls for each datagram it receives.
using receive_handler = std::function<void(endpoint const& from, std::span<std::byte const> datagram)>;

/** How datagrams reach an address.

    A type `T` models `transport` if, for `t` a `T`, `ct` a `T const`, `to` an
    `endpoint`, `bytes` a `std::span<std::byte const>` and `h` a
    `receive_handler`:

    1. `ct.local_endpoint()` returns the `endpoint` peers can reach it at.
    2. `t.send(to, bytes)` hands one datagram to the network and returns a
       `std::error_code`; success means "sent", never "delivered" (datagram
       semantics: loss is silent).
    3. `t.on_receive(h)` installs the handler called for every datagram that
       arrives; it replaces any previous handler.
    4. `ct.max_datagram_size()` is the largest payload `send` accepts.

    See docs/concepts/transport.md.
*/
template <class T>
concept transport = requires(T& t, T const& ct, endpoint const& to, std::span<std::byte const> bytes,
                             receive_handler h) {
    { ct.local_endpoint() } -> std::same_as<endpoint>;
    { t.send(to, bytes) } -> std::same_as<std::error_code>;
    { t.on_receive(std::move(h)) } -> std::same_as<void>;
    { ct.max_datagram_size() } -> std::convertible_to<std::size_t>;
};

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_TRANSPORT_HPP
