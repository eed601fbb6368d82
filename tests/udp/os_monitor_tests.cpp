// The rejoin supervisor's operating-system triggers: rtnetlink network changes
// (a real netlink socket, in a network namespace of its own when root) and
// wakes from sleep (two clocks).

#include <meshkit/udp/network_monitor.hpp>
#include <meshkit/udp/sleep_detector.hpp>
#include <meshkit/udp/sleep_monitor.hpp>

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

TEST(SleepDetector, AGrowingGapBetweenBootAndMonotonicTimeIsASleepAndAStallIsNot)
{
    udp::sleep_detector d{2s};
    EXPECT_FALSE(d.sample(100s, 150s)) << "the first reading has nothing to compare with";
    EXPECT_FALSE(d.sample(101s, 151s)) << "a second of running";
    // A stall (a debugger, a starved process) moves both clocks alike: no sleep.
    EXPECT_FALSE(d.sample(131s, 181s));
    // Five minutes of suspend: boot time moved on, monotonic time did not.
    auto slept = d.sample(132s, 482s);
    ASSERT_TRUE(slept);
    EXPECT_EQ(*slept, 300s);
    // Drift within the threshold is no sleep.
    EXPECT_FALSE(d.sample(133s, 485s));
    EXPECT_FALSE(d.sample(134s, 486s));
}

TEST(SleepMonitor, ARunningMachineReportsNoSleep)
{
    asio::io_context io;
    int wakes = 0;
    udp::sleep_monitor m{io, [&](duration) { ++wakes; }, 50ms, 2s};
    io.run_for(400ms);
    EXPECT_EQ(wakes, 0);
}

TEST(NetworkMonitor, OpensARealRtnetlinkSocket)
{
    asio::io_context io;
    std::vector<udp::network_change> seen;
    udp::network_monitor m{io, [&](udp::network_change const& c) { seen.push_back(c); }};
    io.run_for(50ms);
    EXPECT_EQ(m.stats().refused, 0u);
}

// In a child in a new network namespace (root only): bring its loopback up, add an address, take it down;
// the monitor must report each, from the kernel's own notifications.
int watch_loopback_in_a_new_namespace()
{
    if (::unshare(CLONE_NEWNET) != 0)
        return 77;
    asio::io_context io;
    std::vector<udp::network_change> seen;
    udp::network_monitor m{io, [&](udp::network_change const& c) { seen.push_back(c); }};
    auto expect = [&](char const* command, udp::network_change_kind kind) {
        std::size_t const from = seen.size();
        if (std::system(command) != 0) {
            std::fprintf(stderr, "failed: %s\n", command);
            return false;
        }
        for (int i = 0; i < 100; ++i) {
            io.run_for(20ms);
            for (std::size_t k = from; k < seen.size(); ++k)
                if (seen[k].kind == kind && seen[k].interface_index == 1) // lo is index 1 in a new namespace
                    return true;
        }
        std::fprintf(stderr, "no %s after: %s\n", udp::to_string(kind), command);
        return false;
    };
    bool ok = expect("ip link set lo up", udp::network_change_kind::link_up) &&
              expect("ip addr add 10.99.0.1/32 dev lo", udp::network_change_kind::address_added) &&
              expect("ip addr del 10.99.0.1/32 dev lo", udp::network_change_kind::address_removed) &&
              expect("ip link set lo down", udp::network_change_kind::link_down);
    return ok && m.stats().refused == 0 ? 0 : 1;
}

TEST(NetworkMonitor, ReportsLinkAndAddressChangesTheKernelAnnounces)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root for a network namespace of its own (CI runs as root)";
    std::fflush(nullptr);
    pid_t const child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0)
        std::_Exit(watch_loopback_in_a_new_namespace());
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        GTEST_SKIP() << "unshare(CLONE_NEWNET) refused here";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's message above";
}

} // namespace
