// Test that header file is self-contained.
#include <meshkit/node.hpp>

#include <meshkit/membership/liveness.hpp>
#include <meshkit/membership/rtt_estimator.hpp>
#include <meshkit/membership/session_tracker.hpp>
#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/node_policies.hpp>

#include <gtest/gtest.h>
#include <support/recording_context.hpp>

#include <chrono>
#include <memory>
#include <queue>
#include <meshkit/wire/envelope.hpp>
#include <set>
#include <variant>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using membership::liveness;

template <class Node>
std::size_t peer_count(Node const& n)
{
    return n.template engine<liveness>().sessions().size();
}

// -- building blocks -------------------------------------------------------------

TEST(RttEstimator, FirstSampleSetsAndLaterSamplesSmooth)
{
    membership::rtt_estimator r{0.125};
    r.sample(100ms);
    EXPECT_EQ(r.smoothed(), 100ms);
    r.sample(200ms);
    EXPECT_EQ(r.smoothed(), 112500us); // 7/8 * 100 + 1/8 * 200
    EXPECT_EQ(r.minimum(), 100ms);
    EXPECT_EQ(r.samples(), 2u);
}

TEST(SessionTracker, AgesOutSilentPeersAndKeepsTalkingOnes)
{
    membership::session_tracker t{8};
    bool created = false;
    time_point const t0{};
    t.open(node_id::from_seed(1), endpoint::v4(1, 2, 3, 4, 5), t0, created);
    EXPECT_TRUE(created);
    t.open(node_id::from_seed(2), endpoint::v4(1, 2, 3, 5, 5), t0, created);
    EXPECT_NE(t.refresh(node_id::from_seed(2), endpoint::v4(1, 2, 3, 5, 5), t0 + 4s), nullptr);
    // Traffic claiming peer 1's id from another address does not keep it alive.
    EXPECT_EQ(t.refresh(node_id::from_seed(1), endpoint::v4(6, 6, 6, 6, 6), t0 + 4s), nullptr);
    auto gone = t.expire(t0 + 6s, 5s);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].id, node_id::from_seed(1));
    EXPECT_EQ(t.size(), 1u);
    EXPECT_NE(t.find(node_id::from_seed(2)), nullptr);
}

TEST(SessionTracker, IsBounded)
{
    membership::session_tracker t{2};
    bool created = false;
    EXPECT_NE(t.open(node_id::from_seed(1), {}, {}, created), nullptr);
    EXPECT_NE(t.open(node_id::from_seed(2), {}, {}, created), nullptr);
    EXPECT_EQ(t.open(node_id::from_seed(3), {}, {}, created), nullptr);
    EXPECT_FALSE(created);
    EXPECT_EQ(t.size(), 2u);
}

// -- the engine with no node at all: the sans-IO boundary ---------------------------

/// The shipped test double (tests/support/recording_context.hpp), for the liveness engine.
using recording_context = test::recording_context<liveness>;

TEST(LivenessEngine, RunsWithoutANodeAndReportsUnansweredCandidates)
{
    liveness engine{{.ping_interval = 1s, .candidate_attempts = 2, .min_peers = 1}};
    recording_context ctx;
    engine.start(ctx);
    ASSERT_EQ(ctx.timers.size(), 1u);
    ASSERT_EQ(ctx.events.size(), 1u);
    EXPECT_EQ(std::get<peers_wanted>(ctx.events[0]).count, 1u);

    endpoint const silent = endpoint::v4(10, 0, 0, 9, 7000);
    engine.add_candidate(ctx, silent);
    ASSERT_EQ(ctx.outbox.size(), 1u); // pinged at once
    EXPECT_EQ(ctx.outbox[0].to, silent);

    for (int i = 0; i < 2; ++i) {
        ctx.clock += 1s;
        engine.on_timer(ctx, ctx.timers.back().tag);
    }
    bool failed = false;
    for (auto const& e : ctx.events)
        failed = failed || (std::holds_alternative<contact_failed>(e) && std::get<contact_failed>(e).address == silent);
    EXPECT_TRUE(failed);
    EXPECT_EQ(engine.candidate_count(), 0u);
}

TEST(LivenessEngine, ANodeThatSleptDoesNotBlamePeersForItsOwnSilence)
{
    liveness engine{{.ping_interval = 1s, .session_timeout = 5s, .min_peers = 0}};
    recording_context ctx;
    engine.start(ctx);
    node_id const peer = node_id::from_seed(7);
    endpoint const peer_addr = endpoint::v4(10, 0, 0, 7, 7000);
    engine.add_candidate(ctx, peer_addr);
    auto const nonce = std::get<membership::ping>(ctx.outbox.back().message).nonce;
    engine.on_message(ctx, inbound{peer_addr, {membership::pong::wire_id, peer, 1, 0}}, membership::pong{nonce});
    ctx.clock += 1s;
    engine.on_timer(ctx, ctx.timers.back().tag);

    // The node sleeps for a minute: its first tick after waking must not age the peer out...
    ctx.clock += 60s;
    engine.on_timer(ctx, ctx.timers.back().tag);
    EXPECT_NE(engine.sessions().find(peer), nullptr);
    // ...but a peer that stays silent afterwards is aged out as usual.
    for (int i = 0; i < 6; ++i) {
        ctx.clock += 1s;
        engine.on_timer(ctx, ctx.timers.back().tag);
    }
    EXPECT_EQ(engine.sessions().find(peer), nullptr);
    EXPECT_TRUE(std::any_of(ctx.events.begin(), ctx.events.end(),
                            [](auto const& e) { return std::holds_alternative<peer_down>(e); }));
}

TEST(LivenessEngine, RelayedMessagesDoNotKeepTheirOriginatorAlive)
{
    liveness engine;
    recording_context ctx;
    node_id const origin = node_id::from_seed(8);
    endpoint const relay = endpoint::v4(10, 0, 0, 8, 7000);
    engine.on_datagram(ctx, inbound{relay, {0x1000, origin, 5, /*hops=*/2}});
    EXPECT_EQ(engine.sessions().find(origin), nullptr);
    EXPECT_TRUE(ctx.outbox.empty());
}

TEST(LivenessEngine, OpensASessionOnlyWhenThePeerEchoesOurNonce)
{
    liveness engine;
    recording_context ctx;
    node_id const peer = node_id::from_seed(7);
    endpoint const peer_addr = endpoint::v4(10, 0, 0, 7, 7000);
    inbound const in{peer_addr, {membership::ping::wire_id, peer, 1, 0}};
    engine.on_datagram(ctx, in); // unknown: we challenge it with our own ping
    engine.on_message(ctx, in, membership::ping{42});
    ASSERT_EQ(ctx.outbox.size(), 2u);
    auto const challenge = std::get<membership::ping>(ctx.outbox[0].message);
    EXPECT_EQ(std::get<membership::pong>(ctx.outbox[1].message).nonce, 42u);
    EXPECT_EQ(engine.sessions().size(), 0u) << "a ping alone proves nothing";

    // A pong with the wrong nonce is ignored.
    inbound const back{peer_addr, {membership::pong::wire_id, peer, 2, 0}};
    engine.on_message(ctx, back, membership::pong{challenge.nonce + 1});
    EXPECT_EQ(engine.sessions().size(), 0u);

    ctx.clock += 30ms;
    engine.on_datagram(ctx, back);
    engine.on_message(ctx, back, membership::pong{challenge.nonce});
    ASSERT_EQ(engine.sessions().size(), 1u);
    EXPECT_EQ(engine.sessions().find(peer)->rtt.smoothed(), 30ms);
}

TEST(LivenessEngine, ForgedSenderCannotMoveASession)
{
    liveness engine;
    recording_context ctx;
    node_id const peer = node_id::from_seed(7);
    endpoint const real = endpoint::v4(10, 0, 0, 7, 7000);
    endpoint const attacker = endpoint::v4(10, 6, 6, 6, 6666);
    engine.add_candidate(ctx, real);
    auto const nonce = std::get<membership::ping>(ctx.outbox.back().message).nonce;
    engine.on_message(ctx, inbound{real, {membership::pong::wire_id, peer, 1, 0}}, membership::pong{nonce});
    ASSERT_EQ(engine.sessions().find(peer)->address, real);

    // The attacker claims the peer's id and guesses a nonce: the session stays put.
    inbound const forged{attacker, {membership::pong::wire_id, peer, 9, 0}};
    engine.on_datagram(ctx, forged);
    engine.on_message(ctx, forged, membership::pong{12345});
    EXPECT_EQ(engine.sessions().find(peer)->address, real);
    // It was probed at the claimed address; only the real owner of that
    // address could echo the probe.
    EXPECT_EQ(ctx.outbox.back().to, attacker);
}

// -- nodes on the simulator -------------------------------------------------------

struct counted_policies : sim_policies {
    // Qualified: inside the bundle, plain `metrics` names the inherited member.
    using metrics = meshkit::metrics::in_memory_metrics;
};
using counted_node = basic_node<counted_policies>;

TEST(SimNode, TwoNodesFindEachOtherAndMeasureTheRtt)
{
    sim::network net{1, {sim::latency_distribution::fixed(15ms)}};
    counted_node a{net};
    counted_node b{net, {}, discovery::static_seeds{a.local_endpoint()}};
    std::vector<node_id> ups;
    a.on_event([&](auto const& ev) {
        if (auto const* up = std::get_if<peer_up>(&ev))
            ups.push_back(up->id);
    });
    a.start();
    b.start();
    net.advance(5s);
    ASSERT_EQ(ups, std::vector<node_id>{b.id()});
    auto const* s = a.engine<liveness>().sessions().find(b.id());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->rtt.smoothed(), 30ms);
    EXPECT_EQ(s->address, b.local_endpoint());
    EXPECT_GT(a.metrics().counter("meshkit_datagrams_received_total"), 5u);
    EXPECT_EQ(a.metrics().counter("meshkit_datagrams_received_total"), a.stats().datagrams_received);
    EXPECT_EQ(a.metrics().histogram("meshkit_rtt_seconds").min, 0.030);
}

TEST(SimNode, SilentPeerIsAgedOutWithinTheTimeout)
{
    sim::network net{2};
    node_config cfg;
    cfg.engine<membership::liveness>().session_timeout = 3s;
    sim_node a{net, cfg};
    sim_node b{net, cfg, discovery::static_seeds{a.local_endpoint()}};
    std::optional<time_point> down_at;
    a.on_event([&](auto const& ev) {
        if (auto const* d = std::get_if<peer_down>(&ev); d && d->id == b.id())
            down_at = net.now();
    });
    a.start();
    b.start();
    net.advance(5s);
    ASSERT_EQ(peer_count(a), 1u);

    time_point const crashed = net.now();
    net.crash(b.local_endpoint());
    net.advance(10s);
    ASSERT_TRUE(down_at.has_value());
    EXPECT_EQ(peer_count(a), 0u);
    // Aged out after the timeout, and no later than one ping interval past it.
    EXPECT_GE(*down_at - crashed, 3s - cfg.engine<membership::liveness>().ping_interval);
    EXPECT_LE(*down_at - crashed, 3s + cfg.engine<membership::liveness>().ping_interval);
}

TEST(SimNode, RestartedNodeKeepsItsIdentityAndIsSeenAgain)
{
    sim::network net{3};
    sim_node a{net};
    storage::memory_store disk;
    auto b = std::make_unique<sim_node>(net, node_config{}, discovery::static_seeds{a.local_endpoint()},
                                        hierarchy::flat{}, disk);
    node_id const b_id = b->id();
    endpoint const b_addr = b->local_endpoint();
    a.start();
    b->start();
    net.advance(3s);
    ASSERT_EQ(peer_count(a), 1u);

    b.reset(); // the process dies
    net.advance(10s);
    EXPECT_EQ(peer_count(a), 0u);

    node_config same_addr;
    same_addr.listen = b_addr;
    b = std::make_unique<sim_node>(net, same_addr, discovery::static_seeds{a.local_endpoint()}, hierarchy::flat{},
                                   disk);
    EXPECT_EQ(b->id(), b_id);
    b->start();
    net.advance(3s);
    EXPECT_NE(a.engine<liveness>().sessions().find(b_id), nullptr);
}

TEST(SimNode, DeadSeedIsReportedAndTheNextSeedIsUsed)
{
    sim::network net{4};
    sim_node live{net};
    endpoint const dead = net.next_endpoint(); // nothing is bound there
    node_config cfg;
    cfg.engine<membership::liveness>().min_peers = 1;
    sim_node joiner{net, cfg, discovery::static_seeds{dead, live.local_endpoint()}};
    joiner.discovery() = discovery::static_seeds{dead};
    joiner.discovery().add(live.local_endpoint());
    std::vector<endpoint> failed;
    joiner.on_event([&](auto const& ev) {
        if (auto const* f = std::get_if<contact_failed>(&ev))
            failed.push_back(f->address);
    });
    live.start();
    joiner.start();
    net.advance(10s);
    EXPECT_EQ(failed, std::vector<endpoint>{dead});
    EXPECT_EQ(peer_count(joiner), 1u);
    // The dead seed is now offered last.
    EXPECT_EQ(joiner.discovery().candidates(2).front(), live.local_endpoint());
}

TEST(SimNode, FollowsAPeerWhoseAddressChanges)
{
    sim::network net{5};
    sim_node a{net};
    sim_node b{net, {}, discovery::static_seeds{a.local_endpoint()}};
    a.start();
    b.start();
    net.advance(3s);
    endpoint const moved = endpoint::v4(198, 51, 100, 7, 9000);
    ASSERT_FALSE(net.rebind(b.local_endpoint(), moved));
    net.advance(3s);
    auto const* s = a.engine<liveness>().sessions().find(b.id());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->address, moved);
}

TEST(SimNode, TrackedPeersAreBoundedButEveryoneIsAnswered)
{
    sim::network net{6};
    node_config hub_cfg;
    hub_cfg.engine<membership::liveness>().max_peers = 3;
    sim_node hub{net, hub_cfg};
    std::vector<std::unique_ptr<sim_node>> spokes;
    for (int i = 0; i < 10; ++i)
        spokes.push_back(std::make_unique<sim_node>(net, node_config{}, discovery::static_seeds{hub.local_endpoint()}));
    hub.start();
    for (auto& s : spokes)
        s->start();
    net.advance(5s);
    EXPECT_EQ(peer_count(hub), 3u);
    for (auto& s : spokes)
        EXPECT_EQ(peer_count(*s), 1u) << "every spoke still sees the hub answer";
}

TEST(SimNode, HostileDatagramsAreCountedAndDropped)
{
    sim::network net{7};
    counted_node a{net};
    sim::transport attacker{net};
    a.start();
    detail::rng r{99};
    for (int i = 0; i < 1000; ++i) {
        std::vector<std::byte> junk(r.below(300));
        for (auto& b : junk)
            b = std::byte(r.below(256));
        if (junk.size() >= 2 && r.chance(0.5)) {
            junk[0] = std::byte{'M'};
            junk[1] = std::byte{'K'};
        }
        attacker.send(a.local_endpoint(), junk);
    }
    net.advance(1s);
    EXPECT_EQ(a.stats().decode_errors, 1000u);
    EXPECT_EQ(a.metrics().counter("meshkit_decode_errors_total"), 1000u);
    EXPECT_EQ(peer_count(a), 0u);
}

TEST(SimNode, CrashedAndRestartedHostResumesLiveness)
{
    sim::network net{9};
    node_config cfg;
    cfg.engine<membership::liveness>().session_timeout = 3s;
    sim_node a{net, cfg};
    sim_node b{net, cfg, discovery::static_seeds{a.local_endpoint()}};
    a.start();
    b.start();
    net.advance(3s);
    net.crash(b.local_endpoint());
    net.advance(10s);
    ASSERT_EQ(peer_count(a), 0u);
    ASSERT_EQ(peer_count(b), 1u) << "b's state is frozen while it is down";
    net.restart(b.local_endpoint());
    net.advance(10s);
    // b pings again (so a sees it) and ages out nothing it still hears from.
    EXPECT_EQ(peer_count(a), 1u);
    EXPECT_EQ(peer_count(b), 1u);
    EXPECT_GT(b.stats().datagrams_sent, 10u);
}

TEST(SimNode, MessageIdsDoNotRepeatAcrossRestarts)
{
    sim::network net{10};
    storage::memory_store disk;
    endpoint const at = net.next_endpoint();
    std::set<std::uint64_t> ids;
    for (int life = 0; life < 3; ++life) {
        node_config cfg;
        cfg.listen = at;
        cfg.seed = 5; // the same seed every life: only the stored epoch differs
        sim_node n{net, cfg, discovery::static_seeds{}, hierarchy::flat{}, disk};
        sim::transport observer{net};
        observer.on_receive([&](endpoint const&, std::span<std::byte const> d) {
            if (auto e = wire::decode_envelope(d)) {
                EXPECT_TRUE(ids.insert(e->header.message_id).second) << "message id repeated";
            }
        });
        n.start();
        n.join(observer.local_endpoint());
        net.advance(5s);
    }
    EXPECT_GE(ids.size(), 9u);
}

TEST(SimNode, ValidEnvelopesWithHostileBodiesAreCountedAndDropped)
{
    sim::network net{11};
    counted_node a{net};
    sim::transport attacker{net};
    a.start();
    detail::rng r{7};
    for (int i = 0; i < 500; ++i) {
        std::vector<std::byte> d;
        // A well-formed envelope for a message the node knows, then a body
        // that is truncated, too long or garbage.
        wire::encode_envelope({membership::pong::wire_id, node_id::from_seed(99), 1, 0}, d);
        std::size_t const body = r.below(3) == 0 ? 0 : (r.below(2) == 0 ? 7 : 9 + r.below(50));
        for (std::size_t k = 0; k < body; ++k)
            d.push_back(std::byte(r.below(256)));
        attacker.send(a.local_endpoint(), d);
    }
    net.advance(1s);
    EXPECT_EQ(a.stats().decode_errors, 500u);
    EXPECT_EQ(peer_count(a), 0u);
}

TEST(SimNode, CandidatesAreBounded)
{
    sim::network net{12};
    node_config cfg;
    cfg.engine<membership::liveness>().max_candidates = 4;
    sim_node a{net, cfg};
    a.start();
    for (int i = 0; i < 50; ++i)
        a.join(net.next_endpoint()); // nobody there
    EXPECT_EQ(a.engine<liveness>().candidate_count(), 4u);
}

TEST(SimNode, StoppedNodeIgnoresTrafficAndTimers)
{
    sim::network net{8};
    sim_node a{net};
    sim_node b{net, {}, discovery::static_seeds{a.local_endpoint()}};
    a.start();
    b.start();
    net.advance(2s);
    b.stop();
    auto const sent = b.stats().datagrams_sent;
    net.advance(a.config().engine<membership::liveness>().session_timeout + 2s);
    EXPECT_EQ(b.stats().datagrams_sent, sent);
    EXPECT_EQ(peer_count(a), 0u);
}

/// Builds a cluster where each node knows three earlier nodes; returns a summary.
struct cluster_result {
    std::size_t min_peers, components;
    std::uint64_t trace;
};

cluster_result run_cluster(std::uint64_t seed, std::size_t n)
{
    sim::network net{seed, {sim::latency_distribution::uniform(10ms, 50ms)}};
    std::vector<std::unique_ptr<sim_node>> nodes;
    for (std::size_t i = 0; i < n; ++i) {
        discovery::static_seeds seeds;
        for (int k = 0; k < 3 && i > 0; ++k)
            seeds.add(nodes[net.rng().below(i)]->local_endpoint());
        node_config cfg;
        cfg.seed = seed + i;
        nodes.push_back(std::make_unique<sim_node>(net, cfg, std::move(seeds)));
    }
    for (auto& node : nodes)
        node->start();
    net.advance(10s);

    std::map<node_id, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i)
        index[nodes[i]->id()] = i;
    std::vector<std::vector<std::size_t>> adj(n);
    std::size_t min_peers = SIZE_MAX;
    for (std::size_t i = 0; i < n; ++i) {
        min_peers = std::min(min_peers, peer_count(*nodes[i]));
        nodes[i]->engine<liveness>().sessions().for_each(
            [&](membership::session const& s) { adj[i].push_back(index.at(s.id)); });
    }
    std::vector<bool> seen(n);
    std::size_t components = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (seen[i])
            continue;
        ++components;
        std::queue<std::size_t> q;
        q.push(i);
        seen[i] = true;
        while (!q.empty()) {
            auto v = q.front();
            q.pop();
            for (auto w : adj[v])
                if (!seen[w])
                    seen[w] = true, q.push(w);
        }
    }
    return {min_peers, components, net.trace_hash()};
}

TEST(SimCluster, ThousandNodesFormOneConnectedMeshDeterministically)
{
    auto const first = run_cluster(11, 1000);
    EXPECT_GE(first.min_peers, 1u);
    EXPECT_EQ(first.components, 1u);
    auto const again = run_cluster(11, 1000);
    EXPECT_EQ(first.trace, again.trace);
}

} // namespace
