// broadcast/seen_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_SEEN_MESSAGES_HPP
#define MESHKIT_BROADCAST_SEEN_MESSAGES_HPP

#include <meshkit/broadcast/message_key.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <list>
#include <map>

namespace meshkit::broadcast {

/// What `seen_messages::insert` found.
enum class seen_verdict {
    /// Never seen: deliver it.
    fresh,
    /// Seen before: a duplicate.
    duplicate,
    /// Older than the window: it may have been seen and forgotten, so it is refused rather than risk a second delivery.
    too_old,
};

/** Which broadcasts a node has seen, per origin, so that none is delivered twice.

    A broadcast's key is its origin and the origin's sequence number, and an
    origin numbers its broadcasts in order. So instead of one entry per
    message, each origin keeps the **runs** of consecutive numbers seen (an
    in-order stream is a single run, whatever its length) and a **floor**:
    every number at or below it counts as seen. Memory grows with the gaps
    in what arrived, not with the traffic.

    A run that stopped growing leaves after `window` (how long a copy of a
    broadcast can still arrive): the floor rises past it. A copy numbered
    below the floor is refused as `too_old` and counted, never delivered
    again, which is what makes "no broadcast twice" hold whatever the
    bounds forced out. The price is explicit: a first copy later than the
    window is refused too, and counted.

    Bounded in bytes: at most `max_runs` runs over all origins. Past that,
    the oldest run of the origin just written to (or, if it has one run,
    the least recently heard origin) is forgotten early, raising its floor;
    `evicted_early()` counts each. Forgetting a run raises its origin's
    floor, so it can only make late copies be refused, never delivered
    twice. Forgetting a whole origin early (more origins heard within one
    window than the bound holds: forged keys, in practice) is the one case
    where a late copy of its broadcasts could pass again; it is counted
    the same way.

    A number far below the floor (more than 2^40, far more than one life
    of an origin sends) is a restarted origin that drew a lower start: its
    state starts afresh.
*/
class seen_messages {
public:
    /// About what one run costs: its map node, with the origin's share.
    static constexpr std::size_t bytes_per_run = 96;

    explicit seen_messages(std::size_t max_bytes, duration window)
        : max_runs_(max_bytes / bytes_per_run > 0 ? max_bytes / bytes_per_run : 1), window_(window)
    {
    }

    /// Changes how long a stopped run is kept (the engine widens it as it measures its links).
    void set_window(duration w) noexcept { window_ = w; }
    [[nodiscard]] duration window() const noexcept { return window_; }

    /// Records `key`.
    seen_verdict insert(message_key const& key, time_point now)
    {
        auto it = origins_.find(key.origin);
        if (it == origins_.end()) {
            if (lru_.size() >= max_origins())
                evict_origin(lru_.front());
            it = origins_.emplace(key.origin, origin_state{}).first;
            lru_.push_back(key.origin);
            it->second.lru = std::prev(lru_.end());
        } else {
            lru_.splice(lru_.end(), lru_, it->second.lru);
        }
        origin_state& o = it->second;
        o.last_heard = now;
        if (o.has_floor && key.seq <= o.floor) {
            if (o.floor - key.seq <= restart_gap)
                return seen_verdict::too_old;
            runs_ -= o.runs.size(); // a restarted origin
            o.runs.clear();
            o.has_floor = false;
        }
        // The run starting at or before seq.
        auto next = o.runs.upper_bound(key.seq);
        if (next != o.runs.begin()) {
            auto prev = std::prev(next);
            if (key.seq <= prev->second.last)
                return seen_verdict::duplicate;
            if (prev->second.last + 1 == key.seq) {
                prev->second.last = key.seq;
                prev->second.touched = now;
                if (next != o.runs.end() && next->first == key.seq + 1) { // the gap closed: merge
                    prev->second.last = next->second.last;
                    o.runs.erase(next);
                    --runs_;
                }
                return seen_verdict::fresh;
            }
        }
        if (next != o.runs.end() && next->first == key.seq + 1) { // extends the next run downwards
            run const r{next->second.last, now};
            o.runs.erase(next);
            o.runs.emplace(key.seq, r);
            return seen_verdict::fresh;
        }
        o.runs.emplace(key.seq, run{key.seq, now});
        if (++runs_ > max_runs_)
            evict_one(it);
        return seen_verdict::fresh;
    }

    /// Whether `key` counts as seen (including everything below its origin's floor).
    [[nodiscard]] bool contains(message_key const& key) const
    {
        auto it = origins_.find(key.origin);
        if (it == origins_.end())
            return false;
        origin_state const& o = it->second;
        if (o.has_floor && key.seq <= o.floor && o.floor - key.seq <= restart_gap)
            return true;
        auto next = o.runs.upper_bound(key.seq);
        return next != o.runs.begin() && key.seq <= std::prev(next)->second.last;
    }

    /// Forgets runs that stopped growing more than `window` ago (raising floors), and origins silent that long.
    void expire(time_point now)
    {
        for (auto it = origins_.begin(); it != origins_.end();) {
            origin_state& o = it->second;
            // Runs are in number order and an origin numbers in time order:
            // a run can only expire once every run below it could.
            while (!o.runs.empty() && now - o.runs.begin()->second.touched > window_ && o.runs.size() > 1) {
                raise_floor(o, o.runs.begin()->second.last);
                o.runs.erase(o.runs.begin());
                --runs_;
            }
            if (now - o.last_heard > window_) { // nothing of it can still arrive
                runs_ -= o.runs.size();
                lru_.erase(o.lru);
                it = origins_.erase(it);
            } else {
                ++it;
            }
        }
    }

    /// Runs forgotten by the byte bound before their window ended.
    [[nodiscard]] std::uint64_t evicted_early() const noexcept { return evicted_early_; }
    /// Origins tracked.
    [[nodiscard]] std::size_t origins() const noexcept { return origins_.size(); }
    /// Runs held over all origins.
    [[nodiscard]] std::size_t runs() const noexcept { return runs_; }
    /// The memory the table stands for, as `bytes_per_run` per run.
    [[nodiscard]] std::size_t bytes() const noexcept { return runs_ * bytes_per_run; }

private:
    static constexpr std::uint64_t restart_gap = std::uint64_t{1} << 40;

    struct run {
        std::uint64_t last;
        time_point touched;
    };
    struct origin_state {
        bool has_floor = false;
        std::uint64_t floor = 0;
        std::map<std::uint64_t, run> runs; // first number -> run
        time_point last_heard{};
        std::list<node_id>::iterator lru;
    };

    [[nodiscard]] std::size_t max_origins() const noexcept { return max_runs_; }

    static void raise_floor(origin_state& o, std::uint64_t to) noexcept
    {
        if (!o.has_floor || to > o.floor) {
            o.floor = to;
            o.has_floor = true;
        }
    }

    void evict_one(std::map<node_id, origin_state>::iterator written)
    {
        ++evicted_early_;
        origin_state& o = written->second;
        if (o.runs.size() > 1) {
            raise_floor(o, o.runs.begin()->second.last);
            o.runs.erase(o.runs.begin());
            --runs_;
            return;
        }
        // The origin written to holds one run: forget the least recently heard other origin.
        for (node_id const& id : lru_)
            if (!(id == written->first)) {
                evict_origin(id);
                return;
            }
    }

    void evict_origin(node_id const& id)
    {
        auto it = origins_.find(id);
        if (it == origins_.end())
            return;
        ++evicted_early_;
        runs_ -= it->second.runs.size();
        lru_.erase(it->second.lru);
        origins_.erase(it);
    }

    std::size_t max_runs_;
    duration window_;
    std::map<node_id, origin_state> origins_;
    std::list<node_id> lru_; // least recently heard first
    std::size_t runs_ = 0;
    std::uint64_t evicted_early_ = 0;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_SEEN_MESSAGES_HPP
