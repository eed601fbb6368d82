// REPRAM's attachments between substrate and transient nodes, on the
// simulator's datagrams and streams: hello / welcome / goodbye, the cap with
// alternatives, shutdown, heartbeats, the re-attach loop, forged goodbyes.

#include <meshkit/attach/substrate.hpp>
#include <meshkit/attach/transient.hpp>
#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/hierarchy/substrate_transient.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/node.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/sim/stream_transport.hpp>

#include <support/recording_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

struct substrate_policies : sim_policies {
    using transports = type_list<sim::transport, sim::stream_transport>;
    using hierarchy = ::meshkit::hierarchy::substrate_transient;
    using engines = type_list<membership::hyparview, broadcast::plumtree, attach::substrate>;
};
using substrate_node = basic_node<substrate_policies>;

struct transient_policies : sim_policies {
    using transports = type_list<sim::transport, sim::stream_transport>;
    using hierarchy = ::meshkit::hierarchy::substrate_transient;
    using engines = type_list<attach::transient>;
};
using transient_node = basic_node<transient_policies>;

hierarchy::substrate_transient role(node_role r, std::string enclave = "default")
{
    hierarchy::substrate_transient_config c;
    c.role = r;
    c.enclave = std::move(enclave);
    return hierarchy::substrate_transient{c};
}

node_config substrate_config(std::size_t max_children = 100)
{
    node_config c;
    c.engine<attach::substrate>().max_children = max_children;
    c.engine<attach::substrate>().heartbeat_interval = 1s;
    c.engine<attach::substrate>().announce_interval = 2s;
    return c;
}

node_config transient_config()
{
    node_config c;
    c.engine<attach::transient>().heartbeat_interval = 1s;
    c.engine<attach::transient>().attach_timeout = 2s;
    return c;
}

/// Substrates in one mesh, transients beside them; every event kept.
struct world {
    sim::network net;
    std::vector<std::unique_ptr<substrate_node>> substrates;
    std::vector<std::unique_ptr<transient_node>> transients;
    std::deque<std::vector<attach::detached>> detached; // a deque: handlers hold references into it

    explicit world(std::uint64_t seed) : net(seed) {}

    substrate_node& add_substrate(std::size_t max_children = 100, std::string enclave = "default")
    {
        auto& s = substrates.emplace_back(std::make_unique<substrate_node>(
            net, substrate_config(max_children), discovery::static_seeds{}, role(node_role::substrate, enclave)));
        s->start();
        if (substrates.size() > 1)
            s->join(substrates.front()->local_endpoint());
        return *s;
    }

    transient_node& add_transient(endpoint const& first_substrate, std::string enclave = "default")
    {
        auto& t = transients.emplace_back(std::make_unique<transient_node>(
            net, transient_config(), discovery::static_seeds{}, role(node_role::transient, enclave)));
        auto& log = detached.emplace_back();
        t->on_event([&log](auto const& e) {
            if (auto const* d = std::get_if<attach::detached>(&e))
                log.push_back(*d);
        });
        t->start();
        t->join(first_substrate);
        return *t;
    }

    static endpoint stream_address(substrate_node& s) { return s.local_endpoint(wire::channel::stream); }

    static std::optional<node_id> parent(transient_node& t)
    {
        auto const& a = t.engine<attach::transient>().attached();
        return a ? std::optional<node_id>(a->id) : std::nullopt;
    }
};

TEST(Attach, ATransientAttachesToTheSubstrateItWasGivenAndBothSideSeeIt)
{
    world w{1};
    auto& a = w.add_substrate();
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    EXPECT_EQ(world::parent(t), a.id());
    EXPECT_EQ(t.hierarchy().parent(), a.id()) << "the engine records the attachment in the hierarchy policy";
    ASSERT_EQ(a.engine<attach::substrate>().children().size(), 1u);
    EXPECT_EQ(a.engine<attach::substrate>().children()[0].id, t.id());
    EXPECT_EQ(t.engine<attach::transient>().known_substrates().find(a.id())->address, world::stream_address(a));
    // It stays attached: heartbeats keep both sides' view of the link.
    w.net.advance(30s);
    EXPECT_EQ(world::parent(t), a.id());
    EXPECT_EQ(a.engine<attach::substrate>().children().size(), 1u);
    EXPECT_EQ(a.engine<attach::substrate>().stats().children_timed_out, 0u);
}

TEST(Attach, AFullSubstrateSaysGoodbyeNamingAnotherAndTheTransientAttachesThere)
{
    world w{2};
    auto& a = w.add_substrate(1);
    auto& b = w.add_substrate(100);
    w.net.advance(5s); // the mesh forms; each substrate announces itself to the other
    ASSERT_TRUE(a.engine<attach::substrate>().known_substrates().find(b.id()));
    auto& first = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    auto& second = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    EXPECT_EQ(world::parent(first), a.id());
    EXPECT_EQ(world::parent(second), b.id()) << "sent on by the full substrate's goodbye";
    EXPECT_EQ(a.engine<attach::substrate>().children().size(), 1u) << "never above the cap";
    EXPECT_EQ(a.engine<attach::substrate>().stats().refused_full, 1u);
    EXPECT_EQ(second.engine<attach::transient>().stats().goodbyes, 1u);
}

TEST(Attach, AShutdownMovesEveryChildInUnderASecond)
{
    world w{3};
    auto& a = w.add_substrate();
    auto& b = w.add_substrate();
    w.net.advance(5s);
    for (int i = 0; i < 5; ++i)
        w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    for (auto& t : w.transients)
        ASSERT_EQ(world::parent(*t), a.id());
    a.with_engine<attach::substrate>([](auto& s, auto& ctx) { s.shutdown(ctx); });
    time_point const said = w.net.now();
    std::optional<duration> all_moved;
    while (!all_moved && w.net.now() - said < 5s) {
        w.net.advance(10ms);
        bool moved = true;
        for (auto& t : w.transients)
            moved = moved && world::parent(*t) == b.id();
        if (moved)
            all_moved = w.net.now() - said;
    }
    ASSERT_TRUE(all_moved) << "every child reached the alternative";
    EXPECT_LT(*all_moved, 1s);
    EXPECT_EQ(b.engine<attach::substrate>().children().size(), 5u);
    EXPECT_TRUE(a.engine<attach::substrate>().children().empty());
}

TEST(Attach, AChildOfACrashedSubstrateMovesToOneItLearntFromItsWelcome)
{
    world w{4};
    auto& a = w.add_substrate();
    auto& b = w.add_substrate();
    w.net.advance(5s);
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    ASSERT_EQ(world::parent(t), a.id());
    w.net.crash(a.local_endpoint());
    w.net.advance(10s);
    EXPECT_EQ(world::parent(t), b.id()) << "it learnt b from a's welcome";
    EXPECT_EQ(t.engine<attach::transient>().stats().parents_lost, 1u) << "the reset stream told it, once";
}

TEST(Attach, WithEverySubstrateGoneItRetriesWithGrowingBackoffAndAttachesWhenOneReturns)
{
    world w{5};
    auto& a = w.add_substrate();
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    ASSERT_EQ(world::parent(t), a.id());
    w.net.crash(a.local_endpoint());
    w.net.advance(40s);
    EXPECT_FALSE(world::parent(t));
    auto const& rounds = w.detached.front();
    ASSERT_GE(rounds.size(), 3u);
    for (std::size_t i = 1; i < rounds.size(); ++i)
        EXPECT_GT(rounds[i].retry_in, rounds[i - 1].retry_in) << "the wait grows, round " << i;
    for (auto const& r : rounds)
        EXPECT_LE(r.retry_in, 72s) << "never past 60 s plus its jitter";
    w.net.restart(a.local_endpoint());
    w.net.advance(70s);
    EXPECT_EQ(world::parent(t), a.id()) << "attached again without a restart of its own";
}

TEST(Attach, AGoodbyeFromAnyoneButItsSubstrateIsIgnored)
{
    world w{6};
    auto& a = w.add_substrate();
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    ASSERT_EQ(world::parent(t), a.id());
    // Another node opens a stream to the transient and says goodbye on it.
    auto& forger = w.add_substrate();
    forger.with_engine<attach::substrate>([&](auto&, auto& ctx) {
        ctx.send(t.local_endpoint(wire::channel::stream), attach::at_goodbye{attach::goodbye_reason::shutdown, {}});
        ctx.send(t.local_endpoint(wire::channel::stream), attach::at_welcome{});
    });
    w.net.advance(2s);
    EXPECT_EQ(world::parent(t), a.id());
    EXPECT_EQ(t.engine<attach::transient>().stats().ignored, 2u);
    EXPECT_EQ(t.engine<attach::transient>().stats().goodbyes, 0u);
}

TEST(Attach, AHelloStormBeyondTheCapGetsGoodbyesNotState)
{
    world w{7};
    auto& a = w.add_substrate(5);
    for (int i = 0; i < 40; ++i)
        w.add_transient(world::stream_address(a));
    w.net.advance(3s);
    auto const& s = a.engine<attach::substrate>();
    EXPECT_EQ(s.children().size(), 5u);
    EXPECT_GE(s.stats().refused_full, 35u);
    std::size_t attached = 0;
    for (auto& t : w.transients)
        attached += world::parent(*t) ? 1 : 0;
    EXPECT_EQ(attached, 5u);
}

TEST(Attach, ThreeUnansweredHeartbeatsEndAnAttachmentWhoseStreamStillLooksOpen)
{
    // A half-open TCP connection never resets: only the heartbeats notice.
    // Driven without a node, so nothing but the engine's own timers acts.
    using ctx_type = test::recording_context<attach::transient, metrics::in_memory_metrics, test::no_discovery,
                                             attach::attach_messages, hierarchy::substrate_transient>;
    ctx_type ctx;
    ctx.tier = role(node_role::transient);
    attach::transient_config cfg;
    cfg.heartbeat_interval = 1s;
    attach::transient engine{cfg};
    endpoint const substrate = endpoint::v4(10, 0, 0, 1, 7000).on(transport_protocol::tcp);
    engine.start(ctx);
    engine.add_candidate(ctx, substrate);
    ASSERT_EQ(ctx.sent_of<attach::at_hello>().size(), 1u);
    ctx.deliver(engine, substrate, node_id::from_seed(1), attach::at_welcome{});
    ASSERT_TRUE(engine.attached());
    EXPECT_EQ(ctx.tier.parent(), node_id::from_seed(1));

    // Answered pings keep it.
    for (int i = 0; i < 5; ++i) {
        ctx.advance(engine, 1s);
        auto const pings = ctx.sent_of<attach::at_ping>();
        ASSERT_FALSE(pings.empty());
        ctx.deliver(engine, substrate, node_id::from_seed(1), attach::at_pong{pings.back().second.nonce});
    }
    EXPECT_TRUE(engine.attached());
    // Unanswered ones end it after three, and the stream is closed.
    ctx.advance(engine, 4s);
    EXPECT_FALSE(engine.attached());
    EXPECT_FALSE(ctx.tier.parent());
    EXPECT_EQ(engine.stats().heartbeat_losses, 1u);
    EXPECT_EQ(engine.stats().parents_lost, 1u);
    EXPECT_EQ(ctx.closed_streams, std::vector<endpoint>{substrate});
    EXPECT_EQ(ctx.events_of<link_down>().size(), 1u);
}

TEST(Attach, TheSameSeedGivesTheSameTrace)
{
    auto run = [] {
        world w{8};
        auto& a = w.add_substrate(2);
        w.add_substrate();
        w.net.advance(5s);
        for (int i = 0; i < 4; ++i)
            w.add_transient(world::stream_address(a));
        w.net.advance(5s);
        a.with_engine<attach::substrate>([](auto& s, auto& ctx) { s.shutdown(ctx); });
        w.net.advance(5s);
        return w.net.trace_hash();
    };
    EXPECT_EQ(run(), run());
}

} // namespace
