// nat/punch_coordinator.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_PUNCH_COORDINATOR_HPP
#define MESHKIT_NAT_PUNCH_COORDINATOR_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/nat/connector_config.hpp>
#include <meshkit/nat/connector_stats.hpp>
#include <meshkit/nat/traversal_messages.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace meshkit::nat {

/** The intermediary's side of a coordinated hole punch.

    A requester that wants to reach a target behind a NAT sends
    `nt_punch_request` to one of the target's introducers. The introducer
    coordinates only what it can deliver: it must hold a direct session
    with the target, because that session is what gets `nt_punch_me_now`
    through the target's NAT. It then sends both sides their
    `nt_punch_me_now`, each naming the other's address, with delays chosen
    from its RTT estimates so that both fire at one moment (plus
    `punch_margin`). Otherwise it refuses (`nt_punch_refused`), and the
    requester asks the next introducer.

    Port prediction (RFC 5128): a requester behind a symmetric NAT puts the
    ports it predicts in its request, and they go to the target. A target
    behind a symmetric NAT answers our `nt_punch_me_now` with a request of
    its own carrying its predicted ports; it holds no session we could
    check, so the coordinator remembers the punches it coordinated (at most
    `max_relay_sessions`, for `punch_budget`), passes the prediction to
    the requester whose address it still has, and fires both again.

    Reversal: a requester that says it is public (`requester_nat` open)
    needs no punch. The coordinator sends the target `nt_connect_back`
    instead, and the target's probes reach the requester directly.

    Nothing here touches the node's connections: the ladder tells the
    coordinator what it knows of each party (`party`).
*/
class punch_coordinator {
public:
    /// What the node knows of one party to a punch.
    struct party {
        /// The path of our direct session with it; unspecified when we hold none.
        endpoint path;
        /// The round-trip time measured on that session, if any.
        std::optional<duration> rtt;
        /// Its NAT type, as its record says.
        nat_type nat = nat_type::unknown;
    };

    explicit punch_coordinator(connector_config const& cfg)
        : enabled_(cfg.coordinate)
        , max_ports_(cfg.predicted_ports)
        , margin_(cfg.punch_margin)
        , remember_for_(cfg.punch_budget)
        , capacity_(cfg.max_relay_sessions)
    {
    }

    /// Coordinations remembered for port prediction.
    [[nodiscard]] std::size_t remembered() const noexcept { return recent_.size(); }

    /** Answers `nt_punch_request` `m` from `in`: coordinates the punch, passes a prediction on, or refuses.

        `target` and `requester` are what the node knows of `m.target` and
        of the request's sender.
    */
    template <class Ctx>
    void on_request(Ctx& ctx, inbound const& in, nt_punch_request const& m, party const& target,
                    party const& requester, connector_stats& stats)
    {
        node_id const& from = in.header.sender;
        if (!enabled_ || m.target == from || m.predicted_ports.size() > max_ports_) {
            refuse(ctx, in.from, m.target, stats);
            return;
        }
        // We introduce only peers we hold a direct session with: our
        // session is what gets PUNCH_ME_NOW through the target's NAT.
        if (!target.path.is_unspecified() && m.requester_nat == nat_type::open && m.predicted_ports.empty()) {
            // A public requester: the target connects back, at once, and nothing needs timing.
            ctx.send(target.path, nt_connect_back{from, in.from});
            ++stats.reversals_coordinated;
            return;
        }
        if (!target.path.is_unspecified()) {
            duration const rtt_t = target.rtt.value_or(default_rtt);
            duration const rtt_r = requester.rtt.value_or(rtt_t);
            coordinate(ctx, from, in.from, rtt_r, m.requester_nat, m.predicted_ports, m.target, target.path, rtt_t,
                       target.nat, m.round, birthday_token(ctx, m.requester_nat, target.nat), stats);
            remember(ctx.now(), from, in.from, m.requester_nat, m.target);
            return;
        }
        // A symmetric target answering a punch we coordinated moments ago,
        // with the ports its NAT will likely use: tell the requester, whose
        // address we still have, and fire both again. The target says what
        // its NAT is, which its record may not have said yet: so this round
        // may be the one that calls for birthday probing.
        auto const now = ctx.now();
        for (auto const& p : recent_)
            if (p.requester == m.target && p.target == from && now - p.at <= remember_for_) {
                coordinate(ctx, from, in.from, default_rtt, m.requester_nat, m.predicted_ports, p.requester,
                           p.requester_address, default_rtt, p.requester_nat, m.round,
                           birthday_token(ctx, m.requester_nat, p.requester_nat), stats);
                return;
            }
        refuse(ctx, in.from, m.target, stats);
    }

private:
    /// The RTT assumed for a session that has not measured one.
    static constexpr duration default_rtt = std::chrono::milliseconds(100);

    struct coordinated_punch {
        node_id requester, target;
        endpoint requester_address;
        nat_type requester_nat = nat_type::unknown;
        time_point at;
    };

    /** A fresh token when exactly one side is known to map each destination anew: birthday probing's case.

        The other side's type may still be unknown (a record announced
        before a second observer answered): each side then decides its
        part from its own type, and one that knows it is symmetric opens
        sockets; the cost of guessing wrong is sockets nobody sprays.
    */
    template <class Ctx>
    static std::uint64_t birthday_token(Ctx& ctx, nat_type a, nat_type b)
    {
        bool const one_symmetric = (a == nat_type::symmetric) != (b == nat_type::symmetric);
        return one_symmetric ? ctx.rng()() | 1 : 0;
    }

    static std::uint32_t micros(duration d) noexcept
    {
        auto const us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, 10'000'000));
    }

    /** Sends both sides of a punch their `nt_punch_me_now`, timed to fire together.

        Each message arrives after half its path's RTT; both sides fire when
        the slower has arrived, plus a margin.
    */
    template <class Ctx>
    void coordinate(Ctx& ctx, node_id const& a, endpoint const& a_address, duration rtt_a, nat_type a_nat,
                    std::vector<std::uint16_t> const& a_ports, node_id const& b, endpoint const& b_address,
                    duration rtt_b, nat_type b_nat, std::uint8_t round, std::uint64_t birthday_token,
                    connector_stats& stats)
    {
        duration const fire = std::max(rtt_a, rtt_b) / 2 + margin_;
        ctx.send(b_address, nt_punch_me_now{a, a_address, a_ports, micros(fire - rtt_b / 2), round, a_nat, birthday_token});
        ctx.send(a_address, nt_punch_me_now{b, b_address, {}, micros(fire - rtt_a / 2), round, b_nat, birthday_token});
        ++stats.punches_coordinated;
    }

    template <class Ctx>
    static void refuse(Ctx& ctx, endpoint const& to, node_id const& target, connector_stats& stats)
    {
        ++stats.punches_refused;
        ctx.send(to, nt_punch_refused{target});
    }

    void remember(time_point now, node_id const& requester, endpoint const& address, nat_type requester_nat,
                  node_id const& target)
    {
        if (recent_.size() >= capacity_)
            recent_.pop_front();
        recent_.push_back({requester, target, address, requester_nat, now});
    }

    bool enabled_;
    std::size_t max_ports_;
    duration margin_, remember_for_;
    std::size_t capacity_;
    std::deque<coordinated_punch> recent_;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_PUNCH_COORDINATOR_HPP
