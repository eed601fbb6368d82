// membership/hyparview.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_MEMBERSHIP_HYPARVIEW_HPP
#define MESHKIT_MEMBERSHIP_HYPARVIEW_HPP

#include <meshkit/address_prefix.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/membership/hyparview_messages.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/peer_info.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace meshkit::membership {

/// Settings of the HyParView engine. Defaults are the paper's (p. 9) and iroh-gossip's.
struct hyparview_config {
    /// Active view size: the neighbours broadcasts flow over. The paper uses log(n) + c; 5 serves 10^4 nodes.
    std::size_t active_capacity = 5;
    /// Passive view size: backups promoted when an active neighbour fails.
    std::size_t passive_capacity = 30;
    /// Length of a join's random walk (ARWL): how far a newcomer spreads.
    std::uint8_t active_walk_length = 6;
    /// Walk step at which a newcomer is also put in a passive view (PRWL).
    std::uint8_t passive_walk_length = 3;
    /// Length of a shuffle's random walk.
    std::uint8_t shuffle_walk_length = 6;
    /// Active-view entries carried by a shuffle.
    std::size_t shuffle_active_count = 3;
    /// Passive-view entries carried by a shuffle.
    std::size_t shuffle_passive_count = 4;
    /** How often a shuffle starts. Shorter refreshes passive views faster and costs traffic.

        iroh-gossip uses 60 s ("wild guess"). Measured here on 10,000 nodes
        losing 80 % at once: with 60 s, passive views are still too thin
        and 1.2 % of survivors end isolated; with 10 s every survivor
        rejoins one overlay. A shuffle is one 192-byte datagram per hop (7
        entries): about 1.3 KB per walk of 6 hops and its reply.
    */
    duration shuffle_interval = std::chrono::seconds(10);
    /** Below this many active neighbours, neighbour requests go out with high priority.

        The paper uses high priority only for an empty view. But full nodes
        refuse low-priority requests, and evictions can leave a node with
        one link, where a single lost datagram cuts it off from a broadcast.
    */
    std::size_t urgent_below = 2;
    /** With fewer passive entries than this, each shuffle also asks discovery for candidates.

        A small overlay can split into parts whose nodes are all full and
        know nobody outside their part (16 nodes, capacity 5: one part can
        be a complete graph of 6). Their passive views are empty, so
        nothing in the paper's protocol reconnects them. Joining through a
        discovery seed that is not already a neighbour does. Large overlays
        keep passive views full, so this never fires there.
    */
    std::size_t passive_low_water = 5;
    /// How long a join or neighbour request may go unanswered before the candidate is dropped.
    duration neighbor_request_timeout = std::chrono::milliseconds(500);
    /** Join requests sent to a contact before it is reported unreachable.

        A lost join is worse than a slow one: the newcomer may become other
        nodes' contact and grow an island that never meets the overlay.
    */
    unsigned join_attempts = 5;
    /// A keepalive goes to each active neighbour this often; it is also the engine's tick.
    duration keepalive_interval = std::chrono::seconds(1);
    /// Silence on an active link for longer than this means the neighbour failed.
    duration failure_timeout = std::chrono::seconds(4);
    /** The longest wait between repair requests while they are refused and the view is not urgent.

        A node one neighbour short in a small overlay, where every
        candidate is full, would otherwise ask one a second forever. Each
        refusal doubles the wait (from `keepalive_interval`) up to this;
        any change to the active view resets it. Below `urgent_below`
        requests are high priority, accepted, and never wait.
    */
    duration repair_backoff_max = std::chrono::seconds(30);
    /** Most active neighbours from one address prefix (an IPv4 /24, an IPv6 /48; `address_prefix`).

        Eclipse resistance: an attacker with many keys but one network
        takes at most this many of the node's links, however often it
        asks with high priority, so broadcasts keep flowing through the
        rest. 2 of 5 leaves a majority to other networks.
    */
    std::size_t max_active_per_prefix = 2;
    /// Most passive entries from one address prefix: repair candidates stay spread over networks too.
    std::size_t max_passive_per_prefix = 6;
    /** Whether the prefix limits count private and loopback addresses too (`is_private_address`).

        Off by default: a LAN, a test on 127.0.0.1 or the simulator puts
        every honest node in one prefix. Turn it on where strangers can
        hold private addresses next to the node (a shared campus network).
    */
    bool limit_private_prefixes = false;
};

/** HyParView: a small symmetric active view for dissemination, a larger
    passive view for repair (Leitão, Pereira, Rodrigues, DSN 2007).

    A sans-IO engine. Over datagrams there is no TCP connection to tell a
    live link from a dead one, so each active link carries keepalives and a
    neighbour silent for `failure_timeout` (or reported "port unreachable")
    is declared failed. Repair is immediate: on the next tick the engine
    promotes passive peers, with a high-priority request when it has fewer
    than `urgent_below` neighbours, until the view is full again.

    Every view is bounded by its capacity; every random choice comes from
    the node's seeded generator, so the overlay a seed builds is always the
    same one.

    @par Events
    `link_up` and `link_down` (for broadcast engines), `peer_up`
    (a join's contact answered), `contact_failed` (a join went unanswered),
    `peers_wanted` (both views are empty, or the passive view is below
    `passive_low_water` at a shuffle: ask discovery).
*/
class hyparview {
public:
    using messages = hyparview_messages;
    using events = type_list<link_up, link_down, peer_up, contact_failed, peers_wanted>;

    /// Its run-time settings: `node_config::engine<hyparview>()` on a node.
    using config_type = hyparview_config;

    explicit hyparview(hyparview_config cfg = {}) : cfg_(cfg)
    {
        active_.reserve(cfg_.active_capacity);
        passive_.reserve(cfg_.passive_capacity);
    }

    // -- engine hooks ---------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx)
    {
        ctx.set_timer(random_phase(ctx, cfg_.keepalive_interval), tick_tag);
        ctx.set_timer(random_phase(ctx, cfg_.shuffle_interval), shuffle_tag);
        if (active_.empty() && passive_.empty() && pending_.empty())
            ctx.emit(peers_wanted{1});
    }

    /// Joins the overlay through `contact`, whose id is not known yet.
    template <class Ctx>
    void add_candidate(Ctx& ctx, endpoint const& contact)
    {
        // A contact we already know (active, pending, or in the passive view,
        // from which repair can promote it) needs no join: re-joining it
        // would only make it evict a neighbour, churning the overlay.
        if (contact == ctx.local_endpoint() || find_active_by_address(contact) || find_pending_by_address(contact) ||
            std::find(passive_.begin(), passive_.end(), contact) != passive_.end() ||
            pending_.size() >= cfg_.active_capacity)
            return;
        pending_.push_back({peer_info{{}, contact}, ctx.now(), true, 1});
        ctx.send(contact, hv_join{});
    }

    template <class Ctx>
    void on_datagram(Ctx& ctx, inbound const& in)
    {
        if (in.header.hops != 0)
            return;
        // Only traffic from the neighbour's own address counts: a datagram
        // that merely claims its id proves nothing. (A neighbour that moves
        // is re-added through the join or neighbour request it sends.)
        if (active_peer* a = find_active(in.header.sender); a && a->peer.address == in.from)
            a->last_heard = ctx.now();
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hv_join const&)
    {
        peer_info const joiner{in.header.sender, in.from};
        if (joiner.id == ctx.self())
            return;
        bool const known = find_active(joiner.id) != nullptr;
        bool const added = add_active(ctx, joiner);
        ctx.send(joiner.address, hv_neighbor_reply{added});
        if (known || !added)
            return;
        for (auto const& a : active_)
            if (a.peer.id != joiner.id)
                ctx.send(a.peer.address, hv_forward_join{joiner, cfg_.active_walk_length});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hv_forward_join const& fj)
    {
        // Walks travel over active links only; a stranger's walk could point
        // our neighbour request and keepalives at any victim address.
        if (!is_active_at(in.header.sender, in.from))
            return;
        if (fj.joiner.id == ctx.self() || fj.joiner.id.is_zero() || find_active(fj.joiner.id))
            return;
        std::uint8_t const ttl = std::min(fj.ttl, cfg_.active_walk_length);
        if (ttl == 0 || active_.size() <= 1) {
            if (add_active(ctx, fj.joiner))
                ctx.send(fj.joiner.address, hv_neighbor{true});
            return;
        }
        if (ttl == cfg_.passive_walk_length)
            add_passive(ctx, fj.joiner.address);
        if (active_peer const* next = random_active(ctx, in.header.sender, fj.joiner.id))
            ctx.send(next->peer.address, hv_forward_join{fj.joiner, static_cast<std::uint8_t>(ttl - 1)});
        else if (add_active(ctx, fj.joiner)) {
            ctx.send(fj.joiner.address, hv_neighbor{true});
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hv_neighbor const& n)
    {
        peer_info const from{in.header.sender, in.from};
        if (from.id == ctx.self())
            return;
        bool const accept = (find_active(from.id) || n.high_priority || active_.size() < cfg_.active_capacity) &&
                            add_active(ctx, from); // high priority or not, a full prefix is refused
        ctx.send(from.address, hv_neighbor_reply{accept});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hv_neighbor_reply const& r)
    {
        peer_info const from{in.header.sender, in.from};
        bool const was_join = std::any_of(pending_.begin(), pending_.end(), [&](pending_request const& p) {
            return p.join && p.peer.address == from.address;
        });
        bool const expected = take_pending(from);
        if (was_join)
            ctx.emit(peer_up{from.id, from.address}); // the contact answered: discovery learns it is good
        if (!r.accepted) {
            // It stays in the passive view; a later tick tries another candidate, later each time it is refused.
            if (!was_join && active_.size() >= cfg_.urgent_below) {
                repair_wait_ = std::min(std::max(cfg_.keepalive_interval, 2 * repair_wait_), cfg_.repair_backoff_max);
                next_repair_ = ctx.now() + repair_wait_;
            }
            return;
        }
        if (!(expected || find_active(from.id)) || !add_active(ctx, from))
            ctx.send(from.address, hv_disconnect{true, {}}); // keep links symmetric
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hv_disconnect const& d)
    {
        if (!is_active_at(in.header.sender, in.from))
            return; // only the neighbour itself, from its own address, can end the link
        if (!remove_active(ctx, in.header.sender))
            return;
        if (d.alive)
            add_passive(ctx, in.from);
        std::size_t taken = 0;
        for (auto const& alt : d.alternatives) {
            if (taken++ == hv_disconnect::max_alternatives)
                break;
            if (alt != ctx.local_endpoint() && alt != in.from && !find_active_by_address(alt))
                add_passive(ctx, alt);
        }
        // Below the urgent mark, repair now rather than at the next tick: an evicted node with no
        // neighbour left would otherwise wait up to a keepalive interval.
        if (active_.size() < cfg_.urgent_below)
            repair(ctx);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hv_shuffle const& sh)
    {
        if (!is_active_at(in.header.sender, in.from) || sh.origin == ctx.local_endpoint())
            return;
        hv_shuffle walk = sh;
        walk.ttl = std::min(sh.ttl, cfg_.shuffle_walk_length);
        if (walk.entries.size() > shuffle_entries_max())
            walk.entries.resize(shuffle_entries_max());
        // The first hop knows where the origin really is (behind a NAT, or
        // bound to a wildcard address, it cannot know itself).
        if (sh.ttl >= cfg_.shuffle_walk_length)
            walk.origin = in.from;
        if (walk.ttl > 1 && active_.size() > 1) {
            if (active_peer const* next = random_active(ctx, in.header.sender, node_id{})) {
                --walk.ttl;
                ctx.send(next->peer.address, walk);
                return;
            }
        }
        std::vector<endpoint> reply = sample(ctx, passive_, std::min(walk.entries.size() + 1, passive_.size()));
        ctx.send(walk.origin, hv_shuffle_reply{reply});
        std::vector<endpoint> incoming = walk.entries;
        incoming.push_back(walk.origin);
        integrate(ctx, incoming, reply);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const&, hv_shuffle_reply const& r)
    {
        if (!shuffle_outstanding_)
            return; // we asked for nothing: an unsolicited reply could poison the passive view
        shuffle_outstanding_ = false;
        std::vector<endpoint> entries = r.entries;
        if (entries.size() > shuffle_entries_max())
            entries.resize(shuffle_entries_max());
        integrate(ctx, entries, last_shuffle_);
        last_shuffle_ = {}; // release the memory too: shuffles are rare
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, hv_keepalive const&)
    {
        // A keepalive from a peer that is not our neighbour means the link
        // is one-sided (a lost reply, an eviction we did not hear of): end it.
        if (!find_active(in.header.sender) && !find_pending_by_address(in.from))
            ctx.send(in.from, hv_disconnect{true, {}});
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        if (tag == tick_tag) {
            tick(ctx);
            ctx.set_timer(cfg_.keepalive_interval, tick_tag);
        } else if (tag == shuffle_tag) {
            shuffle(ctx);
            ctx.set_timer(cfg_.shuffle_interval, shuffle_tag);
        }
    }

    /** Leaves the overlay: each active neighbour is told (`hv_disconnect`, not alive) and every view emptied.

        A topic host calls it when its node leaves a topic while it still
        talks to the same peers in others: their silence would never end
        the link, so the link is ended in words. `link_down` is emitted for
        each neighbour. A later `add_candidate` joins again.
    */
    template <class Ctx>
    void leave(Ctx& ctx)
    {
        std::vector<peer_info> gone;
        for (auto const& a : active_)
            gone.push_back(a.peer);
        for (auto const& p : gone) {
            ctx.send(p.address, hv_disconnect{false, {}});
            remove_active(ctx, p.id);
        }
        passive_.clear();
        pending_.clear();
        last_shuffle_.clear();
    }

    /** Rejoins after a network change, a sleep or a suspected isolation (`topic::rejoin_supervisor`).

        Asks passive peers (cached, already vetted) to be neighbours, one
        for each free place in the active view and at least one, at most
        `fanout`; joins through `contacts` (bootstrap nodes) when no
        neighbour is left or no passive peer could be asked, so a lone
        node does not wait for discovery. The repair back-off is reset:
        links found dead from here on are replaced at once. Neighbours
        are not dropped here: whether they still hold this node is the
        host's to verify.

        @return the requests sent.
    */
    template <class Ctx>
    std::size_t rejoin(Ctx& ctx, std::span<endpoint const> contacts, std::size_t fanout)
    {
        repair_wait_ = {};
        next_repair_ = {};
        std::vector<endpoint> choices;
        for (auto const& q : passive_)
            if (!find_active_by_address(q) && !find_pending_by_address(q))
                choices.push_back(q);
        std::size_t const free = cfg_.active_capacity > active_.size() ? cfg_.active_capacity - active_.size() : 0;
        std::size_t sent = 0;
        for (auto const& q : sample(ctx, choices, std::min(fanout, std::max<std::size_t>(free, 1)))) {
            pending_.push_back({peer_info{{}, q}, ctx.now(), false, 1});
            ctx.send(q, hv_neighbor{active_.size() < cfg_.urgent_below});
            ++sent;
        }
        if (!active_.empty() && sent > 0)
            return sent;
        for (auto const& c : contacts) {
            if (sent >= std::max<std::size_t>(fanout, 1))
                break;
            std::size_t const before = pending_.size();
            add_candidate(ctx, c);
            sent += pending_.size() - before;
        }
        return sent;
    }

    /// Treats an unreachable report for an active neighbour's address as its failure.
    template <class Ctx>
    void on_unreachable(Ctx& ctx, endpoint const& address)
    {
        for (auto const& a : active_)
            if (a.peer.address == address) {
                remove_active(ctx, a.peer.id);
                return;
            }
    }

    // -- queries --------------------------------------------------------------

    /// Entries refused because their address prefix already held its share of a view (`max_active_per_prefix`).
    [[nodiscard]] std::uint64_t prefix_refusals() const noexcept { return prefix_refusals_; }

    /// The active view: neighbours broadcasts flow over.
    [[nodiscard]] std::vector<peer_info> active_view() const
    {
        std::vector<peer_info> v;
        for (auto const& a : active_)
            v.push_back(a.peer);
        return v;
    }

    /// The passive view: addresses of backups for repair.
    [[nodiscard]] std::vector<endpoint> const& passive_view() const noexcept { return passive_; }

    [[nodiscard]] std::size_t active_size() const noexcept { return active_.size(); }
    [[nodiscard]] bool is_active(node_id const& id) const noexcept { return find_active(id) != nullptr; }
    [[nodiscard]] hyparview_config const& config() const noexcept { return cfg_; }

    /// Heap bytes held by the views and pending requests (for the memory budget in bench/).
    [[nodiscard]] std::size_t state_bytes() const noexcept
    {
        return sizeof(*this) + active_.capacity() * sizeof(active_peer) + passive_.capacity() * sizeof(endpoint) +
               pending_.capacity() * sizeof(pending_request) + last_shuffle_.capacity() * sizeof(endpoint);
    }

private:
    static constexpr std::uint64_t tick_tag = 1;
    static constexpr std::uint64_t shuffle_tag = 2;

    struct active_peer {
        peer_info peer;
        time_point last_heard;
    };

    struct pending_request {
        peer_info peer; // id is zero for a join to a bare address
        time_point sent;
        bool join;
        unsigned attempts;
    };

    template <class Ctx>
    static duration random_phase(Ctx& ctx, duration period)
    {
        return duration(static_cast<duration::rep>(
            ctx.rng().below(static_cast<std::uint64_t>(std::max<duration::rep>(1, period.count())))));
    }

    active_peer* find_active(node_id const& id) noexcept
    {
        for (auto& a : active_)
            if (a.peer.id == id)
                return &a;
        return nullptr;
    }
    active_peer const* find_active(node_id const& id) const noexcept
    {
        for (auto const& a : active_)
            if (a.peer.id == id)
                return &a;
        return nullptr;
    }
    [[nodiscard]] bool is_active_at(node_id const& id, endpoint const& from) const noexcept
    {
        active_peer const* a = find_active(id);
        return a && a->peer.address == from;
    }

    [[nodiscard]] std::size_t shuffle_entries_max() const noexcept
    {
        return cfg_.shuffle_active_count + cfg_.shuffle_passive_count + 1;
    }

    active_peer const* find_active_by_address(endpoint const& ep) const noexcept
    {
        for (auto const& a : active_)
            if (a.peer.address == ep)
                return &a;
        return nullptr;
    }
    pending_request const* find_pending_by_address(endpoint const& ep) const noexcept
    {
        for (auto const& p : pending_)
            if (p.peer.address == ep)
                return &p;
        return nullptr;
    }

    bool take_pending(peer_info const& from)
    {
        // Requests to passive peers and joins know only an address.
        auto it = std::find_if(pending_.begin(), pending_.end(), [&](pending_request const& p) {
            return p.peer.address == from.address || (!p.peer.id.is_zero() && p.peer.id == from.id);
        });
        if (it == pending_.end())
            return false;
        pending_.erase(it);
        return true;
    }

    /// A random active neighbour other than `not_a` and `not_b`, or nullptr.
    template <class Ctx>
    active_peer const* random_active(Ctx& ctx, node_id const& not_a, node_id const& not_b)
    {
        std::size_t eligible = 0;
        for (auto const& a : active_)
            eligible += a.peer.id != not_a && a.peer.id != not_b;
        if (eligible == 0)
            return nullptr;
        auto pick = ctx.rng().below(eligible);
        for (auto const& a : active_)
            if (a.peer.id != not_a && a.peer.id != not_b && pick-- == 0)
                return &a;
        return nullptr;
    }

    template <class Ctx, class T>
    static std::vector<T> sample(Ctx& ctx, std::vector<T> const& from, std::size_t n)
    {
        std::vector<T> pool = from;
        n = std::min(n, pool.size());
        for (std::size_t i = 0; i < n; ++i)
            std::swap(pool[i], pool[i + ctx.rng().below(pool.size() - i)]);
        pool.resize(n);
        return pool;
    }

    /// Makes `peer` an active neighbour. @return false when it cannot be one (itself, or its prefix is full).
    template <class Ctx>
    bool add_active(Ctx& ctx, peer_info const& peer)
    {
        if (peer.id == ctx.self() || peer.id.is_zero())
            return false;
        if (active_peer* a = find_active(peer.id)) {
            a->last_heard = ctx.now();
            if (a->peer.address != peer.address) {
                a->peer.address = peer.address;
                ctx.emit(link_up{peer.id, peer.address}); // re-announced: broadcast engines adopt the new address
            }
            return true;
        }
        if (!prefix_has_room(ctx, peer.address, cfg_.max_active_per_prefix, active_,
                             [](active_peer const& a) { return a.peer.address; }))
            return false;
        std::erase(passive_, peer.address);
        std::erase_if(pending_, [&](pending_request const& p) { return p.peer.address == peer.address; });
        if (active_.size() >= cfg_.active_capacity) {
            auto const victim_index = ctx.rng().below(active_.size());
            peer_info const victim = active_[victim_index].peer;
            active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(victim_index));
            // Where the evicted node can go instead: the newcomer (it has room) and some of our other neighbours.
            hv_disconnect bye{true, {peer.address}};
            std::vector<endpoint> others;
            for (auto const& a : active_)
                others.push_back(a.peer.address);
            for (auto const& e : sample(ctx, others, hv_disconnect::max_alternatives - 1))
                bye.alternatives.push_back(e);
            ctx.send(victim.address, bye);
            ctx.emit(link_down{victim.id, victim.address});
            add_passive(ctx, victim.address);
        }
        active_.push_back({peer, ctx.now()});
        repair_wait_ = {};
        next_repair_ = {};
        ctx.emit(link_up{peer.id, peer.address});
        return true;
    }

    /** Whether `address`'s prefix holds fewer than `limit` of `view`'s entries (or is exempt from the limits).

        A refusal is counted (`prefix_refusals`, `meshkit_membership_prefix_refused_total`).
    */
    template <class Ctx, class View, class AddressOf = std::identity>
    bool prefix_has_room(Ctx& ctx, endpoint const& address, std::size_t limit, View const& view, AddressOf address_of = {})
    {
        if (!cfg_.limit_private_prefixes && is_private_address(address))
            return true;
        auto const prefix = address_prefix::of(address);
        auto const sharing = std::count_if(view.begin(), view.end(),
                                           [&](auto const& e) { return address_prefix::of(address_of(e)) == prefix; });
        if (static_cast<std::size_t>(sharing) < limit)
            return true;
        ++prefix_refusals_;
        ctx.metrics().increment("meshkit_membership_prefix_refused_total", 1);
        return false;
    }

    template <class Ctx>
    bool remove_active(Ctx& ctx, node_id const& id)
    {
        auto it = std::find_if(active_.begin(), active_.end(), [&](active_peer const& a) { return a.peer.id == id; });
        if (it == active_.end())
            return false;
        peer_info const gone = it->peer;
        active_.erase(it);
        repair_wait_ = {};
        next_repair_ = {};
        ctx.emit(link_down{gone.id, gone.address});
        return true;
    }

    template <class Ctx>
    void add_passive(Ctx& ctx, endpoint const& address)
    {
        if (address == ctx.local_endpoint() || address.is_unspecified() || find_active_by_address(address) ||
            std::find(passive_.begin(), passive_.end(), address) != passive_.end() ||
            !prefix_has_room(ctx, address, cfg_.max_passive_per_prefix, passive_))
            return;
        if (passive_.size() >= cfg_.passive_capacity)
            passive_.erase(passive_.begin()); // the oldest entry
        passive_.push_back(address);
    }

    /// Adds shuffled-in entries, evicting first the entries we just sent away.
    template <class Ctx>
    void integrate(Ctx& ctx, std::vector<endpoint> const& incoming, std::vector<endpoint> const& sent)
    {
        for (auto const& e : incoming) {
            if (e == ctx.local_endpoint() || e.is_unspecified() || find_active_by_address(e) ||
                std::find(passive_.begin(), passive_.end(), e) != passive_.end() ||
                !prefix_has_room(ctx, e, cfg_.max_passive_per_prefix, passive_))
                continue;
            if (passive_.size() >= cfg_.passive_capacity) {
                auto victim = std::find_if(passive_.begin(), passive_.end(), [&](endpoint const& p) {
                    return std::find(sent.begin(), sent.end(), p) != sent.end();
                });
                if (victim == passive_.end())
                    victim = passive_.begin() + static_cast<std::ptrdiff_t>(ctx.rng().below(passive_.size()));
                passive_.erase(victim);
            }
            passive_.push_back(e);
        }
    }

    template <class Ctx>
    void tick(Ctx& ctx)
    {
        time_point const now = ctx.now();
        // 0. A tick far later than scheduled means this node was asleep (a
        //    suspended laptop, a starved process): its neighbours' silence is
        //    its own. Give each of them one fresh keepalive window instead of
        //    declaring them all failed at once and tearing the overlay down.
        if (last_tick_ != time_point{} && now - last_tick_ > 2 * cfg_.keepalive_interval)
            for (auto& a : active_)
                a.last_heard = std::max(a.last_heard, now - cfg_.failure_timeout + cfg_.keepalive_interval);
        last_tick_ = now;

        // 1. Failure detection on the active view.
        std::vector<node_id> failed;
        for (auto const& a : active_)
            if (now - a.last_heard > cfg_.failure_timeout)
                failed.push_back(a.peer.id);
        for (auto const& id : failed)
            remove_active(ctx, id);

        // 2. Keepalives on every active link.
        for (auto const& a : active_)
            ctx.send(a.peer.address, hv_keepalive{});

        // 3. Unanswered requests: retry joins, give up on the rest.
        std::vector<pending_request> expired;
        std::erase_if(pending_, [&](pending_request& p) {
            if (now - p.sent <= cfg_.neighbor_request_timeout)
                return false;
            if (p.join && p.attempts < cfg_.join_attempts) {
                ++p.attempts;
                p.sent = now;
                ctx.send(p.peer.address, hv_join{});
                return false;
            }
            expired.push_back(p);
            return true;
        });
        for (auto const& p : expired) {
            if (p.join)
                ctx.emit(contact_failed{p.peer.address});
            else
                std::erase(passive_, p.peer.address);
        }

        // 4. Repair: promote passive peers until the active view is full (after a refusal, not at once).
        repair(ctx);
    }

    // Promotes passive peers until the active view (with the requests under way) is full; below the urgent
    // mark with high priority. Not while the repair back-off holds, unless the view is urgent. With nothing
    // left to repair from, asks discovery.
    template <class Ctx>
    void repair(Ctx& ctx)
    {
        time_point const now = ctx.now();
        if (active_.size() >= cfg_.urgent_below && now < next_repair_)
            return;
        std::size_t requests = 0;
        for (auto const& p : pending_)
            requests += !p.join;
        while (active_.size() + requests < cfg_.active_capacity) {
            std::vector<endpoint> choices;
            for (auto const& q : passive_)
                if (std::none_of(pending_.begin(), pending_.end(), [&](pending_request const& p) { return p.peer.address == q; }))
                    choices.push_back(q);
            if (choices.empty())
                break;
            endpoint const q = choices[ctx.rng().below(choices.size())];
            pending_.push_back({peer_info{{}, q}, now, false, 1});
            ++requests;
            ctx.send(q, hv_neighbor{active_.size() < cfg_.urgent_below});
        }
        if (pending_.empty())
            pending_ = {}; // requests are bursts: do not keep their memory

        // 5. Nothing left to repair from: ask discovery.
        if (active_.empty() && passive_.empty() && pending_.empty())
            ctx.emit(peers_wanted{1});
    }

    template <class Ctx>
    void shuffle(Ctx& ctx)
    {
        if (passive_.size() < cfg_.passive_low_water && !active_.empty())
            ctx.emit(peers_wanted{cfg_.active_capacity}); // candidates already active are skipped
        if (active_.empty())
            return;
        active_peer const* target = random_active(ctx, node_id{}, node_id{});
        std::vector<endpoint> actives;
        for (auto const& a : active_)
            if (a.peer.id != target->peer.id)
                actives.push_back(a.peer.address);
        std::vector<endpoint> entries = sample(ctx, actives, cfg_.shuffle_active_count);
        for (auto const& p : sample(ctx, passive_, cfg_.shuffle_passive_count))
            entries.push_back(p);
        last_shuffle_ = entries;
        shuffle_outstanding_ = true;
        ctx.send(target->peer.address, hv_shuffle{ctx.local_endpoint(), cfg_.shuffle_walk_length, entries});
    }

    hyparview_config cfg_;
    std::uint64_t prefix_refusals_ = 0;
    std::vector<active_peer> active_;
    std::vector<endpoint> passive_;
    std::vector<pending_request> pending_;
    std::vector<endpoint> last_shuffle_;
    bool shuffle_outstanding_ = false;
    time_point last_tick_{};
    /// The repair back-off: how long after the last refusal, and until when.
    duration repair_wait_{};
    time_point next_repair_{};
};

} // namespace meshkit::membership

#endif // MESHKIT_MEMBERSHIP_HYPARVIEW_HPP
