// discovery/bootstrap_cache.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_BOOTSTRAP_CACHE_HPP
#define MESHKIT_DISCOVERY_BOOTSTRAP_CACHE_HPP

#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/storage/error.hpp>
#include <meshkit/time.hpp>
#include <meshkit/wire/codec.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <vector>

namespace meshkit::discovery {

/** Settings of `bootstrap_cache`.

    Defaults are ant-quic's `BootstrapCacheConfig` except: capacity (1,000,
    not 30,000), addresses per peer (4, not 10), saving on 8 changes rather
    than a 5-minute timer, and the capability term (0.5 per capability,
    where ant-quic adds 0.25 relay + 0.25 coordination + 0.2 dual-stack).
*/
struct bootstrap_cache_config {
    /// The most peers kept; the lowest-quality one makes room (ant-quic: 30,000).
    std::size_t capacity = 1000;
    /// Share of picks made at random instead of by quality: exploration, so new peers get tried.
    double epsilon = 0.1;
    /// Peers not seen for this long are evicted.
    duration stale_after = std::chrono::hours(24 * 7);
    /// Freshness halves every this long.
    duration freshness_half_life = std::chrono::hours(24);
    /// Quality weights: success rate, RTT, freshness, capabilities (sum to 1).
    double weight_success = 0.4, weight_rtt = 0.25, weight_freshness = 0.15, weight_capabilities = 0.2;
    /// Addresses kept per peer.
    std::size_t max_addresses = 4;
    /// Changes (new peers, outcomes) that make a save worthwhile: "persist on significant change".
    std::size_t changes_per_save = 8;
    /// Saves at most this often, so a burst of gossip does not rewrite the file for every few peers.
    duration min_save_interval = std::chrono::seconds(30);
};

/** The persistent, quality-ranked peer cache of gossip-first discovery (ant-quic's `BootstrapCache`).

    Each peer's quality is
    `0.4 * success + 0.25 * rtt + 0.15 * freshness + 0.2 * capabilities`,
    each term in [0, 1]: success rate (0.5 when untested), `1 - rtt / 1 s`
    (0.5 when unmeasured), `2^(-age / 24 h)`, and 0.5 per capability; then
    halved for every failure since the last success (our addition: without
    it a dead relay outranks every untested peer forever). A
    claimed relay capability counts only with evidence of public
    reachability: a node behind a NAT cannot relay for others, whatever it
    says.

    Selection is epsilon-greedy: each pick is the best remaining peer, or
    with probability epsilon a random one, so new and recovering peers keep
    being tried. Capacity evicts the lowest quality, age evicts the stale.

    It models `discovery_strategy`: `candidates(n)` selects, and `report`
    records failures (successes arrive with their RTT through
    `record_success`). Both use the time of the last `observe_time` call,
    because the discovery concept carries no clock; `upsert`,
    `record_success` and `record_failure` update it too. Stale peers leave
    when `evict_stale()` is called.
*/
class bootstrap_cache {
public:
    explicit bootstrap_cache(bootstrap_cache_config cfg = {}, std::uint64_t seed = 0) : cfg_(cfg), rng_(seed) {}

    /// Configured bootstrap nodes: offered after the cached peers, to fill up a request.
    void add_seed(endpoint const& seed)
    {
        if (std::find(seeds_.begin(), seeds_.end(), seed) == seeds_.end())
            seeds_.push_back(seed);
    }

    /// Sets the time used for freshness and staleness.
    void observe_time(time_point now) noexcept { now_ = now; }

    /** Adds or merges `p`.

        Addresses from a newer copy are added (the newest last). What the peer says about itself
        (capabilities, NAT type, introducers, whether it broadcasts) comes
        from the copy with the newest `version`, then the newest last seen;
        reachability evidence is kept once had. Success and failure counts
        and the RTT are this node's own experience and are never taken from
        another copy.

        @return true if the cache changed.
    */
    bool upsert(cached_peer p, time_point now)
    {
        now_ = now;
        if (p.id.is_zero())
            return false;
        if (cached_peer* e = find_mutable(p.id)) {
            bool changed = false;
            bool const newer = p.version > e->version || (p.version == e->version && p.last_seen_s > e->last_seen_s);
            // Only a newer copy may move the peer's current address: a stale one must not undo a move.
            if (newer || e->addresses.empty())
                for (auto const& a : p.addresses)
                    if (e->addresses.empty() || e->addresses.back() != a) {
                        add_address(*e, a);
                        changed = true;
                    }
            if (p.introducers.size() > cfg_.max_addresses)
                p.introducers.resize(cfg_.max_addresses);
            if (newer) {
                changed = changed || p.version > e->version || p.introducers != e->introducers || p.nat != e->nat ||
                          p.capabilities != e->capabilities || p.broadcasting != e->broadcasting;
                e->capabilities = p.capabilities;
                e->nat = p.nat;
                e->broadcasting = p.broadcasting;
                if (p.signed_record || p.version > e->version)
                    e->signed_record = std::move(p.signed_record); // the newest word of the peer, or none
                e->version = std::max(e->version, p.version);
                e->introducers = std::move(p.introducers);
                e->last_seen_s = std::max(e->last_seen_s, p.last_seen_s);
            }
            e->publicly_reachable = e->publicly_reachable || p.publicly_reachable;
            if (p.first_seen_s != 0 && (e->first_seen_s == 0 || p.first_seen_s < e->first_seen_s))
                e->first_seen_s = p.first_seen_s;
            if (changed) {
                e->changed_rev = ++revision_;
                ++changes_;
            }
            return changed;
        }
        if (p.addresses.size() > cfg_.max_addresses)
            p.addresses.erase(p.addresses.begin(), p.addresses.end() - static_cast<std::ptrdiff_t>(cfg_.max_addresses));
        if (p.introducers.size() > cfg_.max_addresses)
            p.introducers.resize(cfg_.max_addresses);
        if (p.first_seen_s == 0)
            p.first_seen_s = seconds(now);
        if (p.last_seen_s == 0)
            p.last_seen_s = seconds(now);
        p.changed_rev = ++revision_;
        make_room();
        index_[p.id] = peers_.size();
        peers_.push_back(std::move(p));
        ++changes_;
        return true;
    }

    /// Marks `id` as seen now (a heartbeat or any message from it).
    void touch(node_id const& id, time_point now)
    {
        now_ = now;
        if (cached_peer* e = find_mutable(id))
            e->last_seen_s = seconds(now);
    }

    /// Forgets `id` (it announced that it went offline). @return true if it was cached.
    bool erase(node_id const& id)
    {
        auto const n = std::erase_if(peers_, [&](cached_peer const& p) { return p.id == id; });
        if (n)
            reindex();
        changes_ += n;
        return n != 0;
    }

    /// Records a successful contact with `id` at `address`, taking `rtt`.
    void record_success(node_id const& id, endpoint const& address, duration rtt, time_point now)
    {
        now_ = now;
        if (id.is_zero())
            return;
        cached_peer* e = find_mutable(id);
        if (!e) {
            cached_peer fresh;
            fresh.id = id;
            fresh.addresses = {address};
            fresh.source = peer_source::connection;
            upsert(std::move(fresh), now);
            e = find_mutable(id);
        }
        add_address(*e, address);
        ++e->successes;
        e->consecutive_failures = 0;
        auto const us = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(rtt).count());
        e->rtt_us = e->rtt_us == 0 ? us : static_cast<std::uint32_t>(0.875 * e->rtt_us + 0.125 * us);
        e->last_seen_s = seconds(now);
        ++changes_;
    }

    /// Records a failed contact with the peer at `address`.
    void record_failure(endpoint const& address, time_point now)
    {
        now_ = now;
        for (auto& p : peers_)
            if (std::find(p.addresses.begin(), p.addresses.end(), address) != p.addresses.end()) {
                ++p.failures;
                ++p.consecutive_failures;
                ++changes_;
            }
    }

    /// Marks `id` as reachable without a NAT (it accepted unsolicited traffic), which lets its relay claim count.
    void record_public_reachability(node_id const& id)
    {
        if (cached_peer* e = find_mutable(id); e && !e->publicly_reachable) {
            e->publicly_reachable = true;
            ++changes_;
        }
    }

    /// The peer's quality in [0, 1] now.
    [[nodiscard]] double quality(cached_peer const& p) const noexcept
    {
        auto const tries = p.successes + p.failures;
        double const success = tries ? static_cast<double>(p.successes) / tries : 0.5;
        double const rtt = p.rtt_us ? 1.0 - std::min(p.rtt_us / 1e6, 1.0) : 0.5;
        double const age = std::max<double>(0, static_cast<double>(seconds(now_) - p.last_seen_s));
        double const half_life = std::chrono::duration<double>(cfg_.freshness_half_life).count();
        double const freshness = std::exp2(-age / half_life);
        double caps = 0;
        if ((p.capabilities & can_relay) && p.publicly_reachable)
            caps += 0.5;
        if (p.capabilities & can_coordinate)
            caps += 0.5;
        double const q = cfg_.weight_success * success + cfg_.weight_rtt * rtt + cfg_.weight_freshness * freshness +
                         cfg_.weight_capabilities * caps;
        // Halved for each failure since the last success: without it the RTT
        // and capability terms (0.45 of the weight) keep a dead relay above
        // every untested peer forever.
        return std::clamp(q * std::exp2(-static_cast<double>(std::min<std::uint32_t>(p.consecutive_failures, 30))), 0.0, 1.0);
    }

    /** Up to `n` peers, epsilon-greedy by quality, optionally filtered.

        @param require bits every selected peer must offer (a relay must also be publicly reachable).
    */
    [[nodiscard]] std::vector<cached_peer const*> select(std::size_t n, std::uint8_t require = 0)
    {
        std::vector<cached_peer const*> pool;
        for (auto const& p : peers_)
            if ((p.capabilities & require) == require && (!(require & can_relay) || p.publicly_reachable))
                pool.push_back(&p);
        std::vector<cached_peer const*> out;
        while (out.size() < n && !pool.empty()) {
            std::size_t pick = 0;
            if (rng_.chance(cfg_.epsilon)) {
                pick = rng_.below(pool.size());
            } else {
                for (std::size_t i = 1; i < pool.size(); ++i)
                    if (quality(*pool[i]) > quality(*pool[pick]))
                        pick = i;
            }
            out.push_back(pool[pick]);
            pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(pick));
        }
        return out;
    }

    /// Evicts peers not seen within `stale_after`.
    std::size_t evict_stale()
    {
        auto const limit = seconds(now_) - std::chrono::duration_cast<std::chrono::seconds>(cfg_.stale_after).count();
        auto const n = std::erase_if(peers_, [&](cached_peer const& p) { return p.last_seen_s < limit; });
        if (n)
            reindex();
        changes_ += n;
        return n;
    }

    // -- discovery_strategy ---------------------------------------------------

    /// Cached peers first (their newest address), then seeds: the gossip-first bootstrap order.
    [[nodiscard]] std::vector<endpoint> candidates(std::size_t n)
    {
        std::vector<endpoint> out;
        for (cached_peer const* p : select(n))
            if (!p->addresses.empty())
                out.push_back(p->addresses.back());
        for (std::size_t i = 0; i < seeds_.size() && out.size() < n; ++i)
            if (std::find(out.begin(), out.end(), seeds_[i]) == out.end())
                out.push_back(seeds_[i]);
        return out;
    }

    void report(endpoint const& ep, contact_outcome o)
    {
        if (o == contact_outcome::unreachable)
            record_failure(ep, now_);
    }

    // -- persistence ------------------------------------------------------------

    /// The storage key the cache lives under.
    static constexpr char const* storage_key = "meshkit/bootstrap_cache";

    /** Saves every peer. @return the backend's error, if any.

        Times are saved as ages (seconds before the last `observe_time`):
        the monotonic clock starts again at the next boot, so a saved time
        point would mean nothing, or lie in the future, when loaded.
    */
    template <storage_backend S>
    std::error_code save(S& storage)
    {
        std::vector<std::byte> bytes;
        std::vector<cached_peer> aged = peers_;
        for (auto& p : aged) {
            p.first_seen_s = seconds(now_) - p.first_seen_s;
            p.last_seen_s = seconds(now_) - p.last_seen_s;
        }
        wire::encode(aged, bytes);
        std::error_code ec = storage.store(storage_key, bytes);
        if (!ec)
            changes_ = 0;
        return ec;
    }

    /// Saves when enough has changed since the last save, and not too soon after it. @return true if it saved.
    template <storage_backend S>
    bool save_if_changed(S& storage)
    {
        if (changes_ < cfg_.changes_per_save || (last_save_ && now_ - *last_save_ < cfg_.min_save_interval))
            return false;
        last_save_ = now_;
        return !save(storage);
    }

    /** Loads the saved peers, merged into what the cache holds.

        A missing value is not an error (a first start); a corrupt one is
        reported and the cache stays as it was.
    */
    template <storage_backend S>
    std::error_code load(S& storage, time_point now)
    {
        std::vector<std::byte> bytes;
        if (std::error_code ec = storage.load(storage_key, bytes))
            return ec == storage::errc::not_found ? std::error_code{} : ec;
        auto decoded = wire::decode<std::vector<cached_peer>>(bytes);
        if (!decoded)
            return decoded.error();
        for (auto& p : *decoded) {
            // Revisions continue from the saved ones, so a neighbour's "since"
            // never skips what changed after a restart.
            revision_ = std::max(revision_, p.changed_rev);
            // Saved ages become times on this run's clock; the time the node
            // was down is unknown to a monotonic clock, and not counted.
            p.first_seen_s = seconds(now) - std::max<std::int64_t>(0, p.first_seen_s);
            p.last_seen_s = seconds(now) - std::max<std::int64_t>(0, p.last_seen_s);
            upsert(std::move(p), now);
        }
        changes_ = 0;
        return {};
    }

    // -- queries ----------------------------------------------------------------

    [[nodiscard]] std::vector<cached_peer> const& peers() const noexcept { return peers_; }
    [[nodiscard]] std::vector<endpoint> const& seeds() const noexcept { return seeds_; }
    [[nodiscard]] std::size_t size() const noexcept { return peers_.size(); }
    [[nodiscard]] std::size_t pending_changes() const noexcept { return changes_; }

    /** The cache's revision: raised by every change to an entry (`cached_peer::changed_rev`).

        Incremental cache gossip asks a neighbour for what changed after a
        revision of that neighbour's cache, so no clock value is exchanged.
    */
    [[nodiscard]] std::uint64_t revision() const noexcept { return revision_; }

    /// Takes the next revision for a change that lives outside the cache (the node's own record).
    std::uint64_t next_revision() noexcept { return ++revision_; }
    [[nodiscard]] cached_peer const* find(node_id const& id) const noexcept
    {
        auto it = index_.find(id);
        return it == index_.end() ? nullptr : &peers_[it->second];
    }

private:
    static std::int64_t seconds(time_point t) noexcept { return whole_seconds(t); }

    cached_peer* find_mutable(node_id const& id) noexcept
    {
        auto it = index_.find(id);
        return it == index_.end() ? nullptr : &peers_[it->second];
    }

    // Removals are rare (eviction, departure); lookups happen per message.
    void reindex()
    {
        index_.clear();
        for (std::size_t i = 0; i < peers_.size(); ++i)
            index_[peers_[i].id] = i;
    }

    void add_address(cached_peer& p, endpoint const& a)
    {
        std::erase(p.addresses, a);
        p.addresses.push_back(a);
        if (p.addresses.size() > cfg_.max_addresses)
            p.addresses.erase(p.addresses.begin());
    }

    void make_room()
    {
        if (peers_.size() < cfg_.capacity || peers_.empty())
            return;
        auto worst = std::min_element(peers_.begin(), peers_.end(), [&](cached_peer const& a, cached_peer const& b) {
            return quality(a) < quality(b);
        });
        peers_.erase(worst);
        reindex();
    }

    bootstrap_cache_config cfg_;
    detail::rng rng_;
    time_point now_{};
    std::optional<time_point> last_save_;
    std::vector<cached_peer> peers_;
    boost::unordered_flat_map<node_id, std::size_t, std::hash<node_id>> index_;
    std::vector<endpoint> seeds_;
    std::size_t changes_ = 0;
    std::uint64_t revision_ = 0;
};

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_BOOTSTRAP_CACHE_HPP
