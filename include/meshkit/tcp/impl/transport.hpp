// tcp/impl/transport.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TCP_IMPL_TRANSPORT_HPP
#define MESHKIT_TCP_IMPL_TRANSPORT_HPP

#include <meshkit/tcp/transport.hpp>

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

// Every completion handler captures the shared `core` and starts by checking
// `core::alive`: the transport may have been destroyed since the operation
// began (even by the handler of an earlier event), and then nothing may run.
// Every handler call is followed by the same check before `core` or the
// connection is touched again. Connections are shared with their pending
// operations, so a completion never finds its buffers gone.

namespace meshkit::tcp {

struct transport::connection {
    enum class phase : std::uint8_t {
        connecting, // async_connect pending, connect timer armed
        open,       // reading and writing; events go to the handler
        closing,    // closed by the user: flushing the queue, then draining reads until the peer's FIN
        done,       // socket closed; no more events
    };

    connection(asio::io_context& io, std::uint64_t n) : id(static_cast<stream_id>(n)), socket(io), timer(io) {}

    stream_id id;
    asio::ip::tcp::socket socket;
    asio::steady_timer timer; // the connect timeout, then the close timeout
    phase state = phase::connecting;
    endpoint peer;
    std::array<std::byte, stream_settings::frame_header_size> header{};
    std::vector<std::byte> body; // reused: grows to the largest frame received, at most max_frame_size
    std::deque<std::vector<std::byte>> queue; // frames with their headers, oldest first
    std::size_t queued = 0;                   // bytes in `queue`
    std::size_t in_flight = 0;                // frames of `queue` the pending write covers
    bool writing = false;
    bool want_writable = false;
    std::size_t refused_cost = 0; // the largest frame (with header) refused this spell
};

struct transport::core : std::enable_shared_from_this<core> {
    using connection_ptr = std::shared_ptr<connection>;

    core(asio::io_context& ctx, stream_settings const& s) : io(ctx), acceptor(ctx), accept_retry(ctx), settings(s) {}

    asio::io_context& io;
    asio::ip::tcp::acceptor acceptor;
    asio::steady_timer accept_retry;
    stream_settings settings;
    std::shared_ptr<stream_handler const> handler; // copied per call: a handler may replace itself
    std::map<std::uint64_t, connection_ptr> streams;
    transport_stats stats;
    endpoint local;
    std::uint64_t next_id = 1;
    bool alive = true;

    // -- events ----------------------------------------------------------------

    void emit(stream_event const& ev)
    {
        std::shared_ptr<stream_handler const> const keep = handler;
        if (keep && *keep)
            (*keep)(ev);
    }

    // For what a call causes: delivered from the io_context, after the call returned.
    void post_closed(stream_id id, std::error_code reason)
    {
        asio::post(io, [self = shared_from_this(), id, reason] {
            if (self->alive)
                self->emit(stream_closed{id, reason});
        });
    }

    // -- lifecycle -------------------------------------------------------------

    // The socket is closed and the stream forgotten; its pending operations
    // complete with operation_aborted and do nothing.
    void finish(connection& c)
    {
        c.state = connection::phase::done;
        std::error_code ignored;
        c.timer.cancel();
        c.socket.close(ignored);
        c.queue.clear();
        c.queued = 0;
        streams.erase(static_cast<std::uint64_t>(c.id));
    }

    // The stream ended without this side asking: tell the handler why.
    void lost(connection_ptr const& c, std::error_code reason)
    {
        bool const report = c->state == connection::phase::open || c->state == connection::phase::connecting;
        finish(*c);
        if (report) {
            if (reason == stream_errc::connection_reset)
                ++stats.resets;
            emit(stream_closed{c->id, reason});
        }
    }

    // Resets the connection (RST, not FIN) and reports `reason`.
    void abort(connection_ptr const& c, std::error_code reason)
    {
        std::error_code ignored;
        c->socket.set_option(asio::socket_base::linger(true, 0), ignored);
        lost(c, reason);
    }

    static std::error_code connect_reason(std::error_code ec)
    {
        if (ec == asio::error::connection_refused)
            return stream_errc::refused;
        if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable ||
            ec == asio::error::timed_out)
            return stream_errc::unreachable;
        return ec;
    }

    static std::error_code io_reason(std::error_code ec)
    {
        if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
            ec == asio::error::connection_aborted || ec == asio::error::timed_out ||
            ec == asio::error::host_unreachable || ec == asio::error::network_unreachable)
            return stream_errc::connection_reset;
        return ec;
    }

    // -- accepting -------------------------------------------------------------

    void accept()
    {
        auto c = std::make_shared<connection>(io, 0);
        acceptor.async_accept(c->socket, [self = shared_from_this(), c](std::error_code ec) {
            if (!self->alive || ec == asio::error::operation_aborted)
                return;
            if (ec) {
                // Out of descriptors, say: try again shortly rather than spin.
                ++self->stats.accept_errors;
                self->accept_retry.expires_after(std::chrono::milliseconds(100));
                self->accept_retry.async_wait([self](std::error_code e) {
                    if (self->alive && !e)
                        self->accept();
                });
                return;
            }
            self->accept(); // first: the handler below may destroy the transport
            self->opened(c, true);
        });
    }

    // A connection is up (accepted, or connected): announce it and start reading.
    void opened(connection_ptr const& c, bool inbound)
    {
        std::error_code ignored;
        c->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        if (inbound) {
            c->id = static_cast<stream_id>(next_id++);
            auto const remote = c->socket.remote_endpoint(ignored);
            c->peer = from_asio(remote);
            streams.emplace(static_cast<std::uint64_t>(c->id), c);
            ++stats.accepted;
        } else {
            ++stats.connected;
        }
        c->state = connection::phase::open;
        emit(stream_connected{c->id, c->peer, inbound});
        // Read even if the handler closed it already: a close drains reads until the peer's FIN.
        if (alive && (c->state == connection::phase::open || c->state == connection::phase::closing))
            read_header(c);
    }

    // -- connecting ------------------------------------------------------------

    stream_id connect(endpoint const& to)
    {
        std::uint64_t const n = next_id++;
        auto c = std::make_shared<connection>(io, n);
        c->peer = to;
        streams.emplace(n, c);
        asio::ip::tcp::endpoint const target = to_asio(to);
        std::error_code ec;
        c->socket.open(target.protocol(), ec);
        if (ec) { // out of descriptors, or no such address family here
            finish(*c);
            post_closed(c->id, ec);
            return c->id;
        }
        c->timer.expires_after(settings.connect_timeout);
        c->timer.async_wait([self = shared_from_this(), c](std::error_code e) {
            if (!self->alive || e || c->state != connection::phase::connecting)
                return;
            ++self->stats.unreachable;
            self->lost(c, stream_errc::unreachable); // closing the socket aborts the connect
        });
        c->socket.async_connect(target, [self = shared_from_this(), c](std::error_code e) {
            if (!self->alive || c->state != connection::phase::connecting)
                return; // closed by the user, or timed out
            c->timer.cancel();
            if (e) {
                auto const reason = connect_reason(e);
                if (reason == stream_errc::refused)
                    ++self->stats.refused;
                else if (reason == stream_errc::unreachable)
                    ++self->stats.unreachable;
                self->lost(c, reason);
                return;
            }
            self->opened(c, false);
        });
        return c->id;
    }

    // -- reading ---------------------------------------------------------------

    void read_header(connection_ptr const& c)
    {
        asio::async_read(c->socket, asio::buffer(c->header),
                         [self = shared_from_this(), c](std::error_code ec, std::size_t n) {
                             if (!self->alive || c->state == connection::phase::done)
                                 return;
                             if (ec) {
                                 // EOF between frames is a graceful close; inside a header, a cut.
                                 self->read_failed(c, ec, n == 0);
                                 return;
                             }
                             self->on_header(c);
                         });
    }

    void on_header(connection_ptr const& c)
    {
        std::uint32_t const length = std::uint32_t{std::to_integer<std::uint8_t>(c->header[0])} << 24 |
                                     std::uint32_t{std::to_integer<std::uint8_t>(c->header[1])} << 16 |
                                     std::uint32_t{std::to_integer<std::uint8_t>(c->header[2])} << 8 |
                                     std::uint32_t{std::to_integer<std::uint8_t>(c->header[3])};
        if (length > settings.max_frame_size) {
            // Checked before anything is allocated: a hostile length costs nothing.
            if (c->state == connection::phase::open)
                ++stats.oversized_frames;
            abort(c, stream_errc::peer_frame_too_large);
            return;
        }
        c->body.resize(length);
        if (length == 0) {
            on_body(c);
            return;
        }
        asio::async_read(c->socket, asio::buffer(c->body),
                         [self = shared_from_this(), c](std::error_code ec, std::size_t) {
                             if (!self->alive || c->state == connection::phase::done)
                                 return;
                             if (ec) {
                                 self->read_failed(c, ec, false);
                                 return;
                             }
                             self->on_body(c);
                         });
    }

    void on_body(connection_ptr const& c)
    {
        if (c->state == connection::phase::open) {
            ++stats.frames_received;
            emit(stream_frame{c->id, std::span<std::byte const>(c->body)});
            if (!alive)
                return;
        }
        // While closing, frames are read and dropped until the peer's FIN.
        if (c->state == connection::phase::open || c->state == connection::phase::closing)
            read_header(c);
    }

    void read_failed(connection_ptr const& c, std::error_code ec, bool between_frames)
    {
        if (ec == asio::error::operation_aborted)
            return;
        if (c->state == connection::phase::closing) {
            finish(*c); // the peer closed its side too (or reset): the close is complete
            return;
        }
        if (ec == asio::error::eof)
            lost(c, between_frames ? std::error_code(stream_errc::closed_by_peer)
                                   : std::error_code(stream_errc::connection_reset));
        else
            lost(c, io_reason(ec));
    }

    // -- writing ---------------------------------------------------------------

    std::error_code send(stream_id id, std::span<std::byte const> frame)
    {
        auto it = streams.find(static_cast<std::uint64_t>(id));
        if (it == streams.end() || it->second->state != connection::phase::open)
            return stream_errc::not_connected;
        connection& c = *it->second;
        if (frame.size() > settings.max_frame_size)
            return stream_errc::frame_too_large;
        std::size_t const cost = frame.size() + stream_settings::frame_header_size;
        if (c.queued + cost > settings.max_queued_bytes) {
            c.want_writable = true;
            c.refused_cost = std::max(c.refused_cost, cost);
            return stream_errc::queue_full;
        }
        std::vector<std::byte> buffer(cost);
        auto const n = static_cast<std::uint32_t>(frame.size());
        buffer[0] = static_cast<std::byte>(n >> 24);
        buffer[1] = static_cast<std::byte>(n >> 16);
        buffer[2] = static_cast<std::byte>(n >> 8);
        buffer[3] = static_cast<std::byte>(n);
        if (!frame.empty())
            std::memcpy(buffer.data() + stream_settings::frame_header_size, frame.data(), frame.size());
        c.queue.push_back(std::move(buffer));
        c.queued += cost;
        if (!c.writing)
            write(it->second);
        return {};
    }

    // Writes every queued frame (up to 64 at once) in one gathered write.
    void write(connection_ptr const& c)
    {
        std::vector<asio::const_buffer> buffers;
        std::size_t const count = std::min<std::size_t>(c->queue.size(), 64);
        buffers.reserve(count);
        for (std::size_t i = 0; i < count; ++i)
            buffers.emplace_back(asio::buffer(c->queue[i]));
        c->in_flight = count;
        c->writing = true;
        asio::async_write(c->socket, buffers, [self = shared_from_this(), c](std::error_code ec, std::size_t) {
            if (!self->alive || c->state == connection::phase::done)
                return;
            c->writing = false;
            if (ec) {
                if (ec == asio::error::operation_aborted)
                    return;
                if (c->state == connection::phase::closing)
                    self->finish(*c);
                else
                    self->lost(c, io_reason(ec));
                return;
            }
            self->written(c);
        });
    }

    void written(connection_ptr const& c)
    {
        for (std::size_t i = 0; i < c->in_flight; ++i) {
            c->queued -= c->queue.front().size();
            c->queue.pop_front();
            ++stats.frames_sent;
        }
        c->in_flight = 0;
        if (!c->queue.empty()) {
            write(c);
        } else if (c->state == connection::phase::closing) {
            std::error_code ignored;
            c->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored); // FIN after the last frame
        }
        std::size_t const max = settings.max_queued_bytes;
        std::size_t const threshold = std::min(max / 2, max - std::min(max, c->refused_cost));
        if (c->state == connection::phase::open && c->want_writable && c->queued <= threshold) {
            c->want_writable = false;
            c->refused_cost = 0;
            emit(stream_writable{c->id});
        }
    }

    // -- closing ---------------------------------------------------------------

    void close(stream_id id)
    {
        auto it = streams.find(static_cast<std::uint64_t>(id));
        if (it == streams.end())
            return;
        connection_ptr const c = it->second;
        if (c->state == connection::phase::connecting) {
            finish(*c);
        } else if (c->state == connection::phase::open) {
            c->state = connection::phase::closing;
            c->want_writable = false;
            if (!c->writing) {
                std::error_code ignored;
                c->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
            }
            // Bounded: a peer that neither reads nor closes cannot hold the socket.
            c->timer.expires_after(settings.close_timeout);
            c->timer.async_wait([self = shared_from_this(), c](std::error_code e) {
                if (self->alive && !e && c->state == connection::phase::closing)
                    self->finish(*c);
            });
        } else {
            return;
        }
        post_closed(id, stream_errc::closed_locally);
    }

    void shutdown() noexcept
    {
        alive = false;
        handler.reset();
        std::error_code ignored;
        acceptor.close(ignored);
        accept_retry.cancel();
        for (auto& [n, c] : streams) {
            c->state = connection::phase::done;
            c->timer.cancel();
            c->socket.close(ignored);
        }
        streams.clear();
    }
};

// -- transport ------------------------------------------------------------------

inline transport::transport(asio::io_context& io, endpoint const& at, stream_settings settings)
{
    settings.validate();
    core_ = std::make_shared<core>(io, settings);
    asio::ip::tcp::endpoint const local = to_asio(at.is_unspecified() ? endpoint::v4(0x7f000001, 0) : at);
    auto& acceptor = core_->acceptor;
    acceptor.open(local.protocol());
    if (local.address().is_v6())
        acceptor.set_option(asio::ip::v6_only(false));
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(local);
    acceptor.listen();
    core_->local = from_asio(acceptor.local_endpoint());
    core_->accept();
}

inline transport::~transport()
{
    core_->shutdown();
}

inline endpoint transport::local_endpoint() const noexcept
{
    return core_->local;
}

inline stream_id transport::connect(endpoint const& to)
{
    return core_->connect(to);
}

inline std::error_code transport::send(stream_id id, std::span<std::byte const> frame)
{
    return core_->send(id, frame);
}

inline void transport::close(stream_id id)
{
    core_->close(id);
}

inline void transport::on_stream(stream_handler h)
{
    core_->handler = std::make_shared<stream_handler const>(std::move(h));
}

inline std::size_t transport::max_frame_size() const noexcept
{
    return core_->settings.max_frame_size;
}

inline std::size_t transport::max_queued_bytes() const noexcept
{
    return core_->settings.max_queued_bytes;
}

inline std::size_t transport::queued_bytes(stream_id id) const noexcept
{
    auto it = core_->streams.find(static_cast<std::uint64_t>(id));
    return it == core_->streams.end() ? 0 : it->second->queued;
}

inline std::size_t transport::open_streams() const noexcept
{
    std::size_t n = 0;
    for (auto const& [k, c] : core_->streams)
        if (c->state == connection::phase::connecting || c->state == connection::phase::open)
            ++n;
    return n;
}

inline transport_stats const& transport::stats() const noexcept
{
    return core_->stats;
}

inline asio::ip::tcp::endpoint transport::to_asio(endpoint const& e)
{
    return detail::to_asio<asio::ip::tcp::endpoint>(e);
}

inline endpoint transport::from_asio(asio::ip::tcp::endpoint const& a)
{
    return detail::from_asio(a);
}

} // namespace meshkit::tcp

#endif // MESHKIT_TCP_IMPL_TRANSPORT_HPP
