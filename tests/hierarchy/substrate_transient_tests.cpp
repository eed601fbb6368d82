// Test that header file is self-contained.
#include <meshkit/hierarchy/substrate_transient.hpp>

#include <meshkit/detail/rng.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

// hierarchy::substrate_transient: REPRAM's roles and its anti-flap rule
// (more than 25 % faster or same enclave, held 2 cycles, 1 cycle of
// cooldown), which REPRAM's code never built.

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

attachment_option option(std::uint64_t seed, duration rtt, bool same_enclave = true)
{
    return attachment_option{node_id::from_seed(seed), rtt, 1, same_enclave, 0};
}

hierarchy::substrate_transient transient()
{
    return hierarchy::substrate_transient{hierarchy::substrate_transient_config{}};
}

TEST(SubstrateTransient, ASubstrateIsLevelOneAndNeverMovesATransientIsLevelZeroWithOneParent)
{
    hierarchy::substrate_transient_config c;
    c.role = node_role::substrate;
    hierarchy::substrate_transient substrate{c};
    EXPECT_EQ(substrate.role(), node_role::substrate);
    EXPECT_EQ(substrate.level(), 1);
    EXPECT_FALSE(substrate.justifies_move(std::nullopt, option(1, 1ms)));

    auto t = transient();
    EXPECT_EQ(t.role(), node_role::transient);
    EXPECT_EQ(t.level(), 0);
    EXPECT_FALSE(t.parent());
    EXPECT_TRUE(t.justifies_move(std::nullopt, option(1, 0ms))) << "with nothing, any substrate is worth attaching to";
    t.attach(node_id::from_seed(1));
    EXPECT_EQ(t.parent(), node_id::from_seed(1));
    t.detach();
    EXPECT_FALSE(t.parent());
}

TEST(SubstrateTransient, ACandidateMustBeMoreThanAQuarterFasterOrInTheSameEnclave)
{
    auto const t = transient();
    auto const current = option(1, 100ms);
    EXPECT_FALSE(t.justifies_move(current, option(2, 80ms))) << "20 % faster is not enough";
    EXPECT_FALSE(t.justifies_move(current, option(2, 75ms))) << "exactly 25 % is not more than 25 %";
    EXPECT_TRUE(t.justifies_move(current, option(2, 74ms)));
    EXPECT_FALSE(t.justifies_move(current, option(1, 10ms))) << "the current one is no move";
    EXPECT_FALSE(t.justifies_move(current, option(2, 0ms))) << "an unmeasured RTT never wins on speed";

    auto const far = option(3, 10ms, false);
    EXPECT_TRUE(t.justifies_move(far, option(2, 200ms, true))) << "same enclave beats another enclave, slower or not";
    EXPECT_FALSE(t.justifies_move(current, option(4, 5ms, false))) << "another enclave never beats the same one";
}

TEST(SubstrateTransient, AMoveWaitsForTheSameWinnerTwoCyclesInARowAndACooldownAfterAttaching)
{
    auto t = transient();
    auto const current = option(1, 100ms);
    auto const better = option(2, 50ms), other = option(3, 40ms);
    t.attach(current.id);
    EXPECT_FALSE(t.evaluate(current, better)) << "cycle 1: the cooldown after attaching";
    EXPECT_FALSE(t.evaluate(current, better)) << "cycle 2: first win";
    EXPECT_FALSE(t.evaluate(current, other)) << "cycle 3: another winner starts again";
    EXPECT_FALSE(t.evaluate(current, std::nullopt)) << "cycle 4: nobody better resets";
    EXPECT_FALSE(t.evaluate(current, other)) << "cycle 5: first win";
    EXPECT_TRUE(t.evaluate(current, other)) << "cycle 6: second in a row: move";
    t.attach(other.id);
    EXPECT_FALSE(t.evaluate(other, option(4, 1ms))) << "cooldown again";
}

TEST(SubstrateTransient, JitterAndOneCycleSpikesNeverMoveANode)
{
    // Two substrates whose true RTTs are 17 % apart (60 and 50 ms), each
    // smoothed measurement off by up to 5 %, over 10,000 cycles; and every
    // tenth cycle a spike in which the other looks twice as fast for one
    // cycle only. Neither is a reason to move.
    auto t = transient();
    detail::rng rng{7};
    auto jittered = [&](double ms) {
        double const j = 0.95 + 0.1 * static_cast<double>(rng() % 1001) / 1000.0; // 0.95 .. 1.05
        return std::chrono::duration_cast<duration>(std::chrono::duration<double, std::milli>(ms * j));
    };
    t.attach(node_id::from_seed(1));
    int moves = 0;
    for (int cycle = 0; cycle < 10000; ++cycle) {
        double const candidate_ms = cycle % 10 == 9 ? 30.0 : 50.0;
        moves += t.evaluate(option(1, jittered(60)), option(2, jittered(candidate_ms))) ? 1 : 0;
    }
    EXPECT_EQ(moves, 0);
}

TEST(SubstrateTransient, SettingsAreChecked)
{
    hierarchy::substrate_transient_config c;
    c.role = node_role::leader;
    EXPECT_THROW(hierarchy::substrate_transient{c}, std::invalid_argument);
    c.role = node_role::transient;
    c.min_improvement = 1.0;
    EXPECT_THROW(hierarchy::substrate_transient{c}, std::invalid_argument);
    c.min_improvement = 0.25;
    c.enclave = std::string(65, 'e'); // the attachment protocol carries at most 64 bytes
    EXPECT_THROW(hierarchy::substrate_transient{c}, std::invalid_argument);
    c.enclave = std::string(64, 'e');
    EXPECT_NO_THROW(hierarchy::substrate_transient{c});
}

} // namespace
