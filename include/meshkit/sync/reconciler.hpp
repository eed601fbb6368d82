// sync/reconciler.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_RECONCILER_HPP
#define MESHKIT_SYNC_RECONCILER_HPP

#include <meshkit/result.hpp>
#include <meshkit/sync/bound.hpp>
#include <meshkit/sync/item.hpp>
#include <meshkit/sync/item_set.hpp>
#include <meshkit/sync/sync_error.hpp>
#include <meshkit/sync/sync_message.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace meshkit::sync {

/// How a reconciler splits ranges and how large its messages grow.
struct reconcile_settings {
    /** Into how many ranges a differing range is split (negentropy's default: 16). */
    std::size_t buckets = 16;
    /** A range of at most this many items is sent as its ids rather than split further; also the most ids a "you lack" range carries. */
    std::size_t max_ids_per_range = 32;
    /** The largest encoded message this side sends (0: no limit). What does not fit is folded into one
        fingerprint over the rest, settled in later turns. A datagram topic uses about 1,100 bytes. */
    std::size_t max_message_bytes = 0;
    /** The most ranges an incoming message may hold; more is refused (`errc::too_large`). */
    std::size_t max_incoming_ranges = 1 << 16;
    /** The most ids an incoming range may list; more is refused (`errc::too_large`). */
    std::size_t max_incoming_ids = 1 << 12;
};

/// What answering one message produced.
struct reconcile_step {
    /// The answer; no ranges means the sides are reconciled and nothing is sent.
    sync_message reply;
    /// Ids the peer holds and this side lacks (in scope): ask the peer for them.
    std::vector<item_id> need;

    [[nodiscard]] bool finished() const noexcept { return reply.ranges.empty(); }
};

/** Range-based set reconciliation over an `item_set`: after a few turns, each side knows exactly which ids it lacks.

    Sans-IO and stateless between turns (as negentropy's): a turn reads the
    set as it is and one incoming message, and produces the answer, so a
    session needs no memory beyond "the last message", and a peer cannot
    make this side hold state. Both sides run the same code; either may
    start (`initiate`).

    A turn walks the incoming ranges: equal fingerprints are settled;
    differing ones are split into `buckets` ranges with their own
    fingerprints, or sent as an id list once `max_ids_per_range` or fewer
    items remain. An id list lets the receiver see exactly what differs:
    it records the ids it lacks (`reconcile_step::need`) and answers with
    the ids the sender lacks (`you_lack`), which the sender records in
    turn. Differences are found in O(log n) turns and O(d log n) bytes for
    d differences among n items. Payloads are not part of it: a side asks
    for what it needs (the engine's want) and gets it from the peer.

    Scope: items from the message's floor on. A side whose own set is full
    (`item_set::horizon`) and starts higher answers a lower floor with a
    fresh start at its horizon, so neither asks for what the other will
    not keep.
*/
class reconciler {
public:
    explicit reconciler(item_set const& set, reconcile_settings settings = {})
        : set_(&set)
        , s_(settings)
    {
        if (s_.buckets < 2)
            throw std::invalid_argument("meshkit: sync::reconcile_settings::buckets must be at least 2");
        if (s_.max_ids_per_range < 1)
            throw std::invalid_argument("meshkit: sync::reconcile_settings::max_ids_per_range must be at least 1");
        if (s_.max_message_bytes != 0 && s_.max_message_bytes < minimum_message_bytes(s_))
            throw std::invalid_argument("meshkit: sync::reconcile_settings::max_message_bytes is too small for its buckets and id lists");
    }

    /** The smallest `max_message_bytes` that always makes progress with these buckets and id lists. */
    [[nodiscard]] static std::size_t minimum_message_bytes(reconcile_settings const& s) noexcept
    {
        std::size_t const split = s.buckets * largest_fingerprint_range;
        std::size_t const ids = largest_bound + 2 + varint_size(s.max_ids_per_range * 32) + s.max_ids_per_range * 32;
        return message_header + std::max(split, ids) + largest_fingerprint_range;
    }

    /** The first message of a session: the whole scope from order `floor` on (raised to this side's horizon). */
    [[nodiscard]] sync_message initiate(std::uint64_t floor = 0) const
    {
        floor = std::max(floor, set_->horizon());
        builder out{*this, floor};
        bound const lower = bound::at(floor);
        out.split(bound::infinite(), set_->lower_bound(lower), set_->size());
        return std::move(out).finish();
    }

    /** Answers `in`.

        @return the reply and the ids this side lacks, or an `errc` for a
        message that breaks the format (nothing is recorded then).
    */
    [[nodiscard]] result<reconcile_step> respond(sync_message const& in) const
    {
        if (auto ec = validate(in))
            return result<reconcile_step>(boost::system::in_place_error, ec);
        reconcile_step step;
        std::uint64_t const horizon = set_->horizon();
        if (horizon > in.floor) {
            // The peer's scope reaches below what this side keeps: start over from here.
            step.reply = initiate(horizon);
            return step;
        }
        builder out{*this, in.floor};
        bound lower = bound::at(in.floor);
        for (auto const& r : in.ranges) {
            std::size_t const i = set_->lower_bound(lower);
            std::size_t const j = set_->lower_bound(r.upper);
            auto const mark = out.mark();
            switch (static_cast<range_mode>(r.mode)) {
            case range_mode::skip:
                out.skip(r.upper);
                break;
            case range_mode::match_fingerprint:
                if (std::memcmp(set_->fingerprint(i, j).data(), r.payload.data(), sizeof(fingerprint)) == 0)
                    out.skip(r.upper);
                else
                    out.split(r.upper, i, j);
                break;
            case range_mode::id_list: {
                collect_needed(r.payload, step.need);
                if (j - i > s_.max_ids_per_range) {
                    out.split(r.upper, i, j); // too many of ours to list: narrow it down first
                    break;
                }
                std::vector<item_id> lack;
                for (std::size_t k = i; k < j; ++k)
                    if (!listed((*set_)[k].id, r.payload))
                        lack.push_back((*set_)[k].id);
                if (lack.empty())
                    out.skip(r.upper);
                else
                    out.range(r.upper, range_mode::you_lack, sorted_ids(std::move(lack)));
                break;
            }
            case range_mode::you_lack:
                collect_needed(r.payload, step.need);
                out.skip(r.upper);
                break;
            }
            if (mark.ranges > 0 && out.over_limit()) {
                // Too much for one message: settle the rest in a later turn. The first
                // range that says anything is always kept, so every turn makes progress.
                out.rewind(mark);
                out.rest(i);
                break;
            }
            lower = r.upper;
        }
        step.reply = std::move(out).finish();
        return step;
    }

    [[nodiscard]] reconcile_settings const& settings() const noexcept { return s_; }

private:
    // Encoded sizes: an order (8), a prefix (1 + up to 32), a mode (1), a payload length (1-3).
    static constexpr std::size_t largest_bound = 8 + 1 + 32;
    static constexpr std::size_t largest_fingerprint_range = largest_bound + 1 + 1 + sizeof(fingerprint);
    static constexpr std::size_t message_header = 8 + 3;

    static constexpr std::size_t varint_size(std::size_t v) noexcept
    {
        std::size_t n = 1;
        while (v >= 0x80) {
            v >>= 7;
            ++n;
        }
        return n;
    }

    static std::size_t encoded_size(sync_range const& r) noexcept
    {
        return 8 + varint_size(r.upper.id_prefix.size()) + r.upper.id_prefix.size() + 1 + varint_size(r.payload.size()) +
               r.payload.size();
    }

    std::error_code validate(sync_message const& in) const
    {
        if (in.ranges.size() > s_.max_incoming_ranges)
            return errc::too_large;
        bound const* lower = nullptr;
        bound const floor = bound::at(in.floor);
        for (auto const& r : in.ranges) {
            if (r.upper.id_prefix.size() > sizeof(item_id))
                return errc::unordered_ranges;
            if (compare(r.upper, lower ? *lower : floor) <= 0)
                return errc::unordered_ranges;
            lower = &r.upper;
            switch (static_cast<range_mode>(r.mode)) {
            case range_mode::skip:
                if (!r.payload.empty())
                    return errc::malformed_range;
                break;
            case range_mode::match_fingerprint:
                if (r.payload.size() != sizeof(fingerprint))
                    return errc::malformed_range;
                break;
            case range_mode::id_list:
            case range_mode::you_lack:
                if (r.payload.size() % sizeof(item_id) != 0)
                    return errc::malformed_range;
                if (r.payload.size() / sizeof(item_id) > s_.max_incoming_ids)
                    return errc::too_large;
                for (std::size_t k = sizeof(item_id); k < r.payload.size(); k += sizeof(item_id))
                    if (std::memcmp(r.payload.data() + k - sizeof(item_id), r.payload.data() + k, sizeof(item_id)) >= 0)
                        return errc::malformed_range;
                break;
            default:
                return errc::unknown_mode;
            }
        }
        return {};
    }

    // Ids travel sorted by id (not by order), so the receiver checks them for membership by binary search.
    static std::vector<std::uint8_t> sorted_ids(std::vector<item_id> ids)
    {
        std::sort(ids.begin(), ids.end());
        std::vector<std::uint8_t> out;
        out.reserve(ids.size() * sizeof(item_id));
        for (auto const& id : ids)
            out.insert(out.end(), id.begin(), id.end());
        return out;
    }

    static item_id id_at(std::vector<std::uint8_t> const& ids, std::size_t k) noexcept
    {
        item_id id;
        std::memcpy(id.data(), ids.data() + k * sizeof(item_id), sizeof(item_id));
        return id;
    }

    // The ids are sorted (validated), so membership is a binary search.
    static bool listed(item_id const& id, std::vector<std::uint8_t> const& ids) noexcept
    {
        std::size_t lo = 0, hi = ids.size() / sizeof(item_id);
        while (lo < hi) {
            std::size_t const mid = lo + (hi - lo) / 2;
            int const c = std::memcmp(ids.data() + mid * sizeof(item_id), id.data(), sizeof(item_id));
            if (c == 0)
                return true;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return false;
    }

    void collect_needed(std::vector<std::uint8_t> const& ids, std::vector<item_id>& need) const
    {
        for (std::size_t k = 0; k < ids.size() / sizeof(item_id); ++k) {
            item_id const id = id_at(ids, k);
            if (!set_->contains(id))
                need.push_back(id);
        }
    }

    // Accumulates a reply, coalescing skips and tracking its encoded size.
    class builder {
    public:
        builder(reconciler const& owner, std::uint64_t floor)
            : owner_(owner)
        {
            msg_.floor = floor;
        }

        struct position {
            std::size_t ranges;
            std::size_t bytes;
            bool pending_skip;
            bound skip_upper;
        };

        [[nodiscard]] position mark() const { return {msg_.ranges.size(), bytes_, pending_skip_, skip_upper_}; }

        void rewind(position const& p)
        {
            msg_.ranges.resize(p.ranges);
            bytes_ = p.bytes;
            pending_skip_ = p.pending_skip;
            skip_upper_ = p.skip_upper;
        }

        // True once the reply, with a pending skip and room for a closing fingerprint, exceeds the limit.
        [[nodiscard]] bool over_limit() const noexcept
        {
            std::size_t const limit = owner_.s_.max_message_bytes;
            std::size_t const skip = pending_skip_ ? 8 + 1 + skip_upper_.id_prefix.size() + 1 + 1 : 0;
            return limit != 0 && message_header + bytes_ + skip + largest_fingerprint_range > limit;
        }

        void skip(bound const& upper)
        {
            pending_skip_ = true;
            skip_upper_ = upper;
        }

        void range(bound const& upper, range_mode mode, std::vector<std::uint8_t> payload)
        {
            flush_skip();
            push(sync_range{upper, static_cast<std::uint8_t>(mode), std::move(payload)});
        }

        // Items [i, j) of the set, in a range ending at `upper`: their ids if few enough, else `buckets` fingerprints.
        void split(bound const& upper, std::size_t i, std::size_t j)
        {
            auto const& set = *owner_.set_;
            std::size_t const count = j - i;
            if (count <= owner_.s_.max_ids_per_range) {
                std::vector<item_id> ids;
                ids.reserve(count);
                for (std::size_t k = i; k < j; ++k)
                    ids.push_back(set[k].id);
                range(upper, range_mode::id_list, sorted_ids(std::move(ids)));
                return;
            }
            std::size_t const b = owner_.s_.buckets;
            for (std::size_t k = 0; k < b; ++k) {
                std::size_t const begin = i + count * k / b;
                std::size_t const end = i + count * (k + 1) / b;
                if (begin == end)
                    continue; // fewer items than buckets: the next bucket's range starts lower instead
                bound const up = k + 1 == b ? upper : separating_bound(set[end - 1], set[end]);
                auto const fp = set.fingerprint(begin, end);
                range(up, range_mode::match_fingerprint, std::vector<std::uint8_t>(fp.begin(), fp.end()));
            }
        }

        // One fingerprint over everything from item `i` on: what did not fit.
        void rest(std::size_t i)
        {
            auto const& set = *owner_.set_;
            auto const fp = set.fingerprint(i, set.size());
            flush_skip();
            push(sync_range{bound::infinite(), static_cast<std::uint8_t>(range_mode::match_fingerprint),
                            std::vector<std::uint8_t>(fp.begin(), fp.end())});
        }

        // Trailing skips are implied, so they are dropped.
        sync_message finish() &&
        {
            return std::move(msg_);
        }

    private:
        void flush_skip()
        {
            if (!pending_skip_)
                return;
            pending_skip_ = false;
            push(sync_range{std::move(skip_upper_), static_cast<std::uint8_t>(range_mode::skip), {}});
        }

        void push(sync_range r)
        {
            bytes_ += encoded_size(r);
            msg_.ranges.push_back(std::move(r));
        }

        reconciler const& owner_;
        sync_message msg_;
        std::size_t bytes_ = 0;
        bool pending_skip_ = false;
        bound skip_upper_;
    };

    item_set const* set_;
    reconcile_settings s_;
};

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_RECONCILER_HPP
