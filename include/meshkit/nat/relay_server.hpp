// nat/relay_server.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_RELAY_SERVER_HPP
#define MESHKIT_NAT_RELAY_SERVER_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/nat/connector_config.hpp>
#include <meshkit/nat/connector_stats.hpp>
#include <meshkit/nat/traversal_messages.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstddef>
#include <map>
#include <utility>

namespace meshkit::nat {

/** The relay a node serves for others: sessions between two peers it can reach, and the frames it forwards.

    A requester whose punch failed asks a public introducer of its target
    to relay (`nt_relay_open`). The relay accepts when it is configured to
    relay (`relay`), holds a direct session with the target (it cannot
    reach a target it has none with), and serves fewer than
    `max_relay_sessions`. A session is keyed by (requester, target), bound
    to the address the requester opened it from, and forwards:

    - frames from that address, towards the target's session path;
    - frames from the target's session path, back to that address.

    Each forwarded frame names the other end as its peer, and renews the
    session; a session that forwards nothing for `relay_ttl` is dropped.
    The relay reads nothing inside a frame: the two ends acknowledge their
    messages end to end.

    Quotas, as libp2p's circuit relay v2: a session lives at most
    `relay_session_limit` and carries at most `relay_session_bytes` of
    payload; then the relay ends it (`nt_relay_closed` to the requester,
    counted in `relay_quota_exceeded`) and the requester must ask again.
    Asking again while the session lives keeps its spent quota.
    One requester holds at most `max_relay_sessions_per_peer` sessions, and
    the relay at most `max_relay_sessions`.

    The ladder tells the relay where its sessions are (`path_of`): the
    relay holds no connections of its own.
*/
class relay_server {
public:
    explicit relay_server(connector_config const& cfg)
        : enabled_(cfg.relay)
        , ttl_(cfg.relay_ttl)
        , lifetime_(cfg.relay_session_limit)
        , byte_quota_(cfg.relay_session_bytes)
        , capacity_(cfg.max_relay_sessions)
        , per_peer_(cfg.max_relay_sessions_per_peer)
    {
    }

    /// Sessions being served.
    [[nodiscard]] std::size_t size() const noexcept { return sessions_.size(); }

    /** Answers `nt_relay_open` `m` from `in` with `nt_relay_reply`.

        `target_path` is the path of our direct session with `m.target`,
        unspecified when we hold none.
    */
    template <class Ctx>
    void open(Ctx& ctx, inbound const& in, nt_relay_open const& m, endpoint const& target_path,
              connector_stats& stats)
    {
        auto const held = std::count_if(sessions_.begin(), sessions_.end(),
                                        [&](auto const& kv) { return kv.first.first == in.header.sender; });
        bool const renewal = sessions_.contains({in.header.sender, m.target});
        bool const ok = enabled_ && !target_path.is_unspecified() && m.target != in.header.sender &&
                        (renewal || (sessions_.size() < capacity_ && static_cast<std::size_t>(held) < per_peer_));
        if (ok) {
            session& s = sessions_[{in.header.sender, m.target}];
            if (renewal) {
                // Asking again (a lost reply) never resets what the session has spent.
                s.requester = in.from;
                s.expires = ctx.now() + ttl_;
            } else {
                s = session{in.from, ctx.now() + ttl_, ctx.now(), 0};
            }
            ++stats.relay_sessions_opened;
        } else {
            ++stats.relay_sessions_refused;
        }
        ctx.send(in.from, nt_relay_reply{m.target, ok});
    }

    /** Forwards relay frame `m` from `in` when it belongs to a session we serve.

        `path_of(id)` returns a pointer to the path of our session with
        peer `id`, or null without one. A frame from a session's requester
        whose target we can no longer reach closes the session.

        @return whether the frame was the relay's (forwarded, or dropped
        with its session); false for a frame addressed to this node as an
        end.
    */
    template <class Ctx, class PathOf>
    bool forward(Ctx& ctx, inbound const& in, nt_relay_frame const& m, PathOf&& path_of, connector_stats& stats)
    {
        node_id const& sender = in.header.sender;
        if (auto s = sessions_.find({sender, m.peer}); s != sessions_.end() && s->second.requester == in.from) {
            endpoint const* target = path_of(m.peer);
            if (!target || target->is_unspecified()) {
                sessions_.erase(s);
                return true;
            }
            if (spend(ctx, s, m, stats))
                pass(ctx, *target, sender, m, stats);
            return true;
        }
        if (auto s = sessions_.find({m.peer, sender}); s != sessions_.end()) {
            endpoint const* back = path_of(sender);
            if (back && *back == in.from) {
                endpoint const requester = s->second.requester;
                if (spend(ctx, s, m, stats))
                    pass(ctx, requester, sender, m, stats);
                return true;
            }
        }
        return false;
    }

    /// Drops the sessions that forwarded nothing for `relay_ttl`.
    void expire(time_point now)
    {
        std::erase_if(sessions_, [&](auto const& kv) { return kv.second.expires < now; });
    }

private:
    struct session {
        endpoint requester;
        time_point expires;
        time_point opened;
        std::size_t bytes = 0;
    };
    using session_map = std::map<std::pair<node_id, node_id>, session>;

    /** Charges frame `m` to session `s` and renews it. @return false when the session's quota is spent.

        A spent session is ended and its requester told (`nt_relay_closed`);
        the frame is dropped (the ends acknowledge end to end, so it is sent
        again over the renewed session, never lost).
    */
    template <class Ctx>
    bool spend(Ctx& ctx, session_map::iterator s, nt_relay_frame const& m, connector_stats& stats)
    {
        if (ctx.now() - s->second.opened >= lifetime_ || s->second.bytes + m.payload.size() > byte_quota_) {
            ++stats.relay_quota_exceeded;
            ctx.metrics().increment("meshkit_relay_quota_exceeded_total", 1);
            ctx.send(s->second.requester, nt_relay_closed{s->first.second});
            sessions_.erase(s);
            return false;
        }
        s->second.bytes += m.payload.size();
        s->second.expires = ctx.now() + ttl_;
        return true;
    }

    template <class Ctx>
    static void pass(Ctx& ctx, endpoint const& to, node_id const& origin, nt_relay_frame const& m,
                     connector_stats& stats)
    {
        ++stats.relayed_frames;
        stats.relayed_bytes += m.payload.size();
        ctx.metrics().increment("meshkit_relayed_bytes_total", m.payload.size());
        ctx.send(to, nt_relay_frame{origin, m.kind, m.session, m.seq, m.payload});
    }

    bool enabled_;
    duration ttl_, lifetime_;
    std::size_t byte_quota_, capacity_, per_peer_;
    session_map sessions_;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_RELAY_SERVER_HPP
