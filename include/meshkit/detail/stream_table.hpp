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
    /// The most streams a node keeps; beyond it `send` to a new address fails with `errc::queue_full`.
    static constexpr std::size_t max_streams = 256;

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
            if (entries_.size() >= max_streams)
                return errc::queue_full;
            entries_.push_back(entry{t.connect(to), to, false, {}, 0});
            e = &entries_.back();
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

        An inbound stream beyond `max_streams` is closed at once: the peer
        sees it closed, and the node tells its engines nothing of it.
    */
    std::optional<endpoint> on_connected(Streams& t, stream_connected const& c)
    {
        if (c.inbound) {
            if (entries_.size() >= max_streams) {
                t.close(c.id);
                return std::nullopt;
            }
            entries_.push_back(entry{c.id, c.peer, true, {}, 0});
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
        auto it = std::find_if(entries_.begin(), entries_.end(), [&](entry const& e) { return e.id == id; });
        if (it == entries_.end())
            return std::nullopt;
        ended const out{it->peer, it->pending.size()};
        entries_.erase(it);
        return out;
    }

    /// The peer address of stream `id`, if the table holds it.
    [[nodiscard]] std::optional<endpoint> peer_of(stream_id id) const
    {
        for (entry const& e : entries_)
            if (e.id == id)
                return e.peer;
        return std::nullopt;
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
        for (entry& e : entries_)
            if (e.peer == to)
                return &e;
        return nullptr;
    }

    entry* by_id(stream_id id)
    {
        for (entry& e : entries_)
            if (e.id == id)
                return &e;
        return nullptr;
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

    // A node talks over streams to a few peers at a time: a scan beats an index.
    std::vector<entry> entries_;
};

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_STREAM_TABLE_HPP
