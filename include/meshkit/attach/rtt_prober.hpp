// attach/rtt_prober.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ATTACH_RTT_PROBER_HPP
#define MESHKIT_ATTACH_RTT_PROBER_HPP

#include <meshkit/attach/messages.hpp>
#include <meshkit/coordinates/vivaldi.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace meshkit::attach {

/// What `rtt_prober` counted.
struct prober_stats {
    std::uint64_t probes_sent = 0;
    std::uint64_t replies = 0;
    /// Replies with no probe outstanding under that nonce from that address (late, forged, replayed): ignored.
    std::uint64_t unmatched_replies = 0;
};

/** Measures round trips to substrates, keeps the lowest of the last five per substrate, and moves a Vivaldi coordinate.

    Both attachment engines hold one. A probe is an `at_probe` datagram
    with a random nonce; only the answer from the probed address with that
    nonce counts, so a forged or replayed reply measures nothing. Samples
    also come from elsewhere (`observe`: a transient's heartbeat). Bounded:
    `capacity` substrates (the one measured longest ago is forgotten) and
    16 probes outstanding.
*/
class rtt_prober {
public:
    explicit rtt_prober(std::size_t capacity = 64) : capacity_(std::max<std::size_t>(1, capacity)) {}

    /** A substrate's measured RTT: the lowest of its last five samples.

        Queueing only ever adds delay, so the lowest recent sample is the
        path's own latency (the filter TCP's min-RTT estimators use); a
        median of three, Serf's filter, still moves with one-sided jitter.
    */
    struct measurement {
        node_id id;
        duration rtt{};
        time_point measured{};
        /// Children it would still take, from its last probe reply (`max` when not probed).
        std::uint32_t free_slots = UINT32_MAX;
    };

    /// Sends an `at_probe` to `address` (substrate `id`'s datagram address).
    template <class Ctx>
    void probe(Ctx& ctx, node_id const& id, endpoint const& address)
    {
        time_point const now = ctx.now();
        std::erase_if(pending_, [&](outstanding const& o) { return now - o.sent > std::chrono::seconds(10); });
        if (pending_.size() >= max_outstanding)
            pending_.erase(pending_.begin());
        std::uint64_t const nonce = ctx.rng()();
        pending_.push_back(outstanding{nonce, id, address, now});
        ++stats_.probes_sent;
        ctx.send(address, at_probe{nonce, vivaldi_.coordinate(), 0});
    }

    /// An `at_probe_reply`: the measurement it completed, if it answers a probe of ours.
    template <class Ctx>
    std::optional<measurement> on_reply(Ctx& ctx, inbound const& in, at_probe_reply const& r)
    {
        auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](outstanding const& o) { return o.nonce == r.nonce && o.address == in.from; });
        if (it == pending_.end()) {
            ++stats_.unmatched_replies;
            return std::nullopt;
        }
        ++stats_.replies;
        outstanding const o = *it;
        pending_.erase(it);
        measurement* m = observe(ctx, o.id, r.coordinate, ctx.now() - o.sent);
        m->free_slots = r.free_slots;
        return *m;
    }

    /// A round trip measured some other way (a heartbeat) to `id`, which is at `coordinate`.
    template <class Ctx>
    measurement* observe(Ctx& ctx, node_id const& id, coordinates::network_coordinate const& coordinate,
                         duration rtt)
    {
        entry& e = entry_for(id);
        e.samples[e.next] = rtt;
        e.next = (e.next + 1) % e.samples.size();
        e.count = std::min<std::size_t>(e.count + 1, e.samples.size());
        e.m.rtt = *std::min_element(e.samples.begin(), e.samples.begin() + static_cast<std::ptrdiff_t>(e.count));
        e.m.measured = ctx.now();
        vivaldi_.update(coordinate, e.m.rtt, ctx.rng());
        return &e.m;
    }

    /// What was measured to `id` no longer than `max_age` ago.
    [[nodiscard]] std::optional<measurement> measured(node_id const& id, time_point now, duration max_age) const
    {
        for (entry const& e : entries_)
            if (e.m.id == id && now - e.m.measured <= max_age)
                return e.m;
        return std::nullopt;
    }

    /// Every measurement no older than `max_age`.
    [[nodiscard]] std::vector<measurement> fresh(time_point now, duration max_age) const
    {
        std::vector<measurement> out;
        for (entry const& e : entries_)
            if (now - e.m.measured <= max_age)
                out.push_back(e.m);
        return out;
    }

    void forget(node_id const& id)
    {
        std::erase_if(entries_, [&](entry const& e) { return e.m.id == id; });
    }

    [[nodiscard]] coordinates::network_coordinate const& coordinate() const noexcept { return vivaldi_.coordinate(); }
    [[nodiscard]] coordinates::vivaldi const& vivaldi() const noexcept { return vivaldi_; }
    [[nodiscard]] prober_stats const& stats() const noexcept { return stats_; }

private:
    static constexpr std::size_t max_outstanding = 16;

    struct outstanding {
        std::uint64_t nonce;
        node_id id;
        endpoint address;
        time_point sent;
    };
    struct entry {
        measurement m;
        std::array<duration, 5> samples{};
        std::size_t next = 0;
        std::size_t count = 0;
    };

    entry& entry_for(node_id const& id)
    {
        for (entry& e : entries_)
            if (e.m.id == id)
                return e;
        if (entries_.size() >= capacity_) {
            auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                           [](entry const& a, entry const& b) { return a.m.measured < b.m.measured; });
            entries_.erase(oldest);
        }
        entry& e = entries_.emplace_back();
        e.m.id = id;
        return e;
    }

    std::size_t capacity_;
    std::vector<entry> entries_;
    std::vector<outstanding> pending_;
    coordinates::vivaldi vivaldi_;
    prober_stats stats_;
};

} // namespace meshkit::attach

#endif // MESHKIT_ATTACH_RTT_PROBER_HPP
