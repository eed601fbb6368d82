// membership/liveness.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_MEMBERSHIP_LIVENESS_HPP
#define MESHKIT_MEMBERSHIP_LIVENESS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/membership/liveness_messages.hpp>
#include <meshkit/membership/session_tracker.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::membership {

/// Settings of the liveness engine, with units.
struct liveness_config {
    /// How often every peer and candidate is pinged.
    duration ping_interval = std::chrono::seconds(1);
    /// Silence after which a peer is aged out (peer_down). Keep it several ping intervals.
    duration session_timeout = std::chrono::seconds(5);
    /// The most peers tracked at once; further peers are answered but not tracked.
    std::size_t max_peers = 64;
    /// The most unanswered candidate endpoints held at once.
    std::size_t max_candidates = 32;
    /// Pings sent to a candidate before it is reported as contact_failed.
    unsigned candidate_attempts = 3;
    /// Below this many peers (plus candidates in flight), ask discovery for more.
    std::size_t min_peers = 3;
    /// Weight of each new RTT sample in the smoothed RTT.
    double rtt_alpha = 0.125;
};

/** Pings peers, measures their RTT and ages out the silent ones.

    A sans-IO engine: it owns no socket, thread or clock. It reacts to
    `start`, `add_candidate`, `on_message`, `on_datagram` and `on_timer`, and acts only
    through its context: `send`, `set_timer`, `emit`, `now`, `rng`,
    `metrics`. It therefore runs unchanged in the simulator and over UDP.

    Every datagram from a peer refreshes its session, not only pongs, so a
    busy peer is never timed out for lack of ping traffic. A peer that pings
    us is tracked too, so liveness is symmetric.

    @par Events
    `peer_up`, `peer_down`, `contact_failed`, `peers_wanted`.
*/
class liveness {
public:
    using messages = liveness_messages;
    using events = type_list<peer_up, peer_down, contact_failed, peers_wanted>;

    /// Its run-time settings: `node_config::engine<liveness>()` on a node.
    using config_type = liveness_config;

    explicit liveness(liveness_config cfg = {}) : cfg_(validated(cfg)), sessions_(cfg.max_peers)
    {
        sessions_.set_rtt_alpha(cfg.rtt_alpha);
    }

    // -- engine hooks ---------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx)
    {
        // A random phase keeps a cluster started in one instant from pinging in lockstep.
        auto const phase = duration(static_cast<duration::rep>(ctx.rng().below(
            static_cast<std::uint64_t>(std::max<duration::rep>(1, cfg_.ping_interval.count())))));
        ctx.set_timer(phase, tick_tag);
        if (sessions_.size() + candidates_.size() < cfg_.min_peers)
            ctx.emit(peers_wanted{cfg_.min_peers - sessions_.size() - candidates_.size()});
    }

    /// Starts pinging `address`, whose node id is not known yet.
    template <class Ctx>
    void add_candidate(Ctx& ctx, endpoint const& address)
    {
        if (address == ctx.local_endpoint() || candidates_.size() >= cfg_.max_candidates)
            return;
        bool known = std::any_of(candidates_.begin(), candidates_.end(),
                                 [&](candidate const& c) { return c.address == address; });
        sessions_.for_each([&](session const& s) { known = known || s.address == address; });
        if (known)
            return;
        candidates_.push_back(candidate{address, 0, 0, {}});
        ping_candidate(ctx, candidates_.back());
    }

    template <class Ctx>
    void on_datagram(Ctx& ctx, inbound const& in)
    {
        // A relayed message (hops > 0) says nothing about its originator's
        // liveness or address, only about the relay's.
        if (in.header.sender == ctx.self() || in.header.hops != 0)
            return;
        if (sessions_.refresh(in.header.sender, in.from, ctx.now()))
            return;
        // Unknown peer, or a known one at a new address: probe the path.
        // Only a pong echoing our nonce from there opens or moves a session,
        // so a forged datagram can neither create a peer nor hijack one.
        if (session* s = sessions_.find(in.header.sender)) {
            if (s->probe_address != in.from) {
                s->probe_address = in.from;
                s->probe_nonce = fresh_nonce(ctx);
                s->probe_sent = ctx.now();
                ctx.send(in.from, ping{s->probe_nonce});
            }
        } else {
            add_candidate(ctx, in.from);
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, ping const& p)
    {
        ctx.send(in.from, pong{p.nonce});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, pong const& p)
    {
        if (p.nonce == 0 || in.header.sender == ctx.self())
            return;
        if (session* s = sessions_.find(in.header.sender)) {
            if (s->outstanding_nonce == p.nonce && s->address == in.from) {
                sample_rtt(ctx, *s, s->ping_sent);
                s->outstanding_nonce = 0;
            } else if (s->probe_nonce == p.nonce && s->probe_address == in.from) {
                bool created = false;
                sessions_.open(s->id, in.from, ctx.now(), created); // the new path is proven
                sample_rtt(ctx, *s, s->probe_sent);
                s->probe_nonce = 0;
                s->probe_address = {};
            }
            return;
        }
        auto c = std::find_if(candidates_.begin(), candidates_.end(),
                              [&](candidate const& x) { return x.nonce == p.nonce; });
        if (c == candidates_.end())
            return;
        time_point const sent = c->sent;
        candidates_.erase(c);
        bool created = false;
        // A peer behind a NAT may answer from another address than we
        // pinged; the address that echoed our nonce is the one that works.
        session* s = sessions_.open(in.header.sender, in.from, ctx.now(), created);
        if (!s)
            return; // full: the peer answered, so it is not reported unreachable either
        if (created) {
            ctx.metrics().increment("meshkit_peers_up_total", 1);
            ctx.emit(peer_up{s->id, s->address});
        }
        sample_rtt(ctx, *s, sent);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        if (tag != tick_tag)
            return;
        tick(ctx);
        ctx.set_timer(cfg_.ping_interval, tick_tag);
    }

    // -- queries --------------------------------------------------------------

    [[nodiscard]] session_tracker const& sessions() const noexcept { return sessions_; }
    [[nodiscard]] std::size_t candidate_count() const noexcept { return candidates_.size(); }
    [[nodiscard]] liveness_config const& config() const noexcept { return cfg_; }

private:
    static constexpr std::uint64_t tick_tag = 1;

    // A zero interval would re-arm the tick at the same instant forever.
    static liveness_config validated(liveness_config c) noexcept
    {
        c.ping_interval = std::max(c.ping_interval, duration(std::chrono::milliseconds(1)));
        c.session_timeout = std::max(c.session_timeout, c.ping_interval);
        return c;
    }

    struct candidate {
        endpoint address;
        unsigned attempts;
        std::uint64_t nonce;
        time_point sent;
    };

    template <class Ctx>
    static std::uint64_t fresh_nonce(Ctx& ctx)
    {
        std::uint64_t n = 0;
        while (n == 0)
            n = ctx.rng()();
        return n;
    }

    template <class Ctx>
    void sample_rtt(Ctx& ctx, session& s, time_point sent)
    {
        s.rtt.sample(ctx.now() - sent);
        ctx.metrics().observe("meshkit_rtt_seconds", std::chrono::duration<double>(ctx.now() - sent).count());
    }

    template <class Ctx>
    void ping_session(Ctx& ctx, session& s)
    {
        s.outstanding_nonce = fresh_nonce(ctx);
        s.ping_sent = ctx.now();
        ctx.send(s.address, ping{s.outstanding_nonce});
    }

    template <class Ctx>
    void ping_candidate(Ctx& ctx, candidate& c)
    {
        c.nonce = fresh_nonce(ctx);
        c.sent = ctx.now();
        ++c.attempts;
        ctx.send(c.address, ping{c.nonce});
    }

    template <class Ctx>
    void tick(Ctx& ctx)
    {
        // A tick far later than scheduled means this node was asleep: its
        // peers' silence is its own, so they get one fresh ping interval to
        // answer before any of them is aged out.
        if (last_tick_ != time_point{} && ctx.now() - last_tick_ > 2 * cfg_.ping_interval)
            sessions_.for_each([&](session& s) {
                s.last_heard = std::max(s.last_heard, ctx.now() - cfg_.session_timeout + cfg_.ping_interval);
            });
        last_tick_ = ctx.now();
        for (session const& s : sessions_.expire(ctx.now(), cfg_.session_timeout)) {
            ctx.metrics().increment("meshkit_peers_down_total", 1);
            ctx.emit(peer_down{s.id, s.address, ctx.now() - s.last_heard});
        }
        sessions_.for_each([&](session& s) { ping_session(ctx, s); });

        std::vector<endpoint> failed;
        std::erase_if(candidates_, [&](candidate const& c) {
            if (c.attempts < cfg_.candidate_attempts)
                return false;
            failed.push_back(c.address);
            return true;
        });
        for (candidate& c : candidates_)
            ping_candidate(ctx, c);
        for (endpoint const& ep : failed)
            ctx.emit(contact_failed{ep});

        ctx.metrics().set_gauge("meshkit_peers", static_cast<double>(sessions_.size()));
        std::size_t const have = sessions_.size() + candidates_.size();
        if (have < cfg_.min_peers)
            ctx.emit(peers_wanted{cfg_.min_peers - have});
    }

    liveness_config cfg_;
    time_point last_tick_{};
    session_tracker sessions_;
    std::vector<candidate> candidates_;
};

} // namespace meshkit::membership

#endif // MESHKIT_MEMBERSHIP_LIVENESS_HPP
