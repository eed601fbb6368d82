// Test that header file is self-contained.
#include <meshkit/broadcast/plumtree.hpp>

#include <meshkit/broadcast/flooding.hpp>
#include <meshkit/broadcast/push_gossip.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/sim/cluster.hpp>
#include <meshkit/udp/udp_policies.hpp>

#include <asio/io_context.hpp>

#include <gtest/gtest.h>
#include <support/overlay.hpp>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using membership::hyparview;
using test::components;
using test::internet_like;
using test::make_cluster;
using test::payload;

// -- Plumtree, 1,000 nodes ------------------------------------------------------------

TEST(Plumtree, SingleSenderConvergesToATree)
{
    sim::network net{202, internet_like()};
    auto c = make_cluster<sim_gossip_node>(net, 1000);
    auto const p = payload();
    for (int i = 0; i < 10; ++i) // warm-up: duplicates prune the eager graph to a tree
        ASSERT_EQ(c.broadcast_from(0, p).delivery_ratio(), 1.0);
    double worst_rmr = 0;
    std::size_t worst_ldh = 0;
    for (int i = 0; i < 10; ++i) {
        auto const r = c.broadcast_from(0, p);
        ASSERT_EQ(r.delivered, r.receivers) << "broadcast " << i;
        worst_rmr = std::max(worst_rmr, r.rmr);
        worst_ldh = std::max(worst_ldh, r.last_delivery_hop);
    }
    EXPECT_LE(worst_rmr, 0.1);
    EXPECT_LE(worst_ldh, 12u);
    RecordProperty("worst_rmr_x1000", static_cast<int>(worst_rmr * 1000));
    RecordProperty("worst_ldh", static_cast<int>(worst_ldh));
}

TEST(Plumtree, RandomSendersStayLowRedundancyAndMissNothing)
{
    sim::network net{303, internet_like()};
    auto c = make_cluster<sim_gossip_node>(net, 1000);
    auto const p = payload();
    for (int i = 0; i < 10; ++i)
        c.broadcast_from(c.random_live(), p);
    double rmr_sum = 0;
    std::size_t missed = 0;
    constexpr int broadcasts = 50;
    for (int i = 0; i < broadcasts; ++i) {
        auto const r = c.broadcast_from(c.random_live(), p);
        missed += r.receivers - r.delivered;
        rmr_sum += r.rmr;
    }
    EXPECT_EQ(missed, 0u);
    EXPECT_LE(rmr_sum / broadcasts, 0.5) << "mean RMR " << rmr_sum / broadcasts;
    RecordProperty("mean_rmr_x1000", static_cast<int>(rmr_sum / broadcasts * 1000));
}

TEST(Plumtree, LostPayloadsAreRecoveredThroughLazyLinks)
{
    // The overlay forms on clean links; then 2 % of all datagrams are lost:
    // eager copies vanish, and IHAVE + GRAFT must fill every gap.
    sim::network net{404, internet_like()};
    node_config cfg;
    cfg.engine<membership::hyparview>().failure_timeout = 10s; // keep loss from being taken for failure
    auto c = make_cluster<sim_gossip_node>(net, 500, cfg);
    sim::link_model lossy = internet_like();
    lossy.loss = 0.02;
    net.set_default_link(lossy);
    auto const p = payload();
    std::size_t missed = 0;
    std::uint64_t grafts = 0;
    for (int i = 0; i < 20; ++i) {
        auto const r = c.broadcast_from(c.random_live(), p);
        missed += r.receivers - r.delivered;
    }
    for (auto i : c.live_indices())
        grafts += c.node(i).broadcaster().stats().grafts_sent;
    EXPECT_EQ(missed, 0u);
    EXPECT_GT(grafts, 0u) << "recovery must have gone through GRAFT";
}

TEST(Plumtree, OversizedPayloadIsRefusedWithAClearError)
{
    sim::network net{505};
    sim_gossip_node a{net};
    a.start();
    auto r = a.broadcast(payload(a.config().engine<broadcast::plumtree>().max_payload + 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::message_too_large);
}

// -- under load ------------------------------------------------------------------------

/// What every receiver of a load run saw.
struct load_outcome {
    std::size_t published = 0;
    std::uint64_t refusals = 0;           // broadcast() said queue_full
    std::vector<std::size_t> delivered;   // first deliveries of the publisher's messages, per node
    std::uint64_t self_deliveries = 0;    // a node delivering its own broadcast
    std::uint64_t double_deliveries = 0;  // a node delivering one broadcast twice
};

/** `n` nodes on `net`, each joining node 0, started `spacing` apart; once
    `warmup` has passed, node 0 offers `count` broadcasts at `rate` per second.
    A refusal (backpressure) keeps the payload until `ready_to_publish`, as a
    well-behaved publisher does. Then the run settles for `settle`.
*/
load_outcome run_load(sim::network& net, std::size_t n, duration spacing, std::size_t count, double rate,
                      duration warmup, duration settle, node_config cfg = {})
{
    std::vector<std::unique_ptr<sim_gossip_node>> nodes;
    load_outcome out;
    out.delivered.assign(n, 0);
    std::vector<std::vector<bool>> seen(n, std::vector<bool>(count, false));
    std::uint64_t first_seq = 0;
    bool ready = true;
    for (std::size_t i = 0; i < n; ++i) {
        discovery::static_seeds seeds;
        if (i > 0)
            seeds.add(nodes[0]->local_endpoint());
        cfg.seed = 1000 + i;
        nodes.push_back(std::make_unique<sim_gossip_node>(net, cfg, std::move(seeds)));
        node_id const self = nodes.back()->id();
        nodes.back()->on_event([&, i, self](sim_gossip_node::event_type const& ev) {
            if (std::holds_alternative<broadcast::ready_to_publish>(ev))
                ready = true;
            auto const* d = std::get_if<broadcast::delivered>(&ev);
            if (!d)
                return;
            if (d->key.origin == self) {
                ++out.self_deliveries;
                return;
            }
            std::uint64_t const k = d->key.seq - first_seq;
            if (k >= count)
                return;
            if (seen[i][k])
                ++out.double_deliveries;
            else
                ++out.delivered[i];
            seen[i][k] = true;
        });
    }
    for (auto& node : nodes) {
        node->start();
        net.advance(spacing);
    }
    net.advance(warmup);
    auto const gap = std::chrono::duration_cast<duration>(std::chrono::duration<double>(1.0 / rate));
    std::vector<std::byte> payload(64);
    while (out.published < count) {
        if (ready) {
            std::memcpy(payload.data(), &out.published, sizeof out.published);
            auto const r = nodes[0]->broadcast(payload);
            if (r) {
                if (out.published == 0)
                    first_seq = r->seq;
                ++out.published;
            } else {
                EXPECT_EQ(r.error(), errc::queue_full);
                ++out.refusals;
                ready = false; // wait for ready_to_publish
            }
        }
        net.advance(gap);
    }
    net.advance(settle);
    return out;
}

sim::link_model loopback_like()
{
    sim::link_model m;
    m.latency = sim::latency_distribution::uniform(50us, 400us);
    return m;
}

TEST(PlumtreeUnderLoad, FourNodesFormingTheirTreeWhileAPublisherSends10000PerSecondMissNothing)
{
    // The loss issue 10 saw on loopback, replayed: 4 nodes started 50 ms
    // apart, and node 0 publishing 10,000 messages a second as soon as the
    // last has started, while duplicates still prune the tree. A node pruned
    // to lazy by every neighbour gets IHAVEs only, and grafts 400 ms (T1)
    // later. With repair windows counted in messages (1,024 cached payloads,
    // 1,024 missing ids) the 4,000 messages of those 400 ms were gone by
    // then: under the earlier engine, nodes 1 and 2 of this run miss 4,085
    // and 4,046 messages, all in the first second, with no datagram lost.
    sim::network net{6, loopback_like()};
    auto const out = run_load(net, 4, 50ms, 10'000, 10'000, 0ms, 10s);
    ASSERT_EQ(out.published, 10'000u);
    for (std::size_t i = 1; i < out.delivered.size(); ++i)
        EXPECT_EQ(out.delivered[i], out.published) << "node " << i;
    EXPECT_EQ(out.self_deliveries, 0u);
    EXPECT_EQ(out.double_deliveries, 0u);
}

TEST(PlumtreeUnderLoad, ADuplicateStraightFromItsOriginPrunesTheRelayThatBeatItNotTheOrigin)
{
    // What a busy origin looks like to its children: its own copies wait
    // in its queues, so a copy relayed by a sibling often arrives first. Pruning the sender of
    // every duplicate would prune the origin and leave the children feeding
    // each other: under real load they then starve, and the stream comes
    // only through IHAVEs and GRAFTs. The engine keeps the shorter path:
    // once the tree has settled, every copy comes straight from the origin,
    // and nothing needs repair.
    sim::network net{11, sim::link_model{sim::latency_distribution::fixed(100us)}};
    std::vector<std::unique_ptr<sim_gossip_node>> nodes;
    for (std::size_t i = 0; i < 4; ++i) {
        discovery::static_seeds seeds;
        if (i > 0)
            seeds.add(nodes[0]->local_endpoint());
        node_config cfg;
        cfg.seed = 70 + i;
        nodes.push_back(std::make_unique<sim_gossip_node>(net, cfg, std::move(seeds)));
    }
    // The origin's copies leave one after another: the first child gets
    // its copy at once, the last 6 ms later, long after a sibling relayed it.
    for (std::size_t i = 1; i < 4; ++i)
        net.set_link(nodes[0]->local_endpoint(), nodes[i]->local_endpoint(),
                     sim::link_model{sim::latency_distribution::fixed(100us + (i - 1) * 3ms)});
    node_id const origin = nodes[0]->id();
    std::vector<std::size_t> late_hops(4, 0), late_relayed(4, 0);
    bool measuring = false;
    for (std::size_t i = 1; i < 4; ++i)
        nodes[i]->on_event([&, i](sim_gossip_node::event_type const& ev) {
            if (auto const* d = std::get_if<broadcast::delivered>(&ev); d && d->key.origin == origin && measuring) {
                ++late_hops[i];
                late_relayed[i] += d->hops > 1 ? 1 : 0;
            }
        });
    for (auto& n : nodes)
        n->start();
    net.advance(2s);
    ASSERT_EQ(nodes[0]->engine<membership::hyparview>().active_size(), 3u); // a full mesh: every sibling can relay
    std::vector<std::byte> const payload(64);
    auto publish = [&](int count) {
        for (int k = 0; k < count; ++k) {
            ASSERT_TRUE(nodes[0]->broadcast(payload));
            net.advance(1ms);
        }
    };
    publish(1000); // the tree settles
    net.advance(100ms);
    auto grafts_before = [&] {
        std::uint64_t g = 0;
        for (auto& n : nodes)
            g += n->broadcaster().stats().grafts_sent;
        return g;
    };
    auto const grafts_settled = grafts_before();
    measuring = true;
    publish(1000);
    net.advance(2s);
    for (std::size_t i = 1; i < 4; ++i) {
        EXPECT_EQ(late_hops[i], 1000u) << "node " << i;
        EXPECT_EQ(late_relayed[i], 0u) << "node " << i << " still takes copies from a sibling";
    }
    EXPECT_EQ(grafts_before(), grafts_settled) << "a settled tree needs no repair";
}

TEST(PlumtreeUnderLoad, AMillionMessagesThroughSixteenNodesNoneToItsSenderNoneTwice)
{
    // 10^6 broadcasts at 100,000 a second, as fast as backpressure lets the
    // publisher go. Far more than any id count the engine could keep (the
    // old dedup held 16,384): a late copy must still never be delivered
    // again, nor a copy of its own broadcast to the publisher. Under the
    // sanitizers a tenth of that: still six times what the old dedup held.
#ifdef MESHKIT_SANITIZED
    constexpr std::size_t messages = 100'000;
#else
    constexpr std::size_t messages = 1'000'000;
#endif
    sim::network net{2020, loopback_like()};
    auto const out = run_load(net, 16, 10ms, messages, 100'000, 2s, 10s);
    ASSERT_EQ(out.published, messages);
    EXPECT_EQ(out.self_deliveries, 0u);
    EXPECT_EQ(out.double_deliveries, 0u);
    for (std::size_t i = 1; i < out.delivered.size(); ++i)
        EXPECT_EQ(out.delivered[i], out.published) << "node " << i;
    RecordProperty("refusals", static_cast<int>(out.refusals));
}

// -- baselines ------------------------------------------------------------------------

struct push_policies : sim_policies {
    using engines = type_list<membership::hyparview, broadcast::push_gossip>;
};
struct flood_policies : sim_policies {
    using engines = type_list<membership::hyparview, broadcast::flooding>;
};

TEST(Baselines, PushGossipAndFloodingDeliverWithTheirExpectedRedundancy)
{
    {
        sim::network net{606, internet_like()};
        auto c = make_cluster<basic_node<flood_policies>>(net, 1000);
        auto const r = c.broadcast_from(0, payload());
        EXPECT_EQ(r.delivered, r.receivers);
        EXPECT_GT(r.rmr, 2.0) << "flooding over degree ~5 sends ~4 copies per node";
    }
    {
        sim::network net{607, internet_like()};
        auto c = make_cluster<basic_node<push_policies>>(net, 1000);
        std::size_t delivered = 0, receivers = 0;
        double rmr = 0;
        for (int i = 0; i < 10; ++i) {
            auto const r = c.broadcast_from(c.random_live(), payload());
            delivered += r.delivered;
            receivers += r.receivers;
            rmr += r.rmr;
        }
        EXPECT_GE(static_cast<double>(delivered) / static_cast<double>(receivers), 0.99);
        EXPECT_GT(rmr / 10, 1.0) << "fan-out 3 push gossip is redundant by design";
    }
}

// -- 10,000 nodes: massive failure ------------------------------------------------------

TEST(PlumtreeAtScale, HalfTheNodesFailAndEveryLiveNodeStillReceives)
{
    sim::network net{808, internet_like()};
    auto c = make_cluster<sim_gossip_node>(net, 10000);
    auto const p = payload();
    ASSERT_EQ(c.broadcast_from(0, p).delivery_ratio(), 1.0);
    c.crash_fraction(0.5, 0);
    net.advance(30s); // failure detection (4 s) and passive-view repair
    auto const r = c.broadcast_from(0, p);
    EXPECT_EQ(r.delivered, r.receivers);
    EXPECT_EQ(components(c), 1u);
}

TEST(PlumtreeAtScale, EightyPercentFailAndRepairRestoresDelivery)
{
    sim::network net{809, internet_like()};
    auto c = make_cluster<sim_gossip_node>(net, 10000);
    auto const p = payload();
    c.crash_fraction(0.8, 0);
    net.advance(60s);
    auto const r = c.broadcast_from(0, p);
    RecordProperty("delivered_per_10000", static_cast<int>(r.delivery_ratio() * 10000));
    EXPECT_GE(r.delivery_ratio(), 0.99) << r.delivered << " of " << r.receivers;
}

// -- churn ---------------------------------------------------------------------------

TEST(PlumtreeChurn, DeliveryStaysAbove999PerMilleWhileNodesComeAndGo)
{
    sim::network net{909, internet_like()};
    // Newcomers get three seeds, as deployments configure several bootstrap
    // nodes: with one, a newcomer whose seed dies before it joins is stranded.
    sim::cluster<sim_gossip_node>::options o;
    o.nodes = 1000;
    o.contacts = 3;
    sim::cluster<sim_gossip_node> c{net, o};
    c.start_all();
    net.advance(20s);
    auto const p = payload();
    std::size_t delivered = 0, receivers = 0;
    for (int round = 0; round < 60; ++round) {
        // 1 % of the nodes leave and as many new ones join, every round.
        for (int k = 0; k < 10; ++k) {
            c.crash(c.random_live());
            c.add_node();
        }
        net.advance(2s);
        auto const r = c.broadcast_from(c.random_live(), p, 3s);
        delivered += r.delivered;
        receivers += r.receivers;
    }
    double const ratio = static_cast<double>(delivered) / static_cast<double>(receivers);
    RecordProperty("delivered_per_100000", static_cast<int>(ratio * 100000));
    EXPECT_GE(ratio, 0.999) << delivered << " of " << receivers;
}

// -- real UDP on 127.0.0.1 -------------------------------------------------------------

/// Runs `io` in short slices until `done()` holds or `limit` passes; true if it held.
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds limit)
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        io.run_for(20ms);
    }
    return true;
}

TEST(UdpOverlay, SixteenNodesBroadcastAndRepairAroundAKilledNode)
{
    asio::io_context io;
    node_config cfg;
    cfg.listen = endpoint::v4(127, 0, 0, 1, 0);
    cfg.engine<membership::hyparview>().keepalive_interval = 200ms;
    cfg.engine<membership::hyparview>().failure_timeout = 2s; // generous: CI machines stall
    cfg.engine<membership::hyparview>().neighbor_request_timeout = 500ms;
    cfg.engine<membership::hyparview>().shuffle_interval = 1s;
    constexpr std::size_t n = 16;
    std::vector<std::unique_ptr<udp_node>> nodes;
    std::vector<std::set<std::uint64_t>> got(n);
    auto last_change = std::chrono::steady_clock::now(); // of any node's active view
    for (std::size_t i = 0; i < n; ++i) {
        // Each node joins through its "parent" i/2 and also knows node 0, a
        // long-lived bootstrap node, as deployments configure: in a mesh this
        // small a killed node can cut off a clique whose members know no one
        // else alive, and only a bootstrap node can reconnect it.
        discovery::static_seeds seeds;
        if (i > 0) {
            seeds.add(nodes[i / 2]->local_endpoint());
            seeds.add(nodes[0]->local_endpoint());
        }
        nodes.push_back(std::make_unique<udp_node>(io, cfg, std::move(seeds)));
        nodes.back()->on_event([&got, &last_change, i](udp_node::event_type const& ev) {
            if (auto const* d = std::get_if<broadcast::delivered>(&ev))
                got[i].insert(d->key.seq);
            if (std::holds_alternative<link_up>(ev) || std::holds_alternative<link_down>(ev))
                last_change = std::chrono::steady_clock::now();
        });
        nodes.back()->start();
    }
    auto connected = [&] {
        // One component over the live nodes' active views, every node with a neighbour.
        std::map<node_id, std::size_t> index;
        for (std::size_t i = 0; i < n; ++i)
            if (nodes[i])
                index[nodes[i]->id()] = i;
        std::set<std::size_t> seen{index.begin()->second};
        std::vector<std::size_t> todo{index.begin()->second};
        while (!todo.empty()) {
            auto v = todo.back();
            todo.pop_back();
            for (auto const& p : nodes[v]->engine<hyparview>().active_view())
                if (auto it = index.find(p.id); it != index.end() && seen.insert(it->second).second)
                    todo.push_back(it->second);
        }
        return seen.size() == index.size();
    };
    ASSERT_TRUE(run_until(io, connected, 10s)) << "the 16 nodes never formed one overlay";

    auto const p = payload(200);
    auto key = nodes[0]->broadcast(p);
    ASSERT_TRUE(key);
    auto all_got = [&](std::uint64_t seq, std::size_t except) {
        return [&, seq, except] {
            for (std::size_t i = 0; i < n; ++i)
                if (nodes[i] && i != except && !got[i].contains(seq))
                    return false;
            return true;
        };
    };
    EXPECT_TRUE(run_until(io, all_got(key->seq, 0), 5s)) << "the first broadcast did not reach every node";

    // Kill the node with the most neighbours; its neighbours must drop it and refill their views.
    std::size_t victim = 1;
    for (std::size_t i = 1; i < n; ++i)
        if (nodes[i]->engine<hyparview>().active_size() > nodes[victim]->engine<hyparview>().active_size())
            victim = i;
    node_id const dead = nodes[victim]->id();
    std::vector<std::size_t> bereaved;
    for (std::size_t i = 0; i < n; ++i)
        if (i != victim && nodes[i]->engine<hyparview>().is_active(dead))
            bereaved.push_back(i);
    nodes[victim].reset();
    auto repaired = [&] {
        for (std::size_t i = 0; i < n; ++i)
            if (nodes[i] && nodes[i]->engine<hyparview>().is_active(dead))
                return false;
        for (auto i : bereaved)
            if (nodes[i]->engine<hyparview>().active_size() < cfg.engine<membership::hyparview>().urgent_below)
                return false;
        // Repaired means settled: a broadcast sent while links are still being
        // rewired can pass a node whose every link is newer than the message,
        // and Plumtree has no catch-up for that (see docs/broadcast.md).
        return connected() && std::chrono::steady_clock::now() - last_change > 1s;
    };
    ASSERT_TRUE(run_until(io, repaired, 15s)) << "the overlay did not repair around the dead node";
    EXPECT_GE(bereaved.size(), 2u) << "the victim had neighbours to repair";

    std::size_t const sender = victim == 2 ? 3 : 2;
    auto second = nodes[sender]->broadcast(p);
    ASSERT_TRUE(second);
    EXPECT_TRUE(run_until(io, all_got(second->seq, sender), 5s)) << "a node missed the broadcast after repair";
}

} // namespace
