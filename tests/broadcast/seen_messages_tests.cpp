// Test that header file is self-contained.
#include <meshkit/broadcast/seen_messages.hpp>

#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/link_events.hpp>

#include <gtest/gtest.h>
#include <support/recording_context.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

// The windows of issue 10, bounded in bytes: what a bound forces out early
// is counted, and forgetting never lets a copy be delivered twice.

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using broadcast::seen_verdict;

broadcast::message_key key_of(std::uint64_t origin_seed, std::uint64_t seq)
{
    return broadcast::message_key{node_id::from_seed(origin_seed), seq};
}

TEST(SeenMessages, TheByteBoundForgetsEarlyCountsItAndAForgottenIdIsRefusedNotDeliveredAgain)
{
    // Room for 10 runs; every other number makes a run of its own.
    broadcast::seen_messages seen(10 * broadcast::seen_messages::bytes_per_run, 90s);
    time_point const t{};
    for (std::uint64_t seq = 1; seq <= 41; seq += 2)
        ASSERT_EQ(seen.insert(key_of(1, seq), t), seen_verdict::fresh);
    EXPECT_LE(seen.bytes(), 10 * broadcast::seen_messages::bytes_per_run);
    EXPECT_EQ(seen.evicted_early(), 11u) << "21 runs in room for 10";
    EXPECT_EQ(seen.insert(key_of(1, 1), t), seen_verdict::too_old) << "forgotten, so refused: never twice";
    EXPECT_EQ(seen.insert(key_of(1, 41), t), seen_verdict::duplicate);
    EXPECT_EQ(seen.insert(key_of(1, 43), t), seen_verdict::fresh);
}

TEST(SeenMessages, AStoppedRunLeavesAfterTheWindowWithoutCountingAsEarly)
{
    broadcast::seen_messages seen(std::size_t{1} << 20, 10s);
    time_point const t{};
    ASSERT_EQ(seen.insert(key_of(2, 100), t), seen_verdict::fresh);
    ASSERT_EQ(seen.insert(key_of(2, 102), t), seen_verdict::fresh);
    seen.expire(t + 5s);
    EXPECT_EQ(seen.insert(key_of(2, 100), t + 5s), seen_verdict::duplicate) << "still inside the window";
    seen.expire(t + 11s);
    EXPECT_EQ(seen.insert(key_of(2, 100), t + 11s), seen_verdict::too_old);
    EXPECT_EQ(seen.evicted_early(), 0u) << "the window ran out: nothing forced out early";
}

TEST(PlumtreeWindows, ARepairCacheOverItsByteBoundCountsWhatItDropsEarlyAndTheGraftThatMissesIt)
{
    // Eight 100-byte payloads fit (each costs its bytes plus 128); twenty
    // are broadcast at once, well inside the repair window.
    broadcast::plumtree_config cfg;
    cfg.max_cache_bytes = 8 * (100 + 128);
    broadcast::plumtree engine{cfg};
    test::recording_context<broadcast::plumtree> ctx;
    engine.start(ctx);
    node_id const peer = node_id::from_seed(7);
    endpoint const peer_at = endpoint::v4(10, 0, 0, 7, 7000);
    engine.on_event(ctx, link_up{peer, peer_at});
    std::vector<std::byte> const payload(100, std::byte{1});
    std::vector<broadcast::message_key> keys;
    for (int i = 0; i < 20; ++i) {
        auto const k = engine.broadcast(ctx, payload);
        ASSERT_TRUE(k);
        keys.push_back(*k);
    }
    EXPECT_EQ(engine.cached_messages(), 8u);
    EXPECT_EQ(engine.stats().repair_evicted_early, 12u);
    EXPECT_EQ(ctx.sink.counter("meshkit_broadcast_repair_evicted_early_total"), 12u);

    // The neighbour asks for the first and the last: one is gone, and says so.
    ctx.deliver(engine, peer_at, peer,
                broadcast::pt_graft{{broadcast::graft_entry{keys.front(), 1}, broadcast::graft_entry{keys.back(), 1}}});
    EXPECT_EQ(engine.stats().graft_misses, 1u);
    EXPECT_EQ(ctx.sink.counter("meshkit_broadcast_graft_misses_total"), 1u);
}

} // namespace
