// sync/anti_entropy.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_ANTI_ENTROPY_HPP
#define MESHKIT_SYNC_ANTI_ENTROPY_HPP

#include <meshkit/broadcast/delivered.hpp>
#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/peer_info.hpp>
#include <meshkit/security/detail/sodium.hpp>
#include <meshkit/sync/anti_entropy_messages.hpp>
#include <meshkit/sync/item_set.hpp>
#include <meshkit/sync/reconciler.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <unordered_map>
#include <vector>

namespace meshkit::sync {

/// The anti-entropy engine's run-time settings.
struct anti_entropy_config {
    /// How often this node starts a reconciliation with one peer it knows, drawn at random.
    duration sync_interval = std::chrono::seconds(5);
    /** The interval while reconciliations keep finding something: a node catching up after a gap
        goes on at this pace, and returns to `sync_interval` after the first round that finds nothing. */
    duration catch_up_interval = std::chrono::seconds(1);
    /// The most broadcasts the log holds; beyond, the oldest (lowest version) go.
    std::size_t max_items = 10'000;
    /// Peers remembered to reconcile with: every neighbour the topic ever had, and every peer that reconciled with us.
    std::size_t max_peers = 64;
    /// Turns after which a session is dropped (a normal one takes a few; datagram limits make large ones longer).
    std::uint8_t max_rounds = 64;
    /// The most ids one `ae_want` asks for, and the most items one is answered with.
    std::size_t max_ids_per_want = 16;
    /// How long an asked-for id is not asked for again.
    duration want_timeout = std::chrono::seconds(2);
    /** Knowledge watermarks: after a session that found the two logs equal, rounds with that peer are
        skipped until this node's log changes, or for at most this long (the peer's log may have changed:
        its own rounds carry its news, and this bound caps what relying on them can cost). Zero: off. */
    duration watermark_ttl = std::chrono::seconds(120);
    /// The reconciler's settings: sized so a turn fits one datagram beside the envelope and a topic frame.
    reconcile_settings reconcile = [] {
        reconcile_settings s;
        s.buckets = 12;
        s.max_ids_per_range = 16;
        s.max_message_bytes = 1'000;
        return s;
    }();
};

/// What the anti-entropy engine counted.
struct anti_entropy_stats {
    std::uint64_t sessions_started = 0;
    std::uint64_t turns_answered = 0;
    std::uint64_t ids_wanted = 0;
    std::uint64_t items_sent = 0;
    /// Broadcasts obtained by reconciliation: what the tree had missed.
    std::uint64_t items_recovered = 0;
    /// Items nobody asked for, or whose content does not match an id asked for.
    std::uint64_t items_unsolicited = 0;
    /// Reconciliation messages refused (`sync::errc`) or past `max_rounds`.
    std::uint64_t malformed = 0;
    /// Rounds not started because every known peer held this node's log as it is (knowledge watermarks).
    std::uint64_t rounds_skipped = 0;
    /// Sessions that ended with the two logs equal, recorded as a watermark.
    std::uint64_t agreements = 0;
    /// Broadcasts read back from storage when the engine started.
    std::uint64_t items_reloaded = 0;
    /// Stored entries that did not decode or did not match their key: erased, never used.
    std::uint64_t stored_corrupt = 0;
    /// Stores and erases the storage refused; the broadcast stays in memory all the same.
    std::uint64_t storage_errors = 0;
};

/** Anti-entropy for a broadcast overlay: a bounded log of recent broadcasts, reconciled now and then with one known peer.

    A Plumtree broadcast can miss a node: links rewired as it passed, a
    partition, a sleep ([broadcast.md](../../docs/broadcast.md)). This
    engine closes the gap. It keeps what the broadcast engine delivered
    and published (`broadcast::delivered`, `broadcast::published`) in a
    log of `max_items`, each an item of its version (Plumtree's Lamport
    stamp) and its id (BLAKE2b of origin, sequence, version and payload).
    Every `sync_interval` it reconciles the log with one peer it knows
    (`reconciler`): any neighbour the overlay ever gave it or any peer
    that reconciled with it, not only today's neighbours. What either
    side lacks it asks for by id (`ae_want`); what arrives (`ae_item`) is
    checked against its id, logged, handed to the broadcast engine as
    seen (`broadcast::recovered`) and delivered to the application like
    any broadcast (`broadcast::delivered`, `hops` 0).

    Persistent where the node's storage can list its keys by prefix
    (`storage::sqlite_store`): each logged broadcast is one key,
    `sync/<topic>/<version><id>` in hex, written when it is logged and
    erased when it is evicted, and the log is read back when the engine
    starts (a restart, or the topic joined again). A stored entry that
    does not decode, or whose content does not hash to its key, is erased
    and counted, never used. Read-back broadcasts are not delivered again
    to the application; they are handed to the broadcast engine as seen.
    On other storage (`memory_store`, `file_store`) the log lives in
    memory only.

    Bounded: one reply per turn received, at most `max_ids_per_want`
    items per want, sessions dropped after `max_rounds`; a peer cannot make
    it send more than a bounded multiple of what it received. An item
    nobody asked for is dropped.

    Runs beside a broadcast engine, in a node or in a topic
    (`topic::topic_host<membership::hyparview, broadcast::plumtree, sync::anti_entropy>`).
*/
class anti_entropy {
public:
    using messages = anti_entropy_messages;
    using events = type_list<broadcast::delivered, broadcast::recovered>;
    using config_type = anti_entropy_config;

    explicit anti_entropy(anti_entropy_config cfg = {}) : cfg_(cfg), log_(cfg.max_items)
    {
        (void)reconciler_of(); // checks the reconcile settings now, not at the first session
    }

    template <class Ctx>
    void start(Ctx& ctx)
    {
        ctx.set_timer(cfg_.sync_interval / 2 + std::chrono::milliseconds(ctx.rng()() % 1000), sync_tag);
        if constexpr (persists<Ctx>)
            reload(ctx);
    }

    /** Starts a reconciliation with one known peer now, and another with the next neighbour gained: after a rejoin.

        @return false when the engine knows no peer yet; it then
        reconciles as soon as it meets one.
    */
    template <class Ctx>
    bool reconcile_now(Ctx& ctx)
    {
        round_pending_ = true; // the peer drawn now may be gone; the neighbour the rejoin brings is not
        agreed_.clear();       // a rejoin means what this node knew of its peers' logs is stale
        if (peers_.empty())
            return false;
        return begin_session(ctx, false);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        if (tag != sync_tag)
            return;
        ctx.set_timer(found_since_last_ ? cfg_.catch_up_interval : cfg_.sync_interval, sync_tag);
        found_since_last_ = false;
        if (peers_.empty())
            return;
        if (!begin_session(ctx, /*skip_agreed=*/true)) {
            ++stats_.rounds_skipped;
            ctx.metrics().increment("meshkit_sync_rounds_skipped_total", 1);
        }
    }

    template <class Ctx>
    void on_event(Ctx& ctx, link_up const& e)
    {
        know(peer_info{e.peer, e.address});
        agreed_.erase(e.peer); // a link (re)made is news about that peer
        // The first peer since the start (or since a rejoin asked for a round): reconcile at once, a
        // restarted or reconnected node catches up in one round trip rather than a sync interval.
        if (std::exchange(round_pending_, false))
            begin_session(ctx, false);
    }

    template <class Ctx>
    void on_event(Ctx& ctx, broadcast::delivered const& d)
    {
        record(ctx, d.key, d.version, d.payload);
    }

    template <class Ctx>
    void on_event(Ctx& ctx, broadcast::published const& p)
    {
        record(ctx, p.key, p.version, p.payload);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, ae_sync const& m)
    {
        if (in.header.hops != 0)
            return;
        if (m.round >= cfg_.max_rounds) {
            refuse(ctx);
            return;
        }
        auto step = reconciler_of().respond(m.body);
        if (!step) {
            refuse(ctx);
            return;
        }
        know(peer_info{in.header.sender, in.from});
        ++stats_.turns_answered;
        session_record* rec = session_of(in.header.sender, m.session, m.round == 0);
        if (rec && !step->need.empty())
            rec->needed = true;
        want(ctx, in.from, step->need);
        if (!step->finished()) {
            ctx.send(in.from, ae_sync{m.session, static_cast<std::uint8_t>(m.round + 1), std::move(step->reply)});
            return;
        }
        // This turn ended the session. Needing nothing in it, this side holds all the peer has; the peer
        // gets what it lacks by its wants. Say so: if the peer needed nothing either, the logs are equal.
        if (rec && !rec->needed && rec->changes_at_start == changes_) {
            agree(ctx, in.header.sender);
            ctx.send(in.from, ae_agreed{m.session});
        }
        forget_session(in.header.sender, m.session);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, ae_agreed const& a)
    {
        if (in.header.hops != 0)
            return;
        auto it = std::find_if(sessions_.begin(), sessions_.end(), [&](session_record const& r) {
            return r.peer == in.header.sender && r.session == a.session;
        });
        if (it == sessions_.end())
            return; // not a session of ours: changes nothing
        if (!it->needed && it->changes_at_start == changes_)
            agree(ctx, in.header.sender);
        sessions_.erase(it);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, ae_want const& w)
    {
        if (in.header.hops != 0)
            return;
        std::size_t sent = 0;
        for (auto const& id : w.ids) {
            if (sent == cfg_.max_ids_per_want)
                break;
            auto it = entries_.find(id);
            if (it == entries_.end())
                continue;
            ++sent;
            ++stats_.items_sent;
            ctx.send(in.from, ae_item{it->second.key, it->second.version, it->second.payload});
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, ae_item const& m)
    {
        if (in.header.hops != 0)
            return;
        item_id const id = id_of(m.key, m.version, m.payload);
        auto w = wanted_.find(id);
        if (w == wanted_.end() || m.version > max_order) {
            ++stats_.items_unsolicited; // asked for by nobody, or not what its id promised
            ctx.metrics().increment("meshkit_sync_items_unsolicited_total", 1);
            return;
        }
        wanted_.erase(w);
        if (log_.contains(id))
            return; // the tree brought it meanwhile
        if (!record(ctx, m.key, m.version, m.payload))
            return; // older than everything a full log keeps
        ++stats_.items_recovered;
        ctx.metrics().increment("meshkit_sync_items_recovered_total", 1);
        ctx.emit(broadcast::recovered{m.key, m.version});
        ctx.emit(broadcast::delivered{m.key, 0, peer_info{in.header.sender, in.from}, m.payload, m.version});
    }

    // -- queries --------------------------------------------------------------

    [[nodiscard]] item_set const& log() const noexcept { return log_; }

    /** The knowledge watermark for `peer`: true while it is known to hold this node's whole log as it is now.

        Set when a session with `peer` found the two logs equal; cleared by
        any change to this node's log, by a link to `peer` coming up, by a
        rejoin, and after `watermark_ttl`. While it holds, rounds with
        `peer` are skipped.
    */
    [[nodiscard]] bool holds_our_log(time_point now, node_id const& peer) const { return agreement_holds(now, peer); }
    [[nodiscard]] anti_entropy_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] anti_entropy_config const& config() const noexcept { return cfg_; }

    /// A broadcast's id in the log: BLAKE2b-256 of its origin, sequence, version and payload.
    [[nodiscard]] static item_id id_of(broadcast::message_key const& key, std::uint64_t version,
                                       std::span<std::byte const> payload)
    {
        security::detail::ensure_sodium();
        std::array<unsigned char, 48> head{};
        std::copy(key.origin.bytes.begin(), key.origin.bytes.end(), head.begin());
        for (std::size_t b = 0; b < 8; ++b) {
            head[32 + b] = static_cast<unsigned char>(key.seq >> (8 * b));
            head[40 + b] = static_cast<unsigned char>(version >> (8 * b));
        }
        crypto_generichash_state st;
        crypto_generichash_init(&st, nullptr, 0, 32);
        crypto_generichash_update(&st, head.data(), head.size());
        crypto_generichash_update(&st, reinterpret_cast<unsigned char const*>(payload.data()), payload.size());
        item_id id{};
        crypto_generichash_final(&st, id.data(), id.size());
        return id;
    }

private:
    static constexpr std::uint64_t sync_tag = 1;

    struct entry {
        broadcast::message_key key;
        std::uint64_t version;
        std::vector<std::byte> payload;
    };

    // A reconciler is a view of the log and the settings: made per turn, so the engine stays movable.
    [[nodiscard]] reconciler reconciler_of() const { return reconciler{log_, cfg_.reconcile}; }

    // Storage that lists keys by prefix keeps the log (`sqlite_store`); other storage does not.
    template <class Ctx>
    static constexpr bool persists = requires(Ctx& c, std::vector<std::string>& out) {
        { c.storage().keys(std::string_view{}, out) } -> std::same_as<std::error_code>;
    };

    // A stored entry: origin, sequence and version (little-endian), then the payload.
    static constexpr std::size_t stored_head = 32 + 8 + 8;

    // A session's memory, for watermarks only: whether this side needed anything, and its log's change count at the start.
    struct session_record {
        node_id peer;
        std::uint32_t session = 0;
        std::uint64_t changes_at_start = 0;
        bool needed = false;
    };

    struct agreement {
        std::uint64_t changes = 0; // this node's log change count when the logs were found equal
        time_point at{};
    };

    // Starts a session with a peer drawn at random; with `skip_agreed`, only among peers whose watermark
    // does not hold. @return false when there was no one to start with.
    template <class Ctx>
    bool begin_session(Ctx& ctx, bool skip_agreed)
    {
        std::vector<std::size_t> choices;
        for (std::size_t i = 0; i < peers_.size(); ++i)
            if (!skip_agreed || !agreement_holds(ctx.now(), peers_[i].id))
                choices.push_back(i);
        if (choices.empty())
            return false;
        peer_info const& p = peers_[choices[static_cast<std::size_t>(ctx.rng()() % choices.size())]];
        ++stats_.sessions_started;
        ctx.metrics().increment("meshkit_sync_sessions_total", 1);
        auto const session = static_cast<std::uint32_t>(ctx.rng()());
        forget_session(p.id, session);
        sessions_.push_back(session_record{p.id, session, changes_, false});
        if (sessions_.size() > 2 * cfg_.max_peers)
            sessions_.pop_front();
        ctx.send(p.address, ae_sync{session, 0, reconciler_of().initiate()});
        return true;
    }

    // The record of `session` with `peer`; a responder's first turn opens one. Null for a session this side
    // did not see from its start: it records no watermark.
    session_record* session_of(node_id const& peer, std::uint32_t session, bool opening)
    {
        auto it = std::find_if(sessions_.begin(), sessions_.end(),
                               [&](session_record const& r) { return r.peer == peer && r.session == session; });
        if (it != sessions_.end())
            return &*it;
        if (!opening)
            return nullptr;
        sessions_.push_back(session_record{peer, session, changes_, false});
        if (sessions_.size() > 2 * cfg_.max_peers)
            sessions_.pop_front();
        return &sessions_.back();
    }

    void forget_session(node_id const& peer, std::uint32_t session)
    {
        std::erase_if(sessions_, [&](session_record const& r) { return r.peer == peer && r.session == session; });
    }

    template <class Ctx>
    void agree(Ctx& ctx, node_id const& peer)
    {
        if (cfg_.watermark_ttl <= duration{})
            return;
        ++stats_.agreements;
        agreed_[peer] = agreement{changes_, ctx.now()};
        if (agreed_.size() > 2 * cfg_.max_peers) // peers forgotten since: drop the stalest
            agreed_.erase(std::min_element(agreed_.begin(), agreed_.end(), [](auto const& a, auto const& b) {
                              return a.second.at < b.second.at;
                          }));
    }

    [[nodiscard]] bool agreement_holds(time_point now, node_id const& peer) const
    {
        auto it = agreed_.find(peer);
        return it != agreed_.end() && it->second.changes == changes_ && now - it->second.at < cfg_.watermark_ttl;
    }

    template <class Ctx>
    bool record(Ctx& ctx, broadcast::message_key const& key, std::uint64_t version, std::span<std::byte const> payload)
    {
        if (version > max_order)
            return false;
        item_id const id = id_of(key, version, payload);
        auto const r = log_.insert(item{version, id});
        if (!r.inserted)
            return false;
        ++changes_; // every watermark held so far now understates this log
        if (r.evicted)
            entries_.erase(r.evicted->id);
        auto const& e =
            entries_.emplace(id, entry{key, version, std::vector<std::byte>(payload.begin(), payload.end())}).first->second;
        if constexpr (persists<Ctx>) {
            if (r.evicted)
                storage_result(ctx, ctx.storage().erase(storage_key(r.evicted->order, r.evicted->id)));
            std::vector<std::byte> value(stored_head);
            std::copy(e.key.origin.bytes.begin(), e.key.origin.bytes.end(), reinterpret_cast<std::uint8_t*>(value.data()));
            for (std::size_t b = 0; b < 8; ++b) {
                value[32 + b] = static_cast<std::byte>(e.key.seq >> (8 * b));
                value[40 + b] = static_cast<std::byte>(version >> (8 * b));
            }
            value.insert(value.end(), payload.begin(), payload.end());
            storage_result(ctx, ctx.storage().store(storage_key(version, id), value));
        }
        return true;
    }

    // Reads the stored log back: every entry that decodes and hashes to its key; the rest are erased.
    template <class Ctx>
    void reload(Ctx& ctx)
    {
        prefix_ = "sync/";
        if constexpr (requires { ctx.topic().to_hex(); })
            prefix_ += ctx.topic().to_hex() + "/";
        std::vector<std::string> keys;
        if (!storage_result(ctx, ctx.storage().keys(prefix_, keys)))
            return;
        std::vector<std::byte> value;
        for (auto const& k : keys) {
            if (!storage_result(ctx, ctx.storage().load(k, value)))
                continue;
            std::optional<entry> e;
            if (value.size() >= stored_head) {
                e.emplace();
                std::copy_n(reinterpret_cast<std::uint8_t const*>(value.data()), 32, e->key.origin.bytes.begin());
                for (std::size_t b = 0; b < 8; ++b) {
                    e->key.seq |= std::to_integer<std::uint64_t>(value[32 + b]) << (8 * b);
                    e->version |= std::to_integer<std::uint64_t>(value[40 + b]) << (8 * b);
                }
                e->payload.assign(value.begin() + stored_head, value.end());
            }
            std::optional<item_id> id;
            if (e && e->version <= max_order)
                id = id_of(e->key, e->version, e->payload);
            if (!id || k != storage_key(e->version, *id)) {
                ++stats_.stored_corrupt;
                ctx.metrics().increment("meshkit_sync_stored_corrupt_total", 1);
                storage_result(ctx, ctx.storage().erase(k));
                continue;
            }
            auto const r = log_.insert(item{e->version, *id});
            if (!r.inserted)
                continue;
            if (r.evicted) { // a smaller max_items than the last run's: the oldest go, from storage too
                entries_.erase(r.evicted->id);
                storage_result(ctx, ctx.storage().erase(storage_key(r.evicted->order, r.evicted->id)));
            }
            ++stats_.items_reloaded;
            ++changes_;
            ctx.emit(broadcast::recovered{e->key, e->version}); // seen: the tree's copy would be a duplicate
            entries_.emplace(*id, std::move(*e));
        }
        ctx.metrics().increment("meshkit_sync_items_reloaded_total", stats_.items_reloaded);
    }

    // `sync/<topic>/` then the version (16 hex digits, so keys sort as the log does) and the id (64).
    [[nodiscard]] std::string storage_key(std::uint64_t version, item_id const& id) const
    {
        static constexpr char hex[] = "0123456789abcdef";
        std::string k = prefix_;
        k.reserve(prefix_.size() + 16 + 64);
        for (int shift = 60; shift >= 0; shift -= 4)
            k.push_back(hex[(version >> shift) & 0xF]);
        for (std::uint8_t b : id) {
            k.push_back(hex[b >> 4]);
            k.push_back(hex[b & 0xF]);
        }
        return k;
    }

    template <class Ctx>
    bool storage_result(Ctx& ctx, std::error_code ec)
    {
        if (!ec)
            return true;
        ++stats_.storage_errors;
        ctx.metrics().increment("meshkit_sync_storage_errors_total", 1);
        return false;
    }

    void know(peer_info const& p)
    {
        auto it = std::find_if(peers_.begin(), peers_.end(), [&](peer_info const& q) { return q.id == p.id; });
        if (it != peers_.end()) {
            it->address = p.address;
            return;
        }
        if (peers_.size() == cfg_.max_peers)
            peers_.erase(peers_.begin()); // the longest known makes room
        peers_.push_back(p);
    }

    template <class Ctx>
    void want(Ctx& ctx, endpoint const& from, std::vector<item_id> const& need)
    {
        time_point const now = ctx.now();
        std::erase_if(wanted_, [&](auto const& kv) { return now - kv.second > cfg_.want_timeout; });
        ae_want w;
        for (auto const& id : need) {
            if (log_.contains(id) || wanted_.contains(id))
                continue;
            if (wanted_.size() >= 4 * cfg_.max_ids_per_want * cfg_.reconcile.buckets)
                break; // enough outstanding: the next session finds the rest
            wanted_.emplace(id, now);
            found_since_last_ = true;
            w.ids.push_back(id);
            ++stats_.ids_wanted;
            if (w.ids.size() == cfg_.max_ids_per_want) {
                ctx.send(from, w);
                w.ids.clear();
            }
        }
        if (!w.ids.empty())
            ctx.send(from, w);
    }

    template <class Ctx>
    void refuse(Ctx& ctx)
    {
        ++stats_.malformed;
        ctx.metrics().increment("meshkit_sync_malformed_total", 1);
    }

    anti_entropy_config cfg_;
    item_set log_;
    std::unordered_map<item_id, entry, item_id_hash> entries_;
    std::vector<peer_info> peers_;
    std::unordered_map<item_id, time_point, item_id_hash> wanted_;
    anti_entropy_stats stats_;
    bool found_since_last_ = false;
    // Set at the start and by `reconcile_now` without a peer: the next link_up starts a session.
    bool round_pending_ = true;
    // Knowledge watermarks: the log's change count, sessions under way, and peers found to hold the log.
    std::uint64_t changes_ = 0;
    std::deque<session_record> sessions_;
    std::unordered_map<node_id, agreement> agreed_;
    std::string prefix_ = "sync/";
};

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_ANTI_ENTROPY_HPP
