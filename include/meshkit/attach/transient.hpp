// attach/transient.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ATTACH_TRANSIENT_HPP
#define MESHKIT_ATTACH_TRANSIENT_HPP

#include <meshkit/attach/messages.hpp>
#include <meshkit/attach/substrate_view.hpp>
#include <meshkit/concepts/clock.hpp>
#include <meshkit/endpoint.hpp>
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
    /// Welcomes, goodbyes and pongs from a stream that is neither the attachment nor the attempt: ignored.
    std::uint64_t ignored = 0;
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
    using events = type_list<link_up, link_down, detached>;
    using config_type = transient_config;

    transient() = default;
    explicit transient(transient_config cfg) : cfg_(cfg), view_(cfg.max_known_substrates, std::chrono::hours(24 * 365)) {}

    template <class Ctx>
    void start(Ctx& ctx)
    {
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

    // A transient serves nobody: these are a substrate's.
    template <class Ctx>
    void on_message(Ctx&, inbound const&, at_hello const&)
    {
    }
    template <class Ctx>
    void on_message(Ctx&, inbound const&, at_ping const&)
    {
    }
    template <class Ctx>
    void on_message(Ctx&, inbound const&, at_announce const&)
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

    template <class Ctx>
    std::string const& enclave_of(Ctx& ctx) const
    {
        if constexpr (requires { ctx.hierarchy().config().enclave; })
            return ctx.hierarchy().config().enclave;
        else
            return default_enclave_;
    }

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
        ctx.send(next->address, at_hello{enclave_of(ctx), 0});
        attempt_timer_ = ctx.set_timer(cfg_.attach_timeout, attempt_tag);
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
    std::string default_enclave_ = "default";
};

} // namespace meshkit::attach

#endif // MESHKIT_ATTACH_TRANSIENT_HPP
