// sim/impl/network_streams.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_IMPL_NETWORK_STREAMS_HPP
#define MESHKIT_SIM_IMPL_NETWORK_STREAMS_HPP

#include <meshkit/sim/network.hpp>

#include <algorithm>
#include <utility>

// The stream model of `sim::network` (docs/simulator.md#streams).
//
// A connection has two ends. Everything that crosses the network between
// them is a segment on the event heap, delivered in (time, insertion)
// order like a datagram: SYN and SYN-ACK (one round trip to open), frames
// and FIN (in band: they leave one after another at the link's bandwidth,
// so they arrive in order), and RST (out of band, one latency). What a call
// causes locally (a `closed_locally`, a `writable`) is a segment to the
// caller's own end at `now`, so no handler ever runs inside a call.
// Connections are kept in a `std::map`, so the sweeps that crashes and
// partitions make run in connection order, and a run is one deterministic
// sequence. A connection is erased once both ends are closed and reported;
// segments still in flight for it then find nothing and are dropped.

namespace meshkit::sim {

inline result<host_id> network::attach_streams(endpoint const& listen_at, stream_settings const& settings,
                                               stream_handler handler)
{
    // Hosts are named by their IP and port; the stream listener is the
    // host's TCP side, so a `tcp://` address names the same host.
    endpoint const at = listen_at.on(transport_protocol::udp);
    host_id id = 0;
    if (auto it = by_address_.find(at); it != by_address_.end()) {
        id = it->second;
        host& h = hosts_[id];
        if (h.streams)
            return make_error_code(errc::address_in_use);
        if (!h.bound) { // a slot left by an unbound host: a new machine there
            h.handler = nullptr;
            h.datagrams = false;
            h.bound = true;
            h.up = true;
            ++h.incarnation;
        }
        h.streams = true;
    } else {
        id = static_cast<host_id>(hosts_.size());
        hosts_.push_back(host{at, nullptr, realm_of(at), 0, 0, true, true, false, true});
        by_address_.emplace(at, id);
        if (auto c = pending_clocks_.find(at); c != pending_clocks_.end()) {
            host_clocks_.resize(std::max<std::size_t>(host_clocks_.size(), id + 1));
            host_clocks_[id] = c->second;
            pending_clocks_.erase(c);
        }
    }
    if (stream_hosts_.size() <= id)
        stream_hosts_.resize(id + 1);
    stream_hosts_[id] = stream_host{std::make_shared<stream_handler const>(std::move(handler)), settings, true};
    return id;
}

inline void network::detach_streams(host_id h) noexcept
{
    if (h >= stream_hosts_.size() || !stream_hosts_[h].attached)
        return;
    for (auto& [n, c] : conns_)
        for (unsigned s = 0; s < 2; ++s) {
            stream_end& e = c.ends[s];
            if (e.host != h || e.phase == stream_phase::none)
                continue;
            if (e.phase == stream_phase::connecting || e.phase == stream_phase::open) {
                e.phase = stream_phase::closed;
                e.reason = stream_errc::closed_locally;
                finish_towards(n, 1 - s);
            }
            e.reported = true; // nobody is left to tell
            stream_garbage_.push_back(n);
        }
    stream_hosts_[h] = stream_host{};
    host& x = hosts_[h];
    x.streams = false;
    if (!x.datagrams) {
        x.bound = false;
        x.up = false;
        ++x.incarnation;
    }
}

inline void network::set_stream_handler(host_id h, stream_handler handler)
{
    if (h < stream_hosts_.size() && stream_hosts_[h].attached)
        stream_hosts_[h].handler = std::make_shared<stream_handler const>(std::move(handler));
}

inline network::stream_end* network::find_end(host_id owner, stream_id id) noexcept
{
    auto const raw = static_cast<std::uint64_t>(id);
    auto it = conns_.find(raw / 2);
    if (it == conns_.end())
        return nullptr;
    stream_end& e = it->second.ends[raw % 2];
    return e.host == owner ? &e : nullptr;
}

inline void network::drain(stream_end& e) noexcept
{
    auto const t = now_.time_since_epoch().count();
    while (!e.sending.empty() && e.sending.front().first <= t) {
        e.queued -= e.sending.front().second;
        e.sending.pop_front();
    }
}

inline std::size_t network::queued_on(stream_end const& e) const noexcept
{
    auto const t = now_.time_since_epoch().count();
    std::size_t q = e.queued;
    for (auto const& [done, bytes] : e.sending) {
        if (done > t)
            break;
        q -= bytes;
    }
    return q;
}

inline duration network::stream_latency(host_id a, host_id b) const noexcept
{
    return link_latency(hosts_[a].address, hosts_[b].address);
}

inline std::int64_t network::in_order_arrival(stream_end& to, std::int64_t at) noexcept
{
    // A latency map may shorten a path between two frames; a stream still delivers in order.
    to.last_arrival = std::max(to.last_arrival, at);
    return to.last_arrival;
}

inline std::int64_t network::transmit(host_id from, host_id to, std::size_t bytes)
{
    std::int64_t& free_at = link_free_at_[std::uint64_t{from} << 32 | to];
    std::int64_t const start = std::max(now_.time_since_epoch().count(), free_at);
    std::uint64_t const bandwidth = model_for(pair_key(hosts_[from].address, hosts_[to].address)).bandwidth;
    std::int64_t tx = 0;
    if (bandwidth != 0 && bytes != 0) {
        // Whole nanoseconds, rounded up, so a frame never arrives early.
        auto const ns = (static_cast<detail::uint128>(bytes) * 1'000'000'000u + bandwidth - 1) / bandwidth;
        tx = static_cast<std::int64_t>(ns);
    }
    free_at = start + tx;
    return free_at;
}

inline void network::push_segment(std::int64_t at, segment kind, std::uint64_t conn, unsigned side,
                                  std::span<std::byte const> bytes)
{
    std::uint32_t slot;
    if (!free_stream_items_.empty()) {
        slot = free_stream_items_.back();
        free_stream_items_.pop_back();
    } else {
        stream_items_.emplace_back();
        slot = static_cast<std::uint32_t>(stream_items_.size() - 1);
    }
    stream_item& item = stream_items_[slot];
    item.kind = kind;
    item.side = static_cast<std::uint8_t>(side);
    item.conn = conn;
    item.bytes.assign(bytes.begin(), bytes.end());
    push(std::max(at, now_.time_since_epoch().count()), slot, event_kind::stream);
}

inline void network::close_end(std::uint64_t conn, unsigned side, std::error_code reason, bool notify)
{
    stream_end& e = conns_[conn].ends[side];
    e.phase = stream_phase::closed;
    e.reason = reason;
    e.reported = false;
    e.want_writable = false;
    e.sending.clear();
    e.queued = 0;
    if (notify)
        push_segment(now_.time_since_epoch().count(), segment::closed, conn, side);
}

inline void network::abort_towards(std::uint64_t conn, unsigned side, std::int64_t delay)
{
    stream_end const& e = conns_[conn].ends[side];
    if (e.phase == stream_phase::connecting || e.phase == stream_phase::open)
        push_segment(now_.time_since_epoch().count() + delay, segment::rst, conn, side);
}

inline void network::finish_towards(std::uint64_t conn, unsigned side)
{
    stream_conn& c = conns_[conn];
    stream_end& to = c.ends[side];
    if (to.phase != stream_phase::connecting && to.phase != stream_phase::open)
        return;
    host_id const from = c.ends[1 - side].host;
    // In band: behind every frame already sent, so it arrives after them.
    std::int64_t const leaves = transmit(from, to.host, 0);
    push_segment(in_order_arrival(to, leaves + stream_latency(from, to.host).count()), segment::fin, conn, side);
}

inline void network::schedule_writable(std::uint64_t conn, unsigned side)
{
    stream_end& e = conns_[conn].ends[side];
    if (e.writable_pending)
        return;
    std::size_t const max = stream_hosts_[e.host].settings.max_queued_bytes;
    std::size_t const threshold = std::min(max / 2, max - std::min(max, e.refused_cost));
    auto const t = now_.time_since_epoch().count();
    std::size_t q = queued_on(e);
    std::int64_t at = t;
    for (auto const& [done, bytes] : e.sending) {
        if (q <= threshold)
            break;
        if (done <= t)
            continue;
        q -= bytes;
        at = done;
    }
    e.writable_pending = true;
    push_segment(at, segment::writable, conn, side);
}

inline void network::emit_stream(host_id h, stream_event const& ev)
{
    if (h >= stream_hosts_.size() || !stream_hosts_[h].attached || !stream_hosts_[h].handler)
        return;
    // The handler may replace itself or detach its transport: keep it alive for the call.
    std::shared_ptr<stream_handler const> const keep = stream_hosts_[h].handler;
    if (*keep)
        (*keep)(ev);
}

inline bool network::stream_routable(host_id from, host_id to) const noexcept
{
    if (partitioned_ && hosts_[from].group != hosts_[to].group)
        return false;
    // Out through NATs (to the public side or within one LAN), never into one:
    // no box forwards an unsolicited connection.
    return nats_.empty() || within(hosts_[to].realm, hosts_[from].realm);
}

inline endpoint network::seen_address(host_id from, host_id to, std::uint64_t conn) const noexcept
{
    endpoint e = hosts_[from].address;
    if (!nats_.empty() && hosts_[from].realm != hosts_[to].realm) {
        // The outermost box the connection leaves through gives the address.
        std::int32_t realm = hosts_[from].realm;
        std::int32_t last = realm;
        while (realm != hosts_[to].realm && realm != public_realm) {
            last = realm;
            realm = nat_realm_[static_cast<std::size_t>(realm)];
        }
        e = endpoint::v4(nats_[static_cast<std::size_t>(last)].external_ip(), 0);
    }
    // An ephemeral port, as a connecting socket has: not the peer's listening port.
    e.port = static_cast<std::uint16_t>(49152 + conn % 16384);
    return e.on(transport_protocol::tcp);
}

inline stream_id network::connect_stream(host_id from, endpoint const& address)
{
    std::uint64_t const n = next_conn_++;
    stream_conn& c = conns_[n];
    endpoint const to = address.on(transport_protocol::udp); // the host; see attach_streams
    c.target = to;
    stream_end& a = c.ends[0];
    a.host = from;
    a.phase = stream_phase::connecting;
    a.reported = false;
    a.peer = address.on(transport_protocol::tcp);
    bool const live = from < hosts_.size() && hosts_[from].up && from < stream_hosts_.size() &&
                      stream_hosts_[from].attached;
    if (!live) {
        close_end(n, 0, stream_errc::unreachable, true);
        return make_stream_id(n, 0);
    }
    auto const t = now_.time_since_epoch().count();
    push_segment(t + link_latency(hosts_[from].address, to).count(), segment::syn, n, 1);
    auto const timeout = std::chrono::duration_cast<duration>(stream_hosts_[from].settings.connect_timeout);
    push_segment(t + timeout.count(), segment::connect_timeout, n, 0);
    return make_stream_id(n, 0);
}

inline std::error_code network::send_stream(host_id from, stream_id id, std::span<std::byte const> frame)
{
    stream_end* e = find_end(from, id);
    if (!e || e->phase != stream_phase::open || !hosts_[from].up)
        return stream_errc::not_connected;
    stream_settings const& s = stream_hosts_[from].settings;
    if (frame.size() > s.max_frame_size)
        return stream_errc::frame_too_large;
    drain(*e);
    std::size_t const cost = frame.size() + stream_settings::frame_header_size;
    auto const raw = static_cast<std::uint64_t>(id);
    if (e->queued + cost > s.max_queued_bytes) {
        e->want_writable = true;
        e->refused_cost = std::max(e->refused_cost, cost);
        schedule_writable(raw / 2, raw % 2);
        return stream_errc::queue_full;
    }
    host_id const to = conns_[raw / 2].ends[1 - raw % 2].host;
    std::int64_t const done = transmit(from, to, cost);
    if (done > now_.time_since_epoch().count()) {
        e->sending.emplace_back(done, cost);
        e->queued += cost;
    }
    ++stats_.frames_sent;
    std::int64_t const at = in_order_arrival(conns_[raw / 2].ends[1 - raw % 2], done + stream_latency(from, to).count());
    push_segment(at, segment::frame, raw / 2, 1 - raw % 2, frame);
    return {};
}

inline void network::close_stream(host_id from, stream_id id)
{
    stream_end* e = find_end(from, id);
    if (!e || (e->phase != stream_phase::connecting && e->phase != stream_phase::open))
        return;
    auto const raw = static_cast<std::uint64_t>(id);
    close_end(raw / 2, raw % 2, stream_errc::closed_locally, true);
    finish_towards(raw / 2, 1 - raw % 2);
}

inline std::size_t network::stream_queued_bytes(host_id from, stream_id id) const noexcept
{
    auto const raw = static_cast<std::uint64_t>(id);
    auto it = conns_.find(raw / 2);
    if (it == conns_.end() || it->second.ends[raw % 2].host != from)
        return 0;
    return queued_on(it->second.ends[raw % 2]);
}

inline std::size_t network::open_streams(host_id h) const noexcept
{
    std::size_t n = 0;
    for (auto const& [k, c] : conns_)
        for (auto const& e : c.ends)
            if (e.host == h && (e.phase == stream_phase::connecting || e.phase == stream_phase::open))
                ++n;
    return n;
}

// -- faults -----------------------------------------------------------------

inline void network::streams_on_crash(host_id h)
{
    // The crashed host's ends die with it (their `closed` is owed until it
    // restarts); each live peer hears a reset one latency later, as from
    // the kernel of a process that died.
    for (auto& [n, c] : conns_)
        for (unsigned s = 0; s < 2; ++s) {
            stream_end& e = c.ends[s];
            if (e.host != h || (e.phase != stream_phase::connecting && e.phase != stream_phase::open))
                continue;
            close_end(n, s, stream_errc::connection_reset, false);
            ++stats_.streams_reset;
            stream_end const& o = c.ends[1 - s];
            if (o.phase == stream_phase::connecting || o.phase == stream_phase::open)
                abort_towards(n, 1 - s, stream_latency(h, o.host).count());
        }
}

inline void network::streams_on_restart(host_id h)
{
    for (auto& [n, c] : conns_)
        for (unsigned s = 0; s < 2; ++s)
            if (c.ends[s].host == h && c.ends[s].phase == stream_phase::closed && !c.ends[s].reported)
                push_segment(now_.time_since_epoch().count(), segment::closed, n, s);
}

inline void network::streams_on_partition()
{
    // Open streams across the cut are reset at both ends at once. A connect
    // still in progress across it times out instead: its SYN or SYN-ACK is lost.
    for (auto& [n, c] : conns_) {
        stream_end const& a = c.ends[0];
        stream_end const& b = c.ends[1];
        if (b.phase == stream_phase::none || hosts_[a.host].group == hosts_[b.host].group)
            continue;
        for (unsigned s = 0; s < 2; ++s)
            if (c.ends[s].phase == stream_phase::open) {
                close_end(n, s, stream_errc::connection_reset, true);
                ++stats_.streams_reset;
            }
    }
}

inline void network::streams_on_rebind(host_id h)
{
    // The address a connection was made on is gone: it resets here at once,
    // and at the peer one latency later.
    for (auto& [n, c] : conns_)
        for (unsigned s = 0; s < 2; ++s) {
            stream_end& e = c.ends[s];
            if (e.host != h || (e.phase != stream_phase::connecting && e.phase != stream_phase::open))
                continue;
            close_end(n, s, stream_errc::connection_reset, true);
            ++stats_.streams_reset;
            stream_end const& o = c.ends[1 - s];
            if (o.phase == stream_phase::connecting || o.phase == stream_phase::open)
                abort_towards(n, 1 - s, stream_latency(h, o.host).count());
        }
}

// -- delivery ---------------------------------------------------------------

inline void network::sweep_streams()
{
    for (std::uint64_t const n : stream_garbage_) {
        auto it = conns_.find(n);
        if (it == conns_.end())
            continue;
        bool done = true;
        for (auto const& e : it->second.ends)
            done = done && (e.phase == stream_phase::none || e.phase == stream_phase::closed) && e.reported;
        if (done)
            conns_.erase(it);
    }
    stream_garbage_.clear();
}

inline void network::process_stream(std::uint32_t slot)
{
    sweep_streams(); // no reference into conns_ is held here, so erasing is safe
    // Moved out: a handler may push segments, which can move the slot.
    stream_item item = std::move(stream_items_[slot]);
    stream_items_[slot].bytes.clear();
    free_stream_items_.push_back(slot);

    std::uint64_t const n = item.conn;
    unsigned const s = item.side;
    trace_ = detail::hash_combine(trace_, static_cast<std::uint64_t>(now_.time_since_epoch().count()));
    trace_ = detail::hash_combine(trace_, (n << 5) | (std::uint64_t{s} << 4) | static_cast<std::uint8_t>(item.kind));
    if (!item.bytes.empty())
        trace_ = detail::hash_bytes(item.bytes, trace_);

    auto it = conns_.find(n);
    if (it == conns_.end())
        return;
    stream_conn& c = it->second;
    stream_end& e = c.ends[s];
    stream_id const id = make_stream_id(n, s);
    auto const t = now_.time_since_epoch().count();

    // Closes this end for a reason the owner hears now, from this event.
    auto const end_now = [&](std::error_code reason) {
        e.phase = stream_phase::closed;
        e.reason = reason;
        e.reported = true;
        e.want_writable = false;
        e.sending.clear();
        e.queued = 0;
        stream_garbage_.push_back(n);
    };

    switch (item.kind) {
    case segment::syn: {
        stream_end const& a = c.ends[0];
        if (a.phase != stream_phase::connecting)
            return; // the connector gave up or died: the handshake is abandoned
        host_id const to = resolve(c.target);
        if (to == no_host || !hosts_[to].bound || !hosts_[to].up || !stream_routable(a.host, to))
            return; // lost: the connector times out
        auto const latency = stream_latency(a.host, to).count();
        if (!hosts_[to].streams) {
            push_segment(t + latency, segment::refuse, n, 0);
            return;
        }
        e.host = to;
        e.phase = stream_phase::open;
        e.reported = false;
        e.peer = seen_address(a.host, to, n);
        ++stats_.streams_opened;
        push_segment(t + latency, segment::syn_ack, n, 0);
        emit_stream(to, stream_connected{id, e.peer, true});
        return;
    }
    case segment::syn_ack: {
        stream_end const& b = c.ends[1];
        if (e.phase != stream_phase::connecting || b.phase == stream_phase::none || !hosts_[e.host].up ||
            (partitioned_ && hosts_[e.host].group != hosts_[b.host].group))
            return;
        e.phase = stream_phase::open;
        emit_stream(e.host, stream_connected{id, e.peer, false});
        return;
    }
    case segment::refuse:
        if (e.phase != stream_phase::connecting)
            return;
        ++stats_.streams_refused;
        end_now(stream_errc::refused);
        emit_stream(e.host, stream_closed{id, stream_errc::refused});
        return;
    case segment::connect_timeout:
        if (e.phase != stream_phase::connecting)
            return;
        ++stats_.streams_unreachable;
        end_now(stream_errc::unreachable);
        if (c.ends[1].phase == stream_phase::open) // a SYN-ACK slower than the timeout
            abort_towards(n, 1, stream_latency(e.host, c.ends[1].host).count());
        emit_stream(e.host, stream_closed{id, stream_errc::unreachable});
        return;
    case segment::frame:
        if (e.phase != stream_phase::open)
            return;
        if (item.bytes.size() > stream_hosts_[e.host].settings.max_frame_size) {
            // A peer with a larger limit (or a hostile one): refuse the
            // frame, reset the stream, tell both sides.
            ++stats_.oversized_frames;
            ++stats_.streams_reset;
            end_now(stream_errc::peer_frame_too_large);
            abort_towards(n, 1 - s, stream_latency(e.host, c.ends[1 - s].host).count());
            emit_stream(e.host, stream_closed{id, stream_errc::peer_frame_too_large});
            return;
        }
        ++stats_.frames_delivered;
        stats_.frame_bytes_delivered += item.bytes.size();
        emit_stream(e.host, stream_frame{id, item.bytes});
        return;
    case segment::fin:
        if (e.phase != stream_phase::connecting && e.phase != stream_phase::open)
            return;
        end_now(stream_errc::closed_by_peer);
        emit_stream(e.host, stream_closed{id, stream_errc::closed_by_peer});
        return;
    case segment::rst:
        if (e.phase != stream_phase::connecting && e.phase != stream_phase::open)
            return;
        ++stats_.streams_reset;
        end_now(stream_errc::connection_reset);
        emit_stream(e.host, stream_closed{id, stream_errc::connection_reset});
        return;
    case segment::closed:
        if (e.phase != stream_phase::closed || e.reported || !hosts_[e.host].up)
            return; // reported already, or owed until the host restarts
        e.reported = true;
        stream_garbage_.push_back(n);
        emit_stream(e.host, stream_closed{id, e.reason});
        return;
    case segment::writable: {
        e.writable_pending = false;
        if (e.phase != stream_phase::open || !e.want_writable)
            return;
        std::size_t const max = stream_hosts_[e.host].settings.max_queued_bytes;
        std::size_t const threshold = std::min(max / 2, max - std::min(max, e.refused_cost));
        drain(e);
        if (e.queued > threshold) { // more was queued since the refusal
            schedule_writable(n, s);
            return;
        }
        e.want_writable = false;
        e.refused_cost = 0;
        emit_stream(e.host, stream_writable{id});
        return;
    }
    }
}

} // namespace meshkit::sim

#endif // MESHKIT_SIM_IMPL_NETWORK_STREAMS_HPP
