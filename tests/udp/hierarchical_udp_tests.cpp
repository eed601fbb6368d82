// The hierarchical mesh over real UDP on loopback: a multicast group as the
// LAN that carries beacons, and a small hierarchy that forms over it and
// carries telemetry up and a command down.

#include <meshkit/hierarchy/static_strategy.hpp>
#include <meshkit/reference/hierarchical.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/udp/hierarchical_policies.hpp>
#include <meshkit/udp/transport.hpp>
#include <meshkit/wire/codec.hpp>

#include <support/bytes.hpp>
#include <support/run_until.hpp>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

/// A group and port of its own per test process, so parallel test runs do not hear each other.
endpoint test_group(std::uint32_t salt)
{
    auto const pid = static_cast<std::uint32_t>(::getpid());
    return endpoint::v4(0xEFFF0000u | ((pid + salt) & 0xFFFF), static_cast<std::uint16_t>(40000 + (pid + salt) % 20000));
}

TEST(UdpMulticast, AGroupOnLoopbackReachesEveryMemberWithTheSendersUnicastAddress)
{
    asio::io_context io;
    udp::transport a(io, endpoint::v4(0x7f000001, 0)), b(io, endpoint::v4(0x7f000001, 0)),
        outsider(io, endpoint::v4(0x7f000001, 0));
    endpoint const group = test_group(1);
    a.join_group(group);
    b.join_group(group);
    std::vector<std::pair<endpoint, std::string>> got_a, got_b, got_outsider;
    auto record = [](auto& log) {
        return [&log](endpoint const& from, std::span<std::byte const> d) {
            log.emplace_back(from, std::string(reinterpret_cast<char const*>(d.data()), d.size()));
        };
    };
    a.on_receive(record(got_a));
    b.on_receive(record(got_b));
    outsider.on_receive(record(got_outsider));
    ASSERT_FALSE(a.send(group, test::bytes_of("beacon")));
    ASSERT_TRUE(test::run_until(io, [&] { return !got_b.empty() && !got_a.empty(); }));
    EXPECT_EQ(got_b[0].first, a.local_endpoint()); // replies go back unicast
    EXPECT_EQ(got_b[0].second, "beacon");
    EXPECT_EQ(got_a[0].first, a.local_endpoint()); // its own copy: engines ignore their own beacons
    io.run_for(50ms);
    EXPECT_TRUE(got_outsider.empty());
    EXPECT_THROW(a.join_group(test_group(2)), std::invalid_argument); // one group per transport
    EXPECT_THROW(outsider.join_group(endpoint::v4(0x0a000001, 7000)), std::invalid_argument);
}

TEST(HierarchicalMeshOverUdp, ALanGroupIsAllItTakesToFormReportUpAndCommandDown)
{
    using node_type = udp::hierarchical_node<hierarchy::static_strategy>;
    using engine_type = topology::hierarchical_mesh<topology::summary_aggregator>;
    asio::io_context io;
    endpoint const group = test_group(3);
    std::vector<std::unique_ptr<node_type>> nodes;
    std::vector<std::vector<topology::packet_received>> got(3);
    for (int i = 0; i < 3; ++i) {
        topology::mesh_config cfg;
        cfg.position = offset_m(geo_position{59.91, 10.75, std::nullopt}, 50.0 * i, 0);
        cfg.top_level = 1;
        cfg.beacons.broadcast_interval = 100ms;
        cfg.beacons.ttl = 1s;
        cfg.beacons.janitor_interval = 100ms;
        cfg.aggregation_interval = 100ms;
        cfg.beacon_to_heard = false; // the group carries every beacon
        node_config nc;
        nc.listen = endpoint::v4(0x7f000001, 0);
        nc.engine<engine_type>() = cfg;
        hierarchy::static_strategy_config level;
        level.level = i == 0 ? 1 : 0;
        level.role = i == 0 ? node_role::leader : node_role::member;
        auto& n = nodes.emplace_back(std::make_unique<node_type>(io, nc, discovery::static_seeds{group},
                                                                  hierarchy::static_strategy{level}));
        n->transport().join_group(group);
        n->on_event([&log = got[static_cast<std::size_t>(i)]](node_type::event_type const& e) {
            if (auto const* p = std::get_if<topology::packet_received>(&e))
                log.push_back(*p);
        });
        n->start();
    }
    auto mesh = [&](int i) -> engine_type const& { return nodes[static_cast<std::size_t>(i)]->engine<engine_type>(); };
    ASSERT_TRUE(test::run_until(io, [&] { return mesh(1).parent() && mesh(2).parent(); }, 5s));
    EXPECT_EQ(mesh(1).parent()->id, nodes[0]->id());
    EXPECT_EQ(mesh(2).parent()->id, nodes[0]->id());
    std::vector<std::byte> reading;
    wire::encode(topology::node_state{{59.91, 10.75, std::nullopt}, std::uint8_t{50}, true, 7}, reading);
    ASSERT_TRUE(reference::report(*nodes[1], topology::data_type::telemetry, reading));
    ASSERT_TRUE(reference::report(*nodes[2], topology::data_type::telemetry, reading));
    ASSERT_TRUE(test::run_until(io, [&] { return got[0].size() == 2; }, 5s));
    EXPECT_EQ(mesh(0).stats().readings_consumed, 2u);
    ASSERT_FALSE(reference::send(*nodes[0], topology::data_type::command, std::nullopt, test::bytes_of("hold")));
    ASSERT_TRUE(test::run_until(io, [&] { return got[1].size() == 1 && got[2].size() == 1; }, 5s));
    EXPECT_EQ(got[2][0].type, topology::data_type::command);
    io.run_for(300ms);
    EXPECT_EQ(mesh(1).held(), 0u); // released by the root

    // Secure by default: ids are keys, beacons reached the group unsealed but signed, all else went sealed.
    for (auto const& n : nodes) {
        EXPECT_EQ(n->id(), n->signing_key().id());
        EXPECT_GT(n->transport().stats().group_received, 0u);
        EXPECT_GT(n->transport().stats().datagrams_opened, 0u);
        EXPECT_EQ(n->engine<engine_type>().stats().beacons_forged, 0u);
    }
    // An outsider on the group: an unsigned beacon under the root's id, one it signed itself under the
    // root's id, and a probe (no self-signed kind) are all refused, and nobody moves.
    udp::transport outsider(io, endpoint::v4(0x7f000001, 0));
    outsider.join_group(group);
    auto const outsider_key = security::signing_key::generate();
    auto send_to_group = [&](auto const& message, std::uint64_t seq) {
        std::vector<std::byte> out{std::byte{security::frame::group}};
        using M = std::decay_t<decltype(message)>;
        node_type::messages::encode(wire::envelope{M::wire_id, nodes[0]->id(), seq, 0}, message, out);
        ASSERT_FALSE(outsider.send(group, out));
    };
    auto const forged_before = mesh(1).stats().beacons_forged;
    topology::hm_beacon fake;
    fake.seq = std::uint64_t{1} << 60; // newer than anything the root sent
    fake.position = offset_m(geo_position{59.91, 10.75, std::nullopt}, 5000, 0);
    fake.role = static_cast<std::uint8_t>(node_role::standalone);
    send_to_group(fake, 1);
    fake.signature = outsider_key.sign(topology::signing_bytes(nodes[0]->id(), fake));
    send_to_group(fake, 2);
    send_to_group(topology::hm_probe{42}, 3);
    io.run_for(300ms);
    EXPECT_EQ(mesh(1).stats().beacons_forged - forged_before, 2u) << "both forged beacons counted";
    EXPECT_EQ(nodes[1]->metrics().counter("meshkit_unsealed_refused_total"), 1u) << "a probe proves no sender";
    EXPECT_EQ(mesh(1).parent()->id, nodes[0]->id());
    EXPECT_EQ(mesh(2).parent()->id, nodes[0]->id());
}

} // namespace
