// Test that header file is self-contained.
#include <support/recording_context.hpp>

#include <meshkit/inbound.hpp>
#include <meshkit/wire/registry.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// The test double is only useful if it drives an engine the way a node
// does; these tests pin the parts other tests rely on.

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

struct note {
    static constexpr wire::type_id wire_id = 0x7e01;
    std::uint64_t n = 0;
};

/// Records what the context calls it with; timer 1 arms timer 3 when it fires.
struct probe_engine {
    using messages = wire::registry<note>;
    using events = type_list<>;

    std::vector<std::pair<time_point, std::uint64_t>> fired;
    std::vector<std::string> calls;

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t tag)
    {
        fired.emplace_back(ctx.now(), tag);
        if (tag == 1)
            ctx.set_timer(10ms, 3);
    }
    template <class Ctx>
    void on_datagram(Ctx&, inbound const& in)
    {
        calls.push_back("datagram hops=" + std::to_string(in.header.hops));
    }
    template <class Ctx>
    void on_message(Ctx&, inbound const& in, note const& m)
    {
        calls.push_back("note " + std::to_string(m.n) + " type=" + std::to_string(in.header.type));
    }
};

using context = test::recording_context<probe_engine>;

TEST(RecordingContext, AdvanceFiresDueTimersInTimeOrderAtTheirDueTime)
{
    probe_engine engine;
    context ctx;
    ctx.set_timer(30ms, 2);
    ctx.set_timer(10ms, 1);
    ctx.set_timer(10ms, 4); // same instant as tag 1, armed later: fires after it
    timer_handle const late = ctx.set_timer(100ms, 5);
    EXPECT_TRUE(late);

    EXPECT_EQ(ctx.advance(engine, 50ms), 4u);
    time_point const t0{};
    std::vector<std::pair<time_point, std::uint64_t>> const expected{
        {t0 + 10ms, 1}, {t0 + 10ms, 4}, {t0 + 20ms, 3}, {t0 + 30ms, 2}};
    EXPECT_EQ(engine.fired, expected) << "timer 3, armed by timer 1, fires within the same advance";
    EXPECT_EQ(ctx.now(), t0 + 50ms);
    EXPECT_EQ(ctx.pending_timers(), 1u);

    ctx.cancel_timer(late);
    EXPECT_EQ(ctx.advance(engine, 1s), 0u);
    EXPECT_FALSE(ctx.fire_next(engine));
    EXPECT_EQ(engine.fired.size(), 4u);
}

TEST(RecordingContext, FireNextJumpsToTheEarliestTimer)
{
    probe_engine engine;
    context ctx;
    ctx.set_timer(7s, 2);
    ctx.set_timer(3s, 9);
    ASSERT_TRUE(ctx.fire_next(engine));
    ASSERT_EQ(engine.fired.size(), 1u);
    EXPECT_EQ(engine.fired[0].second, 9u);
    EXPECT_EQ(ctx.now(), time_point{} + 3s);
}

TEST(RecordingContext, RecordsSendsAndForwardsAsTheNodeWould)
{
    context ctx;
    endpoint const to = endpoint::v4(10, 0, 0, 1, 7000);
    EXPECT_FALSE(ctx.send(to, note{1}));

    wire::envelope header{note::wire_id, node_id::from_seed(3), 77, 4};
    EXPECT_FALSE(ctx.forward(to, header, note{2}));
    ASSERT_EQ(ctx.outbox.size(), 2u);
    EXPECT_FALSE(ctx.outbox[0].forwarded);
    ASSERT_TRUE(ctx.outbox[1].forwarded);
    EXPECT_EQ(ctx.outbox[1].forwarded->hops, 5) << "a forward adds one hop";
    EXPECT_EQ(ctx.outbox[1].forwarded->message_id, 77u);

    header.hops = 255;
    EXPECT_EQ(ctx.forward(to, header, note{3}), errc::hop_limit);
    EXPECT_EQ(ctx.outbox.size(), 2u) << "a refused forward is not recorded";

    // A test can make sends fail, to see how the engine copes.
    ctx.send_result = errc::message_too_large;
    EXPECT_EQ(ctx.send(to, note{4}), errc::message_too_large);
    auto const notes = ctx.sent_of<note>();
    ASSERT_EQ(notes.size(), 3u);
    EXPECT_EQ(notes[2].second.n, 4u);
    EXPECT_EQ(notes[2].first, to);
}

TEST(RecordingContext, DeliverCallsOnDatagramThenOnMessage)
{
    probe_engine engine;
    context ctx;
    ctx.deliver(engine, endpoint::v4(10, 0, 0, 2, 7000), node_id::from_seed(2), note{5}, 1);
    EXPECT_EQ(engine.calls, (std::vector<std::string>{"datagram hops=1", "note 5 type=" + std::to_string(note::wire_id)}));
}

} // namespace
