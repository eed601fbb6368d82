// tools/common/reconcile_pair.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Two reconcilers in one process, talking through the real wire codec until
// one has nothing left to say: how the sync tests check what a session
// finds, and how meshkit-bench-sync counts its turns and bytes. Not part of
// the public API.
#ifndef MESHKIT_TOOLS_COMMON_RECONCILE_PAIR_HPP
#define MESHKIT_TOOLS_COMMON_RECONCILE_PAIR_HPP

#include <meshkit/sync/reconciler.hpp>
#include <meshkit/wire/codec.hpp>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace meshkit::tools {

/// What one session between two sets found and cost.
struct pair_outcome {
    /// Messages sent, the first included (round trips: half of it, rounded up).
    std::size_t messages = 0;
    /// Encoded bytes of all of them.
    std::size_t bytes = 0;
    /// The largest one.
    std::size_t largest_message = 0;
    /// What each side found it lacks, sorted, each id once.
    std::vector<sync::item_id> a_needs, b_needs;
    /// False if a message was refused or the session ran past `max_messages`.
    bool converged = false;
};

/// Runs one session, `a` initiating; every message is encoded and decoded on the way.
inline pair_outcome reconcile_pair(sync::item_set const& a, sync::item_set const& b, sync::reconcile_settings const& s,
                                   std::size_t max_messages = 100'000)
{
    sync::reconciler const ra{a, s}, rb{b, s};
    pair_outcome out;
    sync::sync_message msg = ra.initiate();
    bool to_b = true;
    std::vector<std::byte> bytes;
    while (out.messages < max_messages) {
        bytes.clear();
        wire::encode(msg, bytes);
        ++out.messages;
        out.bytes += bytes.size();
        out.largest_message = std::max(out.largest_message, bytes.size());
        auto decoded = wire::decode<sync::sync_message>(bytes);
        if (!decoded)
            return out;
        auto step = (to_b ? rb : ra).respond(*decoded);
        if (!step)
            return out;
        auto& needs = to_b ? out.b_needs : out.a_needs;
        needs.insert(needs.end(), step->need.begin(), step->need.end());
        if (step->finished()) {
            out.converged = true;
            break;
        }
        msg = std::move(step->reply);
        to_b = !to_b;
    }
    for (auto* v : {&out.a_needs, &out.b_needs}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    return out;
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_COMMON_RECONCILE_PAIR_HPP
