// attach/transient.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ATTACH_TRANSIENT_HPP
#define MESHKIT_ATTACH_TRANSIENT_HPP

#include <meshkit/attach/messages.hpp>
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
    /// Publication ids remembered to deliver each once (`broadcast::seen_messages`).
    std::size_t seen_bytes = std::size_t{1} << 20;
    duration seen_window = std::chrono::minutes(10);
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
    /// Its own publications: sent (first sends and resends), acknowledged, dropped unacknowledged from a full buffer.
    std::uint64_t publications_sent = 0;
    std::uint64_t publications_acknowledged = 0;
    std::uint64_t publications_dropped = 0;
    /// Publications delivered to the application, and copies it already had (overlap, catch-up).
    std::uint64_t delivered = 0;
    std::uint64_t duplicates = 0;
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
    using events = type_list<link_up, link_down, detached, published>;
    using config_type = transient_config;

    transient() = default;
    explicit transient(transient_config cfg)
        : cfg_(cfg), view_(cfg.max_known_substrates, std::chrono::hours(24 * 365)), seen_(cfg.seen_bytes, cfg.seen_window)
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
    void on_message(Ctx&, inbound const& in, at_ack const& a)
    {
        if (!attached_ || in.from != attached_->address) {
            ++stats_.ignored;
            return;
        }
        auto it = std::find_if(unacked_.begin(), unacked_.end(), [&](outgoing const& o) { return o.seq == a.seq; });
        if (it != unacked_.end()) {
            unacked_.erase(it);
            ++stats_.publications_acknowledged;
        }
    }

    /// A publication from the substrate: delivered once, whichever attachment it came on.
    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_deliver const& d)
    {
        bool const from_parent = attached_ && in.from == attached_->address;
        if (!from_parent) {
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
            view_.merge(r, ctx.now());
        ++stats_.welcomed;
        attached_ = attachment{in.header.sender, in.from};
        attempt_.reset();
        ctx.cancel_timer(attempt_timer_);
        tried_.clear();
        failed_in_round_ = 0;
        retry_delay_ = cfg_.retry_initial;
        missed_ = 0;
        ctx.hierarchy().attach(in.header.sender);
        heartbeat_timer_ = ctx.set_timer(cfg_.heartbeat_interval, heartbeat_tag);
        ctx.emit(link_up{in.header.sender, in.from, link_method::attached, true});
        // What the last substrate never acknowledged goes through this one.
        for (outgoing& o : unacked_)
            send_publication(ctx, o);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, at_goodbye const& g)
    {
        bool const from_attempt = attempt_ && in.from == attempt_->address;
        bool const from_parent = attached_ && in.from == attached_->address;
        if (!from_attempt && !from_parent) {
            ++stats_.ignored;
            return;
        }
        ++stats_.goodbyes;
        view_.forget(in.header.sender);
        // Its alternatives come first in what is left of this round.
        for (auto const& r : g.alternatives)
            view_.merge(r, ctx.now());
        if (from_parent)
            lose_parent(ctx);
        else
            fail_attempt(ctx);
    }

    template <class Ctx>
    void on_message(Ctx&, inbound const& in, at_pong const&)
    {
        if (!attached_ || in.from != attached_->address) {
            ++stats_.ignored;
            return;
        }
        missed_ = 0;
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
            fail_attempt(ctx);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        if (tag == attempt_tag && attempt_) {
            ++stats_.timeouts;
            fail_attempt(ctx);
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

private:
    static constexpr std::uint64_t attempt_tag = 1, retry_tag = 2, heartbeat_tag = 3;

    struct pending {
        endpoint address;
        std::optional<node_id> id;
    };

    /// The next substrate not yet tried in this round: known ones ranked, then configured addresses.
    template <class Ctx>
    std::optional<pending> next_candidate(Ctx& ctx) const
    {
        for (auto const& r : view_.best(enclave_of(ctx), view_.size()))
            if (std::find(tried_.begin(), tried_.end(), r.address) == tried_.end())
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
        ctx.send(next->address, at_hello{std::string(enclave_of(ctx)), 0, catch_up_age(ctx)});
        attempt_timer_ = ctx.set_timer(cfg_.attach_timeout, attempt_tag);
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

    template <class Ctx>
    void fail_attempt(Ctx& ctx)
    {
        ctx.cancel_timer(attempt_timer_);
        ++failed_in_round_;
        ++stats_.refused;
        ctx.close_stream(attempt_->address);
        attempt_.reset();
        try_next(ctx);
    }

    template <class Ctx>
    void lose_parent(Ctx& ctx)
    {
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
    std::optional<attachment> attached_;
    std::optional<pending> attempt_;
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
    std::optional<time_point> last_delivery_;
    std::uint64_t next_seq_ = 0;
};

} // namespace meshkit::attach

#endif // MESHKIT_ATTACH_TRANSIENT_HPP
