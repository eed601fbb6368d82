// topic/topic_host.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_TOPIC_HOST_HPP
#define MESHKIT_TOPIC_TOPIC_HOST_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/detail/node_traits.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/peer_events.hpp>
#include <meshkit/result.hpp>
#include <meshkit/topic/topic_context.hpp>
#include <meshkit/topic/topic_event.hpp>
#include <meshkit/topic/topic_host_settings.hpp>
#include <meshkit/topic/topic_id.hpp>
#include <meshkit/topic/topic_messages.hpp>
#include <meshkit/topic/rejoin_supervisor.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/wire/channel.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/wire/forwarding.hpp>
#include <meshkit/wire/registry.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace meshkit::topic {

/// What a topic host counted.
struct topic_host_stats {
    std::uint64_t pings_sent = 0;
    std::uint64_t acks_sent = 0;
    /// Peers declared failed after `probe_attempts` unanswered pings.
    std::uint64_t peers_failed = 0;
    /// Links ended because the peer's probe or answer no longer listed the topic.
    std::uint64_t one_sided_links_ended = 0;
    /// Keepalives of the topics' own engines, not sent (the probes stand for them).
    std::uint64_t keepalives_dropped = 0;
    /// Frames of a topic this node does not belong to (each answered with `topic_unknown`).
    std::uint64_t frames_for_unknown_topics = 0;
    /// Frames whose inner message did not decode, or is no datagram kind.
    std::uint64_t malformed_frames = 0;
    /// Peers a rejoin pinged to learn whether they still hold this node, and those of them that never answered.
    std::uint64_t peers_verified = 0;
    std::uint64_t peers_verified_dead = 0;
};

/** Several independent overlays on one node, one per topic, over the node's one transport.

    Each topic the node joins gets its own instances of `Engines...`
    (HyParView and Plumtree: `gossip_topics`), so its own views, tree and
    dedup, as iroh-gossip's topics and lattice's per-store swarms. Their
    messages travel inside `topic_frame`s; their timers, events and
    sends are kept apart by `topic_context`. Topics are joined and left at
    run time (`join`, `leave`), at most `max_topics` of them.

    **Liveness is per peer, not per topic.** The topics' own keepalives
    are dropped (`wire::is_keepalive`) and HyParView's silence timeout is
    off. The host probes instead, as memberlist does: each
    `probe_interval`, one peer (in turn, among every topic's neighbours)
    that was not heard from since the last interval gets a `topic_ping`;
    any datagram from it, or its `topic_ack`, is an answer; after
    `probe_attempts` pings unanswered it has failed in every topic
    (`on_unreachable` for each, then `peer_down`). Traffic of any topic
    keeps a peer alive for all. So an idle node sends about one ping a
    period and answers about one, however many topics and links it has.
    Pings and acks list the topics in which the sender holds the receiver,
    so a link one side ended (a disconnect lost, a restart) ends on the
    other at the next probe.

    A frame of a topic the node does not belong to is answered with
    `topic_unknown` (smaller than the frame), which ends the asker's link
    in that topic.

    **Rejoins.** One `rejoin_supervisor` serves every topic. Its triggers
    are a network change or a wake reported through `trigger` (on a real
    node by `udp::network_monitor` and `udp::sleep_monitor`), and the
    host's own suspicion: a topic with data to share (an engine with a
    non-empty `log()`) and fewer than `min_neighbours` links. A rejoin
    serves every topic due at once: it pings each of their neighbours
    (a link the peer no longer holds ends at its answer, a peer that does
    not answer fails), asks cached peers (HyParView's passive view) to be
    neighbours, joins through bootstrap nodes where no neighbour is left
    (`hyparview::rejoin`), and starts a reconciliation in each topic
    (`reconcile_now`). The application sees `rejoining`.

    @tparam Engines the engines each topic runs, in order; the first
    with `broadcast(ctx, payload)` is the topic's broadcaster.
*/
template <class... Engines>
class topic_host {
    static_assert(sizeof...(Engines) >= 1 && sizeof...(Engines) <= 15, "meshkit: a topic runs 1 to 15 engines");
    using engine_tuple = std::tuple<Engines...>;
    using inner_registry = wire::registry_union<typename Engines::messages...>;
    using inner_events = type_list_union<typename Engines::events...>;
    using inner_event = variant_of<inner_events>;

    template <class List> struct wrap;
    template <class... Es> struct wrap<type_list<Es...>> { using type = type_list<topic_event<Es>...>; };

    static constexpr std::size_t host_slot = 0xFF;
    static constexpr std::uint64_t tick_tag = (std::uint64_t{host_slot} << 56);
    static constexpr std::uint64_t inner_tag_mask = (std::uint64_t{1} << 44) - 1;
    /// A peer's links are checked (its probe lists topics) once in this many probe intervals.
    static constexpr int check_every = 10;

public:
    using messages = topic_messages;
    /// Every topic engine's events, wrapped in `topic_event`; and, for discovery, `peer_up` and `contact_failed` as they are, and `peer_down` when a peer fails.
    using events =
        type_list_union<typename wrap<inner_events>::type, type_list<peer_up, contact_failed, peer_down, rejoining>>;
    using config_type = topic_host_settings;

    explicit topic_host(topic_host_settings settings = {}) : s_(std::move(settings)), rejoin_(s_.rejoin, s_.max_topics)
    {
        if (s_.max_topics == 0 || s_.max_topics >= host_slot)
            throw std::invalid_argument("meshkit: topic_host_settings::max_topics must be in [1, 254]");
        slots_.resize(s_.max_topics);
        generations_.resize(s_.max_topics, 0);
    }

    // -- engine hooks ---------------------------------------------------------

    template <class Ctx>
    void start(Ctx& ctx)
    {
        ctx.set_timer(s_.probe_timeout, tick_tag);
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i])
                start_engines(ctx, i);
        drain(ctx);
    }

    /// Contacts `contact` in every topic, and remembers it for topics joined later.
    template <class Ctx>
    void add_candidate(Ctx& ctx, endpoint const& contact)
    {
        if (std::find(contacts_.begin(), contacts_.end(), contact) == contacts_.end()) {
            contacts_.push_back(contact);
            if (contacts_.size() > s_.max_contacts)
                contacts_.pop_front();
        }
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i])
                offer(ctx, i, contact);
        drain(ctx);
    }

    template <class Ctx>
    void on_datagram(Ctx& ctx, inbound const& in)
    {
        // Every datagram, pings and acks included, passes here first: this alone keeps `last_heard`.
        if (in.header.hops != 0)
            return;
        if (auto it = peers_.find(in.from); it != peers_.end() && it->second.id == in.header.sender)
            it->second.last_heard = ctx.now();
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, topic_frame const& f)
    {
        std::size_t const i = slot_of(topic_id{f.topic});
        if (i == slots_.size()) {
            ++stats_.frames_for_unknown_topics;
            ctx.metrics().increment("meshkit_topic_unknown_frames_total", 1);
            ctx.send(in.from, topic_unknown{f.topic});
            return;
        }
        auto decoded = inner_registry::decode_body(f.inner, f.body);
        if (!decoded) {
            malformed(ctx);
            return;
        }
        inbound inner = in;
        inner.header.type = f.inner;
        std::visit(
            [&]<class M>(M const& m) {
                if constexpr (wire::channel_of<M> != wire::channel::datagram) {
                    malformed(ctx); // a topic's engines speak datagrams only
                } else {
                    constexpr std::size_t owner = detail::owner_of<M, engine_tuple>();
                    topic_context<Ctx, topic_host, owner> tctx{ctx, *this, i};
                    std::get<owner>(slots_[i]->engines).on_message(tctx, inner, m);
                }
            },
            *decoded);
        drain(ctx);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, topic_ping const& p)
    {
        if (in.header.hops != 0)
            return;
        ++stats_.acks_sent;
        topic_ack ack{p.nonce, {}};
        if (p.topics)
            ack.topics = topics_holding(in.from, in.header.sender);
        ctx.send(in.from, ack);
        if (p.topics)
            check_links(ctx, in, *p.topics);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, topic_ack const& a)
    {
        if (in.header.hops != 0)
            return;
        if (probe_ && probe_->to == in.from && probe_->nonce == a.nonce)
            probe_.reset();
        if (a.topics)
            check_links(ctx, in, *a.topics);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, topic_unknown const& u)
    {
        if (in.header.hops != 0)
            return;
        std::size_t const i = slot_of(topic_id{u.topic});
        if (i == slots_.size() || !slots_[i]->links.contains(in.from))
            return;
        end_link(ctx, i, in.from);
        drain(ctx);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        std::size_t const slot = static_cast<std::size_t>(tag >> 56);
        if (slot == host_slot) {
            tick(ctx);
            ctx.set_timer(s_.probe_timeout, tick_tag);
            return;
        }
        if (slot >= slots_.size() || !slots_[slot] || generations_[slot] != static_cast<std::uint8_t>(tag >> 48))
            return; // a timer of a topic since left
        std::size_t const engine = static_cast<std::size_t>((tag >> 44) & 0xF);
        std::uint64_t const inner = tag & inner_tag_mask;
        for_each_engine_index([&]<std::size_t I>() {
            if (I == engine)
                if constexpr (requires(topic_context<Ctx, topic_host, I>& c) { std::get<I>(slots_[slot]->engines).on_timer(c, inner); }) {
                    topic_context<Ctx, topic_host, I> tctx{ctx, *this, slot};
                    std::get<I>(slots_[slot]->engines).on_timer(tctx, inner);
                }
        });
        drain(ctx);
    }

    template <class Ctx>
    void on_unreachable(Ctx& ctx, endpoint const& address)
    {
        fail_peer(ctx, address);
        drain(ctx);
    }

    // -- topics ---------------------------------------------------------------

    /** Joins `topic`: its engines start, and contact `contacts`, the node's earlier `join` contacts and the peers of its other topics.

        @return `errc::topic_limit` when the node already belongs to
        `max_topics` topics; nothing when it already belongs to `topic`.
    */
    template <class Ctx>
    std::error_code join(Ctx& ctx, topic_id topic, std::span<endpoint const> contacts = {})
    {
        if (slot_of(topic) != slots_.size())
            return {};
        auto free = std::find_if(slots_.begin(), slots_.end(), [](auto const& s) { return !s.has_value(); });
        if (free == slots_.end())
            return errc::topic_limit;
        std::size_t const i = static_cast<std::size_t>(free - slots_.begin());
        slots_[i].emplace(topic, make_engines(std::index_sequence_for<Engines...>{}));
        ++generations_[i];
        rejoin_.reset(i);
        ctx.metrics().increment("meshkit_topics_joined_total", 1);
        start_engines(ctx, i);
        for (auto const& c : contacts)
            offer(ctx, i, c);
        for (auto const& c : contacts_)
            offer(ctx, i, c);
        drain(ctx);
        return {};
    }

    /** Leaves `topic`: its engines say goodbye (HyParView disconnects its neighbours) and are dropped.

        @return `errc::unknown_topic` when the node does not belong to it.
    */
    template <class Ctx>
    std::error_code leave(Ctx& ctx, topic_id topic)
    {
        std::size_t const i = slot_of(topic);
        if (i == slots_.size())
            return errc::unknown_topic;
        each_engine(ctx, i, [](auto& e, auto& tctx) {
            if constexpr (requires { e.leave(tctx); })
                e.leave(tctx);
        });
        drain(ctx); // its link_down events reach the application before the topic goes
        for (auto const& [address, since] : slots_[i]->links)
            forget_if_unlinked(address, i);
        slots_[i].reset();
        ++generations_[i];
        rejoin_.reset(i);
        ctx.metrics().increment("meshkit_topics_left_total", 1);
        return {};
    }

    /** Publishes `payload` in `topic` through its broadcast engine.

        @return the engine's result (Plumtree: the broadcast's key), or
        `errc::unknown_topic`.
    */
    template <class Ctx>
    auto publish(Ctx& ctx, topic_id topic, std::span<std::byte const> payload)
    {
        auto r = publish_in(ctx, slot_of(topic), payload); // unknown_topic for a slot not joined
        drain(ctx);
        return r;
    }

    /** Reports a network change or a wake (or anything the caller judges worth a rejoin) for every topic.

        Every topic becomes due (a backoff from earlier failures is reset:
        this is news); what the windows allow is rejoined at once, the
        rest at the next tick.
    */
    template <class Ctx>
    void trigger(Ctx& ctx, rejoin_trigger why)
    {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i])
                rejoin_.trigger(ctx.now(), why, i);
        run_rejoins(ctx);
        drain(ctx);
    }

    /// The rejoin supervisor: its counters, and each topic's backoff.
    [[nodiscard]] rejoin_supervisor const& supervisor() const noexcept { return rejoin_; }

    [[nodiscard]] bool joined(topic_id topic) const noexcept { return slot_of(topic) != slots_.size(); }

    /// The topics the node belongs to.
    [[nodiscard]] std::vector<topic_id> topics() const
    {
        std::vector<topic_id> out;
        for (auto const& s : slots_)
            if (s)
                out.push_back(s->topic);
        return out;
    }

    /// Engine `E` of `topic`, to read its state (`active_view()`, `stats()`); null when not joined.
    template <class E>
    [[nodiscard]] E const* engine(topic_id topic) const noexcept
    {
        std::size_t const i = slot_of(topic);
        return i == slots_.size() ? nullptr : &std::get<E>(slots_[i]->engines);
    }

    /// The peers the host keeps alive: every topic's neighbours, each once.
    [[nodiscard]] std::size_t peer_count() const noexcept { return peers_.size(); }

    [[nodiscard]] topic_host_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] topic_host_settings const& settings() const noexcept { return s_; }

    // -- what topic_context calls ---------------------------------------------

    [[nodiscard]] topic_id topic_at(std::size_t slot) const { return slots_[slot]->topic; }

    template <class Ctx, class M>
    std::error_code send_framed(Ctx& ctx, std::size_t slot, endpoint const& to, M const& m)
    {
        static_assert(wire::channel_of<M> == wire::channel::datagram, "meshkit: a topic's engines speak datagrams only");
        if constexpr (wire::is_keepalive<M>) {
            ++stats_.keepalives_dropped; // the host's probes keep every peer alive for all topics
            return {};
        } else {
            topic_frame f{slots_[slot]->topic.value, M::wire_id, {}};
            wire::encode(m, f.body);
            return ctx.send(to, f);
        }
    }

    template <std::size_t I, class Ctx>
    timer_handle arm(Ctx& ctx, std::size_t slot, duration after, std::uint64_t tag)
    {
        std::uint64_t const outer = (std::uint64_t{slot} << 56) | (std::uint64_t{generations_[slot]} << 48) |
                                    (std::uint64_t{I} << 44) | (tag & inner_tag_mask);
        return ctx.set_timer(after, outer);
    }

    template <class E>
    void queue_event(std::size_t slot, E const& e)
    {
        pending_.push_back({slot, generations_[slot], inner_event{e}});
    }

    template <class Ctx>
    auto publish_in(Ctx& ctx, std::size_t slot, std::span<std::byte const> payload)
    {
        constexpr std::size_t B = broadcaster_index<Ctx>();
        static_assert(B < sizeof...(Engines), "meshkit: a topic needs an engine with a broadcast(ctx, payload) hook");
        topic_context<Ctx, topic_host, B> tctx{ctx, *this, slot};
        using result_type = decltype(std::get<B>(std::declval<engine_tuple&>()).broadcast(tctx, payload));
        if (slot >= slots_.size() || !slots_[slot])
            return result_type(boost::system::in_place_error, make_error_code(errc::unknown_topic));
        return std::get<B>(slots_[slot]->engines).broadcast(tctx, payload);
    }

private:
    struct slot_state {
        slot_state(topic_id t, engine_tuple e) : topic(t), engines(std::move(e)) {}
        topic_id topic;
        engine_tuple engines;
        /// The topic's neighbours, by address, with when each link came up.
        std::map<endpoint, time_point> links;
    };

    struct peer_state {
        node_id id;
        time_point last_heard;
        time_point last_checked;
    };

    struct probe {
        endpoint to;
        std::uint32_t nonce = 0;
        time_point sent;
        unsigned attempts = 0;
    };

    // A peer a rejoin asked "do you still hold me?": alive once anything arrives from it after `sent`.
    struct verification {
        time_point sent;
        unsigned attempts = 0;
    };

    struct pending_event {
        std::size_t slot;
        std::uint8_t generation;
        inner_event event;
    };

    template <class F>
    static void for_each_engine_index(F&& f)
    {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f.template operator()<I>(), ...); }(std::index_sequence_for<Engines...>{});
    }

    // Calls f(engine, its context) for each engine of topic `i`, in order; stops if a hook left the topic.
    template <class Ctx, class F>
    void each_engine(Ctx& ctx, std::size_t i, F&& f)
    {
        for_each_engine_index([&]<std::size_t I>() {
            if (!slots_[i])
                return;
            topic_context<Ctx, topic_host, I> tctx{ctx, *this, i};
            f(std::get<I>(slots_[i]->engines), tctx);
        });
    }

    template <class Ctx, std::size_t I = 0>
    static constexpr std::size_t broadcaster_index() noexcept
    {
        if constexpr (I == sizeof...(Engines))
            return I;
        else if constexpr (requires(std::tuple_element_t<I, engine_tuple>& e, topic_context<Ctx, topic_host, I>& c,
                                    std::span<std::byte const> p) { e.broadcast(c, p); })
            return I;
        else
            return broadcaster_index<Ctx, I + 1>();
    }

    // The host's adjustments to a topic engine's settings (see topic_host_settings::engines).
    // Ten years stands for "never": far enough, and clear of overflow where HyParView subtracts it from now.
    void adjust(membership::hyparview_config& c) const
    {
        c.failure_timeout = std::chrono::hours(24 * 365 * 10);
        c.shuffle_interval = s_.shuffle_interval;
    }
    void adjust(broadcast::plumtree_config& c) const
    {
        c.max_payload = std::min(c.max_payload, broadcast::default_max_payload - topic_frame_overhead);
    }
    template <class C>
    void adjust(C&) const {}

    template <class E>
    E make_engine() const
    {
        if constexpr (configurable_engine<E>) {
            auto c = s_.engines.template of<E>();
            adjust(c);
            return E(c);
        } else {
            return E();
        }
    }

    template <std::size_t... I>
    engine_tuple make_engines(std::index_sequence<I...>) const
    {
        return engine_tuple{make_engine<std::tuple_element_t<I, engine_tuple>>()...};
    }

    std::size_t slot_of(topic_id topic) const noexcept
    {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i] && slots_[i]->topic == topic)
                return i;
        return slots_.size();
    }

    template <class Ctx>
    void start_engines(Ctx& ctx, std::size_t i)
    {
        each_engine(ctx, i, [](auto& e, auto& tctx) {
            if constexpr (requires { e.start(tctx); })
                e.start(tctx);
        });
    }

    template <class Ctx>
    void offer(Ctx& ctx, std::size_t i, endpoint const& contact)
    {
        each_engine(ctx, i, [&](auto& e, auto& tctx) {
            if constexpr (requires { e.add_candidate(tctx, contact); })
                e.add_candidate(tctx, contact);
        });
    }

    // Ends the link to `address` in topic `i` as a failure: its engines drop the neighbour.
    template <class Ctx>
    void end_link(Ctx& ctx, std::size_t i, endpoint const& address)
    {
        each_engine(ctx, i, [&](auto& e, auto& tctx) {
            if constexpr (requires { e.on_unreachable(tctx, address); })
                e.on_unreachable(tctx, address);
        });
    }

    template <class Ctx>
    void fail_peer(Ctx& ctx, endpoint const& address)
    {
        auto it = peers_.find(address);
        if (it == peers_.end())
            return;
        peer_state const gone = it->second;
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i] && slots_[i]->links.contains(address))
                end_link(ctx, i, address);
        peers_.erase(address);
        verifying_.erase(address);
        if (probe_ && probe_->to == address)
            probe_.reset();
        ctx.emit(peer_down{gone.id, address, ctx.now() - gone.last_heard});
    }

    // The topics in which this node holds `address` (as `id`) as a neighbour: what a ping or ack lists.
    std::vector<std::uint64_t> topics_holding(endpoint const& address, node_id const& id) const
    {
        std::vector<std::uint64_t> out;
        auto p = peers_.find(address);
        if (p == peers_.end() || p->second.id != id)
            return out;
        for (auto const& s : slots_)
            if (s && s->links.contains(address))
                out.push_back(s->topic.value);
        return out;
    }

    // The peer listed the topics in which it holds this node; a link here it does not list is one-sided.
    template <class Ctx>
    void check_links(Ctx& ctx, inbound const& in, std::vector<std::uint64_t> const& listed)
    {
        auto p = peers_.find(in.from);
        if (p == peers_.end() || p->second.id != in.header.sender)
            return;
        time_point const now = ctx.now();
        p->second.last_checked = now;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (!slots_[i])
                continue;
            auto link = slots_[i]->links.find(in.from);
            if (link == slots_[i]->links.end() || now - link->second < s_.link_grace)
                continue;
            if (std::find(listed.begin(), listed.end(), slots_[i]->topic.value) != listed.end())
                continue;
            ++stats_.one_sided_links_ended;
            ctx.metrics().increment("meshkit_topic_one_sided_links_total", 1);
            end_link(ctx, i, in.from);
        }
        drain(ctx);
    }

    template <class Ctx>
    void tick(Ctx& ctx)
    {
        supervise(ctx);
        time_point const now = ctx.now();
        if (probe_) {
            auto p = peers_.find(probe_->to);
            if (p == peers_.end() || p->second.last_heard >= probe_->sent) {
                probe_.reset(); // answered, by its ack or by anything else it sent
            } else if (now - probe_->sent >= s_.probe_timeout) {
                if (probe_->attempts < s_.probe_attempts) {
                    send_ping(ctx, *probe_);
                } else {
                    ++stats_.peers_failed;
                    ctx.metrics().increment("meshkit_topic_peers_failed_total", 1);
                    endpoint const dead = probe_->to;
                    probe_.reset();
                    fail_peer(ctx, dead);
                    drain(ctx);
                }
            }
        }
        if (probe_ || now - last_probe_ < s_.probe_interval || peers_.empty())
            return;
        // The next peer in turn that has been quiet for an interval, or was not checked for ten.
        for (std::size_t tries = 0; tries < peers_.size(); ++tries) {
            if (order_.empty()) {
                for (auto const& [address, state] : peers_)
                    order_.push_back(address);
                std::shuffle(order_.begin(), order_.end(), ctx.rng());
            }
            endpoint const next = order_.back();
            order_.pop_back();
            auto p = peers_.find(next);
            if (p == peers_.end())
                continue;
            if (now - p->second.last_heard < s_.probe_interval && now - p->second.last_checked < check_every * s_.probe_interval)
                continue;
            last_probe_ = now;
            probe_ = probe{next, static_cast<std::uint32_t>(ctx.rng()()), now, 0};
            send_ping(ctx, *probe_);
            return;
        }
    }

    // The rejoin supervisor's part of each tick: judge settled rejoins, suspect isolated topics, rejoin what is
    // due, and settle the verifications earlier rejoins started.
    template <class Ctx>
    void supervise(Ctx& ctx)
    {
        time_point const now = ctx.now();
        for (std::size_t i : rejoin_.settling(now))
            rejoin_.settled(now, i, slots_[i] && live_links(i) >= s_.rejoin.min_neighbours);
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i] && !rejoin_.pending(i) && !rejoin_.settling(i) &&
                live_links(i) < s_.rejoin.min_neighbours && has_data(i))
                rejoin_.trigger(now, rejoin_trigger::isolation, i);
        run_rejoins(ctx);
        std::vector<endpoint> dead;
        for (auto it = verifying_.begin(); it != verifying_.end();) {
            auto p = peers_.find(it->first);
            if (p == peers_.end() || p->second.last_heard >= it->second.sent) {
                it = verifying_.erase(it); // gone already, or answered
                continue;
            }
            if (now - it->second.sent >= s_.probe_timeout) {
                if (it->second.attempts >= s_.probe_attempts) {
                    dead.push_back(it->first);
                    it = verifying_.erase(it);
                    continue;
                }
                send_verification(ctx, it->first, p->second.id, it->second);
            }
            ++it;
        }
        for (auto const& address : dead) {
            ++stats_.peers_verified_dead;
            fail_peer(ctx, address);
        }
        if (!dead.empty())
            drain(ctx);
    }

    // Rejoins every topic the supervisor says is due, together: one ping per neighbour however many topics
    // hold it, one set of bootstrap candidates for all.
    template <class Ctx>
    void run_rejoins(Ctx& ctx)
    {
        std::vector<std::size_t> const batch = rejoin_.due(ctx.now());
        if (batch.empty())
            return;
        rejoining ev{rejoin_.reason(batch.front()), {}, 0, 0};
        std::vector<endpoint> neighbours;
        for (std::size_t i : batch)
            for (auto const& [address, since] : slots_[i]->links)
                if (std::find(neighbours.begin(), neighbours.end(), address) == neighbours.end())
                    neighbours.push_back(address);
        for (auto const& address : neighbours) {
            auto p = peers_.find(address);
            if (p == peers_.end() || verifying_.contains(address))
                continue;
            send_verification(ctx, address, p->second.id, verifying_[address]);
            ++ev.verified;
            ++stats_.peers_verified;
        }
        std::vector<endpoint> bootstrap(contacts_.begin(), contacts_.end());
        for (endpoint const& c : ctx.discovery().candidates(s_.rejoin.contacts_per_topic))
            if (std::find(bootstrap.begin(), bootstrap.end(), c) == bootstrap.end())
                bootstrap.push_back(c);
        std::shuffle(bootstrap.begin(), bootstrap.end(), ctx.rng()); // spread the load over the bootstrap nodes
        for (std::size_t i : batch) {
            ev.topics.push_back(slots_[i]->topic.value);
            each_engine(ctx, i, [&](auto& e, auto& tctx) {
                if constexpr (requires { e.rejoin(tctx, std::span<endpoint const>{}, std::size_t{}); })
                    ev.contacts += e.rejoin(tctx, std::span<endpoint const>(bootstrap), s_.rejoin.contacts_per_topic);
                if constexpr (requires { e.reconcile_now(tctx); })
                    (void)e.reconcile_now(tctx);
            });
        }
        ctx.metrics().increment("meshkit_topic_rejoins_total", 1);
        ctx.emit(ev);
        drain(ctx);
    }

    template <class Ctx>
    void send_verification(Ctx& ctx, endpoint const& address, node_id const& id, verification& v)
    {
        v.sent = ctx.now();
        ++v.attempts;
        ++stats_.pings_sent;
        // Listing the topics makes the answer list the peer's: a link it no longer holds ends (`check_links`).
        ctx.send(address, topic_ping{static_cast<std::uint32_t>(ctx.rng()()), topics_holding(address, id)});
    }

    // Links in topic `i` to peers not being verified: what a rejoin's outcome is judged by.
    std::size_t live_links(std::size_t i) const
    {
        std::size_t n = 0;
        for (auto const& [address, since] : slots_[i]->links)
            n += !verifying_.contains(address);
        return n;
    }

    // Whether topic `i` holds something to share: an engine with a non-empty log (anti-entropy).
    bool has_data(std::size_t i) const
    {
        bool any = false;
        for_each_engine_index([&]<std::size_t I>() {
            auto const& e = std::get<I>(slots_[i]->engines);
            if constexpr (requires { e.log().empty(); })
                any = any || !e.log().empty();
        });
        return any;
    }

    template <class Ctx>
    void send_ping(Ctx& ctx, probe& p)
    {
        auto it = peers_.find(p.to);
        p.sent = ctx.now();
        ++p.attempts;
        ++stats_.pings_sent;
        topic_ping ping{p.nonce, {}};
        if (it != peers_.end() && ctx.now() - it->second.last_checked >= check_every * s_.probe_interval)
            ping.topics = topics_holding(p.to, it->second.id);
        ctx.send(p.to, ping);
    }

    void forget_if_unlinked(endpoint const& address, std::size_t except)
    {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (i != except && slots_[i] && slots_[i]->links.contains(address))
                return;
        peers_.erase(address);
        verifying_.erase(address);
        if (probe_ && probe_->to == address)
            probe_.reset();
    }

    template <class Ctx>
    void malformed(Ctx& ctx)
    {
        ++stats_.malformed_frames;
        ctx.metrics().increment("meshkit_topic_malformed_frames_total", 1);
    }

    // Routes the topics' queued events: to the topic's engines, to the host's own
    // bookkeeping, then to the node (and through it discovery and the application).
    template <class Ctx>
    void drain(Ctx& ctx)
    {
        if (draining_)
            return; // the outer drain picks up what this hook raised
        draining_ = true;
        while (!pending_.empty()) {
            pending_event pe = std::move(pending_.front());
            pending_.pop_front();
            if (!slots_[pe.slot] || generations_[pe.slot] != pe.generation)
                continue;
            std::visit([&](auto const& e) { route(ctx, pe.slot, e); }, pe.event);
        }
        draining_ = false;
    }

    template <class Ctx, class E>
    void route(Ctx& ctx, std::size_t i, E const& e)
    {
        each_engine(ctx, i, [&](auto& engine, auto& tctx) {
            if constexpr (requires { engine.on_event(tctx, e); })
                engine.on_event(tctx, e);
        });
        if (!slots_[i])
            return;
        topic_id const topic = slots_[i]->topic;
        if constexpr (std::is_same_v<E, link_up>) {
            slots_[i]->links[e.address] = ctx.now();
            auto& p = peers_[e.address];
            if (p.id != e.peer)
                p = peer_state{e.peer, ctx.now(), ctx.now()};
        } else if constexpr (std::is_same_v<E, link_down>) {
            if (slots_[i]->links.erase(e.address) > 0)
                forget_if_unlinked(e.address, slots_.size());
        } else if constexpr (std::is_same_v<E, peers_wanted>) {
            // The topic's own neighbours first among the node's peers: links the host already keeps alive.
            std::size_t offered = 0;
            for (auto const& [address, state] : peers_) {
                if (offered == e.count)
                    break;
                if (!slots_[i]->links.contains(address)) {
                    offer(ctx, i, address);
                    ++offered;
                }
            }
            if (offered < e.count)
                for (endpoint const& c : ctx.discovery().candidates(e.count - offered))
                    offer(ctx, i, c);
        } else if constexpr (std::is_same_v<E, peer_up> || std::is_same_v<E, contact_failed>) {
            ctx.emit(e); // discovery learns what the topic's contacts did
        }
        ctx.emit(topic_event<E>{topic, e});
    }

    topic_host_settings s_;
    std::vector<std::optional<slot_state>> slots_;
    std::vector<std::uint8_t> generations_;
    std::deque<endpoint> contacts_;
    std::map<endpoint, peer_state> peers_;
    std::vector<endpoint> order_;
    std::optional<probe> probe_;
    time_point last_probe_{};
    rejoin_supervisor rejoin_;
    std::map<endpoint, verification> verifying_;
    std::deque<pending_event> pending_;
    bool draining_ = false;
    topic_host_stats stats_;
};

/// Gossip topics: HyParView membership and Plumtree broadcast in each.
using gossip_topics = topic_host<membership::hyparview, broadcast::plumtree>;

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_TOPIC_HOST_HPP
