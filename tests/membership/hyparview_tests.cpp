// Test that header file is self-contained.
#include <meshkit/membership/hyparview.hpp>

#include <meshkit/node_policies.hpp>
#include <meshkit/sim/cluster.hpp>

#include <gtest/gtest.h>
#include <support/overlay.hpp>

#include <chrono>

// HyParView over the simulator: a bounded, symmetric, connected overlay
// (docs/membership.md). Its use under broadcast is in broadcast/.

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using membership::hyparview;
using test::components;
using test::internet_like;
using test::make_cluster;
using test::payload;

// -- HyParView ---------------------------------------------------------------------

TEST(HyParView, ThousandNodesBuildASymmetricBoundedConnectedOverlay)
{
    sim::network net{101, internet_like()};
    auto c = make_cluster<sim_gossip_node>(net, 1000);
    std::map<node_id, std::set<node_id>> views;
    std::size_t passive_total = 0;
    for (auto i : c.live_indices()) {
        auto& hv = c.node(i).engine<hyparview>();
        EXPECT_GE(hv.active_size(), 1u);
        EXPECT_LE(hv.active_size(), hv.config().active_capacity);
        EXPECT_LE(hv.passive_view().size(), hv.config().passive_capacity);
        passive_total += hv.passive_view().size();
        for (auto const& p : hv.active_view())
            views[c.node(i).id()].insert(p.id);
    }
    std::size_t asymmetric = 0;
    for (auto const& [a, peers] : views)
        for (auto const& b : peers)
            asymmetric += !views[b].contains(a);
    EXPECT_EQ(asymmetric, 0u) << "active views must be symmetric";
    EXPECT_EQ(components(c), 1u);
    EXPECT_GT(passive_total / 1000, 10u) << "joins and shuffles fill passive views";
}

TEST(HyParView, SameSeedBuildsTheSameOverlay)
{
    auto build = [] {
        sim::network net{7, internet_like()};
        auto c = make_cluster<sim_gossip_node>(net, 200);
        return net.trace_hash();
    };
    EXPECT_EQ(build(), build());
}

} // namespace
