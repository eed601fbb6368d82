// attach/transient.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ATTACH_TRANSIENT_HPP
#define MESHKIT_ATTACH_TRANSIENT_HPP

#include <meshkit/attach/messages.hpp>
#include <meshkit/attach/rtt_prober.hpp>
#include <meshkit/hierarchy/attachment_option.hpp>
#include <meshkit/attach/substrate_view.hpp>
#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/broadcast/seen_messages.hpp>
#include <meshkit/concepts/clock.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/stream_lifecycle.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <optional>
#include <string>
#include <vector>

namespace meshkit::attach {

/// The settings of `attach::transient`.
struct transient_config {
    /// A hello unanswered this long counts as a failed attempt (REPRAM: 10 s).
    duration attach_timeout = std::chrono::seconds(10);
    /// Pings to the substrate; `max_missed` unanswered in a row end the attachment (REPRAM: 30 s, 3).
    duration heartbeat_interval = std::chrono::seconds(30);
    std::uint32_t max_missed = 3;
    /// After every known substrate failed: wait, doubling from `retry_initial` up to `retry_max`, ± `retry_jitter`.
    duration retry_initial = std::chrono::seconds(1);
    duration retry_max = std::chrono::seconds(60);
    double retry_jitter = 0.2;
    /// Substrates remembered besides the configured ones.
    std::size_t max_known_substrates = 64;
    /** Publications kept until acknowledged (while attached, and while detached): when full, the oldest is
        dropped and counted (`publications_dropped`), never silently. */
    std::size_t max_unacknowledged = 1024;
    /** Publications acknowledged this recently go again through the next attachment after a substrate is
        lost: an acknowledged publication may still have been in the lost substrate's queues. The mesh
        drops the copies (publications are deduplicated by origin and number). */
    duration resend_acknowledged_within = std::chrono::seconds(5);
    /// Publication ids remembered to deliver each once (`broadcast::seen_messages`).
    std::size_t seen_bytes = std::size_t{1} << 20;
    duration seen_window = std::chrono::minutes(10);
    /** How often it weighs a move (one evaluation cycle of the hierarchy policy's rule), and probes
        the `probe_candidates` substrates nearest by coordinate plus two more at random (first those
        never measured). 0: never moves. */
    duration evaluation_interval = std::chrono::seconds(30);
    std::size_t probe_candidates = 3;
    /// After the new substrate's welcome, the old attachment stays open this long (what it had in flight arrives).
    duration migration_overlap = std::chrono::seconds(2);
};

/// The transient gave up on every substrate it knows for now, and retries after `retry_in`.
struct detached {
    duration retry_in{};
    /// Attempts in this round that failed.
    std::size_t failed_attempts = 0;
};

/// What `attach::transient` counted.
struct transient_stats {
    std::uint64_t attempts = 0;
    std::uint64_t welcomed = 0;
    std::uint64_t refused = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t goodbyes = 0;
    /// Attachments lost after a welcome, for any reason (goodbye, stream ended, heartbeats).
    std::uint64_t parents_lost = 0;
    std::uint64_t heartbeat_losses = 0;
    std::uint64_t detached_rounds = 0;
    /// Welcomes, goodbyes, pongs, acks and deliveries from a stream that is neither the attachment nor the attempt: ignored.
    std::uint64_t ignored = 0;
    /// Substrate records in welcomes and goodbyes whose signature did not verify (secure nodes): dropped.
    std::uint64_t forged_records = 0;
    /// Its own publications: sent (first sends and resends), acknowledged, dropped unacknowledged from a full buffer.
    std::uint64_t publications_sent = 0;
    std::uint64_t publications_acknowledged = 0;
    std::uint64_t publications_dropped = 0;
    /// Acknowledged publications sent again after a substrate was lost (`resend_acknowledged_within`).
    std::uint64_t publications_resent_acknowledged = 0;
    /// Publications delivered to the application, and copies it already had (overlap, catch-up).
    std::uint64_t delivered = 0;
    std::uint64_t duplicates = 0;
    /// Moves to a better substrate: begun, completed (welcomed there), failed (the old one kept).
    std::uint64_t migrations_started = 0;
    std::uint64_t migrations = 0;
    std::uint64_t migrations_failed = 0;
    /// Moves back to the substrate it left within 3 evaluation cycles: what hysteresis exists to prevent.
    std::uint64_t flaps = 0;
};

/// The transient moved to a better substrate (the hierarchy policy's rule held).
struct migrated {
    node_id from;
    node_id to;
    /// The RTTs it measured to each when it decided.
    duration from_rtt{};
    duration to_rtt{};
};

/** The transient side of REPRAM's attachments: attached to exactly one substrate, and never without trying.

    An engine for a node whose hierarchy role is `transient`. It does not
    join the mesh: it opens a stream to one substrate, says `at_hello`,
    and on `at_welcome` is attached (`ctx.hierarchy().attach(id)`,
    `link_up{attached}`). It learns more substrates from each welcome and
    goodbye. A goodbye (full, shutdown) sends it to the alternatives at
    once; so does a stream that ends, or `max_missed` heartbeats without a
    pong. When every substrate it knows has failed in one round it raises
    `detached` and tries again after a backoff (1 s, doubling to 60 s,
    with jitter), for as long as it takes: REPRAM's "degraded mode", which
    waited for a restart, has no place here.

    Candidates are tried in the order the hierarchy would rank them: same
    enclave first, then the least loaded. Substrates come from
    `node.join(address)` (a `tcp://` address) and from what substrates say.
*/
class transient {
public:
    using messages = attach_messages;
    using events = type_list<link_up, link_down, detached, published, migrated>;
    using config_type = transient_config;

    transient() = default;
    explicit transient(transient_config cfg)
        : cfg_(cfg), view_(cfg.max_known_substrates, std::chrono::hours(24 * 365)), prober_(cfg.max_known_substrates),
          seen_(cfg.seen_bytes, cfg.seen_window)
    {
    }

    template <class Ctx>
    void start(Ctx& ctx)
    {
        if (next_seq_ == 0)
            next_seq_ = broadcast::first_sequence(ctx);
        running_ = true;
        if (!attached_ && !attempt_)
            try_next(ctx);
    }

    /// A substrate's stream address to try (`node.join`): remembered for every later round.
    template <class Ctx>
    void add_candidate(Ctx& ctx, endpoint const& address)
    {
        if (address.is_unspecified() || std::find(seeds_.begin(), seeds_.end(), address) != seeds_.end())
            return;
        seeds_.push_back(address);
        if (running_ && !attached_ && !attempt_ && !retry_armed_)
            try_next(ctx);
    }

    /** Publishes `data` through the substrate: kept until acknowledged, resent on every new attachment.

        Taken while detached too (buffered). @return
        `errc::message_too_large` above `max_publication_size`; nothing else
        refuses, but a full buffer drops its oldest publication and counts it.
    */
    template <class Ctx>
    std::error_code publish(Ctx& ctx, std::span<std::byte const> data)
    {
        if (data.size() > max_publication_size)
            return errc::message_too_large;
        if (unacked_.size() >= std::max<std::size_t>(1, cfg_.max_unacknowledged)) {
            ++stats_.publications_dropped;
            unacked_.pop_front();
        }
        unacked_.push_back(outgoing{next_seq_++, {data.begin(), data.end()}});
        if (attached_)
            send_publication(ctx, unacked_.back());
        return {};
    }

    /// Publications taken and not yet acknowledged by a substrate.
    [[nodiscard]] std::size_t unacknowledged() const noexcept { return unacked_.size(); }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_ack const& a)
    {
        if (!from_attachment(in.from)) {
            ++stats_.ignored;
            return;
        }
        auto it = std::find_if(unacked_.begin(), unacked_.end(), [&](outgoing const& o) { return o.seq == a.seq; });
        if (it != unacked_.end()) {
            it->last_sent = ctx.now(); // from now on: when it was acknowledged
            if (recently_acked_.size() >= std::max<std::size_t>(1, cfg_.max_unacknowledged))
                recently_acked_.pop_front();
            recently_acked_.push_back(std::move(*it));
            unacked_.erase(it);
            ++stats_.publications_acknowledged;
        }
    }

    /// A publication from the substrate: delivered once, whichever attachment it came on.
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_deliver const& d)
    {
        if (!from_attachment(in.from)) {
            ++stats_.ignored;
            return;
        }
        last_delivery_ = ctx.now();
        if (d.origin == ctx.self() ||
            seen_.insert(broadcast::message_key{d.origin, d.seq}, ctx.now()) != broadcast::seen_verdict::fresh) {
            ++stats_.duplicates;
            return;
        }
        ++stats_.delivered;
        ctx.emit(published{d.origin, d.seq, d.data});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_welcome const& w)
    {
        if (!attempt_ || in.from != attempt_->address) {
            ++stats_.ignored;
            return;
        }
        for (auto const& r : w.substrates)
            view_.merge(r, ctx.now(), [&](substrate_record const& x) {
                return is_authentic(ctx, x, stats_.forged_records);
            });
        ++stats_.welcomed;
        if (attached_) {
            // A move: the old attachment overlaps the new one for a while, then closes.
            ctx.cancel_timer(heartbeat_timer_);
            draining_ = attached_;
            overlap_timer_ = ctx.set_timer(cfg_.migration_overlap, overlap_tag);
        }
        attached_ = attachment{in.header.sender, in.from};
        attempt_.reset();
        ctx.cancel_timer(attempt_timer_);
        tried_.clear();
        failed_in_round_ = 0;
        retry_delay_ = cfg_.retry_initial;
        missed_ = 0;
        ctx.hierarchy().attach(in.header.sender);
        heartbeat_timer_ = ctx.set_timer(cfg_.heartbeat_interval, heartbeat_tag);
        if (!evaluation_armed_ && cfg_.evaluation_interval.count() > 0) {
            evaluation_armed_ = true;
            (void)ctx.set_timer(cfg_.evaluation_interval, evaluation_tag);
        }
        probe_candidates(ctx); // measured by the first evaluation
        ctx.emit(link_up{in.header.sender, in.from, link_method::attached, true});
        // What the last substrate never acknowledged goes through this one; after a lost substrate,
        // so does what it acknowledged last, which may not have left it.
        std::erase_if(recently_acked_,
                      [&](outgoing const& o) { return ctx.now() - o.last_sent > cfg_.resend_acknowledged_within; });
        if (!draining_)
            for (outgoing& o : recently_acked_) {
                ++stats_.publications_resent_acknowledged;
                ctx.send(attached_->address, at_publish{o.seq, o.data});
            }
        recently_acked_.clear();
        for (outgoing& o : unacked_)
            send_publication(ctx, o);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_goodbye const& g)
    {
        bool const from_attempt = attempt_ && in.from == attempt_->address;
        bool const from_parent = attached_ && in.from == attached_->address;
        bool const from_draining = draining_ && in.from == draining_->address;
        if (!from_attempt && !from_parent && !from_draining) {
            ++stats_.ignored;
            return;
        }
        ++stats_.goodbyes;
        view_.forget(in.header.sender);
        prober_.forget(in.header.sender);
        if (from_draining) {
            finish_overlap(ctx); // the old one went during the overlap: the move is complete now
            return;
        }
        // Its alternatives come first in what is left of this round: it knows the mesh now, this node's view may be old.
        preferred_.clear();
        for (auto const& r : g.alternatives) {
            if (view_.merge(r, ctx.now(), [&](substrate_record const& x) {
                    return is_authentic(ctx, x, stats_.forged_records);
                }) || view_.find(r.id))
                preferred_.push_back(r.id);
        }
        if (from_parent)
            lose_parent(ctx);
        else
            fail_attempt(ctx);
    }

    /// A heartbeat's answer: the substrate is alive, and the round trip is a sample like a probe's.
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_pong const& p)
    {
        if (!attached_ || in.from != attached_->address) {
            ++stats_.ignored;
            return;
        }
        missed_ = 0;
        if (p.nonce == nonce_ && ping_sent_) {
            (void)prober_.observe(ctx, attached_->id, p.coordinate, ctx.now() - *ping_sent_);
            ping_sent_.reset();
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_probe_reply const& r)
    {
        auto m = prober_.on_reply(ctx, in, r);
        if (m && m->free_slots == 0)
            view_.forget(m->id); // full: not a candidate until a welcome or goodbye names it again
    }

    // The other role's messages: this engine never acts on them.
    template <class Ctx, class M>
    void on_message(Ctx&, inbound const&, M const&)
    {
    }

    /// The stream to the substrate (or to the one being tried) ended: refused, reset, closed.
    template <class Ctx>
    void on_event(Ctx& ctx, stream_ended const& e)
    {
        if (attached_ && e.peer == attached_->address)
            lose_parent(ctx);
        else if (attempt_ && e.peer == attempt_->address)
            fail_attempt(ctx, true);
        else if (draining_ && e.peer == draining_->address)
            finish_overlap(ctx);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        if (tag == overlap_tag && draining_) {
            finish_overlap(ctx);
        } else if (tag == evaluation_tag) {
            evaluation_armed_ = false;
            if (attached_) {
                evaluation_armed_ = true;
                (void)ctx.set_timer(cfg_.evaluation_interval, evaluation_tag);
                evaluate(ctx);
            }
        } else if (tag == attempt_tag && attempt_) {
            ++stats_.timeouts;
            fail_attempt(ctx, true);
        } else if (tag == retry_tag) {
            retry_armed_ = false;
            if (!attached_ && !attempt_)
                try_next(ctx);
        } else if (tag == heartbeat_tag && attached_) {
            if (missed_ >= cfg_.max_missed) {
                ++stats_.heartbeat_losses;
                lose_parent(ctx);
                return;
            }
            ++missed_;
            ping_sent_ = ctx.now();
            ctx.send(attached_->address, at_ping{++nonce_});
            heartbeat_timer_ = ctx.set_timer(cfg_.heartbeat_interval, heartbeat_tag);
            // A publication the substrate could not take yet (its mesh queues were full) goes again.
            for (outgoing& o : unacked_)
                if (ctx.now() - o.last_sent >= cfg_.heartbeat_interval)
                    send_publication(ctx, o);
        }
    }

    /// The substrate it is attached to, if any: its id and stream address.
    struct attachment {
        node_id id;
        endpoint address;
    };
    [[nodiscard]] std::optional<attachment> const& attached() const noexcept { return attached_; }
    [[nodiscard]] substrate_view const& known_substrates() const noexcept { return view_; }
    [[nodiscard]] transient_stats const& stats() const noexcept { return stats_; }
    /// Its RTT measurements to substrates and its Vivaldi coordinate.
    [[nodiscard]] rtt_prober const& prober() const noexcept { return prober_; }
    /// True while a move overlaps the old attachment with the new one.
    [[nodiscard]] bool migrating() const noexcept { return draining_.has_value() || (attempt_ && attached_); }

private:
    static constexpr std::uint64_t attempt_tag = 1, retry_tag = 2, heartbeat_tag = 3, evaluation_tag = 4,
                                   overlap_tag = 5;

    struct pending {
        endpoint address;
        std::optional<node_id> id;
    };

    /** The next substrate not yet tried in this round: the last goodbye's alternatives, then the others it
        knows, each ranked (same enclave, then nearest), then configured addresses. */
    template <class Ctx>
    std::optional<pending> next_candidate(Ctx& ctx) const
    {
        auto const ranked = view_.best(enclave_of(ctx), view_.size(), std::nullopt, prober_.coordinate());
        for (bool const named : {true, false})
            for (auto const& r : ranked)
                if ((std::find(preferred_.begin(), preferred_.end(), r.id) != preferred_.end()) == named &&
                    std::find(tried_.begin(), tried_.end(), r.address) == tried_.end())
                    return pending{r.address, r.id};
        for (endpoint const& a : seeds_)
            if (std::find(tried_.begin(), tried_.end(), a) == tried_.end())
                return pending{a, std::nullopt};
        return std::nullopt;
    }

    template <class Ctx>
    void try_next(Ctx& ctx)
    {
        if (!running_)
            return;
        if (seeds_.empty() && view_.size() == 0)
            return; // nothing to try yet: add_candidate starts the first round
        auto next = next_candidate(ctx);
        if (!next) {
            // Every substrate failed this round: say so, and try them all again later.
            duration const wait = jittered(ctx, retry_delay_);
            ++stats_.detached_rounds;
            ctx.emit(detached{wait, failed_in_round_});
            retry_delay_ = std::min(retry_delay_ * 2, cfg_.retry_max);
            tried_.clear();
            failed_in_round_ = 0;
            retry_armed_ = true;
            (void)ctx.set_timer(wait, retry_tag);
            return;
        }
        tried_.push_back(next->address);
        ++stats_.attempts;
        attempt_ = next;
        say_hello(ctx);
    }

    template <class Ctx>
    void say_hello(Ctx& ctx)
    {
        ctx.send(attempt_->address, at_hello{std::string(enclave_of(ctx)), 0, catch_up_age(ctx), prober_.coordinate()});
        attempt_timer_ = ctx.set_timer(attempt_timeout(ctx), attempt_tag);
    }

    /** How long a hello may go unanswered: `attach_timeout`, or less when the RTT to the substrate is known.

        A stream's connect and the hello take two round trips; with the RTT
        measured or estimated from coordinates the wait is 4 RTTs + 750 ms,
        between 1 s and `attach_timeout` (ant-quic's stage budgets have this
        shape), so a dead alternative costs about a second, not ten.
    */
    template <class Ctx>
    duration attempt_timeout(Ctx& ctx) const
    {
        if (!attempt_->id)
            return cfg_.attach_timeout;
        std::optional<duration> rtt;
        if (auto m = prober_.measured(*attempt_->id, ctx.now(), 3 * cfg_.evaluation_interval))
            rtt = m->rtt;
        else if (auto r = view_.find(*attempt_->id);
                 r && r->coordinate.is_plausible() && r->coordinate.error < 1.5f && prober_.coordinate().error < 1.5f)
            rtt = prober_.coordinate().estimate_rtt(r->coordinate);
        if (!rtt)
            return cfg_.attach_timeout;
        return std::clamp<duration>(4 * *rtt + std::chrono::milliseconds(750), std::min<duration>(std::chrono::seconds(1), cfg_.attach_timeout),
                                    cfg_.attach_timeout);
    }

    /// Whether `from` is an attachment that may deliver and acknowledge: the current one, or the one a move is leaving.
    bool from_attachment(endpoint const& from) const
    {
        return (attached_ && from == attached_->address) || (draining_ && from == draining_->address);
    }

    /// Probes the nearest few substrates by coordinate (same enclave first, never full) and two more at random.
    template <class Ctx>
    void probe_candidates(Ctx& ctx)
    {
        if (cfg_.evaluation_interval.count() <= 0)
            return;
        auto const parent = attached_ ? std::optional<node_id>(attached_->id) : std::nullopt;
        auto ranked = view_.best(enclave_of(ctx), view_.size(), parent, prober_.coordinate());
        std::erase_if(ranked, [](substrate_record const& r) {
            return r.probe_address.is_unspecified() || r.max_children == 0 || r.children >= r.max_children;
        });
        std::size_t const nearest = std::min(cfg_.probe_candidates, ranked.size());
        for (std::size_t i = 0; i < nearest; ++i)
            prober_.probe(ctx, ranked[i].id, ranked[i].probe_address);
        // Two outside the nearest, at random, those never measured first: what the coordinate misjudges gets
        // measured too, and the coordinate learns.
        std::vector<substrate_record const*> rest;
        for (std::size_t i = nearest; i < ranked.size(); ++i)
            rest.push_back(&ranked[i]);
        auto const measured_from = std::stable_partition(rest.begin(), rest.end(), [&](substrate_record const* r) {
            return !prober_.measured(r->id, ctx.now(), duration::max());
        });
        auto unmeasured = static_cast<std::size_t>(measured_from - rest.begin());
        for (std::size_t k = 0; k < 2 && !rest.empty(); ++k) {
            std::size_t const pool = unmeasured > 0 ? unmeasured : rest.size();
            auto const pick = rest.begin() + static_cast<std::ptrdiff_t>(ctx.rng()() % pool);
            prober_.probe(ctx, (*pick)->id, (*pick)->probe_address);
            rest.erase(pick);
            unmeasured -= unmeasured > 0 ? 1 : 0;
        }
    }

    /** One evaluation cycle: the hierarchy policy weighs the best measured substrate against the current one.

        Only measured RTTs count (the lowest of the last five samples, none older
        than three cycles); a policy with no `evaluate` never moves.
    */
    template <class Ctx>
    void evaluate(Ctx& ctx)
    {
        ++cycle_;
        if constexpr (requires { ctx.hierarchy().evaluate(std::optional<attachment_option>{},
                                                          std::optional<attachment_option>{}); }) {
            if (!migrating()) {
                duration const max_age = 3 * cfg_.evaluation_interval;
                std::string_view const mine = enclave_of(ctx);
                auto option_for = [&](rtt_prober::measurement const& m) -> std::optional<attachment_option> {
                    auto r = view_.find(m.id);
                    if (!r)
                        return std::nullopt;
                    return attachment_option{m.id, m.rtt, 1, r->enclave == mine, 0};
                };
                std::optional<attachment_option> current;
                if (auto m = prober_.measured(attached_->id, ctx.now(), max_age))
                    current = option_for(*m);
                std::optional<attachment_option> best;
                std::optional<endpoint> best_address;
                for (auto const& m : prober_.fresh(ctx.now(), max_age)) {
                    if (m.id == attached_->id || m.free_slots == 0)
                        continue;
                    auto o = option_for(m);
                    if (!o)
                        continue;
                    if (!best || std::tuple{!o->same_enclave, o->rtt} < std::tuple{!best->same_enclave, best->rtt}) {
                        best = o;
                        best_address = view_.find(m.id)->address;
                    }
                }
                // Unmeasured, the current attachment cannot be weighed: no move this cycle.
                if (current && ctx.hierarchy().evaluate(current, best)) {
                    ++stats_.migrations_started;
                    move_from_rtt_ = current->rtt;
                    move_to_rtt_ = best->rtt;
                    attempt_ = pending{*best_address, best->id};
                    ++stats_.attempts;
                    say_hello(ctx);
                }
            }
        }
        probe_candidates(ctx);
    }

    /// The overlap is over (or the old attachment went): close it; the move is complete.
    template <class Ctx>
    void finish_overlap(Ctx& ctx)
    {
        ctx.cancel_timer(overlap_timer_);
        ctx.close_stream(draining_->address);
        ctx.emit(link_down{draining_->id, draining_->address});
        ++stats_.migrations;
        if (last_move_from_ == attached_->id && cycle_ - last_move_cycle_ <= 3)
            ++stats_.flaps;
        last_move_from_ = draining_->id;
        last_move_cycle_ = cycle_;
        ctx.emit(migrated{draining_->id, attached_->id, move_from_rtt_, move_to_rtt_});
        draining_.reset();
    }

    /// The new attachment failed during the overlap: the old one, still open, is the attachment again.
    template <class Ctx>
    void revert_move(Ctx& ctx)
    {
        ctx.cancel_timer(overlap_timer_);
        ctx.cancel_timer(heartbeat_timer_);
        ++stats_.migrations_failed;
        ctx.close_stream(attached_->address);
        ctx.emit(link_down{attached_->id, attached_->address});
        attached_ = draining_;
        draining_.reset();
        missed_ = 0;
        ctx.hierarchy().attach(attached_->id);
        heartbeat_timer_ = ctx.set_timer(cfg_.heartbeat_interval, heartbeat_tag);
    }

    struct outgoing {
        std::uint64_t seq;
        std::vector<std::byte> data;
        time_point last_sent{};
    };

    template <class Ctx>
    void send_publication(Ctx& ctx, outgoing& o)
    {
        o.last_sent = ctx.now();
        ++stats_.publications_sent;
        ctx.send(attached_->address, at_publish{o.seq, o.data});
    }

    /// How long ago it last received a publication, for the new substrate's catch-up; 0 when never.
    template <class Ctx>
    std::uint32_t catch_up_age(Ctx& ctx) const
    {
        if (!last_delivery_)
            return 0;
        auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.now() - *last_delivery_).count();
        return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 1, 0xffffffff));
    }

    /// The attempt failed; `unreachable` (no answer, or the stream failed): forget the substrate until someone names it again.
    template <class Ctx>
    void fail_attempt(Ctx& ctx, bool unreachable = false)
    {
        ctx.cancel_timer(attempt_timer_);
        ++stats_.refused;
        if (unreachable && attempt_->id) {
            view_.forget(*attempt_->id);
            prober_.forget(*attempt_->id);
        }
        ctx.close_stream(attempt_->address);
        attempt_.reset();
        if (attached_) {
            // A move that did not work out: stay where it is.
            ++stats_.migrations_failed;
            return;
        }
        ++failed_in_round_;
        try_next(ctx);
    }

    template <class Ctx>
    void lose_parent(Ctx& ctx)
    {
        if (draining_) {
            revert_move(ctx);
            return;
        }
        ctx.cancel_timer(heartbeat_timer_);
        ++stats_.parents_lost;
        ctx.close_stream(attached_->address);
        ctx.emit(link_down{attached_->id, attached_->address});
        tried_.push_back(attached_->address); // not the one that just went, in this round
        attached_.reset();
        ctx.hierarchy().detach();
        if (!attempt_)
            try_next(ctx);
    }

    template <class Ctx>
    duration jittered(Ctx& ctx, duration d) const
    {
        double const spread = cfg_.retry_jitter * (2.0 * static_cast<double>(ctx.rng()() % 10001) / 10000.0 - 1.0);
        return std::chrono::duration_cast<duration>(d * (1.0 + spread));
    }

    transient_config cfg_{};
    substrate_view view_{cfg_.max_known_substrates, std::chrono::hours(24 * 365)};
    std::vector<endpoint> seeds_;
    std::vector<endpoint> tried_;
    /// The substrates the last goodbye named: tried before the rest.
    std::vector<node_id> preferred_;
    std::optional<attachment> attached_;
    std::optional<pending> attempt_;
    /// The attachment a move is leaving, open until the overlap ends.
    std::optional<attachment> draining_;
    timer_handle overlap_timer_{};
    rtt_prober prober_{cfg_.max_known_substrates};
    std::optional<time_point> ping_sent_;
    bool evaluation_armed_ = false;
    std::uint64_t cycle_ = 0;
    std::optional<node_id> last_move_from_;
    std::uint64_t last_move_cycle_ = 0;
    duration move_from_rtt_{}, move_to_rtt_{};
    std::size_t failed_in_round_ = 0;
    duration retry_delay_ = cfg_.retry_initial;
    std::uint32_t missed_ = 0;
    std::uint64_t nonce_ = 0;
    timer_handle attempt_timer_{}, heartbeat_timer_{};
    transient_stats stats_;
    bool running_ = false;
    bool retry_armed_ = false;
    broadcast::seen_messages seen_{cfg_.seen_bytes, cfg_.seen_window};
    std::deque<outgoing> unacked_;
    /// Acknowledged within `resend_acknowledged_within` (by time of acknowledgement, oldest first).
    std::deque<outgoing> recently_acked_;
    std::optional<time_point> last_delivery_;
    std::uint64_t next_seq_ = 0;
};

} // namespace meshkit::attach

#endif // MESHKIT_ATTACH_TRANSIENT_HPP
