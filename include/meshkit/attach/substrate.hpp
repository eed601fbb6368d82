// attach/substrate.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ATTACH_SUBSTRATE_HPP
#define MESHKIT_ATTACH_SUBSTRATE_HPP

#include <meshkit/attach/messages.hpp>
#include <meshkit/attach/rtt_prober.hpp>
#include <meshkit/attach/substrate_view.hpp>
#include <meshkit/broadcast/delivered.hpp>
#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/broadcast/seen_messages.hpp>
#include <meshkit/concepts/clock.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/stream_lifecycle.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>
#include <meshkit/error.hpp>
#include <meshkit/wire/channel.hpp>
#include <meshkit/wire/codec.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace meshkit::attach {

/// The settings of `attach::substrate` (REPRAM's defaults).
struct substrate_config {
    /// Children held at once; a hello beyond it gets `goodbye{full}`. 0 takes none.
    std::size_t max_children = 100;
    /// A child that sends nothing for `max_missed` heartbeats is dropped (REPRAM: 30 s, 3).
    duration heartbeat_interval = std::chrono::seconds(30);
    std::uint32_t max_missed = 3;
    /// Substrates a goodbye names (REPRAM: 5), and a welcome carries (itself included; a stream frame, so more fit).
    std::size_t max_alternatives = 5;
    std::size_t welcome_substrates = 16;
    /// How often it tells mesh neighbours its record, and what it knows of others.
    duration announce_interval = std::chrono::seconds(10);
    /// Records per announcement, at most: its own, then others it knows in turn.
    std::size_t announce_records = 5;
    /** Bytes of records per announcement, at most: what keeps one within a secure datagram.

        Five typical records fit; of the largest signed ones (IPv6
        addresses, a 64-byte enclave: 260 bytes) four do, 1,087 bytes in
        all, within the 1,175 a secure session leaves of 1,200.
    */
    std::size_t announce_bytes = 1100;
    /// How often it probes one substrate it knows (`at_probe`), to keep its Vivaldi coordinate true.
    duration probe_interval = std::chrono::seconds(5);
    /// Substrates remembered, each forgotten after `3 × announce_interval` without news.
    std::size_t max_known_substrates = 64;
    /** The log of recent publications a re-attaching child catches up from: the newest
        `log_entries`, at most `log_bytes` of data, none older than `log_window`. */
    std::size_t log_entries = 4096;
    std::size_t log_bytes = std::size_t{4} << 20;
    duration log_window = std::chrono::minutes(5);
    /// Added to a child's `catch_up_ms`: publications in flight while it moved.
    duration catch_up_margin = std::chrono::seconds(2);
    /// Publication ids remembered to deliver each once (`broadcast::seen_messages`).
    std::size_t seen_bytes = std::size_t{1} << 20;
    duration seen_window = std::chrono::minutes(10);
};

/// What `attach::substrate` counted.
struct substrate_stats {
    std::uint64_t welcomed = 0;
    std::uint64_t refused_full = 0;
    std::uint64_t refused_malformed = 0;
    std::uint64_t children_timed_out = 0;
    std::uint64_t children_left = 0;
    /// Heartbeats or publications from a stream that is no child: ignored.
    std::uint64_t not_a_child = 0;
    /// Substrate records whose signature did not verify (secure nodes): dropped.
    std::uint64_t forged_records = 0;
    /// Children's publications taken into the mesh, and acknowledged.
    std::uint64_t publications_relayed = 0;
    /// A child's resend of a publication taken already: acknowledged again, not relayed twice.
    std::uint64_t publications_repeated = 0;
    /// Children's publications the mesh refused for now (its queues full): not acknowledged, so resent.
    std::uint64_t publications_refused = 0;
    /// Oversized publications from a child: dropped and not acknowledged.
    std::uint64_t publications_oversized = 0;
    /// Publications delivered here (the application's `published`), and sent on to children.
    std::uint64_t delivered = 0;
    std::uint64_t forwarded_to_children = 0;
    /// A publication seen before (a second path, a resend): not delivered again.
    std::uint64_t duplicates = 0;
    /// Broadcasts whose payload is no publication (another application's): ignored.
    std::uint64_t foreign_broadcasts = 0;
    /// Publications resent to re-attaching children, and catch-ups that reached past the log.
    std::uint64_t caught_up = 0;
    std::uint64_t catch_up_incomplete = 0;
    /// `at_probe`s answered (from transients choosing, and substrates measuring).
    std::uint64_t probes_answered = 0;
};

/** The substrate side of REPRAM's attachments: takes transient children up to a cap, and says where else to go.

    An engine for a node whose hierarchy role is `substrate`, beside the
    mesh's own engines (HyParView and Plumtree). Each transient opens a
    stream to the node's stream address and says `at_hello`; the substrate
    answers `at_welcome`, with what it knows of the mesh's substrates, or,
    when it holds `max_children`, `at_goodbye{full}` naming up to five
    others, same enclave first. Children ping; one silent for
    `max_missed` heartbeats, or whose stream ends, is dropped.
    `shutdown(ctx)` tells every child to go (`goodbye{shutdown}`) with its
    alternatives, so they move at once instead of waiting out a heartbeat
    timeout.

    Substrates learn each other from their mesh neighbours: each sends its
    record, and a few it knows, in an `at_announce` datagram to every
    neighbour when the link comes up and every `announce_interval`.

    Raises `link_up` and `link_down` with `link_method::attached` for each
    child (broadcast engines ignore attached links: children are served by
    this engine, not the mesh).
*/
class substrate {
public:
    using messages = attach_messages;
    using events = type_list<link_up, link_down, published>;
    using config_type = substrate_config;

    substrate() = default;
    explicit substrate(substrate_config cfg)
        : cfg_(cfg), view_(cfg.max_known_substrates, 3 * cfg.announce_interval),
          prober_(cfg.max_known_substrates), seen_(cfg.seen_bytes, cfg.seen_window)
    {
    }

    /// One attached transient.
    struct child {
        node_id id;
        /// The stream it attached on, as this node sees it.
        endpoint address;
        std::string enclave;
        time_point last_heard{};
        /// Its coordinate when it said hello: alternatives are named nearest to it first.
        coordinates::network_coordinate coordinate;
    };

    template <class Ctx>
    void start(Ctx& ctx)
    {
        if (next_seq_ == 0)
            next_seq_ = broadcast::first_sequence(ctx);
        ++version_;
        (void)ctx.set_timer(tick_period(), tick_tag);
    }

    /** Publishes `data` from this node: into the mesh, to its children, and to its own application.

        @return `errc::message_too_large` above `max_publication_size`, or
        the broadcast engine's error (`errc::queue_full`: retry after
        `ready_to_publish`); nothing was published then.
    */
    template <class Ctx>
    std::error_code publish(Ctx& ctx, std::span<std::byte const> data)
    {
        if (data.size() > max_publication_size)
            return errc::message_too_large;
        publication p{ctx.self(), next_seq_, {data.begin(), data.end()}};
        if (std::error_code ec = into_mesh(ctx, p))
            return ec;
        ++next_seq_;
        deliver_here(ctx, std::move(p), std::nullopt);
        return {};
    }

    /** Tells every child to move now (`goodbye{shutdown}` with alternatives) and forgets them.

        Call before stopping the node, as REPRAM's `stop()` does: children
        move in one round trip instead of a heartbeat timeout.
    */
    template <class Ctx>
    void shutdown(Ctx& ctx)
    {
        shutting_down_ = true;
        for (child const& c : children_) {
            ctx.send(c.address,
                     at_goodbye{goodbye_reason::shutdown, view_.best(c.enclave, cfg_.max_alternatives, {}, c.coordinate)});
            ctx.close_stream(c.address); // after the goodbye: what was sent goes out first
            ctx.emit(link_down{c.id, c.address});
        }
        children_.clear();
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_hello const& h)
    {
        node_id const id = in.header.sender;
        if (h.enclave.size() > max_enclave_length) {
            ++stats_.refused_malformed;
            ctx.send(in.from, at_goodbye{goodbye_reason::refused, {}});
            ctx.close_stream(in.from);
            return;
        }
        auto it = find_child(id);
        if (it == children_.end() && (shutting_down_ || children_.size() >= cfg_.max_children)) {
            ++stats_.refused_full;
            ctx.send(in.from, at_goodbye{shutting_down_ ? goodbye_reason::shutdown : goodbye_reason::full,
                                         view_.best(h.enclave, cfg_.max_alternatives, id, h.coordinate)});
            // A refused hello leaves no state here, not even its stream.
            ctx.close_stream(in.from);
            return;
        }
        if (it == children_.end()) {
            children_.push_back(child{id, in.from, h.enclave, ctx.now(), h.coordinate});
            it = children_.end() - 1;
            ++version_;
        } else {
            it->address = in.from; // it came back on a new stream
            it->enclave = h.enclave;
            it->last_heard = ctx.now();
            it->coordinate = h.coordinate;
        }
        ++stats_.welcomed;
        at_welcome w;
        w.substrates.push_back(self_record(ctx));
        for (auto& r : view_.best(h.enclave, cfg_.welcome_substrates - 1, id, h.coordinate))
            w.substrates.push_back(std::move(r));
        w.children = static_cast<std::uint32_t>(children_.size());
        ctx.send(in.from, w);
        ctx.emit(link_up{id, in.from, link_method::attached});
        if (h.catch_up_ms != 0)
            catch_up(ctx, *it, std::chrono::milliseconds(h.catch_up_ms) + cfg_.catch_up_margin);
    }

    /// A child publishes: into the mesh, then acknowledged; a repeat is acknowledged again, never relayed twice.
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_publish const& m)
    {
        auto it = find_child(in.header.sender);
        if (it == children_.end() || it->address != in.from) {
            ++stats_.not_a_child;
            return;
        }
        it->last_heard = ctx.now();
        if (m.data.size() > max_publication_size) {
            ++stats_.publications_oversized;
            return;
        }
        broadcast::message_key const key{in.header.sender, m.seq};
        if (seen_.contains(key)) {
            ++stats_.publications_repeated;
            ctx.send(in.from, at_ack{m.seq});
            return;
        }
        publication p{in.header.sender, m.seq, m.data};
        if (into_mesh(ctx, p)) {
            ++stats_.publications_refused;
            return; // unacknowledged: the child resends it
        }
        ++stats_.publications_relayed;
        endpoint const from = in.from;
        deliver_here(ctx, std::move(p), from);
        ctx.send(from, at_ack{m.seq});
    }

    /// A broadcast reached this node: a publication is delivered here and sent on to every child.
    template <class Ctx>
    void on_event(Ctx& ctx, broadcast::delivered const& d)
    {
        auto p = wire::decode<publication>(d.payload);
        if (!p) {
            ++stats_.foreign_broadcasts;
            return;
        }
        deliver_here(ctx, std::move(*p), std::nullopt);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_ping const& p)
    {
        auto it = find_child(in.header.sender);
        if (it == children_.end() || it->address != in.from) {
            ++stats_.not_a_child;
            return;
        }
        it->last_heard = ctx.now();
        ctx.send(in.from, at_pong{p.nonce, prober_.coordinate()});
    }

    /// Anyone may measure its RTT to this substrate: the answer is as long as the probe.
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_probe const& p)
    {
        ++stats_.probes_answered;
        std::size_t const free = children_.size() < cfg_.max_children ? cfg_.max_children - children_.size() : 0;
        ctx.send(in.from, at_probe_reply{p.nonce, prober_.coordinate(),
                                         static_cast<std::uint32_t>(std::min<std::size_t>(free, UINT32_MAX))});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_probe_reply const& r)
    {
        (void)prober_.on_reply(ctx, in, r);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const&, at_announce const& a)
    {
        for (auto const& r : a.records)
            if (r.id != ctx.self())
                view_.merge(r, ctx.now(), [&](substrate_record const& x) {
                    return is_authentic(ctx, x, stats_.forged_records);
                });
    }

    // The other role's messages: this engine never acts on them.
    template <class Ctx, class M>
    void on_message(Ctx&, inbound const&, M const&)
    {
    }

    /// A mesh neighbour (not a child, not a relayed link): tell it about the substrates.
    template <class Ctx>
    void on_event(Ctx& ctx, link_up const& e)
    {
        if (e.method == link_method::attached || e.method == link_method::relayed)
            return;
        if (std::find(neighbors_.begin(), neighbors_.end(), e.address) == neighbors_.end())
            neighbors_.push_back(e.address);
        announce_to(ctx, e.address);
    }

    template <class Ctx>
    void on_event(Ctx&, link_down const& e)
    {
        std::erase(neighbors_, e.address);
    }

    /// A child's stream ended: it left, or the path failed.
    template <class Ctx>
    void on_event(Ctx& ctx, stream_ended const& e)
    {
        auto it = std::find_if(children_.begin(), children_.end(), [&](child const& c) { return c.address == e.peer; });
        if (it == children_.end())
            return;
        ++stats_.children_left;
        ctx.emit(link_down{it->id, it->address});
        children_.erase(it);
        ++version_;
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        if (tag != tick_tag)
            return;
        (void)ctx.set_timer(tick_period(), tick_tag);
        time_point const now = ctx.now();
        duration const silence = cfg_.heartbeat_interval * static_cast<std::int64_t>(cfg_.max_missed);
        for (auto it = children_.begin(); it != children_.end();) {
            if (now - it->last_heard > silence) {
                ++stats_.children_timed_out;
                ctx.close_stream(it->address);
                ctx.emit(link_down{it->id, it->address});
                it = children_.erase(it);
                ++version_;
            } else {
                ++it;
            }
        }
        view_.expire(now);
        if (now - last_probe_ >= cfg_.probe_interval && view_.size() != 0) {
            last_probe_ = now;
            // One substrate at random: over time every pair is measured, and each coordinate settles.
            auto const all = view_.best(enclave_of(ctx), view_.size());
            auto const& target = all[ctx.rng()() % all.size()];
            if (!target.probe_address.is_unspecified())
                prober_.probe(ctx, target.id, target.probe_address);
        }
        if (now - last_announce_ >= cfg_.announce_interval || last_announce_ == time_point{}) {
            last_announce_ = now;
            ++version_;
            for (endpoint const& n : neighbors_)
                announce_to(ctx, n);
        }
    }

    [[nodiscard]] std::vector<child> const& children() const noexcept { return children_; }
    [[nodiscard]] substrate_view const& known_substrates() const noexcept { return view_; }
    [[nodiscard]] substrate_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] substrate_config const& config() const noexcept { return cfg_; }
    /// Its RTT measurements to other substrates and its Vivaldi coordinate.
    [[nodiscard]] rtt_prober const& prober() const noexcept { return prober_; }

private:
    static constexpr std::uint64_t tick_tag = 1;

    duration tick_period() const
    {
        return std::max<duration>(std::min(cfg_.heartbeat_interval, cfg_.announce_interval) / 2,
                                  std::chrono::milliseconds(100));
    }

    std::vector<child>::iterator find_child(node_id const& id)
    {
        return std::find_if(children_.begin(), children_.end(), [&](child const& c) { return c.id == id; });
    }

    /// Our record as it goes out, signed on a secure node.
    template <class Ctx>
    substrate_record self_record(Ctx& ctx) const
    {
        substrate_record r{ctx.self(),
                           ctx.local_endpoint(wire::channel::stream),
                           ctx.local_endpoint(wire::channel::datagram),
                           std::string(enclave_of(ctx)),
                           static_cast<std::uint32_t>(children_.size()),
                           static_cast<std::uint32_t>(cfg_.max_children),
                           ctx.incarnation() << 32 | version_,
                           prober_.coordinate(),
                           {}};
        r.signature = ctx.sign(signing_bytes(r));
        return r;
    }

    template <class Ctx>
    std::error_code into_mesh(Ctx& ctx, publication const& p)
    {
        tx_.clear();
        wire::encode(p, tx_);
        auto r = ctx.broadcast(tx_);
        return r ? std::error_code{} : r.error();
    }

    /// Delivers `p` here once: to the application, the log, and every child but `skip` (its publisher).
    template <class Ctx>
    void deliver_here(Ctx& ctx, publication p, std::optional<endpoint> skip)
    {
        if (seen_.insert(broadcast::message_key{p.origin, p.seq}, ctx.now()) != broadcast::seen_verdict::fresh) {
            ++stats_.duplicates;
            return;
        }
        ++stats_.delivered;
        for (child const& c : children_)
            if (!skip || c.address != *skip) {
                ctx.send(c.address, at_deliver{p.origin, p.seq, p.data});
                ++stats_.forwarded_to_children;
            }
        remember(ctx.now(), p);
        ctx.emit(published{p.origin, p.seq, std::move(p.data)});
    }

    void remember(time_point now, publication const& p)
    {
        log_.push_back(logged{p, now});
        log_bytes_ += p.data.size();
        while (!log_.empty() && (log_.size() > cfg_.log_entries || log_bytes_ > cfg_.log_bytes ||
                                 now - log_.front().received > cfg_.log_window)) {
            trimmed_newest_ = log_.front().received;
            log_bytes_ -= log_.front().p.data.size();
            log_.pop_front();
        }
    }

    /// Resends to `c` what it may have missed: logged within `window`, not its own.
    template <class Ctx>
    void catch_up(Ctx& ctx, child const& c, duration window)
    {
        time_point const since = ctx.now() - window;
        if (trimmed_newest_ && *trimmed_newest_ >= since)
            ++stats_.catch_up_incomplete; // the log no longer reaches back that far
        for (logged const& l : log_)
            if (l.received >= since && l.p.origin != c.id) {
                ctx.send(c.address, at_deliver{l.p.origin, l.p.seq, l.p.data});
                ++stats_.caught_up;
            }
    }

    template <class Ctx>
    void announce_to(Ctx& ctx, endpoint const& to)
    {
        // Itself, then the next few of every record it knows in turn: each substrate's record reaches every
        // other through relays, whatever its enclave (relaying the best for its own enclave would not).
        at_announce a;
        a.records.push_back(self_record(ctx));
        std::vector<std::byte> sized;
        wire::encode(a.records.back(), sized);
        auto const all = view_.all();
        std::size_t k = 0;
        for (; k + 1 < cfg_.announce_records && k < all.size(); ++k) {
            auto const& next = all[(announce_cursor_ + k) % all.size()];
            wire::encode(next, sized);
            if (sized.size() > cfg_.announce_bytes)
                break; // the next announcement starts with it
            a.records.push_back(next);
        }
        announce_cursor_ += k + 1 < cfg_.announce_records && k < all.size() ? k : cfg_.announce_records - 1;
        ctx.send(to, a);
    }

    substrate_config cfg_{};
    substrate_view view_{cfg_.max_known_substrates, 3 * cfg_.announce_interval};
    std::vector<child> children_;
    std::vector<endpoint> neighbors_;
    substrate_stats stats_;
    std::uint64_t version_ = 0;
    time_point last_announce_{};
    time_point last_probe_{};
    std::size_t announce_cursor_ = 0;
    rtt_prober prober_{cfg_.max_known_substrates};
    bool shutting_down_ = false;

    struct logged {
        publication p;
        time_point received;
    };
    broadcast::seen_messages seen_{cfg_.seen_bytes, cfg_.seen_window};
    std::deque<logged> log_;
    std::size_t log_bytes_ = 0;
    std::optional<time_point> trimmed_newest_;
    std::uint64_t next_seq_ = 0;
    std::vector<std::byte> tx_;
};

} // namespace meshkit::attach

#endif // MESHKIT_ATTACH_SUBSTRATE_HPP
