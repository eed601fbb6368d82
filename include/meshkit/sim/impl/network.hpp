// sim/impl/network.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_IMPL_NETWORK_HPP
#define MESHKIT_SIM_IMPL_NETWORK_HPP

#include <meshkit/sim/network.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

namespace meshkit::sim {

inline network::network(std::uint64_t seed, link_model default_link)
    : seed_(seed), rng_(seed), default_link_(default_link), trace_(detail::mix64(seed))
{
}

inline endpoint network::next_endpoint() noexcept
{
    // 10.0.0.1 upwards; skipping .0 and .255 keeps addresses realistic in logs.
    // Past 254 * 65,536 addresses the port moves on, so none ever repeats.
    std::uint64_t const n = next_address_++;
    auto const host_part = static_cast<std::uint32_t>(n % 254 + 1);
    auto const rest = static_cast<std::uint32_t>(n / 254);
    auto const port = static_cast<std::uint16_t>(7000 + rest / 65536);
    return endpoint::v4((10u << 24) | ((rest % 65536) << 8) | host_part, port);
}

inline result<host_id> network::bind(endpoint const& at, receive_handler handler)
{
    if (auto it = by_address_.find(at); it != by_address_.end()) {
        host& h = hosts_[it->second];
        // A crashed host still belongs to its transport until that is destroyed;
        // taking it over would let the old object send as the new one.
        if (h.datagrams)
            return make_error_code(errc::address_in_use);
        h.handler = std::move(handler);
        h.datagrams = true;
        // A stream listener already owns the host: the socket joins that
        // machine, whose state (up or crashed, timers) it must not reset.
        if (h.bound)
            return it->second;
        // Reusing the slot keeps the host's partition group across a restart.
        h.bound = true;
        h.up = true;
        ++h.incarnation;
        return it->second;
    }
    auto id = static_cast<host_id>(hosts_.size());
    hosts_.push_back(
        host{at.on(transport_protocol::udp), std::move(handler), realm_of(at), 0, 0, true, true, true, false});
    by_address_.emplace(at, id);
    if (auto it = pending_clocks_.find(at); it != pending_clocks_.end()) {
        host_clocks_.resize(std::max<std::size_t>(host_clocks_.size(), id + 1));
        host_clocks_[id] = it->second;
        pending_clocks_.erase(it);
    }
    return id;
}

inline void network::set_clock_skew(endpoint const& at, clock_skew skew)
{
    if (auto it = by_address_.find(at); it != by_address_.end()) {
        host_clocks_.resize(std::max<std::size_t>(host_clocks_.size(), it->second + 1));
        host_clocks_[it->second] = skew;
    } else {
        pending_clocks_[at] = skew;
    }
}

inline time_point network::host_now(host_id h) const noexcept
{
    return local_time(h, now_);
}

inline time_point network::local_time(host_id h, time_point t) const noexcept
{
    if (h >= host_clocks_.size())
        return t;
    clock_skew const& c = host_clocks_[h];
    auto const scaled = static_cast<duration::rep>(static_cast<long double>(t.time_since_epoch().count()) *
                                                   (1.0L + static_cast<long double>(c.drift_ppm) / 1e6L));
    return time_point(c.offset + duration(scaled));
}

inline time_point network::network_time(host_id h, time_point local) const noexcept
{
    if (h >= host_clocks_.size())
        return local;
    clock_skew const& c = host_clocks_[h];
    auto const rate = 1.0L + static_cast<long double>(c.drift_ppm) / 1e6L;
    auto const t = static_cast<long double>((local.time_since_epoch() - c.offset).count()) / rate;
    auto at = time_point(duration(static_cast<duration::rep>(std::ceil(t))));
    // Rounding must never fire a timer before its time on the host's clock.
    while (local_time(h, at) < local)
        at += duration(1);
    return at;
}

inline void network::unbind(host_id h) noexcept
{
    if (h >= hosts_.size())
        return;
    hosts_[h].datagrams = false;
    hosts_[h].handler = nullptr;
    if (h < restart_hooks_.size())
        restart_hooks_[h] = nullptr;
    ++hosts_[h].incarnation; // the socket owner's timers die with it
    if (hosts_[h].streams)
        return; // the stream listener keeps the machine
    hosts_[h].bound = false;
    hosts_[h].up = false;
}

inline std::uint64_t network::pair_key(endpoint const& a, endpoint const& b) noexcept
{
    std::uint64_t const ha = std::hash<endpoint>{}(a), hb = std::hash<endpoint>{}(b);
    // Symmetric: a link has one base latency in both directions.
    return detail::hash_combine(std::min(ha, hb), std::max(ha, hb));
}

inline link_model const& network::model_for(std::uint64_t key) const noexcept
{
    if (!link_overrides_.empty())
        if (auto it = link_overrides_.find(key); it != link_overrides_.end())
            return it->second;
    return default_link_;
}

inline duration network::link_latency(endpoint const& a, endpoint const& b) const noexcept
{
    if (latency_map_)
        return latency_map_(a, b, now_);
    std::uint64_t const key = pair_key(a, b);
    return model_for(key).latency.pick(detail::hash_combine(seed_, key));
}

inline void network::set_link(endpoint const& a, endpoint const& b, link_model const& m)
{
    link_overrides_[pair_key(a, b)] = m;
}

inline void network::partition(std::vector<std::vector<endpoint>> const& groups)
{
    for (auto& h : hosts_)
        h.group = 0;
    std::uint32_t g = 0;
    for (auto const& group : groups) {
        ++g;
        for (auto const& ep : group)
            if (auto it = by_address_.find(ep); it != by_address_.end())
                hosts_[it->second].group = g;
    }
    partitioned_ = true;
    if (!conns_.empty())
        streams_on_partition();
}

inline void network::heal() noexcept
{
    for (auto& h : hosts_)
        h.group = 0;
    partitioned_ = false;
}

inline void network::crash(endpoint const& at) noexcept
{
    if (auto it = by_address_.find(at); it != by_address_.end()) {
        host& h = hosts_[it->second];
        if (h.up) {
            h.up = false;
            ++h.incarnation;
            if (!conns_.empty())
                streams_on_crash(it->second);
        }
    }
}

inline void network::restart(endpoint const& at)
{
    if (auto it = by_address_.find(at); it != by_address_.end())
        if (host& h = hosts_[it->second]; h.bound && !h.up) {
            h.up = true;
            if (!conns_.empty())
                streams_on_restart(it->second);
            if (it->second < restart_hooks_.size() && restart_hooks_[it->second])
                restart_hooks_[it->second]();
        }
}

inline bool network::is_up(endpoint const& at) const noexcept
{
    auto it = by_address_.find(at);
    return it != by_address_.end() && hosts_[it->second].bound && hosts_[it->second].up;
}

inline std::error_code network::rebind(endpoint const& from, endpoint const& to)
{
    auto it = by_address_.find(from);
    if (it == by_address_.end() || !hosts_[it->second].bound)
        return errc::host_unreachable;
    if (auto t = by_address_.find(to); t != by_address_.end() && hosts_[t->second].bound)
        return errc::address_in_use;
    host_id const id = it->second;
    if (!conns_.empty())
        streams_on_rebind(id);
    by_address_.erase(it);
    by_address_.erase(to); // a stale, unbound host may have held it
    by_address_.emplace(to, id);
    hosts_[id].address = to.on(transport_protocol::udp); // a host's own address is its datagram one
    hosts_[id].realm = realm_of(to);
    return {};
}

inline void network::push(std::int64_t at, std::uint32_t slot, event_kind kind)
{
    std::uint64_t const order = (next_seq_++ << 32) | (std::uint64_t{static_cast<std::uint8_t>(kind)} << 30) | slot;
    heap_.push(event{at, order});
}

inline std::uint32_t network::take_packet_slot()
{
    if (!free_packets_.empty()) {
        auto s = free_packets_.back();
        free_packets_.pop_back();
        return s;
    }
    packets_.emplace_back();
    return static_cast<std::uint32_t>(packets_.size() - 1);
}

inline host_id network::resolve(endpoint const& to) const noexcept
{
    auto it = by_address_.find(to);
    return it == by_address_.end() ? no_host : it->second;
}

inline void network::enqueue_packet(host_id from, endpoint const& source, host_id to_host, endpoint const& to,
                                    std::span<std::byte const> bytes, duration delay)
{
    std::uint32_t const slot = take_packet_slot();
    packet& p = packets_[slot];
    p.from = from;
    p.to_host = to_host;
    p.origin_realm = hosts_[from].realm;
    p.from_address = source;
    p.to = to;
    p.size = static_cast<std::uint32_t>(bytes.size());
    if (bytes.size() <= inline_bytes)
        std::copy(bytes.begin(), bytes.end(), p.small.begin());
    else
        p.large.assign(bytes.begin(), bytes.end()); // reuses the slot's capacity
    push((now_ + delay).time_since_epoch().count(), slot, event_kind::datagram);
}

inline nat_id network::add_nat(nat_config const& cfg, std::optional<nat_id> behind)
{
    endpoint const outside = behind ? next_endpoint_behind(*behind) : next_endpoint();
    auto const id = static_cast<nat_id>(nats_.size());
    nats_.emplace_back(cfg, outside.v4_address());
    nat_realm_.push_back(behind ? static_cast<std::int32_t>(*behind) : public_realm);
    nat_by_ip_.emplace(outside.v4_address(), id);
    return id;
}

inline endpoint network::next_endpoint_behind(nat_id nat)
{
    // 10.128.0.0/9, disjoint from the public pool, unique across all NATs so
    // one address table serves every realm.
    std::uint32_t const n = next_private_++;
    std::uint32_t const ip = (10u << 24) | (1u << 23) | ((n / 254) << 8 & 0x7fff00u) | (n % 254 + 1);
    private_realm_.emplace(ip, static_cast<std::int32_t>(nat));
    return endpoint::v4(ip, 7000);
}

inline std::int32_t network::realm_of(endpoint const& address) const noexcept
{
    if (nats_.empty() || !address.is_v4())
        return public_realm;
    if (auto n = nat_by_ip_.find(address.v4_address()); n != nat_by_ip_.end())
        return nat_realm_[n->second];
    if (auto r = private_realm_.find(address.v4_address()); r != private_realm_.end())
        return r->second;
    return public_realm;
}

inline bool network::within(std::int32_t outer, std::int32_t realm) const noexcept
{
    // True when `realm` is `outer` or lies behind it.
    for (;;) {
        if (realm == outer)
            return true;
        if (realm == public_realm)
            return false;
        realm = nat_realm_[static_cast<std::size_t>(realm)];
    }
}

inline std::optional<endpoint> network::translate_out(host const& h, endpoint const& to)
{
    // Climb from the sender's realm to the destination's, through each NAT on the way.
    std::int32_t const target = realm_of(to);
    if (!within(target, h.realm))
        return std::nullopt; // a private address of another network: not routable from here
    endpoint source = h.address;
    for (std::int32_t realm = h.realm; realm != target; realm = nat_realm_[static_cast<std::size_t>(realm)]) {
        auto translated = nats_[static_cast<std::size_t>(realm)].outbound(source, to, now_, rng_);
        if (!translated)
            return std::nullopt;
        source = *translated;
    }
    return source;
}

inline std::optional<endpoint> network::translate_in(packet const& p)
{
    // Descend through every NAT whose external address the datagram is for.
    endpoint to = p.to;
    for (auto n = nat_by_ip_.find(to.v4_address()); to.is_v4() && n != nat_by_ip_.end();
         n = nat_by_ip_.find(to.v4_address())) {
        nat_box& box = nats_[n->second];
        if (within(static_cast<std::int32_t>(n->second), p.origin_realm) && !box.config().hairpinning) {
            box.refuse_hairpin();
            return std::nullopt;
        }
        auto internal = box.inbound(to.port, p.from_address, now_);
        if (!internal)
            return std::nullopt;
        to = *internal;
    }
    return to;
}

inline void network::join_group(endpoint const& group, endpoint const& member)
{
    auto& members = groups_[group];
    if (std::find(members.begin(), members.end(), member) == members.end())
        members.push_back(member);
}

inline void network::leave_group(endpoint const& group, endpoint const& member) noexcept
{
    auto it = groups_.find(group);
    if (it != groups_.end())
        std::erase(it->second, member);
}

inline std::error_code network::send(host_id from, endpoint const& to, std::span<std::byte const> bytes)
{
    if (from >= hosts_.size() || !hosts_[from].up)
        return errc::not_running;
    if (bytes.size() > max_datagram_)
        return errc::message_too_large;
    if (!groups_.empty() && to.is_v4() && (to.v4_address() >> 28) == 0xE) {
        auto it = groups_.find(to);
        if (it == groups_.end())
            return {};
        // A copy to each member but the sender, each over its own link.
        for (endpoint const& member : it->second)
            if (member != hosts_[from].address)
                (void)send(from, member, bytes);
        return {};
    }
    ++stats_.sent;
    endpoint const& src = hosts_[from].address;
    std::uint64_t const key = pair_key(src, to);
    link_model const& m = model_for(key);
    if (m.loss > 0 && rng_.chance(m.loss)) {
        ++stats_.lost;
        return {};
    }
    duration delay = latency_map_ ? latency_map_(src, to, now_) : m.latency.pick(detail::hash_combine(seed_, key));
    if (m.jitter.count() > 0)
        delay += duration(rng_.between(0, m.jitter.count()));
    if (m.reorder > 0 && rng_.chance(m.reorder))
        delay += duration(rng_.between(0, m.reorder_window.count()));
    host_id const to_host = resolve(to);
    if (partitioned_ && to_host != no_host && hosts_[to_host].group != hosts_[from].group) {
        ++stats_.partitioned;
        return {};
    }
    endpoint source = src;
    if (!nats_.empty()) {
        auto translated = translate_out(hosts_[from], to);
        if (!translated) {
            ++stats_.unreachable;
            return {};
        }
        source = *translated;
    }
    enqueue_packet(from, source, to_host, to, bytes, delay);
    if (m.duplicate > 0 && rng_.chance(m.duplicate)) {
        ++stats_.duplicated;
        duration extra = m.jitter.count() > 0 ? duration(rng_.between(0, m.jitter.count())) : duration(1);
        enqueue_packet(from, source, to_host, to, bytes, delay + extra);
    }
    return {};
}

inline timer_handle network::set_timer(host_id owner, time_point at, timer_callback cb)
{
    std::uint32_t slot;
    if (!free_timers_.empty()) {
        slot = free_timers_.back();
        free_timers_.pop_back();
    } else {
        timers_.emplace_back();
        slot = static_cast<std::uint32_t>(timers_.size() - 1);
    }
    timer_slot& t = timers_[slot];
    t.callback = std::move(cb);
    t.owner = owner < hosts_.size() ? owner : no_host;
    t.incarnation = owner < hosts_.size() ? hosts_[owner].incarnation : 0;
    ++t.generation;
    t.armed = true;
    push(std::max(at, now_).time_since_epoch().count(), slot, event_kind::timer);
    return timer_handle{(std::uint64_t{slot} << 32) | t.generation};
}

inline void network::cancel_timer(timer_handle h) noexcept
{
    if (!h)
        return;
    auto const slot = static_cast<std::uint32_t>(h.value >> 32);
    auto const generation = static_cast<std::uint32_t>(h.value);
    if (slot < timers_.size() && timers_[slot].generation == generation && timers_[slot].armed) {
        timers_[slot].armed = false;
        timers_[slot].callback = nullptr;
    }
}

inline void network::deliver(std::uint32_t slot)
{
    // The slot is released however the handler leaves, even by an exception.
    struct release {
        std::vector<std::uint32_t>& free;
        std::uint32_t slot;
        ~release() { free.push_back(slot); }
    } const guard{free_packets_, slot};
    packet& p = packets_[slot];
    auto const bytes = p.bytes();
    trace_ = detail::hash_combine(trace_, static_cast<std::uint64_t>(now_.time_since_epoch().count()));
    trace_ = detail::hash_combine(trace_, p.to_host);
    trace_ = detail::hash_bytes(bytes, trace_);

    // The host resolved at send time is still the right one unless the
    // address moved or was rebound meanwhile; only then look it up again.
    host_id to = p.to_host;
    if (to == no_host && !nats_.empty() && nat_by_ip_.contains(p.to.v4_address())) {
        auto internal = translate_in(p);
        to = internal ? resolve(*internal) : no_host;
        if (!internal) {
            ++stats_.nat_dropped;
            return;
        }
    } else if (to == no_host || hosts_[to].address != p.to) {
        to = resolve(p.to);
    }
    if (to == no_host || !hosts_[to].datagrams || !hosts_[to].up) {
        ++stats_.unreachable;
    } else if (partitioned_ && hosts_[to].group != hosts_[p.from].group) {
        ++stats_.partitioned;
    } else {
        ++stats_.delivered;
        stats_.bytes_delivered += bytes.size();
        // The handler may send, which can grow packets_ and move this slot:
        // copy what it needs first. A large payload's buffer survives the move.
        endpoint const from = p.from_address;
        if (tap_)
            tap_(from, hosts_[to].address, bytes);
        if (bytes.size() <= inline_bytes) {
            std::array<std::byte, inline_bytes> copy;
            std::copy(bytes.begin(), bytes.end(), copy.begin());
            hosts_[to].handler(from, std::span<std::byte const>(copy.data(), bytes.size()));
        } else {
            hosts_[to].handler(from, bytes);
        }
    }
}

inline void network::fire(std::uint32_t slot)
{
    timer_slot& t = timers_[slot];
    bool live = t.armed;
    if (live && t.owner != no_host)
        live = hosts_[t.owner].up && hosts_[t.owner].incarnation == t.incarnation;
    timer_callback cb;
    if (live) {
        cb = std::move(t.callback);
        ++stats_.timers_fired;
        trace_ = detail::hash_combine(trace_, now_.time_since_epoch().count() ^ 0x7133);
    }
    t.callback = nullptr;
    t.armed = false;
    free_timers_.push_back(slot);
    if (cb)
        cb();
}

inline void network::process(event const& e)
{
    now_ = time_point(duration(e.at));
    ++stats_.events;
    switch (e.kind()) {
    case event_kind::datagram: deliver(e.slot()); break;
    case event_kind::timer: fire(e.slot()); break;
    case event_kind::stream: process_stream(e.slot()); break;
    }
}

inline bool network::step()
{
    if (heap_.empty())
        return false;
    event const e = heap_.top();
    heap_.pop();
    process(e);
    return true;
}

inline std::size_t network::run_until(time_point t)
{
    std::size_t n = 0;
    auto const limit = t.time_since_epoch().count();
    while (!heap_.empty() && heap_.top().at <= limit) {
        step();
        ++n;
    }
    if (t > now_)
        now_ = t;
    return n;
}

inline std::size_t network::advance(duration d)
{
    return run_until(now_ + d);
}

inline std::size_t network::run_until_idle(std::size_t max_events)
{
    std::size_t n = 0;
    while (n < max_events && step())
        ++n;
    return n;
}

} // namespace meshkit::sim

#endif // MESHKIT_SIM_IMPL_NETWORK_HPP
