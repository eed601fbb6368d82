// broadcast/push_gossip.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_PUSH_GOSSIP_HPP
#define MESHKIT_BROADCAST_PUSH_GOSSIP_HPP

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
#include <cstdint>
#include <span>
#include <vector>

namespace meshkit::broadcast {

/// Settings of push gossip. Defaults are Flashback's.
struct push_gossip_config {
    /// Neighbours each copy is pushed to.
    std::size_t fanout = 3;
    /// Hops a broadcast may travel.
    std::uint8_t ttl = 32;
    /// Probability of pushing a duplicate on anyway: a little redundancy that repairs unlucky gaps.
    double duplicate_reforward = 0.05;
    /// The most ids remembered for deduplication, and for how long.
    std::size_t max_known_ids = 16384;
    duration id_retention = std::chrono::seconds(90);
    /// The largest payload `broadcast` accepts.
    std::size_t max_payload = default_max_payload;
};

/** Fan-out push gossip with a TTL (Flashback's protocol).

    On first receipt a node delivers the broadcast and pushes it to
    `fanout` random neighbours other than the sender, until the TTL runs
    out. Duplicates are dropped, except that a few are pushed on again.
    Simple and robust, at the price of `fanout - 1` redundant copies per
    node; meshkit offers it for applications that want exactly this, and
    as the baseline Plumtree is measured against.
*/
class push_gossip {
public:
    using messages = push_gossip_messages;
    using events = type_list<delivered>;

    /// Its run-time settings: `node_config::engine<push_gossip>()` on a node.
    using config_type = push_gossip_config;

    explicit push_gossip(push_gossip_config cfg = {}) : cfg_(cfg), seen_(cfg.max_known_ids, cfg.id_retention) {}

    template <class Ctx>
    void start(Ctx& ctx)
    {
        if (next_seq_ == 0)
            next_seq_ = first_sequence(ctx);
    }

    template <class Ctx>
    result<message_key> broadcast(Ctx& ctx, std::span<std::byte const> payload)
    {
        if (payload.size() > cfg_.max_payload)
            return make_error_code(errc::message_too_large);
        message_key const key{ctx.self(), ++next_seq_};
        seen_.insert(key, ctx.now());
        push(ctx, pg_gossip{key, cfg_.ttl, 1, std::vector<std::byte>(payload.begin(), payload.end())}, node_id{});
        return key;
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, pg_gossip const& g)
    {
        bool const fresh = seen_.insert(g.key, ctx.now());
        ++stats_.payloads_received;
        fresh ? ++stats_.first_receipts : ++stats_.duplicates;
        if (fresh)
            ctx.emit(delivered{g.key, g.hops, peer_info{in.header.sender, in.from}, g.payload});
        else if (!ctx.rng().chance(cfg_.duplicate_reforward))
            return;
        if (g.ttl <= 1)
            return;
        pg_gossip fwd = g;
        --fwd.ttl;
        ++fwd.hops;
        push(ctx, fwd, in.header.sender);
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

    [[nodiscard]] std::vector<peer_info> const& peers() const noexcept { return peers_.peers(); }

    [[nodiscard]] broadcast_stats const& stats() const noexcept { return stats_; }

private:
    template <class Ctx, class M>
    void send_payload(Ctx& ctx, endpoint const& to, M const& m)
    {
        ++stats_.payloads_sent;
        ctx.send(to, m);
    }

    template <class Ctx>
    void push(Ctx& ctx, pg_gossip const& g, node_id const& except)
    {
        std::vector<peer_info const*> pool;
        for (auto const& p : peers_)
            if (p.id != except)
                pool.push_back(&p);
        std::size_t const n = std::min(cfg_.fanout, pool.size());
        for (std::size_t i = 0; i < n; ++i) {
            std::swap(pool[i], pool[i + ctx.rng().below(pool.size() - i)]);
            send_payload(ctx, pool[i]->address, g);
        }
    }

    push_gossip_config cfg_;
    dedup_cache seen_;
    broadcast_stats stats_;
    neighbor_set peers_;
    std::uint64_t next_seq_ = 0;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_PUSH_GOSSIP_HPP
