// concepts/stream_transport.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_STREAM_TRANSPORT_HPP
#define MESHKIT_CONCEPTS_STREAM_TRANSPORT_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/stream_error.hpp>
#include <meshkit/stream_events.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <system_error>
#include <utility>

namespace meshkit {

/** How framed, ordered, reliable streams reach an address.

    A type `T` models `stream_transport` if, for `t` a `T`, `ct` a `T const`,
    `to` an `endpoint`, `id` a `stream_id`, `frame` a
    `std::span<std::byte const>` and `h` a `stream_handler`:

    1. `ct.local_endpoint()` returns the `endpoint` peers connect to.
    2. `t.connect(to)` starts opening a stream and returns its id at once;
       the outcome arrives later as `stream_connected` or `stream_closed`
       (`refused`, `unreachable`).
    3. `t.send(id, frame)` queues one frame on an open stream and returns a
       `std::error_code`: success means queued, not delivered;
       `frame_too_large`, `queue_full` and `not_connected` accept nothing.
    4. `t.close(id)` closes the stream: queued frames still go out, then the
       peer sees `closed_by_peer`; this side gets `closed_locally`.
    5. `t.on_stream(h)` installs the one handler every event goes to,
       replacing any previous one.
    6. `ct.max_frame_size()` and `ct.max_queued_bytes()` are the bounds.

    Events are delivered after the call that caused them returns: never
    inside `connect`, `send` or `close`. Frames of one stream arrive in the
    order they were sent, each whole and once. Each id gets one
    `stream_closed`.

    See docs/concepts/stream_transport.md.
*/
template <class T>
concept stream_transport = requires(T& t, T const& ct, endpoint const& to, stream_id id,
                                    std::span<std::byte const> frame, stream_handler h) {
    { ct.local_endpoint() } -> std::same_as<endpoint>;
    { t.connect(to) } -> std::same_as<stream_id>;
    { t.send(id, frame) } -> std::same_as<std::error_code>;
    { t.close(id) } -> std::same_as<void>;
    { t.on_stream(std::move(h)) } -> std::same_as<void>;
    { ct.max_frame_size() } -> std::convertible_to<std::size_t>;
    { ct.max_queued_bytes() } -> std::convertible_to<std::size_t>;
};

namespace detail {

/** Checks a stream transport in a bundle's `transports` with meshkit's message; `basic_node` calls it.

    Use as `static_assert(detail::check_stream_transport<S>())`: a type that
    does not model the concept stops the build at the message below (pinned
    by tests/compile_fail/bad_stream_transport.cpp), followed by the
    compiler's note on the expression that failed.
*/
template <class T>
consteval bool check_stream_transport() noexcept
{
    static_assert(stream_transport<T>,
                  "meshkit: a stream transport in Policies::transports does not model meshkit::stream_transport (see "
                  "docs/concepts/stream_transport.md). It needs: endpoint local_endpoint() const; "
                  "stream_id connect(endpoint const&); std::error_code send(stream_id, "
                  "std::span<std::byte const>); void close(stream_id); void on_stream(stream_handler); "
                  "std::size_t max_frame_size() const; std::size_t max_queued_bytes() const.");
    return stream_transport<T>;
}

} // namespace detail

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_STREAM_TRANSPORT_HPP
