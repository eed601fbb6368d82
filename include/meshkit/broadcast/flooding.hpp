// broadcast/flooding.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_FLOODING_HPP
#define MESHKIT_BROADCAST_FLOODING_HPP

#include <meshkit/broadcast/broadcast_stats.hpp>
#include <meshkit/broadcast/dedup_cache.hpp>
#include <meshkit/broadcast/delivered.hpp>
#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/broadcast/neighbor_set.hpp>
#include <meshkit/broadcast/push_gossip_messages.hpp>
#include <meshkit/error.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/peer_info.hpp>
#include <meshkit/result.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <span>
#include <vector>

namespace meshkit::broadcast {

/** Floods each broadcast over every neighbour link once.

    The reliability ceiling and the redundancy floor of the others: every
    node forwards each new message to all neighbours but the sender, so a
    node with degree d receives about d copies. It exists as the baseline
    in bench/ and for tiny meshes where simplicity beats bandwidth.
*/
class flooding {
public:
    using messages = flooding_messages;
    using events = type_list<delivered>;

    explicit flooding(std::size_t max_known_ids = 16384, duration id_retention = std::chrono::seconds(90))
        : seen_(max_known_ids, id_retention)
    {
    }

    template <class Ctx>
    void start(Ctx& ctx)
    {
        if (next_seq_ == 0)
            next_seq_ = first_sequence(ctx);
    }

    template <class Ctx>
    result<message_key> broadcast(Ctx& ctx, std::span<std::byte const> payload)
    {
        if (payload.size() > max_payload)
            return make_error_code(errc::message_too_large);
        message_key const key{ctx.self(), ++next_seq_};
        seen_.insert(key, ctx.now());
        fl_flood const f{key, 1, std::vector<std::byte>(payload.begin(), payload.end())};
        for (auto const& p : peers_)
            send_payload(ctx, p.address, f);
        return key;
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, fl_flood const& f)
    {
        ++stats_.payloads_received;
        if (!seen_.insert(f.key, ctx.now())) {
            ++stats_.duplicates;
            return;
        }
        ++stats_.first_receipts;
        ctx.emit(delivered{f.key, f.hops, peer_info{in.header.sender, in.from}, f.payload});
        fl_flood fwd = f;
        ++fwd.hops;
        for (auto const& p : peers_)
            if (p.id != in.header.sender)
                send_payload(ctx, p.address, fwd);
    }

    template <class Ctx>
    void on_event(Ctx&, link_up const& e)
    {
        peers_.on(e);
    }

    template <class Ctx>
    void on_event(Ctx&, link_down const& e)
    {
        peers_.on(e);
    }

    /// The largest payload `broadcast` accepts.
    static constexpr std::size_t max_payload = default_max_payload;

    [[nodiscard]] broadcast_stats const& stats() const noexcept { return stats_; }

private:
    template <class Ctx, class M>
    void send_payload(Ctx& ctx, endpoint const& to, M const& m)
    {
        ++stats_.payloads_sent;
        ctx.send(to, m);
    }

    dedup_cache seen_;
    broadcast_stats stats_;
    neighbor_set peers_;
    std::uint64_t next_seq_ = 0;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_FLOODING_HPP
