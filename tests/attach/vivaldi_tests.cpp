// Vivaldi network coordinates: they learn a latency space from round trips,
// and what a peer sends cannot break them.

#include <meshkit/coordinates/vivaldi.hpp>
#include <meshkit/detail/rng.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

struct accuracy {
    double mean = 0;
    double max = 0;
};

/// Each cycle every node measures one random other (true RTT `rtt(i, j)`); then the relative error over all pairs.
template <class Rtt>
accuracy learn(std::size_t n, Rtt rtt, int cycles, std::uint64_t seed)
{
    detail::rng rng{seed};
    std::vector<coordinates::vivaldi> nodes(n);
    for (int c = 0; c < cycles; ++c)
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t j = rng.below(n - 1);
            j += j >= i ? 1 : 0;
            nodes[i].update(nodes[j].coordinate(), rtt(i, j), rng);
        }
    accuracy a;
    std::size_t pairs = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) {
            double const truth = std::chrono::duration<double>(rtt(i, j)).count();
            double const est = std::chrono::duration<double>(nodes[i].estimate_rtt(nodes[j].coordinate())).count();
            double const err = std::fabs(est - truth) / truth;
            a.mean += err;
            a.max = std::max(a.max, err);
            ++pairs;
        }
    a.mean /= static_cast<double>(pairs);
    return a;
}

TEST(Vivaldi, CoordinatesLearnAGridOfHostsFromRoundTripsAlone)
{
    // Serf's grid: 25 hosts 10 ms apart; the estimate is the RTT of a pair never measured together too.
    auto const grid = [](std::size_t i, std::size_t j) {
        double const dx = double(i % 5) - double(j % 5), dy = double(i / 5) - double(j / 5);
        return std::chrono::duration_cast<duration>(std::chrono::duration<double>(0.010 * std::hypot(dx, dy)));
    };
    auto const a = learn(25, grid, 1000, 1);
    EXPECT_LT(a.mean, 0.02) << "mean relative error";
    EXPECT_LT(a.max, 0.10) << "worst pair";
}

TEST(Vivaldi, TwoSitesApartAreTwoClusters)
{
    // Serf's split: LAN 1 ms within a site, WAN 10 ms across.
    auto const split = [](std::size_t i, std::size_t j) { return (i % 2 == j % 2) ? duration(1ms) : duration(10ms); };
    auto const a = learn(24, split, 1000, 2);
    EXPECT_LT(a.mean, 0.05);
}

TEST(Vivaldi, AnImplausibleCoordinateOrRoundTripChangesNothing)
{
    detail::rng rng{3};
    coordinates::vivaldi v;
    coordinates::network_coordinate peer;
    peer.vec[0] = 0.02f;
    peer.error = 0.5f;
    ASSERT_TRUE(v.update(peer, 30ms, rng));
    auto const before = v.coordinate();

    std::vector<coordinates::network_coordinate> hostile(6, peer);
    hostile[0].vec[3] = std::numeric_limits<float>::quiet_NaN();
    hostile[1].height = std::numeric_limits<float>::infinity();
    hostile[2].vec[7] = 1e9f;
    hostile[3].error = -1.0f;
    hostile[4].adjustment = std::numeric_limits<float>::quiet_NaN();
    hostile[5].height = -0.5f;
    for (auto const& h : hostile) {
        EXPECT_FALSE(h.is_plausible());
        EXPECT_FALSE(v.update(h, 30ms, rng));
    }
    EXPECT_FALSE(v.update(peer, 0ms, rng)) << "a zero round trip";
    EXPECT_FALSE(v.update(peer, -5ms, rng)) << "a negative round trip";
    EXPECT_FALSE(v.update(peer, 1000s, rng)) << "a round trip no network has";
    EXPECT_EQ(v.coordinate(), before);
    EXPECT_EQ(v.stats().rejected, 9u);
    EXPECT_EQ(v.stats().updates, 1u);
}

TEST(Vivaldi, TwoNodesInOnePlaceMoveApartToTheirMeasuredDistance)
{
    detail::rng rng{4};
    coordinates::vivaldi a, b;
    for (int i = 0; i < 200; ++i) {
        a.update(b.coordinate(), 40ms, rng);
        b.update(a.coordinate(), 40ms, rng);
    }
    double const est = std::chrono::duration<double, std::milli>(a.estimate_rtt(b.coordinate())).count();
    EXPECT_NEAR(est, 40.0, 2.0);
    EXPECT_LT(a.coordinate().error, 0.1f) << "it knows it is right";
}

} // namespace
