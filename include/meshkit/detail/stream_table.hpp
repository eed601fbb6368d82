// detail/stream_table.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_STREAM_TABLE_HPP
#define MESHKIT_DETAIL_STREAM_TABLE_HPP

#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/stream_error.hpp>
#include <meshkit/stream_events.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <unordered_map>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit::detail {

/** The streams a node keeps for its engines, by peer address.

    Engines send to an address; the node opens a stream there on first use
    and keeps it. Frames wait here while the stream connects, or while the
    transport pushes back (`queue_full`, until `stream_writable`), bounded
    by the transport's own `max_queued_bytes()`. A stream a peer opened is
    kept by the address it came from, so a reply to `inbound::from` goes
    back on it.
*/
template <stream_transport Streams>
class stream_table {
public:
    /// The most streams a node keeps by default (`node_config::max_streams`).
    static constexpr std::size_t default_max_streams = 256;

    /// Beyond `n` streams, `send` to a new address fails with `errc::queue_full` and inbound streams are closed.
    void set_limit(std::size_t n) noexcept { max_streams_ = n; }
    [[nodiscard]] std::size_t limit() const noexcept { return max_streams_; }

    /** Sends `frame` to `to` on its stream, opening one if needed.

        @return `stream_errc::frame_too_large` over the transport's frame
        limit, `errc::queue_full` when the frames waiting for this stream
        (or the streams) are at their bound, or the transport's error;
        success means sent or waiting, never dropped.
    */
    std::error_code send(Streams& t, endpoint const& to, std::span<std::byte const> frame)
    {
        if (frame.size() > t.max_frame_size())
            return stream_errc::frame_too_large;
        entry* e = by_peer(to);
        if (!e) {
            if (entries_.size() >= max_streams_)
                return errc::queue_full;
            e = &add(entry{t.connect(to), to, false, {}, 0});
        }
        if (e->open && e->pending.empty()) {
            std::error_code const ec = t.send(e->id, frame);
            if (ec != stream_errc::queue_full)
                return ec;
        }
        if (e->pending_bytes + frame.size() > t.max_queued_bytes())
            return errc::queue_full;
        e->pending_bytes += frame.size();
        e->pending.emplace_back(frame.begin(), frame.end());
        return {};
    }

    /** A stream opened. @return its peer address, or nothing for a stream the table does not keep.

        An inbound stream beyond the limit is closed at once: the peer
        sees it closed, and the node tells its engines nothing of it.
    */
    std::optional<endpoint> on_connected(Streams& t, stream_connected const& c)
    {
        if (c.inbound) {
            if (entries_.size() >= max_streams_) {
                t.close(c.id);
                return std::nullopt;
            }
            add(entry{c.id, c.peer, true, {}, 0});
            return c.peer;
        }
        if (entry* e = by_id(c.id)) {
            e->open = true;
            flush(t, *e);
            return e->peer;
        }
        return std::nullopt;
    }

    /** Closes the stream to `peer`: what the transport holds still goes out, then the peer sees it closed.

        Frames still waiting here (the stream was connecting) are reported
        as unsent when its `stream_closed` arrives. @return false when the
        table holds no stream to `peer`.
    */
    bool close(Streams& t, endpoint const& peer)
    {
        entry* e = by_peer(peer);
        if (!e)
            return false;
        t.close(e->id);
        return true;
    }

    /// The transport has room again on `id`.
    void on_writable(Streams& t, stream_id id)
    {
        if (entry* e = by_id(id))
            flush(t, *e);
    }

    /** What ended: the peer and how many frames never reached the transport; nothing for an id the table does not hold.

        Frames the transport had already queued are its own: a reset loses
        them as a TCP reset loses bytes in flight, and only an
        acknowledging protocol above (the reliable channel) can tell.
    */
    struct ended {
        endpoint peer;
        std::size_t unsent;
    };

    std::optional<ended> on_closed(stream_id id)
    {
        auto it = entries_.find(id);
        if (it == entries_.end())
            return std::nullopt;
        ended const out{it->second.peer, it->second.pending.size()};
        if (auto p = by_peer_.find(out.peer); p != by_peer_.end() && p->second == id)
            by_peer_.erase(p);
        entries_.erase(it);
        return out;
    }

    /// The peer address of stream `id`, if the table holds it.
    [[nodiscard]] std::optional<endpoint> peer_of(stream_id id) const
    {
        auto it = entries_.find(id);
        return it == entries_.end() ? std::nullopt : std::optional<endpoint>(it->second.peer);
    }

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct entry {
        stream_id id{};
        endpoint peer;
        bool open = false;
        std::deque<std::vector<std::byte>> pending;
        std::size_t pending_bytes = 0;
    };

    entry* by_peer(endpoint const& to)
    {
        auto it = by_peer_.find(to);
        return it == by_peer_.end() ? nullptr : by_id(it->second);
    }

    /// Keeps `e`; a second stream with a peer already held is found by its id only.
    entry& add(entry e)
    {
        stream_id const id = e.id;
        by_peer_.emplace(e.peer, id);
        return entries_.emplace(id, std::move(e)).first->second;
    }

    entry* by_id(stream_id id)
    {
        auto it = entries_.find(id);
        return it == entries_.end() ? nullptr : &it->second;
    }

    void flush(Streams& t, entry& e)
    {
        while (!e.pending.empty()) {
            std::error_code const ec = t.send(e.id, e.pending.front());
            if (ec == stream_errc::queue_full)
                return; // stream_writable resumes it
            if (ec)
                return; // the stream is failing: its stream_closed reports what is left
            e.pending_bytes -= e.pending.front().size();
            e.pending.pop_front();
        }
    }

    // Indexed both ways: a substrate holds a stream per child, thousands of them. Never iterated, so
    // the maps' order cannot reach a trace.
    struct id_hash {
        std::size_t operator()(stream_id id) const noexcept { return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(id)); }
    };
    std::unordered_map<stream_id, entry, id_hash> entries_;
    std::unordered_map<endpoint, stream_id> by_peer_;
    std::size_t max_streams_ = default_max_streams;
};

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_STREAM_TABLE_HPP
