// topic/rejoin_supervisor.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_REJOIN_SUPERVISOR_HPP
#define MESHKIT_TOPIC_REJOIN_SUPERVISOR_HPP

#include <meshkit/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace meshkit::topic {

/// Why a node rejoins its topics.
enum class rejoin_trigger : std::uint8_t {
    /// The operating system reported a link going up or down, or an address added or removed (rtnetlink).
    network_change,
    /// The machine slept: the boot-time clock moved ahead of the monotonic one.
    wake,
    /// A topic has something to share and fewer live neighbours than it should.
    isolation,
};

/// "network-change", "wake" or "isolation".
[[nodiscard]] constexpr char const* to_string(rejoin_trigger t) noexcept
{
    switch (t) {
    case rejoin_trigger::network_change: return "network-change";
    case rejoin_trigger::wake: return "wake";
    case rejoin_trigger::isolation: return "isolation";
    }
    return "unknown";
}

/** A rejoin began: the application's `event` (not wrapped in `topic_event`), one per rejoin, whatever the number of topics.

    `why` is the first trigger of the first topic served. `contacts` counts
    the requests sent: neighbour requests to cached peers and joins
    through bootstrap nodes, over every topic; `verified` the peers pinged
    to learn whether they still hold this node.
*/
struct rejoining {
    rejoin_trigger why = rejoin_trigger::isolation;
    std::vector<std::uint64_t> topics;
    std::size_t contacts = 0;
    std::size_t verified = 0;
};

/// The rejoin supervisor's run-time settings.
struct rejoin_settings {
    /// False: triggers are counted and nothing else happens.
    bool enabled = true;
    /// A topic with data to share and fewer live neighbours than this is suspected isolated.
    std::size_t min_neighbours = 1;
    /// At most one rejoin (of every topic due together) per window.
    duration global_window = std::chrono::seconds(1);
    /// A topic is rejoined at most once per window.
    duration topic_window = std::chrono::seconds(2);
    /// How long after a rejoin its outcome is judged: does the topic have `min_neighbours` again?
    duration settle = std::chrono::seconds(3);
    /// The wait before retrying a rejoin that failed, doubled at each failure up to `backoff_max`.
    duration backoff_initial = std::chrono::seconds(1);
    duration backoff_max = std::chrono::seconds(60);
    /// Addresses one rejoin contacts per topic: cached peers first, then bootstrap nodes.
    std::size_t contacts_per_topic = 4;
};

/// What the supervisor counted.
struct rejoin_stats {
    /// Triggers received, by `rejoin_trigger`.
    std::array<std::uint64_t, 3> triggers{};
    /// Triggers that found their topic already due or being rejoined: one rejoin serves them all.
    std::uint64_t deduplicated = 0;
    /// Rejoins run: each serves every topic due at that moment.
    std::uint64_t rejoins = 0;
    /// Topics rejoined, summed over the rejoins.
    std::uint64_t topics_rejoined = 0;
    /// Rejoins judged after `settle`: the topic had its neighbours back, or not.
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;
};

/** When to rejoin which topic: triggers in, batches of topics out, throttled, deduplicated, backed off. Sans-IO.

    One per node (`topic_host` owns it), serving every topic by its slot.
    The host reports triggers (`trigger`), asks what is due (`due`) and
    rejoins those topics together, and reports each rejoin's outcome once
    it has settled (`settled`). The supervisor keeps the rules:

    - **Deduplicated.** A trigger for a topic already due, or whose rejoin
      is settling, adds nothing; a network change or a wake fires every
      topic at once and they are served by one rejoin. Only news (a
      network change, a wake) that comes while a rejoin settles, and more
      than `global_window` after it began, supersedes that rejoin: the
      topic is due again when its window allows.
    - **Throttled.** At most one rejoin per `global_window`, and a topic
      at most once per `topic_window`.
    - **Backed off.** A rejoin that did not bring `min_neighbours` back is
      retried after `backoff_initial`, doubled at each failure up to
      `backoff_max` (lattice's 1 s x2 up to 60 s), and reset by a success.
      An isolation suspicion waits out the backoff; a network change or a
      wake is news, and resets it.

    Its clock is whatever the host passes in; in the simulator triggers
    are injected, on a real node they come from `udp::network_monitor`
    and `udp::sleep_monitor`.
*/
class rejoin_supervisor {
public:
    explicit rejoin_supervisor(rejoin_settings s = {}, std::size_t slots = 0) : s_(s), slots_(slots)
    {
        if (s_.global_window < duration{} || s_.topic_window < duration{} || s_.settle <= duration{} ||
            s_.backoff_initial <= duration{} || s_.backoff_max < s_.backoff_initial)
            throw std::invalid_argument("meshkit: rejoin_settings: windows must not be negative, settle and "
                                        "backoff_initial must be positive, backoff_max at least backoff_initial");
    }

    /// Reports `why` for the topic in `slot`.
    void trigger(time_point now, rejoin_trigger why, std::size_t slot)
    {
        ++stats_.triggers[static_cast<std::size_t>(why)];
        if (slot >= slots_.size())
            return;
        slot_state& t = slots_[slot];
        time_point const window_ends = t.last ? *t.last + s_.topic_window : now;
        if (why != rejoin_trigger::isolation) {
            t.backoff = {}; // news from outside: whatever failed before may work now
            t.not_before = std::max(now, window_ends);
        } else {
            t.not_before = std::max(t.not_before, window_ends); // suspicion waits out the backoff too
        }
        bool const news = why != rejoin_trigger::isolation;
        // News that comes while a rejoin settles, but not in the burst that started it (within
        // `global_window`), supersedes it: the network changed after that rejoin began, so its outcome says
        // little. It is not judged; the topic is due again as soon as its window allows.
        if (news && t.settle_at && !t.due && now - *t.last >= s_.global_window)
            t.settle_at.reset();
        if (t.due || t.settle_at) {
            ++stats_.deduplicated;
            if (t.due && news)
                t.why = why; // news outranks suspicion as the reason reported
            return;
        }
        t.due = true;
        t.why = why;
    }

    /** The topics to rejoin now, together (empty when nothing is due or a window holds them).

        Each returned slot is marked as rejoined at `now`: report its
        outcome with `settled` once `settle_at(slot)` has passed.
    */
    [[nodiscard]] std::vector<std::size_t> due(time_point now)
    {
        std::vector<std::size_t> out;
        if (!s_.enabled || now < next_global_)
            return out;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            slot_state& t = slots_[i];
            if (!t.due || now < t.not_before)
                continue;
            t.due = false;
            t.last = now;
            t.settle_at = now + s_.settle;
            out.push_back(i);
        }
        if (!out.empty()) {
            next_global_ = now + s_.global_window;
            ++stats_.rejoins;
            stats_.topics_rejoined += out.size();
        }
        return out;
    }

    /// The slots whose rejoin has settled by `now`: judge each and call `settled`.
    [[nodiscard]] std::vector<std::size_t> settling(time_point now) const
    {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].settle_at && *slots_[i].settle_at <= now)
                out.push_back(i);
        return out;
    }

    /// The outcome of `slot`'s last rejoin: `healthy` when the topic has `min_neighbours` again.
    void settled(time_point now, std::size_t slot, bool healthy)
    {
        if (slot >= slots_.size() || !slots_[slot].settle_at)
            return;
        slot_state& t = slots_[slot];
        t.settle_at.reset();
        if (healthy) {
            ++stats_.succeeded;
            t.backoff = {};
            return;
        }
        ++stats_.failed;
        t.backoff = t.backoff == duration{} ? s_.backoff_initial : std::min(2 * t.backoff, s_.backoff_max);
        t.not_before = std::max(now + t.backoff, *t.last + s_.topic_window);
        t.due = true;
        t.why = rejoin_trigger::isolation;
    }

    /// Forgets `slot` (its topic was left, or a new one took the slot).
    void reset(std::size_t slot)
    {
        if (slot < slots_.size())
            slots_[slot] = slot_state{};
    }

    /// Why `slot` is due (the first trigger since its last rejoin).
    [[nodiscard]] rejoin_trigger reason(std::size_t slot) const { return slots_.at(slot).why; }
    /// The wait before `slot`'s next retry: zero after a success.
    [[nodiscard]] duration backoff(std::size_t slot) const { return slots_.at(slot).backoff; }
    [[nodiscard]] bool settling(std::size_t slot) const { return slots_.at(slot).settle_at.has_value(); }
    /// True while `slot` waits for its rejoin (a trigger, or a failed rejoin to retry).
    [[nodiscard]] bool pending(std::size_t slot) const { return slots_.at(slot).due; }
    [[nodiscard]] rejoin_stats const& stats() const noexcept { return stats_; }
    [[nodiscard]] rejoin_settings const& settings() const noexcept { return s_; }

private:
    struct slot_state {
        bool due = false;
        rejoin_trigger why = rejoin_trigger::isolation;
        time_point not_before{};
        std::optional<time_point> last; // the last rejoin, if any
        std::optional<time_point> settle_at;
        duration backoff{};
    };

    rejoin_settings s_;
    std::vector<slot_state> slots_;
    time_point next_global_{};
    rejoin_stats stats_;
};

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_REJOIN_SUPERVISOR_HPP
