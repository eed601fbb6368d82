// sim/stream_transport.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_STREAM_TRANSPORT_HPP
#define MESHKIT_SIM_STREAM_TRANSPORT_HPP

#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/stream_error.hpp>
#include <meshkit/stream_events.hpp>
#include <meshkit/stream_settings.hpp>

#include <cstddef>
#include <span>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace meshkit::sim {

/** A stream listener on a `sim::network` host; models `meshkit::stream_transport`.

    Streams are ordered and reliable: frames of one stream arrive whole, in
    order, once. Opening one costs a round trip (SYN, SYN-ACK); frames leave
    at the link's `bandwidth` and arrive one latency later; a crash of either
    host, a partition between them or an address change resets them. Every
    event is a network event, so a run with streams is as deterministic as
    one with datagrams, and feeds `network::trace_hash()` the same way. The
    model and its parameters are in docs/simulator.md#streams.

    Built at the address of a `sim::transport`, it joins that host: one
    machine with a datagram socket and a stream listener on the same address
    and port (as UDP and TCP share port numbers), which crash, restart,
    partition and move together. Built anywhere else, it is a host of its
    own, which drops datagrams as a closed UDP port would.

    @par Thread safety
    As `sim::network`: one thread per network.

    @par Example
    @code
    meshkit::sim::network net{42};
    meshkit::sim::stream_transport a{net}, b{net};
    b.on_stream([&](meshkit::stream_event const& ev) {
        if (auto const* f = std::get_if<meshkit::stream_frame>(&ev))
            ...; // f->bytes, in order
    });
    a.on_stream([&](meshkit::stream_event const& ev) {
        if (auto const* c = std::get_if<meshkit::stream_connected>(&ev))
            a.send(c->id, bytes);
    });
    a.connect(b.local_endpoint());
    net.advance(std::chrono::seconds(1));
    @endcode
*/
class stream_transport {
public:
    /** Listens at `at`, or at `net.next_endpoint()` when `at` is unspecified.

        @throws std::system_error with `errc::address_in_use` when a stream
        listener is attached at `at` already; `std::invalid_argument` when
        `settings` fail `stream_settings::validate()`.
    */
    explicit stream_transport(network& net, endpoint const& at = {}, stream_settings settings = {}) : net_(&net)
    {
        settings.validate();
        endpoint const where = at.is_unspecified() ? net.next_endpoint() : at;
        // The network holds the handler, and keeps it alive through each call,
        // so a handler may replace itself or destroy this transport.
        auto h = net.attach_streams(where, settings, stream_handler{});
        if (!h)
            throw std::system_error(h.error(), "meshkit::sim::stream_transport: cannot listen at " + where.to_string());
        host_ = *h;
    }

    stream_transport(stream_transport const&) = delete;
    stream_transport& operator=(stream_transport const&) = delete;

    /// Closes every stream gracefully towards its peer and stops listening; no handler runs afterwards.
    ~stream_transport() { net_->detach_streams(host_); }

    /// The address peers connect to (it changes on `network::rebind`).
    [[nodiscard]] endpoint local_endpoint() const { return net_->address_of(host_).on(protocol); }

    /** Starts opening a stream to `to`; the outcome is an event.

        `stream_connected` one round trip later, or `stream_closed` with
        `refused` (a live host with no stream listener answers at once) or
        `unreachable` (no answer within `connect_timeout`: no host there, a
        crashed one, a partition, or a host behind a NAT).
    */
    [[nodiscard("the id names the stream in every later event")]] stream_id connect(endpoint const& to)
    {
        return net_->connect_stream(host_, to);
    }

    /** Queues one frame on an open stream.

        @return `stream_errc::frame_too_large` above `max_frame_size()`,
        `queue_full` when the frame would take the stream past
        `max_queued_bytes()`, `not_connected` when the stream is not open;
        in each case nothing was queued. Success means queued, not
        delivered.
    */
    std::error_code send(stream_id id, std::span<std::byte const> frame)
    {
        return net_->send_stream(host_, id, frame);
    }

    /// Closes a stream: frames sent so far still arrive, then the peer sees `closed_by_peer`. A no-op on a closed id.
    void close(stream_id id) { net_->close_stream(host_, id); }

    /// Installs the handler every stream event goes to, replacing any earlier one.
    void on_stream(stream_handler h) { net_->set_stream_handler(host_, std::move(h)); }

    /// The largest frame `send` accepts, and the largest this side accepts from a peer.
    [[nodiscard]] std::size_t max_frame_size() const noexcept { return net_->stream_settings_of(host_).max_frame_size; }

    /// The most bytes (frames plus 4-byte headers) one stream may have queued and not yet on the wire.
    [[nodiscard]] std::size_t max_queued_bytes() const noexcept
    {
        return net_->stream_settings_of(host_).max_queued_bytes;
    }

    /// Bytes queued on `id` and not yet on the wire (0 for an unknown id).
    [[nodiscard]] std::size_t queued_bytes(stream_id id) const noexcept { return net_->stream_queued_bytes(host_, id); }

    /// Streams that are connecting or open.
    [[nodiscard]] std::size_t open_streams() const noexcept { return net_->open_streams(host_); }

    /// The simulator is deterministic.
    static constexpr bool deterministic = true;

    /// The simulator's streams model TCP, so its addresses are `tcp://` like a real node's.
    static constexpr transport_protocol protocol = transport_protocol::tcp;

    /// The network this listener is on.
    [[nodiscard]] network& net() const noexcept { return *net_; }

    /// Its host's index in the network.
    [[nodiscard]] host_id host() const noexcept { return host_; }

private:
    network* net_;
    host_id host_ = 0;
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_STREAM_TRANSPORT_HPP
