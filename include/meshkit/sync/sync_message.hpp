// sync/sync_message.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SYNC_SYNC_MESSAGE_HPP
#define MESHKIT_SYNC_SYNC_MESSAGE_HPP

#include <meshkit/sync/bound.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshkit::sync {

/// What a range says about the items between the previous range's upper bound and its own.
enum class range_mode : std::uint8_t {
    /// Nothing to do here (the sides agree, or it is settled).
    skip = 0,
    /// "My items here have this fingerprint" (16 bytes): the receiver compares, and splits if they differ.
    match_fingerprint = 1,
    /// "These are all my ids here" (32 bytes each, increasing): the receiver can tell exactly what differs.
    id_list = 2,
    /// "You lack these ids of mine here" (32 bytes each, increasing): the receiver asks for them.
    you_lack = 3,
};

/// One range of a reconciliation message.
struct sync_range {
    /// Where the range ends (exclusive); it begins where the previous one ended.
    bound upper;
    /// A `range_mode`.
    std::uint8_t mode = 0;
    /// A fingerprint, or ids; empty for skip.
    std::vector<std::uint8_t> payload;
};

/** One turn of a range-based reconciliation: both sides send these until one has nothing left to say.

    The first range begins at `bound::at(floor)`; ranges follow without
    gaps; whatever lies past the last range is settled. A message with no
    ranges is never sent: it would mean "reconciled".
*/
struct sync_message {
    /// The lowest order in scope: the higher of the sender's horizon and the one it was sent.
    std::uint64_t floor = 0;
    std::vector<sync_range> ranges;
};

} // namespace meshkit::sync

#endif // MESHKIT_SYNC_SYNC_MESSAGE_HPP
