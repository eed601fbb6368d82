// Gossip-first NAT traversal: the connection ladder over every pair of NAT
// presets, relay failover, the registry, the persisted cache, Flashback's
// rules and its IP-sharing promise. All simulated, with fixed seeds.

#include <meshkit_sim/gossip_first_scenario.hpp> // the scenario meshkit-sim runs (tools/)

#include <meshkit/birthday_probe.hpp>
#include <meshkit/reference/gossip_first.hpp>
#include <meshkit/sim/nat_presets.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/storage/file_store.hpp>

#include <gtest/gtest.h>
#include <support/recording_context.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using reference::gossip_first_node;
using sim::nat_preset;

/// A small world: public bootstrap nodes, then hosts behind chosen NATs.
struct world {
    sim::network net;
    sim::host_placer placer{net};
    std::vector<endpoint> seeds;
    std::vector<std::unique_ptr<gossip_first_node>> bootstraps;
    std::vector<std::unique_ptr<gossip_first_node>> nodes;

    /// When set, every host gets a clock of its own: offset by hours, drifting by up to 100 ppm.
    bool skewed_clocks = false;

    explicit world(std::uint64_t seed, std::size_t bootstrap_count = 3, bool skew = false)
        : net(seed, [] {
              sim::link_model l;
              l.latency = sim::latency_distribution::uniform(10ms, 40ms);
              return l;
          }())
        , skewed_clocks(skew)
    {
        for (std::size_t i = 0; i < bootstrap_count; ++i)
            seeds.push_back(net.next_endpoint());
        for (std::size_t i = 0; i < bootstrap_count; ++i) {
            skew_clock(seeds[i]);
            node_config c;
            c.listen = seeds[i];
            c.seed = seed * 31 + i;
            c.engine<discovery::peer_gossip>().bootstrap = true;
            c.engine<discovery::peer_gossip>().capabilities = discovery::can_relay | discovery::can_coordinate;
            c.engine<nat::connector>().introducers = bootstrap_count - 1;
            std::vector<endpoint> others;
            for (std::size_t j = 0; j < bootstrap_count; ++j)
                if (j != i)
                    others.push_back(seeds[j]);
            bootstraps.push_back(make(c, others));
            bootstraps.back()->start();
        }
    }

    std::unique_ptr<gossip_first_node> make(node_config c, std::vector<endpoint> const& with_seeds)
    {
        discovery::bootstrap_cache cache(reference::gossip_first_cache_config(), *c.seed);
        for (auto const& s : with_seeds)
            cache.add_seed(s);
        return std::make_unique<gossip_first_node>(net, std::move(c), std::move(cache));
    }

    /// Hosts booted at different times, with clocks that run at different rates.
    void skew_clock(endpoint const& at)
    {
        if (!skewed_clocks)
            return;
        auto const hours = std::chrono::hours(1 + net.rng().below(48));
        double const ppm = static_cast<double>(net.rng().below(201)) - 100.0;
        net.set_clock_skew(at, {hours + std::chrono::milliseconds(net.rng().below(3'600'000)), ppm});
    }

    gossip_first_node& add(nat_preset preset, node_config c = {})
    {
        c.listen = placer.place(preset);
        skew_clock(c.listen);
        if (!c.seed)
            c.seed = 1000 + nodes.size();
        nodes.push_back(make(c, seeds));
        nodes.back()->start();
        return *nodes.back();
    }
};

/// Injects hand-made messages into a node, as a hostile or confused peer would.
struct injector {
    sim::transport t;
    std::vector<std::byte> buf;
    node_id as = node_id::from_seed(4242);
    std::uint64_t next_id = 1;

    explicit injector(sim::network& net) : t(net, net.next_endpoint()) {}

    template <class M>
    void send(endpoint const& to, M const& m, std::uint8_t hops = 0)
    {
        buf.clear();
        gossip_first_node::messages::encode(wire::envelope{M::wire_id, as, next_id++, hops}, m, buf);
        (void)t.send(to, buf);
    }
};

/// Records into `got` every application message `n` delivers, as text (one entry per delivery, so a duplicate shows).
void receive_all(gossip_first_node& n, std::multiset<std::string>& got)
{
    n.on_event([&got](gossip_first_node::event_type const& e) {
        if (auto const* m = std::get_if<nat::peer_message>(&e))
            got.emplace(reinterpret_cast<char const*>(m->payload.data()), m->payload.size());
    });
}

/// The bytes of `text`, for `reference::send`.
std::span<std::byte const> bytes_of(std::string_view text)
{
    return std::as_bytes(std::span(text.data(), text.size()));
}

/** The method each ordered pair must get, from RFC 4787's rules rather than from the code.

    A target that filters nothing (public, full cone) is reached directly,
    and so is any target of a public dialer: the target connects back (a
    reversed connection), and its own probe opens its NAT. Otherwise a
    coordinated punch works. Where one side maps each destination to a
    new random port and the other filters by address and port, a single
    probe cannot match a mapping, but birthday probing (256 sockets, 1,024
    probes: 98 %) does. Port prediction rescues a sequential symmetric NAT
    facing an endpoint-independent one; two symmetric NATs (random or
    sequential) still need the relay.
*/
link_method expected_method(nat_preset from, nat_preset to)
{
    auto const filters_nothing = [](nat_preset p) { return p == nat_preset::open || p == nat_preset::full_cone; };
    auto const symmetric = [](nat_preset p) { return p == nat_preset::symmetric || p == nat_preset::symmetric_sequential; };
    if (filters_nothing(to) || from == nat_preset::open)
        return link_method::direct;
    if (symmetric(from) && symmetric(to))
        return link_method::relayed;
    return link_method::punched;
}

TEST(NatMatrix, EveryPairOfPresetsGetsTheMethodItsNatsAllow)
{
    std::size_t checked = 0;
    for (std::size_t a = 0; a < sim::nat_preset_count; ++a)
        for (std::size_t b = 0; b < sim::nat_preset_count; ++b) {
            auto const pa = static_cast<nat_preset>(a), pb = static_cast<nat_preset>(b);
            world w(100 + a * 10 + b);
            auto& x = w.add(pa);
            auto& y = w.add(pb);
            w.net.advance(20s); // observations, announcements, cache gossip
            ASSERT_NE(x.discovery().find(y.id()), nullptr) << to_string(pa) << " never learned of " << to_string(pb);
            ASSERT_FALSE(reference::connect(x, y.id()));
            ASSERT_FALSE(reference::send(x, y.id(), bytes_of("over the ladder")));
            w.net.advance(45s);
            auto const info = x.engine<nat::connector>().find(y.id());
            ASSERT_TRUE(info && info->established) << to_string(pa) << " -> " << to_string(pb) << " did not connect";
            EXPECT_EQ(info->method, expected_method(pa, pb))
                << to_string(pa) << " -> " << to_string(pb) << " connected " << to_string(info->method);
            EXPECT_EQ(info->pending_messages, 0u) << to_string(pa) << " -> " << to_string(pb) << ": message not delivered";
            // Nothing waits out the 2 s direct attempt: a punch, a reversal or a
            // relay is raced beside it (one-way latencies here are 10-40 ms).
            EXPECT_LT(info->time_to_connect, 500ms)
                << to_string(pa) << " -> " << to_string(pb) << " took "
                << std::chrono::duration_cast<std::chrono::milliseconds>(info->time_to_connect).count() << " ms";
            ++checked;
        }
    EXPECT_EQ(checked, sim::nat_preset_count * sim::nat_preset_count);
}

TEST(NatTraversal, APublicDialerIsConnectedBackInsteadOfPunching)
{
    world w(9);
    auto& x = w.add(nat_preset::open);
    auto& y = w.add(nat_preset::port_restricted_cone);
    w.net.advance(20s);
    ASSERT_EQ(x.engine<nat::connector>().own_nat(), nat::nat_type::open);
    ASSERT_FALSE(reference::connect(x, y.id()));
    ASSERT_FALSE(reference::send(x, y.id(), bytes_of("connected back")));
    w.net.advance(2s);
    auto const info = x.engine<nat::connector>().find(y.id());
    ASSERT_TRUE(info && info->established);
    EXPECT_EQ(info->method, link_method::direct);
    EXPECT_EQ(info->pending_messages, 0u);
    // The request to an introducer, its nt_connect_back, then the target's probe: three one-way trips.
    EXPECT_LT(info->time_to_connect, 3 * 40ms + 20ms);
    std::uint64_t reversals = 0, punches = 0;
    for (auto& b : w.bootstraps) {
        reversals += b->engine<nat::connector>().stats().reversals_coordinated;
        punches += b->engine<nat::connector>().stats().punches_coordinated;
    }
    EXPECT_EQ(reversals, 1u);
    EXPECT_EQ(punches, 0u) << "a public dialer needs no punch";
    EXPECT_EQ(x.engine<nat::connector>().stats().raced, 1u);
}

TEST(NatTraversal, TheNearestRelayIsAskedFirst)
{
    world w(13);
    // Bootstrap node i, every target's introducer and relay, is this far from everyone.
    std::array<duration, 3> const far{150ms, 10ms, 80ms};
    w.net.set_latency_map([&w, far](endpoint const& a, endpoint const& b, time_point) -> duration {
        for (std::size_t i = 0; i < w.seeds.size(); ++i)
            if (a == w.seeds[i] || b == w.seeds[i])
                return far[i];
        return 20ms;
    });
    auto& x = w.add(nat_preset::symmetric);
    auto& y = w.add(nat_preset::symmetric);
    w.net.advance(30s);
    ASSERT_FALSE(reference::connect(x, y.id()));
    w.net.advance(5s);
    auto const info = x.engine<nat::connector>().find(y.id());
    ASSERT_TRUE(info && info->established);
    ASSERT_EQ(info->method, link_method::relayed);
    EXPECT_EQ(info->relay, w.seeds[1]) << "a farther relay was asked first";
    // Asked at once (two symmetric NATs), through the 10 ms relay: open, reply, a keepalive there and back.
    EXPECT_LT(info->time_to_connect, 200ms);
}

TEST(NatTraversal, NeverPunchesAPeerThatIsDirectlyReachable)
{
    world w(7);
    auto& x = w.add(nat_preset::port_restricted_cone);
    auto& y = w.add(nat_preset::open);
    w.net.advance(20s);
    ASSERT_FALSE(reference::connect(x, y.id()));
    w.net.advance(10s);
    ASSERT_TRUE(x.engine<nat::connector>().find(y.id())->established);
    std::uint64_t coordinated = 0;
    for (auto& b : w.bootstraps)
        coordinated += b->engine<nat::connector>().stats().punches_coordinated;
    EXPECT_EQ(coordinated, 0u) << "a public peer was punched";

    // When it dies it is down, not behind a NAT: the ladder backs off instead of punching it.
    w.net.crash(y.local_endpoint());
    w.net.advance(90s);
    auto const info = x.engine<nat::connector>().find(y.id());
    ASSERT_TRUE(info);
    EXPECT_FALSE(info->established);
    coordinated = 0;
    for (auto& b : w.bootstraps)
        coordinated += b->engine<nat::connector>().stats().punches_coordinated;
    EXPECT_EQ(coordinated, 0u);
    EXPECT_GT(x.engine<nat::connector>().stats().failed_passes, 0u);
}

TEST(NatTraversal, SymmetricFacingSymmetricIsRelayedAndLosesNothingWhenTheRelayDies)
{
    world w(11, 4);
    auto& x = w.add(nat_preset::symmetric);
    auto& y = w.add(nat_preset::symmetric);
    std::multiset<std::string> received;
    receive_all(y, received);
    std::vector<nat::relay_failover> failovers;
    x.on_event([&](gossip_first_node::event_type const& e) {
        if (auto const* f = std::get_if<nat::relay_failover>(&e))
            failovers.push_back(*f);
    });
    w.net.advance(20s);
    ASSERT_FALSE(reference::connect(x, y.id()));
    w.net.advance(40s);
    auto info = x.engine<nat::connector>().find(y.id());
    ASSERT_TRUE(info && info->established);
    ASSERT_EQ(info->method, link_method::relayed);
    endpoint const first_relay = info->relay;

    // 300 messages, one every 100 ms; the relay dies a third of the way in.
    std::size_t sent = 0;
    time_point crashed_at{};
    for (int i = 0; i < 300; ++i) {
        if (i == 100) {
            w.net.crash(first_relay);
            crashed_at = w.net.now();
        }
        std::string const text = "message " + std::to_string(i);
        // The queue is bounded; a full one refuses (nothing accepted), and we retry.
        while (reference::send(x, y.id(), bytes_of(text)) == errc::queue_full)
            w.net.advance(100ms);
        ++sent;
        w.net.advance(100ms);
    }
    w.net.advance(30s);

    info = x.engine<nat::connector>().find(y.id());
    ASSERT_TRUE(info && info->established);
    EXPECT_EQ(info->method, link_method::relayed);
    EXPECT_NE(info->relay, first_relay) << "no failover to another relay";
    EXPECT_GE(x.engine<nat::connector>().stats().failovers, 1u);
    ASSERT_EQ(failovers.size(), 1u);
    EXPECT_EQ(failovers[0].old_relay, first_relay);
    EXPECT_EQ(failovers[0].new_relay, info->relay);
    // Silence is noticed after relay_timeout (12 s); the new relay answers within a round trip or two.
    EXPECT_GE(failovers[0].outage, 12s);
    EXPECT_LT(failovers[0].outage, 15s);
    EXPECT_EQ(info->pending_messages, 0u);
    ASSERT_EQ(received.size(), sent) << "lost or duplicated messages";
    for (int i = 0; i < 300; ++i)
        EXPECT_EQ(received.count("message " + std::to_string(i)), 1u) << i;
    EXPECT_LT(w.net.now() - crashed_at, 60s);
}

TEST(NatTraversal, ARelaySessionEndsAtItsQuotaAndIsRenewedWithNothingLost)
{
    world w(17, 3);
    auto& x = w.add(nat_preset::symmetric);
    auto& y = w.add(nat_preset::symmetric);
    std::multiset<std::string> received;
    receive_all(y, received);
    w.net.advance(20s);
    ASSERT_FALSE(reference::connect(x, y.id()));
    w.net.advance(40s);
    auto info = x.engine<nat::connector>().find(y.id());
    ASSERT_TRUE(info && info->established);
    ASSERT_EQ(info->method, link_method::relayed);
    endpoint const relay = info->relay;

    // 200 messages of 1,000 bytes: past the session's 128 KiB, then past its 2 minutes.
    constexpr int count = 200;
    for (int i = 0; i < count; ++i) {
        std::string text = "message " + std::to_string(i) + " ";
        text.resize(1000, '.');
        while (reference::send(x, y.id(), bytes_of(text)) == errc::queue_full)
            w.net.advance(100ms);
        w.net.advance(100ms);
    }
    w.net.advance(150s);

    std::uint64_t exceeded = 0;
    for (auto& b : w.bootstraps)
        if (b->local_endpoint() == relay)
            exceeded = b->engine<nat::connector>().stats().relay_quota_exceeded;
    EXPECT_GE(exceeded, 2u) << "the byte quota, then the time quota, ended the session";
    EXPECT_GE(x.engine<nat::connector>().stats().relay_renewals, exceeded);
    info = x.engine<nat::connector>().find(y.id());
    ASSERT_TRUE(info && info->established);
    EXPECT_EQ(info->method, link_method::relayed);
    EXPECT_EQ(info->pending_messages, 0u);
    ASSERT_EQ(received.size(), static_cast<std::size_t>(count)) << "lost or duplicated messages";
    for (int i = 0; i < count; ++i) {
        std::string text = "message " + std::to_string(i) + " ";
        text.resize(1000, '.');
        EXPECT_EQ(received.count(text), 1u) << i;
    }
}

TEST(RelayServer, AskingAgainMidSessionDoesNotResetItsQuota)
{
    test::recording_context<nat::connector> ctx;
    nat::connector_config cfg;
    cfg.relay_session_bytes = 10'000;
    nat::relay_server relay(cfg);
    nat::connector_stats stats;
    node_id const requester = node_id::from_seed(1), target = node_id::from_seed(2);
    endpoint const from = endpoint::v4(10, 0, 0, 1, 7000), target_path = endpoint::v4(10, 0, 0, 2, 7000);
    inbound const open_in{from, wire::envelope{nat::nt_relay_open::wire_id, requester, 1, 0}};
    relay.open(ctx, open_in, nat::nt_relay_open{target}, target_path, stats);
    auto const path_of = [&](node_id const& id) -> endpoint const* { return id == target ? &target_path : nullptr; };
    inbound const frame_in{from, wire::envelope{nat::nt_relay_frame::wire_id, requester, 2, 0}};
    nat::nt_relay_frame const frame{target, nat::frame_kind::data, 1, 1, std::vector<std::byte>(1'000)};
    for (int i = 0; i < 20; ++i) {
        if (i > 0 && i < 10 && i % 3 == 0)
            relay.open(ctx, open_in, nat::nt_relay_open{target}, target_path, stats); // "my reply got lost"
        (void)relay.forward(ctx, frame_in, frame, path_of, stats);
    }
    EXPECT_EQ(stats.relayed_bytes, 10'000u) << "the quota held across the re-asks";
    EXPECT_EQ(stats.relay_quota_exceeded, 1u);
    EXPECT_EQ(ctx.sent_of<nat::nt_relay_closed>().size(), 1u);
}

TEST(NatTraversal, IntroducersAreRefilledWhenOneDies)
{
    world w(13, 4);
    auto& x = w.add(nat_preset::port_restricted_cone);
    w.net.advance(20s);
    auto introducers = [&] {
        std::size_t n = 0;
        for (auto const& c : x.engine<nat::connector>().connections())
            n += c.established && c.initiated;
        return n;
    };
    ASSERT_GE(introducers(), 3u);
    w.net.crash(w.seeds[0]);
    w.net.crash(w.seeds[1]);
    w.net.advance(60s);
    EXPECT_GE(introducers(), 2u) << "the node did not keep sessions with the surviving public nodes";
}

TEST(GossipFirst, TheSeedsTargetsAreMetOnTheRealisticMix)
{
    tools::gossip_first_options o;
    o.nodes = 400;
    o.seed = 3;
    auto const r = tools::run_gossip_first(o);
    ASSERT_EQ(r.attempts.size(), 3 * o.nodes);
    EXPECT_GE(r.rate(r.connected, r.attempts.size()), 99.0);
    // The seed's split (direct 60 %+, punched 35 %+) depends on the mix: a
    // public dialer's connections are reversed, so they count as direct.
    // What holds on any mix is the sum, and the relay's small share.
    EXPECT_GE(r.rate(r.direct, r.connected), 60.0);
    EXPECT_GE(r.rate(r.direct + r.punched, r.connected), 98.0);
    EXPECT_LT(r.rate(r.relayed, r.connected), 2.0);
    // Punches race the direct probes: no connection waits out a 2 s direct attempt.
    EXPECT_LT(r.median_connect, 300ms);
    EXPECT_LT(r.p95_connect, 2s);
    EXPECT_DOUBLE_EQ(r.cache_propagation, 100.0);
    EXPECT_EQ(r.messages_delivered, r.attempts.size()) << "a connection did not carry its first message";
    EXPECT_GT(r.relayed_bytes, 0u) << "relays must forward bytes";
    EXPECT_EQ(r.registry_reports, r.reports_sent) << "reports lost on clean links";
}

TEST(GossipFirst, TheSameSeedGivesTheSameRun)
{
    tools::gossip_first_options o;
    o.nodes = 60;
    o.seed = 9;
    o.settle = 20s;
    o.tail = 40s;
    auto const a = tools::run_gossip_first(o);
    auto const b = tools::run_gossip_first(o);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.connected, b.connected);
    EXPECT_EQ(a.direct, b.direct);
}

TEST(GossipFirst, DiscoveryAndConnectionsWorkWithTheRegistryDown)
{
    tools::gossip_first_options o;
    o.nodes = 150;
    o.seed = 5;
    o.registry_down = true;
    auto const r = tools::run_gossip_first(o);
    EXPECT_EQ(r.registry_reports, 0u);
    EXPECT_GT(r.reports_sent, 0u) << "nodes must still try to report";
    EXPECT_DOUBLE_EQ(r.cache_propagation, 100.0);
    EXPECT_GE(r.rate(r.connected, r.attempts.size()), 99.0);
}

TEST(Registry, TracksOnlyBootstrapNodesAndCountsReports)
{
    world w(17);
    node_config rc;
    rc.seed = 99;
    reference::registry_node registry(w.net, rc);
    registry.start();
    // A bootstrap node registers; an ordinary node claiming to be one from another address is refused.
    node_config bc;
    bc.seed = 5;
    bc.listen = w.net.next_endpoint();
    bc.engine<discovery::registry_client>().registry = registry.local_endpoint();
    bc.engine<discovery::registry_client>().register_self = true;
    bc.engine<discovery::peer_gossip>().bootstrap = true;
    auto boot = w.make(bc, w.seeds);
    boot->start();
    node_config nc;
    nc.engine<discovery::registry_client>().registry = registry.local_endpoint();
    auto& x = w.add(nat_preset::port_restricted_cone, nc);
    auto& y = w.add(nat_preset::restricted_cone, nc);
    w.net.advance(20s);
    auto const& regs = registry.engine<discovery::registry_server>().registrations();
    ASSERT_EQ(regs.size(), 1u);
    EXPECT_EQ(regs.begin()->first, boot->id());

    std::vector<discovery::peer_record> listed;
    x.on_event([&](gossip_first_node::event_type const& e) {
        if (auto const* l = std::get_if<discovery::registry_listed>(&e))
            listed = l->bootstraps;
    });
    x.with_engine<discovery::registry_client>([](auto& c, auto& ctx) { c.request_list(ctx); });
    ASSERT_FALSE(reference::connect(x, y.id()));
    w.net.advance(20s);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id, boot->id());
    auto const& server = registry.engine<discovery::registry_server>();
    auto const& m = server.reports_by_nat();
    // x's punch to y, reported with both NAT types as the nodes learned them.
    EXPECT_GE(m[static_cast<int>(nat::nat_type::cone)][static_cast<int>(nat::nat_type::cone)]
               [static_cast<int>(link_method::punched) - 1],
              1u);

    // Registrations expire after their TTL (1 h), swept by the cleanup.
    // A registration whose address is not its sender's is refused.
    injector evil(w.net);
    discovery::peer_record liar{evil.as, w.seeds[0], nat::nat_type::open, discovery::is_bootstrap, true, 1, 0, {}, {}};
    auto const refused = server.refused();
    evil.send(registry.local_endpoint(), discovery::rg_register{liar, 3600});
    w.net.advance(1s);
    EXPECT_EQ(server.refused(), refused + 1);
    EXPECT_EQ(server.registrations().size(), 1u);

    w.net.crash(boot->local_endpoint());
    w.net.advance(70min);
    EXPECT_TRUE(registry.engine<discovery::registry_server>().registrations().empty());
}

/// A gossip-first node whose peer cache lives in real files.
struct persistent_policies : reference::gossip_first_policies {
    using storage = ::meshkit::storage::file_store;
};
using persistent_node = basic_node<persistent_policies>;

TEST(GossipFirst, TheCachePersistsAcrossARestartAndReplacesDeadSeeds)
{
    auto const dir = std::filesystem::temp_directory_path() / ("meshkit-cache-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    world w(19);
    for (int i = 0; i < 6; ++i)
        w.add(nat_preset::open);
    for (int i = 0; i < 6; ++i)
        w.add(nat_preset::port_restricted_cone);
    endpoint const at = w.net.next_endpoint();
    node_config c;
    c.listen = at;
    c.seed = 77;
    std::size_t cached = 0;
    {
        discovery::bootstrap_cache cache(reference::gossip_first_cache_config(), 77);
        for (auto const& s : w.seeds)
            cache.add_seed(s);
        persistent_node n(w.net, c, std::move(cache), {}, storage::file_store(dir));
        n.start();
        w.net.advance(90s);
        cached = n.discovery().size();
        ASSERT_GE(cached, 12u);
        n.stop();
    }
    // Every seed is gone; the restarted node has only what it saved.
    for (auto const& s : w.seeds)
        w.net.crash(s);
    w.net.advance(1s);
    discovery::bootstrap_cache empty(reference::gossip_first_cache_config(), 78);
    persistent_node again(w.net, c, std::move(empty), {}, storage::file_store(dir));
    EXPECT_FALSE(again.discovery_load_error());
    EXPECT_GE(again.discovery().size(), cached) << "a clean stop saves everything the cache learned";
    again.start();
    w.net.advance(30s);
    std::size_t live = 0;
    for (auto const& conn : again.engine<nat::connector>().connections())
        live += conn.established;
    EXPECT_GE(live, 2u) << "cached public peers should have become its introducers";
    // And it reaches a cached peer by id, straight from the loaded cache.
    auto& target = *w.nodes[0];
    ASSERT_FALSE(reference::connect(again, target.id()));
    w.net.advance(10s);
    auto const info = again.engine<nat::connector>().find(target.id());
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->established);
    std::filesystem::remove_all(dir);
}

TEST(FlashbackGossip, PeersThatDoNotBroadcastNeverHaveTheirAddressesSent)
{
    // Every datagram every node receives is decoded and searched.
    std::vector<std::pair<endpoint, std::vector<std::byte>>> wire;
    tools::gossip_first_options o;
    o.nodes = 120;
    o.seed = 21;
    o.non_broadcasting = 0.3;
    o.settle = 30s;
    o.tail = 40s;
    std::size_t birthday_probes = 0;
    o.tap = [&](endpoint const& from, endpoint const&, std::span<std::byte const> b) {
        // Birthday probes (12 bytes: a magic and a token, below any message) name nobody.
        if (birthday_probe::parse(b)) {
            ++birthday_probes;
            return;
        }
        wire.emplace_back(from, std::vector<std::byte>(b.begin(), b.end()));
    };
    auto const r = tools::run_gossip_first(o);

    std::set<node_id> silent;
    std::vector<endpoint> silent_addresses;
    for (auto const& n : r.nodes)
        if (!n.broadcasting) {
            silent.insert(n.id);
            silent_addresses.push_back(n.listen);
            if (n.public_address)
                silent_addresses.push_back(*n.public_address);
        }
    ASSERT_GE(silent.size(), 20u);
    auto const is_silent_address = [&](endpoint const& e) {
        return std::find(silent_addresses.begin(), silent_addresses.end(), e) != silent_addresses.end();
    };
    std::size_t records = 0, decoded = 0;
    auto check = [&](discovery::peer_record const& rec, char const* where) {
        ++records;
        EXPECT_FALSE(silent.contains(rec.id) && rec.address) << where << " carried a silent peer's address";
        EXPECT_FALSE(silent.contains(rec.id) && rec.broadcasting) << where;
        if (rec.address) {
            EXPECT_FALSE(is_silent_address(*rec.address)) << where << " carried a silent peer's address";
        }
        for (auto const& i : rec.introducers)
            EXPECT_FALSE(is_silent_address(i)) << where;
    };
    using messages = gossip_first_node::messages;
    for (auto const& [from, bytes] : wire) {
        auto m = messages::decode(bytes);
        if (!m)
            continue;
        ++decoded;
        std::visit(
            [&]<class M>(M const& msg) {
                if constexpr (std::is_same_v<M, discovery::fb_hello>)
                    check(msg.self, "HELLO");
                else if constexpr (std::is_same_v<M, discovery::fb_peer_announcement>)
                    check(msg.origin, "PEER_ANNOUNCEMENT");
                else if constexpr (std::is_same_v<M, discovery::fb_peer_update>)
                    check(msg.origin, "PEER_UPDATE");
                else if constexpr (std::is_same_v<M, discovery::fb_peer_list_response>)
                    for (auto const& p : msg.peers)
                        check(p, "PEER_LIST_RESPONSE");
                else if constexpr (std::is_same_v<M, discovery::rg_list_response>)
                    for (auto const& p : msg.bootstraps)
                        check(p, "registry list");
            },
            m->message);
    }
    EXPECT_EQ(decoded, wire.size());
    EXPECT_GT(birthday_probes, 0u) << "the mix has random symmetric NATs facing port-restricted ones";
    EXPECT_GT(records, 10000u) << "the check must have seen the gossip";
    // Silent nodes still learned everyone else and connected out.
    for (auto const& n : r.nodes) {
        if (!n.broadcasting) {
            EXPECT_TRUE(std::any_of(r.attempts.begin(), r.attempts.end(), [&](auto const& a) {
                return r.nodes[a.from].id == n.id && a.connected;
            }));
        }
    }
}

TEST(FlashbackGossip, RulesRejectBadTtlsExpiredRecordsDuplicatesAndUnsolicitedLists)
{
    world w(23);
    auto& x = w.add(nat_preset::open);
    w.net.advance(10s);
    injector evil(w.net);
    auto const& stats = x.engine<discovery::peer_gossip>().stats();

    discovery::peer_record self{evil.as, evil.t.local_endpoint(), nat::nat_type::open, 0, true, 7, 0, {}, {}};
    auto const ttl_before = stats.rejected_ttl;
    evil.send(x.local_endpoint(), discovery::fb_peer_announcement{0, self});
    evil.send(x.local_endpoint(), discovery::fb_peer_announcement{33, self});
    w.net.advance(1s);
    EXPECT_EQ(stats.rejected_ttl, ttl_before + 2);
    EXPECT_EQ(x.discovery().find(evil.as), nullptr);

    // Flashback's skew check becomes an age check: a record older than the 2 h expiry is refused.
    auto const expired_before = stats.rejected_expired;
    auto stale = self;
    stale.age_s = 2 * 3600 + 1;
    evil.send(x.local_endpoint(), discovery::fb_peer_announcement{32, stale});
    w.net.advance(1s);
    EXPECT_EQ(stats.rejected_expired, expired_before + 1);
    EXPECT_EQ(x.discovery().find(evil.as), nullptr);

    // A valid announcement is taken once; its duplicate is not applied again.
    evil.send(x.local_endpoint(), discovery::fb_peer_announcement{32, self});
    w.net.advance(1s);
    EXPECT_NE(x.discovery().find(evil.as), nullptr);
    auto const dups = stats.duplicates;
    evil.next_id -= 1;
    evil.send(x.local_endpoint(), discovery::fb_peer_announcement{32, self});
    w.net.advance(1s);
    EXPECT_EQ(stats.duplicates, dups + 1);

    // Nobody can push a peer list on a node that did not ask for it.
    discovery::peer_record planted = self;
    planted.id = node_id::from_seed(5151);
    auto const unsolicited = stats.rejected_unsolicited;
    evil.send(x.local_endpoint(), discovery::fb_peer_list_response{12345, 1, 0, 1, {planted}});
    w.net.advance(1s);
    EXPECT_EQ(stats.rejected_unsolicited, unsolicited + 1);
    EXPECT_EQ(x.discovery().find(planted.id), nullptr);

    // An announcement must speak for its sender only.
    evil.send(x.local_endpoint(), discovery::fb_peer_announcement{32, planted});
    w.net.advance(1s);
    EXPECT_EQ(x.discovery().find(planted.id), nullptr);
}

TEST(FlashbackGossip, AnnouncementsFanOutToThreeAndRecordsExpireAfterTwoHours)
{
    world w(29);
    std::vector<gossip_first_node*> xs;
    for (int i = 0; i < 8; ++i)
        xs.push_back(&w.add(nat_preset::open));
    w.net.advance(30s);
    auto& late = w.add(nat_preset::open);
    w.net.advance(5s);
    // The announcement went to 3 neighbours (its introducers) and spread from there.
    EXPECT_EQ(late.engine<discovery::peer_gossip>().stats().announcements_sent, 1u);
    for (auto* x : xs)
        EXPECT_NE(x->discovery().find(late.id()), nullptr);

    // Bootstrap heartbeats every 30 s keep their records fresh; a dead node's record expires after 2 h.
    w.net.crash(late.local_endpoint());
    w.net.advance(2h + 5min);
    for (auto* x : xs) {
        EXPECT_EQ(x->discovery().find(late.id()), nullptr) << "a dead peer outlived Flashback's 2 h expiry";
        EXPECT_NE(x->discovery().find(w.bootstraps[0]->id()), nullptr) << "a live bootstrap node expired";
    }
}

TEST(FlashbackGossip, HostsWhoseClocksDisagreeByHoursAgreeOnFreshnessAndConnect)
{
    // Every host's clock is offset by 1 to 48 hours and drifts by up to
    // 100 ppm. With clock values on the wire, a record from a host ahead
    // by an hour would be refused as from the future, and one from a host
    // behind would look hours old; with versions and ages nothing depends
    // on which host's clock says what.
    world w(41, 3, true);
    std::vector<gossip_first_node*> xs;
    for (auto preset : {nat_preset::open, nat_preset::full_cone, nat_preset::port_restricted_cone,
                        nat_preset::restricted_cone, nat_preset::open, nat_preset::cgnat})
        xs.push_back(&w.add(preset));
    ASSERT_NE(xs[0]->clock().now(), xs[1]->clock().now()) << "the clocks were not skewed";
    w.net.advance(30s);

    for (auto* x : xs) {
        auto const& g = x->engine<discovery::peer_gossip>().stats();
        EXPECT_EQ(g.rejected_expired, 0u);
        for (auto* y : xs) {
            if (x == y)
                continue;
            auto const* p = x->discovery().find(y->id());
            ASSERT_NE(p, nullptr) << "a node never learned of another across skewed clocks";
            // Last seen within the run (30 s) on x's own clock, though y's clock is hours away.
            auto const age = whole_seconds(x->clock().now()) - p->last_seen_s;
            EXPECT_GE(age, 0);
            EXPECT_LE(age, 30);
        }
    }

    // Connections climb the ladder and carry messages as on a shared clock.
    std::multiset<std::string> received;
    xs[3]->on_event([&](gossip_first_node::event_type const& e) {
        if (auto const* m = std::get_if<nat::peer_message>(&e))
            received.emplace(reinterpret_cast<char const*>(m->payload.data()), m->payload.size());
    });
    ASSERT_FALSE(reference::connect(*xs[2], xs[3]->id()));
    ASSERT_FALSE(reference::send(*xs[2], xs[3]->id(), bytes_of("across clocks")));
    w.net.advance(30s);
    auto const info = xs[2]->engine<nat::connector>().find(xs[3]->id());
    ASSERT_TRUE(info && info->established);
    EXPECT_EQ(info->method, link_method::punched);
    EXPECT_EQ(received.count("across clocks"), 1u);

    // A dead node's record expires everywhere after Flashback's 2 h, measured on each host's own clock.
    w.net.crash(xs[5]->local_endpoint());
    w.net.advance(1h);
    for (std::size_t i = 0; i < 5; ++i)
        EXPECT_NE(xs[i]->discovery().find(xs[5]->id()), nullptr) << "a record expired an hour early";
    w.net.advance(1h + 5min);
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(xs[i]->discovery().find(xs[5]->id()), nullptr) << "a dead peer outlived the 2 h expiry";
        if (i != 4) {
            EXPECT_NE(xs[i]->discovery().find(xs[4]->id()), nullptr) << "a live peer expired";
        }
    }
}

TEST(FlashbackGossip, ARestartedNodesRecordBeatsItsEarlierRunsCopies)
{
    // Versions are counters above the node's incarnation (kept in its
    // storage), not clock readings: a restarted node, whose clock may read
    // less than before, still wins every merge with its earlier copies.
    world w(43);
    auto& a = w.add(nat_preset::open);
    auto& watcher = w.add(nat_preset::open);
    w.net.advance(30s);
    auto const* before = watcher.discovery().find(a.id());
    ASSERT_NE(before, nullptr);
    auto const old_version = before->version;

    // Same identity and storage, a new address: as after a reboot onto another network.
    node_config c;
    c.id = a.id();
    c.seed = 77;
    c.listen = w.placer.place(nat_preset::open);
    auto storage = a.storage();
    w.net.crash(a.local_endpoint());
    discovery::bootstrap_cache cache(reference::gossip_first_cache_config(), 77);
    for (auto const& s : w.seeds)
        cache.add_seed(s);
    gossip_first_node again(w.net, c, std::move(cache), {}, storage);
    EXPECT_EQ(again.incarnation(), a.incarnation() + 1);
    again.start();
    w.net.advance(30s);
    auto const* after = watcher.discovery().find(a.id());
    ASSERT_NE(after, nullptr);
    EXPECT_GT(after->version, old_version);
    ASSERT_FALSE(after->addresses.empty());
    EXPECT_EQ(after->addresses.back(), again.local_endpoint()) << "the old run's address won the merge";
}

TEST(FlashbackGossip, APeerThatLeavesIsDroppedEverywhereAtOnce)
{
    world w(37);
    std::vector<gossip_first_node*> xs;
    for (int i = 0; i < 6; ++i)
        xs.push_back(&w.add(nat_preset::open));
    auto& leaving = w.add(nat_preset::port_restricted_cone);
    w.net.advance(30s);
    for (auto* x : xs)
        ASSERT_NE(x->discovery().find(leaving.id()), nullptr);
    reference::leave(leaving);
    w.net.advance(5s);
    for (auto* x : xs)
        EXPECT_EQ(x->discovery().find(leaving.id()), nullptr) << "PEER_UPDATE offline did not remove the record";
}

TEST(RelayedConnection, IsUsableFromBothSidesAsSoonAsEitherReportsIt)
{
    // Found through real NAT: a port-restricted cone facing a random
    // symmetric NAT is relayed after the punch fails. The target took part
    // in the punch, and its side stayed in the punch phase while the
    // dialer's frames already arrived through the relay, so it reported
    // the connection about 25 s late and what it sent meanwhile waited.
    for (auto const& [from, to] : {std::pair{nat_preset::port_restricted_cone, nat_preset::symmetric},
                                   std::pair{nat_preset::symmetric, nat_preset::port_restricted_cone}}) {
        world w(61);
        node_config no_birthday; // birthday probing would punch this pair: the relay is what is tested
        no_birthday.engine<nat::connector>().birthday = false;
        auto& x = w.add(from, no_birthday);
        auto& y = w.add(to, no_birthday);
        std::optional<time_point> x_up, y_up;
        std::vector<std::string> at_x, at_y;
        x.on_event([&](gossip_first_node::event_type const& e) {
            if (auto const* u = std::get_if<link_up>(&e); u && u->peer == y.id() && !x_up)
                x_up = w.net.now();
            if (auto const* m = std::get_if<nat::peer_message>(&e))
                at_x.emplace_back(reinterpret_cast<char const*>(m->payload.data()), m->payload.size());
        });
        y.on_event([&](gossip_first_node::event_type const& e) {
            if (auto const* u = std::get_if<link_up>(&e); u && u->peer == x.id() && !y_up) {
                y_up = w.net.now();
                // The moment the target hears of the connection, it answers over it.
                EXPECT_FALSE(reference::send(y, x.id(), bytes_of("right away")));
            }
            if (auto const* m = std::get_if<nat::peer_message>(&e))
                at_y.emplace_back(reinterpret_cast<char const*>(m->payload.data()), m->payload.size());
        });
        w.net.advance(20s);
        ASSERT_FALSE(reference::connect(x, y.id()));
        ASSERT_FALSE(reference::send(x, y.id(), bytes_of("hello")));
        w.net.advance(40s);
        auto const info = x.engine<nat::connector>().find(y.id());
        ASSERT_TRUE(info && info->established);
        ASSERT_EQ(info->method, link_method::relayed);
        ASSERT_TRUE(x_up && y_up) << "one side never reported the connection";
        auto const apart = *y_up > *x_up ? *y_up - *x_up : *x_up - *y_up;
        EXPECT_LE(apart, 1s) << to_string(from) << " -> " << to_string(to) << ": the sides came up "
                             << std::chrono::duration_cast<std::chrono::milliseconds>(apart).count() << " ms apart";
        auto const back = y.engine<nat::connector>().find(x.id());
        ASSERT_TRUE(back && back->established);
        EXPECT_EQ(back->method, link_method::relayed);
        EXPECT_EQ(at_y, (std::vector<std::string>{"hello"}));
        EXPECT_EQ(at_x, (std::vector<std::string>{"right away"}));
    }
}

TEST(Connector, MessagesOnAConnectionItForgetsAreReportedNotDroppedSilently)
{
    // A connection the peer opened is forgotten when the peer falls
    // silent. What the target sent on it and never saw acknowledged must
    // be reported, with its count: silence would be a silent loss.
    world w(71);
    auto& x = w.add(nat_preset::open);
    auto& y = w.add(nat_preset::open);
    std::vector<nat::messages_undelivered> reports;
    y.on_event([&](gossip_first_node::event_type const& e) {
        if (auto const* u = std::get_if<nat::messages_undelivered>(&e))
            reports.push_back(*u);
    });
    w.net.advance(20s);
    ASSERT_FALSE(reference::connect(x, y.id()));
    w.net.advance(10s);
    auto const back = y.engine<nat::connector>().find(x.id());
    ASSERT_TRUE(back && back->established && !back->initiated) << "y holds the connection x opened";
    ASSERT_FALSE(reference::send(y, x.id(), bytes_of("acknowledged")));
    w.net.advance(2s);
    EXPECT_EQ(y.engine<nat::connector>().find(x.id())->pending_messages, 0u);
    x.stop(); // x goes silent: nothing more is acknowledged
    for (std::string const text : {"one", "two", "three"})
        ASSERT_FALSE(reference::send(y, x.id(), bytes_of(text)));
    w.net.advance(2min);
    EXPECT_FALSE(y.engine<nat::connector>().find(x.id())) << "the silent peer's connection is forgotten";
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].peer, x.id());
    EXPECT_EQ(reports[0].count, 3u);
    EXPECT_EQ(y.engine<nat::connector>().stats().messages_undelivered, 3u);
}

TEST(Connector, StopsProbingAnAddressThatCannotAnswer)
{
    // Found through real NAT: with fewer public peers than introducers
    // wanted, a node asked discovery for more every 5 s and probed a
    // symmetric peer's advertised address each time, for the whole
    // session, even while connected to that peer through a relay.
    world w(67, 2);
    auto& x = w.add(nat_preset::port_restricted_cone);
    auto& y = w.add(nat_preset::symmetric);
    std::map<endpoint, int> failures;
    x.on_event([&](gossip_first_node::event_type const& e) {
        if (auto const* f = std::get_if<contact_failed>(&e))
            ++failures[f->address];
    });
    w.net.advance(20s);
    ASSERT_FALSE(reference::connect(x, y.id()));
    w.net.advance(30s);
    ASSERT_TRUE(x.engine<nat::connector>().find(y.id())->established);
    failures.clear();
    w.net.advance(10min);
    int total = 0;
    for (auto const& [address, n] : failures)
        total += n;
    EXPECT_LE(total, 3) << "probes of addresses that cannot answer kept failing";
    ASSERT_TRUE(x.engine<nat::connector>().find(y.id())->established);
}

TEST(Connector, RefusalsSayWhatIsMissingInTheirOwnCategory)
{
    world w(71);
    auto& x = w.add(nat_preset::open);
    auto& y = w.add(nat_preset::open);
    w.net.advance(10s);
    auto const stranger = node_id::from_seed(999'999);
    EXPECT_EQ(reference::connect(x, stranger), nat::errc::unknown_peer);
    EXPECT_EQ(reference::connect(x, x.id()), nat::errc::unknown_peer);
    EXPECT_EQ(reference::send(x, y.id(), std::as_bytes(std::span("hi", 2))), nat::errc::not_connected);
    // Not a storage error: "no such peer" and "no value under that key" are told apart by category.
    EXPECT_NE(reference::connect(x, stranger), meshkit::storage::errc::not_found);
    EXPECT_STREQ(reference::connect(x, stranger).category().name(), "meshkit.nat");
}

TEST(ConnectorHardening, StrangersCannotMakeANodeFireProbesOrRelayFrames)
{
    world w(31);
    auto& x = w.add(nat_preset::port_restricted_cone);
    auto& y = w.add(nat_preset::open);
    w.net.advance(15s);
    injector evil(w.net);
    auto const sent_before = x.stats().datagrams_sent;
    // PUNCH_ME_NOW from a node x holds no session with: ignored, no probes to the victim.
    evil.send(x.local_endpoint(), nat::nt_punch_me_now{node_id::from_seed(1), y.local_endpoint(), {1, 2, 3}, 0, 1});
    // A relay frame from a non-session: ignored.
    evil.send(x.local_endpoint(), nat::nt_relay_frame{node_id::from_seed(2), nat::frame_kind::data, 1, 1, {}});
    // Relay requests to a target the node has no session with: refused.
    evil.send(y.local_endpoint(), nat::nt_relay_open{node_id::from_seed(3)});
    w.net.advance(2s);
    auto const extra = x.stats().datagrams_sent - sent_before;
    EXPECT_LT(extra, 10u) << "x fired at an address a stranger named";
    EXPECT_FALSE(x.engine<nat::connector>().find(node_id::from_seed(1)));
    EXPECT_FALSE(x.engine<nat::connector>().find(node_id::from_seed(2)));
    EXPECT_EQ(y.engine<nat::connector>().relay_sessions(), 0u);
    EXPECT_GE(y.engine<nat::connector>().stats().relay_sessions_refused, 1u);
}

} // namespace
