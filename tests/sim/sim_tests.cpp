// Test that header file is self-contained.
#include <meshkit/sim/network.hpp>

#include <meshkit/sim/transport.hpp>
#include <meshkit/sim/virtual_clock.hpp>

#include <support/bytes.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using test::bytes_of;
using namespace std::chrono_literals;

/// A host that records what it receives, and when.
struct recorder {
    explicit recorder(sim::network& net, endpoint at = {}) : t(net, at)
    {
        t.on_receive([this, &net](endpoint const& from, std::span<std::byte const> d) {
            got.push_back({from, std::string(reinterpret_cast<char const*>(d.data()), d.size()), net.now()});
        });
    }
    struct arrival {
        endpoint from;
        std::string text;
        time_point at;
    };
    sim::transport t;
    std::vector<arrival> got;
};

TEST(SimNetwork, DeliversAfterTheLinkLatency)
{
    sim::network net{1, {sim::latency_distribution::fixed(25ms)}};
    recorder a{net}, b{net};
    ASSERT_FALSE(a.t.send(b.t.local_endpoint(), bytes_of("hi")));
    net.advance(24ms);
    EXPECT_TRUE(b.got.empty());
    net.advance(1ms);
    ASSERT_EQ(b.got.size(), 1u);
    EXPECT_EQ(b.got[0].text, "hi");
    EXPECT_EQ(b.got[0].from, a.t.local_endpoint());
    EXPECT_EQ(b.got[0].at.time_since_epoch(), 25ms);
}

TEST(SimNetwork, AMulticastGroupReachesEveryMemberButTheSenderOverTheirOwnLinks)
{
    sim::network net{1, {sim::latency_distribution::fixed(10ms)}};
    recorder a{net}, b{net}, c{net}, outsider{net};
    endpoint const group = endpoint::v4(0xEF000001, 7946); // 239.0.0.1
    for (recorder* r : {&a, &b, &c})
        net.join_group(group, r->t.local_endpoint());
    net.join_group(group, b.t.local_endpoint()); // twice: still one copy
    ASSERT_FALSE(a.t.send(group, bytes_of("beacon")));
    net.advance(10ms);
    EXPECT_TRUE(a.got.empty());
    ASSERT_EQ(b.got.size(), 1u);
    ASSERT_EQ(c.got.size(), 1u);
    EXPECT_EQ(c.got[0].from, a.t.local_endpoint());
    EXPECT_TRUE(outsider.got.empty());
    // A partition cuts the copies that cross it; a member that left hears nothing.
    net.partition({{a.t.local_endpoint(), b.t.local_endpoint()}});
    net.leave_group(group, b.t.local_endpoint());
    ASSERT_FALSE(a.t.send(group, bytes_of("again")));
    net.advance(10ms);
    EXPECT_EQ(b.got.size(), 1u);
    EXPECT_EQ(c.got.size(), 1u);
    // A group nobody joined swallows the datagram.
    ASSERT_FALSE(a.t.send(endpoint::v4(0xEF000002, 7946), bytes_of("void")));
}

TEST(SimNetwork, LinkLatencyIsStableAndSymmetricWithinTheRange)
{
    sim::network net{7, {sim::latency_distribution::uniform(10ms, 50ms)}};
    std::vector<std::unique_ptr<recorder>> hosts;
    for (int i = 0; i < 20; ++i)
        hosts.push_back(std::make_unique<recorder>(net));
    std::set<duration::rep> distinct;
    for (auto& x : hosts)
        for (auto& y : hosts) {
            auto const l = net.link_latency(x->t.local_endpoint(), y->t.local_endpoint());
            EXPECT_GE(l, 10ms);
            EXPECT_LE(l, 50ms);
            EXPECT_EQ(l, net.link_latency(y->t.local_endpoint(), x->t.local_endpoint()));
            distinct.insert(l.count());
        }
    EXPECT_GT(distinct.size(), 100u); // drawn, not constant
}

TEST(SimNetwork, LossDropsAboutTheConfiguredShare)
{
    sim::network net{3, {.loss = 0.2}};
    recorder a{net}, b{net};
    for (int i = 0; i < 10000; ++i)
        a.t.send(b.t.local_endpoint(), bytes_of("x"));
    net.run_until_idle();
    EXPECT_NEAR(static_cast<double>(b.got.size()), 8000.0, 200.0);
    EXPECT_EQ(net.stats().lost + b.got.size(), 10000u);
}

TEST(SimNetwork, DuplicationDeliversExtraCopies)
{
    sim::network net{4, {.duplicate = 0.1}};
    recorder a{net}, b{net};
    for (int i = 0; i < 5000; ++i)
        a.t.send(b.t.local_endpoint(), bytes_of("x"));
    net.run_until_idle();
    EXPECT_EQ(b.got.size(), 5000u + net.stats().duplicated);
    EXPECT_NEAR(static_cast<double>(net.stats().duplicated), 500.0, 100.0);
}

TEST(SimNetwork, ReorderingLetsLaterDatagramsOvertake)
{
    sim::network net{5, {.reorder = 0.3, .reorder_window = 30ms}};
    recorder a{net}, b{net};
    for (int i = 0; i < 200; ++i) {
        a.t.send(b.t.local_endpoint(), bytes_of(std::to_string(i)));
        net.advance(1ms);
    }
    net.run_until_idle();
    ASSERT_EQ(b.got.size(), 200u);
    int inversions = 0;
    for (std::size_t i = 1; i < b.got.size(); ++i)
        inversions += std::stoi(b.got[i].text) < std::stoi(b.got[i - 1].text);
    EXPECT_GT(inversions, 10);
}

TEST(SimNetwork, PartitionDropsAcrossGroupsAndHealRestores)
{
    sim::network net{6};
    recorder a{net}, b{net}, c{net};
    net.partition({{a.t.local_endpoint()}, {b.t.local_endpoint(), c.t.local_endpoint()}});
    a.t.send(b.t.local_endpoint(), bytes_of("cut"));
    c.t.send(b.t.local_endpoint(), bytes_of("same side"));
    net.run_until_idle();
    ASSERT_EQ(b.got.size(), 1u);
    EXPECT_EQ(b.got[0].text, "same side");
    EXPECT_EQ(net.stats().partitioned, 1u);

    net.heal();
    a.t.send(b.t.local_endpoint(), bytes_of("healed"));
    net.run_until_idle();
    ASSERT_EQ(b.got.size(), 2u);
    EXPECT_EQ(b.got[1].text, "healed");
}

TEST(SimNetwork, DatagramsInFlightAcrossANewPartitionAreLost)
{
    sim::network net{6, {sim::latency_distribution::fixed(50ms)}};
    recorder a{net}, b{net};
    a.t.send(b.t.local_endpoint(), bytes_of("in flight"));
    net.advance(10ms);
    net.partition({{a.t.local_endpoint()}});
    net.run_until_idle();
    EXPECT_TRUE(b.got.empty());
}

TEST(SimNetwork, DatagramSentDuringAPartitionStaysLostAfterHeal)
{
    sim::network net{6, {sim::latency_distribution::fixed(50ms)}};
    recorder a{net}, b{net};
    net.partition({{a.t.local_endpoint()}});
    a.t.send(b.t.local_endpoint(), bytes_of("sent into the cut"));
    net.advance(10ms);
    net.heal();
    net.run_until_idle();
    EXPECT_TRUE(b.got.empty());
}

TEST(SimNetwork, CrashedHostReceivesNothingAndItsTimersDie)
{
    sim::network net{8};
    recorder a{net}, b{net};
    sim::virtual_clock clock_b{net, b.t};
    int fired = 0;
    clock_b.set_timer(net.now() + 1s, [&] { ++fired; });
    net.crash(b.t.local_endpoint());
    EXPECT_FALSE(net.is_up(b.t.local_endpoint()));
    a.t.send(b.t.local_endpoint(), bytes_of("lost"));
    EXPECT_EQ(b.t.send(a.t.local_endpoint(), bytes_of("from the dead")), errc::not_running);
    net.advance(2s);
    EXPECT_TRUE(b.got.empty());
    EXPECT_EQ(fired, 0);

    net.restart(b.t.local_endpoint());
    a.t.send(b.t.local_endpoint(), bytes_of("back"));
    clock_b.set_timer(net.now() + 1s, [&] { ++fired; });
    net.advance(2s);
    ASSERT_EQ(b.got.size(), 1u);
    EXPECT_EQ(fired, 1);
}

TEST(SimNetwork, RebindMovesTheHostAndOldAddressGoesDead)
{
    sim::network net{9};
    recorder a{net}, b{net};
    endpoint const old_b = b.t.local_endpoint();
    endpoint const new_b = endpoint::v4(192, 0, 2, 1, 4000);
    ASSERT_FALSE(net.rebind(old_b, new_b));
    EXPECT_EQ(b.t.local_endpoint(), new_b);
    a.t.send(old_b, bytes_of("old"));
    a.t.send(new_b, bytes_of("new"));
    b.t.send(a.t.local_endpoint(), bytes_of("from new"));
    net.run_until_idle();
    ASSERT_EQ(b.got.size(), 1u);
    EXPECT_EQ(b.got[0].text, "new");
    ASSERT_EQ(a.got.size(), 1u);
    EXPECT_EQ(a.got[0].from, new_b);
}

TEST(SimNetwork, BindingABoundAddressFails)
{
    sim::network net{10};
    recorder a{net};
    EXPECT_THROW(sim::transport(net, a.t.local_endpoint()), std::system_error);
    EXPECT_EQ(net.bind(a.t.local_endpoint(), {}).error(), errc::address_in_use);
}

TEST(SimNetwork, OversizedDatagramIsRefused)
{
    sim::network net{11};
    recorder a{net}, b{net};
    std::vector<std::byte> big(net.max_datagram_size() + 1);
    EXPECT_EQ(a.t.send(b.t.local_endpoint(), big), errc::message_too_large);
}

TEST(SimNetwork, TimersFireInOrderAndCancelledOnesDoNot)
{
    sim::network net{12};
    sim::virtual_clock clock{net};
    std::vector<int> order;
    clock.set_timer(net.now() + 30ms, [&] { order.push_back(3); });
    clock.set_timer(net.now() + 10ms, [&] { order.push_back(1); });
    auto h = clock.set_timer(net.now() + 20ms, [&] { order.push_back(2); });
    clock.set_timer(net.now() + 10ms, [&] { order.push_back(11); }); // same time: insertion order
    clock.cancel(h);
    clock.cancel(h); // twice is harmless
    net.run_until_idle();
    EXPECT_EQ(order, (std::vector<int>{1, 11, 3}));
    EXPECT_EQ(net.now().time_since_epoch(), 30ms);
}

TEST(SimNetwork, AdvanceMovesTheClockEvenWhenIdle)
{
    sim::network net{13};
    net.advance(5s);
    EXPECT_EQ(net.now().time_since_epoch(), 5s);
    EXPECT_EQ(net.run_until_idle(), 0u);
}

/// A busy, lossy, jittery workload: every arrival is answered to a random host.
std::uint64_t run_workload(std::uint64_t seed, std::size_t hosts = 200)
{
    sim::network net{seed, {sim::latency_distribution::uniform(5ms, 40ms), 3ms, 0.05, 0.02, 0.05}};
    std::vector<std::unique_ptr<sim::transport>> ts;
    std::vector<endpoint> eps;
    for (std::size_t i = 0; i < hosts; ++i) {
        ts.push_back(std::make_unique<sim::transport>(net));
        eps.push_back(ts.back()->local_endpoint());
    }
    for (auto& t : ts) {
        auto* self = t.get();
        self->on_receive([&net, &eps, self](endpoint const&, std::span<std::byte const> d) {
            if (d.size() < 40) {
                std::vector<std::byte> next(d.begin(), d.end());
                next.push_back(std::byte(net.rng().below(256)));
                self->send(eps[net.rng().below(eps.size())], next);
            }
        });
        self->send(eps[net.rng().below(eps.size())], std::vector<std::byte>{std::byte{1}});
    }
    net.run_until_idle();
    return net.trace_hash();
}

TEST(SimDeterminism, SameSeedGivesTheSameTraceHash)
{
    auto const first = run_workload(2026);
    auto const second = run_workload(2026);
    EXPECT_EQ(first, second);
    EXPECT_NE(first, run_workload(2027));
}

} // namespace
