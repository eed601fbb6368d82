// Test that header file is self-contained.
#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/metrics/null_metrics.hpp>

#include <meshkit/concepts/metrics_sink.hpp>
#include <meshkit/membership/liveness.hpp>

#include <support/recording_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <type_traits>
#include <utility>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

static_assert(metrics_sink<metrics::in_memory_metrics>);
static_assert(metrics_sink<metrics::null_metrics>);

// -- in_memory_metrics ----------------------------------------------------------------

TEST(InMemoryMetrics, CountersStartAtZeroAndAddEveryIncrement)
{
    metrics::in_memory_metrics m;
    EXPECT_EQ(m.counter("meshkit_datagrams_sent_total"), 0u);
    m.increment("meshkit_datagrams_sent_total", 1);
    m.increment("meshkit_datagrams_sent_total", 41);
    m.increment("meshkit_bytes_sent_total", 1200);
    EXPECT_EQ(m.counter("meshkit_datagrams_sent_total"), 42u);
    EXPECT_EQ(m.counter("meshkit_bytes_sent_total"), 1200u);
    // Reading a counter never creates it: only incremented names are listed.
    EXPECT_EQ(m.counter("never_incremented"), 0u);
    ASSERT_EQ(m.counters().size(), 2u);
    EXPECT_EQ(m.counters().at("meshkit_datagrams_sent_total"), 42u);
}

TEST(InMemoryMetrics, GaugesKeepTheLastValueSetEvenWhenItFalls)
{
    metrics::in_memory_metrics m;
    EXPECT_EQ(m.gauge("meshkit_peers"), 0.0);
    m.set_gauge("meshkit_peers", 5);
    m.set_gauge("meshkit_peers", 2);
    EXPECT_EQ(m.gauge("meshkit_peers"), 2.0);
    m.set_gauge("meshkit_peers", -1.5);
    EXPECT_EQ(m.gauge("meshkit_peers"), -1.5);
    EXPECT_EQ(m.gauges().size(), 1u);
}

TEST(InMemoryMetrics, HistogramsSummariseCountSumMinMaxAndMean)
{
    metrics::in_memory_metrics m;
    metrics::summary const empty = m.histogram("meshkit_rtt_seconds");
    EXPECT_EQ(empty.count, 0u);
    EXPECT_EQ(empty.mean(), 0.0) << "an empty summary must not divide by zero";
    EXPECT_TRUE(m.histograms().empty());

    for (double v : {0.030, 0.010, 0.050, 0.030})
        m.observe("meshkit_rtt_seconds", v);
    metrics::summary const s = m.histogram("meshkit_rtt_seconds");
    EXPECT_EQ(s.count, 4u);
    EXPECT_DOUBLE_EQ(s.sum, 0.120);
    EXPECT_DOUBLE_EQ(s.min, 0.010);
    EXPECT_DOUBLE_EQ(s.max, 0.050);
    EXPECT_DOUBLE_EQ(s.mean(), 0.030);

    // One sample is both the minimum and the maximum.
    m.observe("single", -2.0);
    EXPECT_EQ(m.histogram("single").min, -2.0);
    EXPECT_EQ(m.histogram("single").max, -2.0);
}

TEST(InMemoryMetrics, KindsAreSeparateAndNamesAreCopied)
{
    metrics::in_memory_metrics m;
    // The same name as a counter, a gauge and a histogram: three metrics.
    m.increment("x", 3);
    m.set_gauge("x", 7.5);
    m.observe("x", 1.0);
    EXPECT_EQ(m.counter("x"), 3u);
    EXPECT_EQ(m.gauge("x"), 7.5);
    EXPECT_EQ(m.histogram("x").count, 1u);

    // The concept allows a sink to keep the view of a literal; this sink
    // copies, so a name built at run time may die after the call.
    {
        std::string name = "built_at_run_time";
        m.increment(name, 1);
        name.assign(name.size(), '#');
    }
    EXPECT_EQ(m.counter("built_at_run_time"), 1u);
}

// -- null_metrics -----------------------------------------------------------------------

// Everything a sink can be asked is a constant expression that does nothing.
constexpr bool null_metrics_is_constexpr()
{
    metrics::null_metrics m;
    m.increment("a", 1);
    m.set_gauge("b", 2.0);
    m.observe("c", 3.0);
    return true;
}

TEST(NullMetrics, ModelsTheConceptAndHoldsNothing)
{
    static_assert(null_metrics_is_constexpr());
    static_assert(std::is_empty_v<metrics::null_metrics>);
    static_assert(noexcept(std::declval<metrics::null_metrics&>().increment("a", 1)));
    static_assert(noexcept(std::declval<metrics::null_metrics&>().set_gauge("a", 1.0)));
    static_assert(noexcept(std::declval<metrics::null_metrics&>().observe("a", 1.0)));

    // An engine that records metrics runs unchanged on it.
    membership::liveness engine{{.ping_interval = 1s, .min_peers = 0}};
    test::recording_context<membership::liveness, metrics::null_metrics> ctx;
    endpoint const peer_addr = endpoint::v4(10, 0, 0, 7, 7000);
    engine.add_candidate(ctx, peer_addr);
    auto const pings = ctx.sent_of<membership::ping>();
    ASSERT_EQ(pings.size(), 1u);
    ctx.clock += 20ms;
    ctx.deliver(engine, peer_addr, node_id::from_seed(7), membership::pong{pings[0].second.nonce});
    EXPECT_EQ(ctx.events_of<peer_up>().size(), 1u);
}

// -- the names meshkit records (docs/concepts/metrics_sink.md) ---------------------------

// The liveness engine's rows of the "Names meshkit records" table, driven
// through the recording context with no node: peers up and down, the peer
// gauge on every tick and one RTT sample per matching pong.
TEST(LivenessMetrics, RecordsTheDocumentedNamesAndValues)
{
    membership::liveness engine{{.ping_interval = 1s, .session_timeout = 3s, .min_peers = 0}};
    test::recording_context<membership::liveness> ctx;
    node_id const peer = node_id::from_seed(7);
    endpoint const peer_addr = endpoint::v4(10, 0, 0, 7, 7000);

    engine.start(ctx);
    ASSERT_EQ(ctx.pending_timers(), 1u);
    engine.add_candidate(ctx, peer_addr);
    auto pings = ctx.sent_of<membership::ping>();
    ASSERT_EQ(pings.size(), 1u);
    EXPECT_EQ(pings[0].first, peer_addr);

    ctx.clock += 40ms;
    ctx.deliver(engine, peer_addr, peer, membership::pong{pings[0].second.nonce});
    EXPECT_EQ(ctx.sink.counter("meshkit_peers_up_total"), 1u);
    metrics::summary const rtt = ctx.sink.histogram("meshkit_rtt_seconds");
    ASSERT_EQ(rtt.count, 1u);
    EXPECT_NEAR(rtt.sum, 0.040, 1e-9) << "RTT samples are in seconds";

    // The first tick pings the session and sets the gauge to one peer.
    ctx.clear_records();
    ASSERT_TRUE(ctx.fire_next(engine));
    EXPECT_EQ(ctx.sink.gauge("meshkit_peers"), 1.0);
    pings = ctx.sent_of<membership::ping>();
    ASSERT_EQ(pings.size(), 1u);
    EXPECT_EQ(pings[0].first, peer_addr);
    EXPECT_EQ(ctx.pending_timers(), 1u) << "each tick re-arms the next";

    // A pong to that ping is a second RTT sample, not a second peer.
    ctx.clock += 10ms;
    ctx.deliver(engine, peer_addr, peer, membership::pong{pings[0].second.nonce});
    EXPECT_EQ(ctx.sink.histogram("meshkit_rtt_seconds").count, 2u);
    EXPECT_EQ(ctx.sink.counter("meshkit_peers_up_total"), 1u);

    // Silence past the timeout: one peer down, the gauge back at zero.
    ctx.advance(engine, 5s);
    EXPECT_EQ(ctx.sink.counter("meshkit_peers_down_total"), 1u);
    EXPECT_EQ(ctx.sink.gauge("meshkit_peers"), 0.0);
    auto const downs = ctx.events_of<peer_down>();
    ASSERT_EQ(downs.size(), 1u);
    EXPECT_EQ(downs[0].id, peer);
    EXPECT_GE(downs[0].silence, 3s);
}

} // namespace
