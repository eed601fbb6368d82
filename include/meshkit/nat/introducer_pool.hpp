// nat/introducer_pool.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_INTRODUCER_POOL_HPP
#define MESHKIT_NAT_INTRODUCER_POOL_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/nat/connector_config.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/nat/traversal_messages.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/time.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <vector>

namespace meshkit::nat {

/** How a node finds its introducers: the public peers it keeps sessions with.

    A node keeps sessions with `introducers` public peers, drawn from
    discovery. They tell it the address they see it at, coordinate punches
    towards it and relay for it; its record names them, so that others can
    reach it. The sessions themselves are connections the ladder holds,
    marked as introducers (`nat::connector`). This pool holds what comes
    before a session:

    - the **candidates** being probed: an address discovery offered, the
      nonce of the `nt_probe` sent to it, and when it was first and last
      probed. A candidate that answers within `direct_timeout` becomes a
      session; one that does not, or that an ICMP error reports gone, is
      dropped with `contact_failed`;
    - the **unanswering** memory: candidates that did not answer are not
      probed again for `candidate_retry_initial`, doubling per failure up
      to `candidate_retry_max`, for at most `max_unanswering` addresses.
      With fewer public peers than it wants, discovery keeps offering the
      same dead addresses; without this memory the node would probe them
      every few seconds for as long as it runs;
    - the pace of **asking** discovery for more (`peers_wanted`): at most
      once per backoff, which doubles while the node is isolated.

    Its calls take the engine context (`ctx.now()`, `ctx.send`, `ctx.emit`,
    `ctx.rng()`, `ctx.discovery().peers()`, `ctx.local_endpoint()`).
*/
class introducer_pool {
public:
    explicit introducer_pool(connector_config const& cfg)
        : wanted_(cfg.introducers)
        , answer_within_(cfg.direct_timeout)
        , probe_interval_(cfg.probe_interval)
        , retry_initial_(cfg.candidate_retry_initial)
        , retry_max_(cfg.candidate_retry_max)
        , max_unanswering_(cfg.max_unanswering)
        , want_initial_(cfg.backoff_initial)
        , want_max_(cfg.backoff_max)
    {
    }

    /// Candidates being probed.
    [[nodiscard]] std::size_t candidates() const noexcept { return candidates_.size(); }

    /// Starts pacing requests for candidates: the first may go at once.
    void start(time_point now) noexcept
    {
        next_want_ = now;
        want_backoff_ = want_initial_;
    }

    /** Whether `address` may become a candidate now.

        Not our own address, not while as many candidates as introducers
        are wanted are being probed (some of the best-ranked may be dead),
        not one already probed, and not one that `cannot_introduce`.
        `linked(id)` says whether the ladder reaches peer `id` by a path other than `address`.
    */
    template <class Ctx, class Linked>
    [[nodiscard]] bool admits(Ctx& ctx, endpoint const& address, Linked&& linked) const
    {
        if (address == ctx.local_endpoint() || candidates_.size() >= wanted_)
            return false;
        if (std::any_of(candidates_.begin(), candidates_.end(), [&](candidate const& c) { return c.address == address; }))
            return false;
        return !cannot_introduce(ctx, address, linked);
    }

    /// Makes `address` a candidate and sends it the first probe.
    template <class Ctx>
    void probe(Ctx& ctx, endpoint const& address)
    {
        candidate c{address, ctx.rng()() | 1, ctx.now(), ctx.now()};
        candidates_.push_back(c);
        ctx.send(address, nt_probe{c.nonce});
    }

    /** An `nt_probe_ack` with `nonce` from `from`: if it answers a candidate, forgets the candidate.

        @return the round-trip time since the first probe, when it answered
        a candidate; then the caller opens the session.
    */
    std::optional<duration> answered(time_point now, std::uint64_t nonce, endpoint const& from)
    {
        auto c = std::find_if(candidates_.begin(), candidates_.end(),
                              [&](candidate const& x) { return x.nonce == nonce && x.address == from; });
        if (c == candidates_.end())
            return std::nullopt;
        duration const rtt = now - c->first_probe;
        candidates_.erase(c);
        return rtt;
    }

    /// ICMP "port unreachable" from `address`: the process behind it is gone.
    template <class Ctx>
    void unreachable(Ctx& ctx, endpoint const& address)
    {
        for (auto it = candidates_.begin(); it != candidates_.end();)
            if (it->address == address) {
                ctx.emit(contact_failed{address});
                remember_unanswering(ctx.now(), address);
                it = candidates_.erase(it);
            } else {
                ++it;
            }
    }

    /// Drops candidates that did not answer in time (`contact_failed`), and probes the others again.
    template <class Ctx>
    void tick(Ctx& ctx)
    {
        time_point const now = ctx.now();
        for (auto it = candidates_.begin(); it != candidates_.end();) {
            if (now - it->first_probe >= answer_within_) {
                endpoint const gone = it->address;
                it = candidates_.erase(it);
                remember_unanswering(now, gone);
                ctx.emit(contact_failed{gone});
                continue;
            }
            if (now - it->last_probe >= probe_interval_) {
                it->last_probe = now;
                ctx.send(it->address, nt_probe{it->nonce});
            }
            ++it;
        }
    }

    /** Asks discovery for candidates (`peers_wanted`) when the node has fewer than it wants.

        `sessions` is the number of introducer sessions the ladder holds;
        `isolated()` whether it holds no working connection at all. Total
        isolation backs off exponentially until something answers.
    */
    template <class Ctx, class Isolated>
    void want(Ctx& ctx, std::size_t sessions, Isolated&& isolated)
    {
        std::size_t const have = candidates_.size() + sessions;
        if (have >= wanted_ || ctx.now() < next_want_)
            return;
        bool const alone = isolated();
        next_want_ = ctx.now() + want_backoff_;
        want_backoff_ = alone ? std::min(want_backoff_ * 2, want_max_) : want_initial_ * 5;
        // Discovery offers its best candidates first, and the best may be the
        // ones we already hold: ask for enough that the missing ones are among them.
        ctx.emit(peers_wanted{wanted_ + have});
    }

private:
    struct candidate {
        endpoint address;
        std::uint64_t nonce;
        time_point first_probe, last_probe;
    };

    /// An introducer candidate that did not answer, and when it may be tried again.
    struct unanswering {
        endpoint address;
        time_point retry_at;
        duration delay;
    };

    /** Whether probing `address` as an introducer is pointless now.

        It is when it failed recently (it waits out its retry delay), when
        it is the advertised address of a peer `linked` says we reach by
        another path (a relay, a punched mapping), or
        when the peer's record says it is behind a symmetric NAT: its
        advertised address is a mapping towards its observers only, and
        never answers anyone else.
    */
    template <class Ctx, class Linked>
    bool cannot_introduce(Ctx& ctx, endpoint const& address, Linked& linked) const
    {
        auto const failed = std::find_if(unanswering_.begin(), unanswering_.end(),
                                         [&](unanswering const& u) { return u.address == address; });
        if (failed != unanswering_.end() && ctx.now() < failed->retry_at)
            return true;
        for (auto const& p : ctx.discovery().peers())
            if (!p.addresses.empty() && p.addresses.back() == address)
                return p.nat == nat_type::symmetric || linked(p.id);
        return false;
    }

    void remember_unanswering(time_point now, endpoint const& address)
    {
        auto it = std::find_if(unanswering_.begin(), unanswering_.end(),
                               [&](unanswering const& u) { return u.address == address; });
        if (it == unanswering_.end()) {
            if (unanswering_.size() >= max_unanswering_)
                unanswering_.erase(std::min_element(unanswering_.begin(), unanswering_.end(),
                                                    [](unanswering const& a, unanswering const& b) {
                                                        return a.retry_at < b.retry_at;
                                                    }));
            unanswering_.push_back({address, now, duration{}});
            it = std::prev(unanswering_.end());
        }
        it->delay = it->delay == duration{} ? retry_initial_ : std::min(it->delay * 2, retry_max_);
        it->retry_at = now + it->delay;
    }

    std::size_t wanted_;
    duration answer_within_, probe_interval_;
    duration retry_initial_, retry_max_;
    std::size_t max_unanswering_;
    duration want_initial_, want_max_;

    std::vector<candidate> candidates_;
    std::vector<unanswering> unanswering_;
    time_point next_want_{};
    duration want_backoff_{};
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_INTRODUCER_POOL_HPP
