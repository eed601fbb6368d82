// The hierarchical mesh (Peat's mesh intelligence layer): geohashes and
// distances, beacons and their observer, parent scoring, the three hierarchy
// strategies, the selective router, aggregation; then whole hierarchies on
// the simulator: formation, telemetry to the root with nothing lost, a killed
// parent's children re-homed, commands down, promotion, partitions.

#include <meshkit/hierarchy/dynamic_strategy.hpp>
#include <meshkit/hierarchy/geohash.hpp>
#include <meshkit/hierarchy/hybrid_strategy.hpp>
#include <meshkit/hierarchy/static_strategy.hpp>
#include <meshkit/reference/hierarchical.hpp>
#include <meshkit/discovery/composite.hpp>
#include <meshkit/topology/beacon_observer.hpp>
#include <meshkit/topology/capability_discovery.hpp>
#include <meshkit/topology/directed_discovery.hpp>
#include <meshkit/topology/geographic_discovery.hpp>
#include <meshkit/topology/hierarchical_mesh.hpp>
#include <meshkit/topology/no_aggregation.hpp>
#include <meshkit/topology/parent_selector.hpp>
#include <meshkit/topology/selective_router.hpp>
#include <meshkit/topology/summary_aggregator.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/security/signing_key.hpp>

#include <support/keys.hpp>
#include <support/recording_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
using topology::data_type;

node_id id_of(std::uint8_t n)
{
    node_id id{};
    id.bytes[0] = n;
    return id;
}

geo_position const origin{59.91, 10.75, std::nullopt};

// -- geography ---------------------------------------------------------------------

TEST(Geo, GeohashMatchesTheReferenceEncoding)
{
    // The worked example of the geohash's description: 42.6, -5.6 is "ezs42".
    EXPECT_EQ(geohash(geo_position{42.6, -5.6, std::nullopt}, 5), "ezs42");
    EXPECT_EQ(geohash(geo_position{57.64911, 10.40744, std::nullopt}, 11), "u4pruydqqvj");
    // Precision is clamped to [1, 12].
    EXPECT_EQ(geohash(origin, 0).size(), 1u);
    EXPECT_EQ(geohash(origin, 40).size(), 12u);
    EXPECT_TRUE(is_geohash("u4pruydqqvj"));
    EXPECT_FALSE(is_geohash("u4pa"));  // 'a' is not in the alphabet
    EXPECT_FALSE(is_geohash(""));
}

TEST(Geo, DistanceIsTheGreatCircle)
{
    geo_position const london{51.5074, -0.1278, std::nullopt};
    geo_position const paris{48.8566, 2.3522, std::nullopt};
    EXPECT_NEAR(distance_m(london, paris), 343'500, 1'500);
    auto const p = offset_m(origin, 3'000, 4'000);
    EXPECT_NEAR(distance_m(origin, p), 5'000, 25);
    EXPECT_FALSE((geo_position{91, 0, std::nullopt}.is_plausible()));
    EXPECT_FALSE((geo_position{std::nan(""), 0, std::nullopt}.is_plausible()));
    EXPECT_FALSE((geo_position{0, 0, 1e9}.is_plausible()));
}

// -- beacons -----------------------------------------------------------------------

topology::hm_beacon beacon_at(geo_position p, std::uint8_t level, std::uint64_t seq = 1)
{
    topology::hm_beacon b;
    b.seq = seq;
    b.position = p;
    b.geohash = geohash(p, 7);
    b.level = level;
    b.base_level = level;
    b.can_parent = true;
    return b;
}

TEST(Beacon, AbsurdBeaconsAreRefusedAndPercentagesClamped)
{
    auto b = beacon_at(geo_position{95, 0, std::nullopt}, 1);
    EXPECT_EQ(sanitize(b, 7), topology::beacon_fault::position);
    b = beacon_at(origin, 200);
    EXPECT_EQ(sanitize(b, 7), topology::beacon_fault::level);
    b = beacon_at(origin, 3);
    b.base_level = 1; // promoted two levels: no strategy does that
    EXPECT_EQ(sanitize(b, 7), topology::beacon_fault::level);
    b = beacon_at(origin, 1);
    b.capabilities.assign(17, "radio");
    EXPECT_EQ(sanitize(b, 7), topology::beacon_fault::capabilities);
    b = beacon_at(origin, 1);
    b.role = 99;
    EXPECT_EQ(sanitize(b, 7), topology::beacon_fault::role);
    b = beacon_at(origin, 1);
    b.resources = node_resources{4, 2048, 50, 250, 20, std::uint8_t{180}};
    b.geohash = "forged";
    bool clamped = false;
    EXPECT_FALSE(sanitize(b, 7, &clamped));
    EXPECT_TRUE(clamped);
    EXPECT_EQ(b.resources->cpu_load_pct, 100);
    EXPECT_EQ(*b.resources->battery_pct, 100);
    EXPECT_EQ(b.geohash, geohash(origin, 7)); // recomputed, never trusted
}

TEST(BeaconObserver, KeepsTheNewestBeaconOfEachNodeWithinRange)
{
    topology::beacon_config cfg;
    cfg.max_distance_m = 2'000;
    topology::beacon_observer obs(cfg);
    obs.relocate(origin);
    endpoint const a = endpoint::v4(0x0a000001, 7000);
    time_point t{};
    EXPECT_EQ(obs.observe(id_of(1), a, beacon_at(offset_m(origin, 500, 0), 1, 5), t), topology::observe_outcome::added);
    // A replay or a late copy changes nothing.
    EXPECT_EQ(obs.observe(id_of(1), a, beacon_at(offset_m(origin, 900, 0), 1, 5), t + 1s),
              topology::observe_outcome::stale);
    EXPECT_NEAR(obs.find(id_of(1))->distance_m, 500, 5);
    EXPECT_EQ(obs.observe(id_of(1), a, beacon_at(offset_m(origin, 900, 0), 1, 6), t + 2s),
              topology::observe_outcome::updated);
    EXPECT_NEAR(obs.find(id_of(1))->distance_m, 900, 5);
    // Out of range: ignored, and forgotten when it moves away.
    EXPECT_EQ(obs.observe(id_of(2), a, beacon_at(offset_m(origin, 5'000, 0), 1), t),
              topology::observe_outcome::out_of_range);
    EXPECT_EQ(obs.observe(id_of(1), a, beacon_at(offset_m(origin, 2'500, 0), 1, 7), t + 3s),
              topology::observe_outcome::out_of_range);
    EXPECT_EQ(obs.size(), 0u);
}

TEST(BeaconObserver, ExpiresByTtlAndAnswersNearbyAndCellQueries)
{
    topology::beacon_observer obs(topology::beacon_config::tactical()); // TTL 15 s, 2 km
    obs.relocate(origin);
    endpoint const a = endpoint::v4(0x0a000001, 7000);
    time_point t{};
    obs.observe(id_of(1), a, beacon_at(offset_m(origin, 1'000, 0), 1), t);
    obs.observe(id_of(2), a, beacon_at(offset_m(origin, 100, 0), 0), t + 10s);
    obs.observe(id_of(3), a, beacon_at(offset_m(origin, 0, 400), 0), t + 10s);
    auto near = obs.nearby(500);
    ASSERT_EQ(near.size(), 2u);
    EXPECT_EQ(near[0]->id, id_of(2));
    EXPECT_EQ(near[1]->id, id_of(3));
    std::string cell = geohash(offset_m(origin, 100, 0), 5);
    EXPECT_EQ(obs.in_cell(cell).size(), 3u); // 1 km apart: one precision-5 cell (4.9 km)
    auto gone = obs.expire(t + 15s);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], id_of(1));
    EXPECT_EQ(obs.size(), 2u);
}

TEST(BeaconObserver, AFloodOfNewIdsCannotPushOutTheNodesNextDoor)
{
    topology::beacon_config cfg;
    cfg.capacity = 8;
    topology::beacon_observer obs(cfg);
    obs.relocate(origin);
    endpoint const a = endpoint::v4(0x0a000001, 7000);
    for (std::uint8_t i = 1; i <= 8; ++i)
        obs.observe(id_of(i), a, beacon_at(offset_m(origin, 100.0 * i, 0), 1), time_point{});
    int refused = 0;
    for (int i = 0; i < 1'000; ++i) {
        node_id forged{};
        forged.bytes[0] = 200;
        forged.bytes[1] = static_cast<std::uint8_t>(i);
        forged.bytes[2] = static_cast<std::uint8_t>(i >> 8);
        refused += obs.observe(forged, a, beacon_at(offset_m(origin, 3'000, 0), 1), time_point{}) ==
                   topology::observe_outcome::full;
    }
    EXPECT_EQ(refused, 1'000);
    EXPECT_EQ(obs.size(), 8u);
    // A nearer newcomer displaces the farthest.
    EXPECT_EQ(obs.observe(id_of(99), a, beacon_at(offset_m(origin, 50, 0), 1), time_point{}),
              topology::observe_outcome::added);
    EXPECT_EQ(obs.find(id_of(8)), nullptr);
}

// -- parent selection ---------------------------------------------------------------

TEST(ParentSelector, ScoresAsPeatWithUnknownInputsAtOneHalf)
{
    topology::parent_selector sel; // 0.3 / 0.3 / 0.2 / 0.2, 10 km
    topology::observed_node n{id_of(1), {}, beacon_at(origin, 1), {}, 0};
    // Nothing known but distance 0: 0.3·0.5 + 0.3·0.5 + 0.2·0.5 + 0.2·1.
    EXPECT_NEAR(sel.score(n), 0.6, 1e-12);
    n.beacon.mobility = mobility::fixed;
    n.beacon.resources = node_resources{4, 4096, 100, 0, 0, std::nullopt}; // idle, mains
    EXPECT_NEAR(sel.score(n), 1.0, 1e-12);
    n.distance_m = 10'000.0 / 3.0; // one proximity scale: e^-1
    EXPECT_NEAR(sel.score(n), 0.8 + 0.2 * std::exp(-1.0), 1e-12);
}

TEST(ParentSelector, OnlyTheNearestLevelAboveWithinRangeBestFirst)
{
    topology::beacon_config bc;
    bc.max_distance_m = 20'000;
    topology::beacon_observer obs(bc);
    obs.relocate(origin);
    endpoint const a = endpoint::v4(0x0a000001, 7000);
    obs.observe(id_of(1), a, beacon_at(offset_m(origin, 3'000, 0), 1), {});
    obs.observe(id_of(2), a, beacon_at(offset_m(origin, 500, 0), 1), {});
    obs.observe(id_of(3), a, beacon_at(offset_m(origin, 100, 0), 2), {}); // a level further: not while level 1 has one
    obs.observe(id_of(4), a, beacon_at(offset_m(origin, 50, 0), 0), {});  // same level: never
    auto b5 = beacon_at(offset_m(origin, 10, 0), 1);
    b5.operational = false;
    obs.observe(id_of(5), a, b5, {});
    obs.observe(id_of(6), a, beacon_at(offset_m(origin, 15'000, 0), 1), {}); // beyond the selector's 10 km
    topology::parent_selector sel;
    auto ranked = sel.rank(obs.nodes(), 0);
    ASSERT_EQ(ranked.size(), 2u);
    EXPECT_EQ(ranked[0].node->id, id_of(2));
    EXPECT_EQ(ranked[1].node->id, id_of(1));
    node_id const excluded[] = {id_of(1), id_of(2)};
    ranked = sel.rank(obs.nodes(), 0, excluded);
    ASSERT_EQ(ranked.size(), 1u);
    EXPECT_EQ(ranked[0].node->id, id_of(3));
}

// -- strategies ----------------------------------------------------------------------

hierarchy::static_strategy fixed_level(std::uint8_t level, node_role role)
{
    hierarchy::static_strategy_config c;
    c.level = level;
    c.role = role;
    return hierarchy::static_strategy{c};
}

hierarchy::dynamic_strategy dynamic_at(std::uint8_t base, std::uint8_t max)
{
    hierarchy::dynamic_strategy_config c;
    c.base_level = base;
    c.max_level = max;
    return hierarchy::dynamic_strategy{c};
}

topology::hm_packet packet(node_id source, std::uint64_t seq, std::optional<node_id> to, data_type type,
                           std::uint8_t hops = 0, std::uint8_t limit = topology::max_hops)
{
    topology::hm_packet p;
    p.source = source;
    p.seq = seq;
    p.destination = to;
    p.type = type;
    p.hops = hops;
    p.hop_limit = limit;
    return p;
}

TEST(Election, NamesExactlyOneLeaderEvenWhenScoresAreClose)
{
    std::vector<level_peer> peers{{id_of(2), {mobility::fixed, std::nullopt}, node_role::member}};
    // Equal inputs: Peat would make both members. The higher id leads, the same on both sides.
    level_view v1{id_of(1), {mobility::fixed, std::nullopt}, true, peers, 0, 0};
    EXPECT_EQ(elect(v1, false, 0.1), node_role::member);
    std::vector<level_peer> peers2{{id_of(1), {mobility::fixed, std::nullopt}, node_role::member}};
    level_view v2{id_of(2), {mobility::fixed, std::nullopt}, true, peers2, 0, 0};
    EXPECT_EQ(elect(v2, false, 0.1), node_role::leader);
    // A sitting leader holds against a peer less than 10 % better...
    std::vector<level_peer> better{{id_of(9), {mobility::fixed, node_resources{8, 8192, 100, 10, 10, std::nullopt}},
                                    node_role::member}};
    level_view v3{id_of(1), {mobility::fixed, node_resources{8, 8192, 100, 30, 30, std::nullopt}}, true, better, 0, 0};
    EXPECT_EQ(elect(v3, true, 0.1), node_role::leader);
    // ... and the peer defers to it.
    std::vector<level_peer> sitting{{id_of(1), {mobility::fixed, node_resources{8, 8192, 100, 30, 30, std::nullopt}},
                                     node_role::leader}};
    level_view v4{id_of(9), {mobility::fixed, node_resources{8, 8192, 100, 10, 10, std::nullopt}}, true, sitting, 0, 0};
    EXPECT_EQ(elect(v4, false, 0.1), node_role::member);
    // No peers: standalone.
    level_view alone{id_of(1), {}, true, {}, 0, 0};
    EXPECT_EQ(elect(alone, false, 0.1), node_role::standalone);
}

TEST(Strategies, StaticNeverMovesAndParentsNeedTenPercent)
{
    auto s = fixed_level(1, node_role::leader);
    level_view v{id_of(1), {}, true, {}, 0, 0};
    EXPECT_FALSE(s.reassess(v));
    EXPECT_EQ(s.level(), 1);
    EXPECT_EQ(s.role(), node_role::leader);
    attachment_option const cur{id_of(2), {}, 2, false, 0.70};
    EXPECT_FALSE(s.justifies_move(cur, attachment_option{id_of(3), {}, 2, false, 0.76}));
    EXPECT_TRUE(s.justifies_move(cur, attachment_option{id_of(3), {}, 2, false, 0.78}));
    EXPECT_FALSE(s.justifies_move(std::nullopt, attachment_option{id_of(3), {}, 1, false, 0.9})); // not above
    hierarchy::static_strategy_config bad;
    bad.role = node_role::substrate;
    EXPECT_THROW(hierarchy::static_strategy{bad}, std::invalid_argument);
}

TEST(Strategies, DynamicPromotesWhenNothingIsAboveAndDemotesWhenANativeParentReturns)
{
    auto s = dynamic_at(1, 3);
    std::vector<level_peer> peers{{id_of(0), {mobility::mobile, std::nullopt}, node_role::member}};
    level_view v{id_of(5), {mobility::fixed, std::nullopt}, true, peers, 0, 0};
    EXPECT_TRUE(s.reassess(v)); // elected at once...
    EXPECT_EQ(s.role(), node_role::leader);
    EXPECT_FALSE(s.promoted()); // ... promoted only when nothing is above three times in a row
    EXPECT_FALSE(s.reassess(v));
    EXPECT_TRUE(s.reassess(v));
    EXPECT_TRUE(s.promoted());
    EXPECT_EQ(s.level(), 2);
    // Promoted, it sees nothing above level 2: it stays.
    EXPECT_FALSE(s.reassess(v));
    // A promoted node of another cell is not a reason to step down; a native one is.
    level_view other{id_of(5), {mobility::fixed, std::nullopt}, true, peers, 1, 0};
    EXPECT_FALSE(s.reassess(other));
    level_view native{id_of(5), {mobility::fixed, std::nullopt}, true, peers, 1, 1};
    EXPECT_TRUE(s.reassess(native));
    EXPECT_FALSE(s.promoted());
    EXPECT_EQ(s.level(), 1);
    // A member never promotes; neither does the top level.
    auto weak = dynamic_at(1, 3);
    std::vector<level_peer> const strong{{id_of(5), {mobility::fixed, std::nullopt}, node_role::leader}};
    level_view wv{id_of(0), {mobility::mobile, std::nullopt}, true, strong, 0, 0}; // the span needs a named vector
    (void)weak.reassess(wv);
    EXPECT_EQ(weak.role(), node_role::member);
    EXPECT_FALSE(weak.promoted());
    auto top = dynamic_at(3, 3);
    (void)top.reassess(v);
    EXPECT_FALSE(top.promoted());
}

TEST(Strategies, HybridPromotionAndDemotionBothRun)
{
    hierarchy::hybrid_strategy_config c;
    c.level = 1;
    c.min_peers_for_promotion = 1;
    hierarchy::hybrid_strategy s(c);
    std::vector<level_peer> peers{{id_of(0), {mobility::mobile, std::nullopt}, node_role::member}};
    level_view alone{id_of(5), {mobility::fixed, std::nullopt}, true, {}, 0, 0};
    EXPECT_FALSE(s.reassess(alone)); // fewer peers than min_peers_for_promotion
    level_view v{id_of(5), {mobility::fixed, std::nullopt}, true, peers, 0, 0};
    EXPECT_FALSE(s.reassess(v));
    EXPECT_FALSE(s.reassess(v));
    EXPECT_TRUE(s.reassess(v)); // the third time in a row
    EXPECT_EQ(s.level(), 2);
    EXPECT_EQ(s.role(), node_role::leader);
    level_view one_native{id_of(5), {mobility::fixed, std::nullopt}, true, peers, 1, 1};
    EXPECT_FALSE(s.reassess(one_native)); // one passing node does not undo it
    level_view two_native{id_of(5), {mobility::fixed, std::nullopt}, true, peers, 2, 2};
    EXPECT_TRUE(s.reassess(two_native));
    EXPECT_EQ(s.level(), 1);
    EXPECT_EQ(s.role(), node_role::member);
}

// -- routing and aggregation -----------------------------------------------------------

TEST(SelectiveRouter, RulesPerDirectionDedupAndHopLimits)
{
    using topology::selective_router;
    auto up = packet(id_of(1), 1, std::nullopt, data_type::telemetry);
    auto d = selective_router::decide(up, id_of(2), node_role::member);
    EXPECT_TRUE(d.consume && d.to_parent && !d.to_children && !d.to_laterals);
    auto cmd = packet(id_of(1), 2, id_of(7), data_type::command);
    d = selective_router::decide(cmd, id_of(2), node_role::member);
    EXPECT_FALSE(d.consume);
    EXPECT_TRUE(d.to_children);
    d = selective_router::decide(cmd, id_of(2), node_role::leader);
    EXPECT_TRUE(d.consume); // a leader sees its subtree's commands
    d = selective_router::decide(cmd, id_of(7), node_role::member);
    EXPECT_TRUE(d.consume);
    EXPECT_FALSE(d.to_children); // it was for this node: it stops here
    auto coord = packet(id_of(1), 3, std::nullopt, data_type::coordination, 0, topology::max_lateral_hops);
    d = selective_router::decide(coord, id_of(2), node_role::member);
    EXPECT_FALSE(d.consume);
    EXPECT_TRUE(d.to_laterals);
    coord.hops = topology::max_lateral_hops;
    EXPECT_FALSE(selective_router::decide(coord, id_of(2), node_role::leader).to_laterals);

    topology::selective_router r;
    EXPECT_FALSE(r.admit(up, time_point{}));
    EXPECT_EQ(r.admit(up, time_point{} + 1s), topology::route_drop::duplicate);
    auto looping = packet(id_of(1), 9, std::nullopt, data_type::telemetry, 200, 255);
    EXPECT_EQ(r.admit(looping, time_point{}), topology::route_drop::hop_limit); // capped at 10 whatever it says
}

TEST(Aggregation, SummariesOfSummariesEqualTheSummaryOfAllReadings)
{
    topology::summary_aggregator leaf_leader, top;
    topology::cell_summary direct;
    for (int i = 0; i < 10; ++i) {
        topology::node_state s{offset_m(origin, 10.0 * i, 0), std::uint8_t(50 + i), i % 3 != 0, std::uint32_t(i)};
        direct.add(s);
        std::vector<std::byte> bytes;
        wire::encode(s, bytes);
        ASSERT_TRUE((i < 5 ? leaf_leader : top).fold({id_of(1), data_type::telemetry, 1, bytes}));
    }
    auto part = leaf_leader.take_summary();
    EXPECT_EQ(part.readings, 5u);
    EXPECT_EQ(leaf_leader.pending(), 0u);
    ASSERT_TRUE(top.fold({id_of(2), data_type::aggregated_telemetry, part.readings, part.payload}));
    auto all = top.take_summary();
    auto got = wire::decode<topology::cell_summary>(all.payload);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->readings, 10u);
    EXPECT_EQ(got->operational, direct.operational);
    EXPECT_EQ(got->battery_sum, direct.battery_sum);
    EXPECT_EQ(got->battery_min_pct, 50);
    EXPECT_EQ(got->tracks, 45u);
    EXPECT_EQ(got->lat_max, direct.lat_max);
    // What it cannot read, it leaves alone (forwarded as it is), and a summary lying about its count too.
    std::vector<std::byte> junk{std::byte{1}, std::byte{2}};
    EXPECT_FALSE(top.fold({id_of(3), data_type::telemetry, 1, junk}));
    EXPECT_FALSE(top.fold({id_of(3), data_type::aggregated_telemetry, 99, all.payload}));
    EXPECT_FALSE(topology::no_aggregation{}.fold({id_of(3), data_type::telemetry, 1, junk}));
}

TEST(Beacon, ASecureNodeSignsItsBeaconsAndRefusesOneItsSenderDidNotSign)
{
    auto const sender = test::key_of(1), forger = test::key_of(2);
    using context = test::recording_context<topology::hierarchical_mesh<>, metrics::in_memory_metrics, test::no_discovery,
                                            topology::topology_messages, hierarchy::static_strategy>;
    context ctx;
    ctx.key = test::key_of(3);
    ctx.me = ctx.key->id();
    topology::hierarchical_mesh<> mesh;
    mesh.start(ctx);
    mesh.add_candidate(ctx, endpoint::v4(10, 0, 0, 2, 7000)); // a seed to beacon to

    auto genuine = beacon_at(origin, 1);
    genuine.signature = sender.sign(topology::signing_bytes(sender.id(), genuine));
    auto altered = genuine;
    altered.level = 2; // a relay's or a forger's edit
    auto foreign = genuine;
    foreign.signature = forger.sign(topology::signing_bytes(sender.id(), genuine));
    auto bare = genuine;
    bare.signature.reset();
    for (auto const& b : {altered, foreign, bare})
        ctx.deliver(mesh, endpoint::v4(10, 0, 0, 1, 7000), sender.id(), b);
    EXPECT_EQ(mesh.stats().beacons_forged, 3u);
    EXPECT_EQ(mesh.stats().beacons_received, 0u);
    ctx.deliver(mesh, endpoint::v4(10, 0, 0, 1, 7000), sender.id(), genuine);
    EXPECT_EQ(mesh.stats().beacons_received, 1u);

    // Its own beacons carry its signature, and the largest one fits a secure datagram.
    ctx.advance(mesh, 10s);
    auto const sent = ctx.sent_of<topology::hm_beacon>();
    ASSERT_FALSE(sent.empty());
    auto const& own = sent.back().second;
    ASSERT_TRUE(own.signature);
    EXPECT_TRUE(security::verify(ctx.me, topology::signing_bytes(ctx.me, own), *own.signature));
    auto largest = own;
    largest.capabilities.assign(topology::max_capabilities, std::string(topology::max_capability_length, 'c'));
    largest.mobility = mobility::mobile;
    largest.resources = node_resources{64, 65536, 100000, 100, 100, std::uint8_t{100}};
    largest.parent = node_id::from_seed(9);
    std::vector<std::byte> datagram;
    topology::topology_messages::encode(wire::envelope{topology::hm_beacon::wire_id, ctx.me, ~std::uint64_t{0}, 0},
                                        largest, datagram);
    EXPECT_LE(datagram.size(), 1200u - 25u) << "what a secure session leaves of a 1,200-byte datagram";
}

TEST(Wire, EncodedSizeIsTheCodecs)
{
    topology::hm_packet p{id_of(1), 77, id_of(2), data_type::command, 3, 10, 1, std::vector<std::byte>(300)};
    std::vector<std::byte> bytes;
    wire::encode(p, bytes);
    EXPECT_EQ(topology::encoded_size(p), bytes.size() + wire::envelope_size);
    p.destination.reset();
    p.payload.resize(5);
    bytes.clear();
    wire::encode(p, bytes);
    EXPECT_EQ(topology::encoded_size(p), bytes.size() + wire::envelope_size);
}

// -- discovery strategies ---------------------------------------------------------------

topology::hm_beacon offering(geo_position p, std::vector<std::string> caps, bool operational = true)
{
    auto b = beacon_at(p, 0);
    b.capabilities = std::move(caps);
    b.operational = operational;
    return b;
}

endpoint address_of(std::uint8_t n)
{
    return endpoint::v4(0x0a000000u + n, 7000);
}

TEST(CapabilityDiscovery, RequiredMustAllBeThereOptionalOnesRankThenDistance)
{
    topology::capability_discovery d({{"radio"}, {"thermal", "lidar"}});
    d.relocate(origin);
    time_point t{};
    d.observe_beacon(id_of(1), address_of(1), offering(offset_m(origin, 100, 0), {"radio"}), t);
    d.observe_beacon(id_of(2), address_of(2), offering(offset_m(origin, 900, 0), {"radio", "thermal", "lidar"}), t);
    d.observe_beacon(id_of(3), address_of(3), offering(offset_m(origin, 50, 0), {"thermal", "lidar"}), t); // no radio
    d.observe_beacon(id_of(4), address_of(4), offering(offset_m(origin, 300, 0), {"radio", "lidar"}), t);
    d.observe_beacon(id_of(5), address_of(5), offering(offset_m(origin, 200, 0), {"radio", "lidar"}), t);
    d.observe_beacon(id_of(6), address_of(6), offering(offset_m(origin, 10, 0), {"radio", "thermal", "lidar"}, false),
                     t); // not operational
    auto got = d.candidates(10);
    std::vector<endpoint> const expected{address_of(2), address_of(5), address_of(4), address_of(1)};
    EXPECT_EQ(got, expected);
    EXPECT_EQ(d.candidates(2).size(), 2u);
    EXPECT_EQ(d.query().matches(offering(origin, {"lidar"})), std::nullopt);
}

TEST(GeographicDiscovery, NodesOfOneCellNameTheSameLowestIdLeader)
{
    geo_position const here = offset_m(origin, 10, 10);
    topology::geographic_discovery a(id_of(5), here, 7), b(id_of(3), offset_m(here, 20, 0), 7);
    time_point t{};
    auto heard_by_both = [&](std::uint8_t n, geo_position p) {
        a.observe_beacon(id_of(n), address_of(n), beacon_at(p, 0), t);
        b.observe_beacon(id_of(n), address_of(n), beacon_at(p, 0), t);
    };
    EXPECT_FALSE(a.formed());
    EXPECT_EQ(a.leader(), id_of(5));
    a.observe_beacon(id_of(3), address_of(3), beacon_at(offset_m(here, 20, 0), 0), t);
    b.observe_beacon(id_of(5), address_of(5), beacon_at(here, 0), t);
    heard_by_both(9, offset_m(here, 0, 30));
    heard_by_both(1, offset_m(here, 5'000, 0)); // another cell: lower id, no say here
    ASSERT_EQ(a.cell(), b.cell());
    EXPECT_TRUE(a.formed());
    EXPECT_EQ(a.leader(), id_of(3));
    EXPECT_EQ(b.leader(), id_of(3));
    EXPECT_EQ(a.candidates(10), (std::vector<endpoint>{address_of(3), address_of(9)}));
}

TEST(DirectedDiscovery, PendingThenInProgressThenDoneOrFailedByTheTimeout)
{
    topology::directed_discovery d(3, 60s);
    time_point t{};
    EXPECT_EQ(d.state(), topology::assignment_state::unassigned);
    EXPECT_TRUE(d.candidates(5).empty());
    geo_position const cell_centre = offset_m(origin, 500, 500);
    d.assign(geohash(cell_centre, 6), t);
    EXPECT_EQ(d.state(), topology::assignment_state::pending);
    d.observe_beacon(id_of(1), address_of(1), beacon_at(offset_m(origin, 8'000, 0), 0), t + 1s); // elsewhere
    EXPECT_EQ(d.state(), topology::assignment_state::pending);
    d.observe_beacon(id_of(2), address_of(2), beacon_at(cell_centre, 0), t + 2s);
    EXPECT_EQ(d.state(), topology::assignment_state::in_progress);
    d.observe_beacon(id_of(3), address_of(3), beacon_at(offset_m(cell_centre, 10, 0), 0), t + 3s);
    EXPECT_EQ(d.state(), topology::assignment_state::done);
    EXPECT_EQ(d.candidates(5), (std::vector<endpoint>{address_of(2), address_of(3)}));
    // A cell where nobody is: failed at the timeout, and assigning again retries.
    topology::directed_discovery lonely;
    lonely.assign("u4pruyd", t);
    EXPECT_EQ(lonely.update(t + 59s), topology::assignment_state::pending);
    EXPECT_EQ(lonely.update(t + 60s), topology::assignment_state::failed);
    lonely.assign("u4pruyd", t + 61s);
    EXPECT_EQ(lonely.state(), topology::assignment_state::pending);
    EXPECT_THROW(lonely.assign("not a cell", t), std::invalid_argument);
}

TEST(CompositeDiscovery, TakesInTurnFromEachWithoutRepeatsAndReportsToAll)
{
    discovery::static_seeds seeds{address_of(1), address_of(2), address_of(3)};
    topology::capability_discovery caps({{"radio"}, {}});
    discovery::composite<discovery::static_seeds, topology::capability_discovery> both(seeds, caps);
    both.observe_beacon(id_of(7), address_of(7), offering(origin, {"radio"}), time_point{});
    both.observe_beacon(id_of(2), address_of(2), offering(origin, {"radio"}), time_point{});
    auto got = both.candidates(4);
    // Round 1: seed 1, capability 2 (id order: 2 then 7); round 2: seed 2 (taken), capability 7; round 3: seed 3.
    EXPECT_EQ(got, (std::vector<endpoint>{address_of(1), address_of(2), address_of(7), address_of(3)}));
    EXPECT_EQ(both.candidates(2).size(), 2u);
    both.report(address_of(1), contact_outcome::unreachable);
    EXPECT_EQ(both.get<0>().candidates(3).front(), address_of(2)); // the seeds heard the failure
    static_assert(discovery_strategy<discovery::composite<discovery::static_seeds, topology::capability_discovery>>);
}

// -- whole hierarchies on the simulator ---------------------------------------------------

/// Nodes of one hierarchy on one simulated network, every event they raise kept.
template <class Strategy, class Aggregator = topology::summary_aggregator>
struct mesh_world {
    using node_type = reference::hierarchical_node<Strategy, Aggregator>;
    using engine_type = topology::hierarchical_mesh<Aggregator>;
    using event_type = typename node_type::event_type;

    sim::network net;
    std::vector<std::unique_ptr<node_type>> nodes;
    std::deque<std::vector<event_type>> events;
    std::vector<endpoint> addresses;

    explicit mesh_world(std::uint64_t seed) : net(seed) {}

    node_type& add(geo_position where, Strategy strategy, topology::mesh_config cfg = {})
    {
        cfg.position = where;
        cfg.top_level = 2;
        cfg.mobility = mobility::fixed;
        node_config nc;
        nc.engine<engine_type>() = cfg;
        auto& n = nodes.emplace_back(std::make_unique<node_type>(net, nc, discovery::static_seeds{}, strategy));
        auto& log = events.emplace_back();
        n->on_event([&log](auto const& e) { log.push_back(e); });
        addresses.push_back(n->local_endpoint());
        return *n;
    }

    /// Every node beacons to every other (one radio net); range still filters.
    void start_all()
    {
        for (auto& n : nodes) {
            for (endpoint const& a : addresses)
                if (a != n->local_endpoint())
                    n->join(a);
            n->start();
        }
    }

    engine_type const& mesh(std::size_t i) const { return nodes[i]->template engine<engine_type>(); }

    std::optional<node_id> parent_of(std::size_t i) const
    {
        auto const& p = mesh(i).parent();
        return p ? std::optional<node_id>(p->id) : std::nullopt;
    }

    template <class E>
    std::vector<E> all(std::size_t i) const
    {
        std::vector<E> out;
        for (auto const& e : events[i])
            if (auto const* x = std::get_if<E>(&e))
                out.push_back(*x);
        return out;
    }

    /// The reading keys that reached a root, directly or folded into summaries (each counted once).
    std::set<topology::packet_key> delivered_readings() const
    {
        std::map<topology::packet_key, std::vector<topology::packet_key>> folded;
        std::vector<topology::packet_key> at_roots;
        for (std::size_t i = 0; i < nodes.size(); ++i)
            for (auto const& e : events[i]) {
                if (auto const* s = std::get_if<topology::summary_sent>(&e))
                    folded[s->summary] = s->folded;
                if (auto const* r = std::get_if<topology::packet_received>(&e))
                    if (topology::direction_of(r->type) == topology::direction::upward)
                        at_roots.push_back(r->key);
            }
        std::set<topology::packet_key> out;
        std::vector<topology::packet_key> stack = at_roots;
        while (!stack.empty()) {
            auto k = stack.back();
            stack.pop_back();
            auto it = folded.find(k);
            if (it == folded.end()) {
                out.insert(k);
            } else {
                stack.insert(stack.end(), it->second.begin(), it->second.end());
            }
        }
        return out;
    }
};

std::vector<std::byte> reading_at(geo_position p)
{
    std::vector<std::byte> bytes;
    wire::encode(topology::node_state{p, std::uint8_t{80}, true, 1}, bytes);
    return bytes;
}

/// A root (level 2), three squad leaders (level 1) 1.5 km apart, and three members near each (level 0).
template <class World, class MakeStrategy>
void build_three_squads(World& w, MakeStrategy make)
{
    w.add(origin, make(2, node_role::leader));
    for (int s = 0; s < 3; ++s)
        w.add(offset_m(origin, 1'500.0 * s - 1'500, 600), make(1, node_role::leader));
    for (int s = 0; s < 3; ++s)
        for (int m = 0; m < 3; ++m)
            w.add(offset_m(origin, 1'500.0 * s - 1'500 + 60.0 * m, 700), make(0, node_role::member));
}

TEST(HierarchicalMesh, FormsWithinThreeBeaconIntervalsMembersUnderTheNearestLeader)
{
    mesh_world<hierarchy::static_strategy> w(1);
    build_three_squads(w, fixed_level);
    w.start_all();
    w.net.advance(15s); // three beacon intervals
    EXPECT_FALSE(w.parent_of(0)); // the root
    for (std::size_t i = 1; i <= 3; ++i)
        EXPECT_EQ(w.parent_of(i), w.nodes[0]->id()) << "squad leader " << i;
    for (std::size_t s = 0; s < 3; ++s)
        for (std::size_t m = 0; m < 3; ++m)
            EXPECT_EQ(w.parent_of(4 + 3 * s + m), w.nodes[1 + s]->id()) << "member " << m << " of squad " << s;
    EXPECT_EQ(w.mesh(0).children().size(), 3u);
    EXPECT_EQ(w.mesh(1).children().size(), 3u);
    EXPECT_EQ(w.mesh(1).laterals().size(), 2u); // the other squad leaders
    EXPECT_EQ(w.all<topology::parent_selected>(5).size(), 1u);
}

TEST(HierarchicalMesh, EveryReadingReachesTheRootFoldedIntoSummaries)
{
    mesh_world<hierarchy::static_strategy> w(2);
    build_three_squads(w, fixed_level);
    w.start_all();
    w.net.advance(15s);
    std::set<topology::packet_key> reported;
    for (int round = 0; round < 10; ++round) {
        for (std::size_t i = 1; i < w.nodes.size(); ++i) {
            auto k = reference::report(*w.nodes[i], data_type::telemetry, reading_at(origin));
            ASSERT_TRUE(k);
            reported.insert(*k);
        }
        w.net.advance(2s);
    }
    w.net.advance(30s);
    EXPECT_EQ(w.delivered_readings(), reported);
    EXPECT_EQ(w.mesh(0).stats().readings_consumed, reported.size());
    // Members' readings went up in summaries: the root took fewer packets than readings.
    EXPECT_LT(w.mesh(0).stats().upward_consumed, reported.size() / 2);
    for (std::size_t i = 1; i < w.nodes.size(); ++i)
        EXPECT_EQ(w.mesh(i).held(), 0u) << "node " << i << " still holds packets: all were released";
}

TEST(HierarchicalMesh, AKilledLeadersMembersRehomeWithinTenSecondsAndLoseNothing)
{
    mesh_world<hierarchy::static_strategy> w(3);
    build_three_squads(w, fixed_level);
    w.start_all();
    w.net.advance(15s);
    std::set<topology::packet_key> reported;
    auto report_all = [&] {
        for (std::size_t i = 1; i < w.nodes.size(); ++i) {
            if (!w.net.is_up(w.addresses[i]))
                continue;
            auto k = reference::report(*w.nodes[i], data_type::telemetry, reading_at(origin));
            ASSERT_TRUE(k);
            reported.insert(*k);
        }
    };
    for (int round = 0; round < 3; ++round) {
        report_all();
        w.net.advance(2s);
    }
    // Squad leader 2 dies with its members' latest readings folded and unsent.
    report_all();
    w.net.advance(300ms);
    time_point const killed = w.net.now();
    w.net.crash(w.addresses[2]);
    std::map<std::size_t, time_point> rehomed;
    for (int step = 0; step < 200; ++step) {
        if (step % 20 == 0)
            report_all();
        w.net.advance(100ms);
        for (std::size_t m = 7; m <= 9; ++m)
            if (!rehomed.count(m) && w.parent_of(m) && *w.parent_of(m) != w.nodes[2]->id())
                rehomed[m] = w.net.now();
    }
    ASSERT_EQ(rehomed.size(), 3u);
    for (auto const& [m, at] : rehomed) {
        EXPECT_LT(at - killed, 10s) << "member " << m;
        auto const p = *w.parent_of(m);
        EXPECT_TRUE(p == w.nodes[1]->id() || p == w.nodes[3]->id());
        EXPECT_EQ(w.all<topology::parent_changed>(m).back().failover, true);
    }
    w.net.advance(40s);
    // Every reading of a node that lives reached the root; the dead leader's own were its to lose.
    auto const delivered = w.delivered_readings();
    std::size_t of_the_dead = 0;
    for (auto const& k : reported) {
        if (k.origin == w.nodes[2]->id()) {
            of_the_dead += delivered.count(k) == 0;
            continue;
        }
        EXPECT_TRUE(delivered.count(k)) << "a reading was lost";
    }
    EXPECT_LE(of_the_dead, 1u); // the one it had folded and not yet sent
    for (auto const& k : delivered)
        EXPECT_TRUE(reported.count(k));
}

TEST(HierarchicalMesh, ACommandReachesEverySubtreeNodeOnceAndAnAddressedOneOnlyItsTarget)
{
    mesh_world<hierarchy::static_strategy> w(4);
    build_three_squads(w, fixed_level);
    w.start_all();
    w.net.advance(15s);
    std::vector<std::byte> const cmd{std::byte{'g'}, std::byte{'o'}};
    ASSERT_FALSE(reference::send(*w.nodes[0], data_type::command, std::nullopt, cmd));
    w.net.advance(3s);
    for (std::size_t i = 1; i < w.nodes.size(); ++i) {
        auto got = w.all<topology::packet_received>(i);
        ASSERT_EQ(got.size(), 1u) << "node " << i;
        EXPECT_EQ(got[0].payload, cmd);
        EXPECT_EQ(got[0].type, data_type::command);
    }
    node_id const target = w.nodes[8]->id();
    ASSERT_FALSE(reference::send(*w.nodes[0], data_type::configuration, target, cmd));
    w.net.advance(3s);
    for (std::size_t i = 4; i < w.nodes.size(); ++i)
        EXPECT_EQ(w.all<topology::packet_received>(i).size(), i == 8 ? 2u : 1u) << "node " << i;
    EXPECT_EQ(reference::send(*w.nodes[0], data_type::telemetry, std::nullopt, cmd), errc::wrong_direction);
}

hierarchy::dynamic_strategy elected(std::uint8_t level, node_role)
{
    hierarchy::dynamic_strategy_config c;
    c.base_level = level;
    c.max_level = 2;
    return hierarchy::dynamic_strategy{c};
}

TEST(HierarchicalMesh, WithNoRootTheDynamicStrategyPromotesOneLeaderAndTheOthersAttachToIt)
{
    mesh_world<hierarchy::dynamic_strategy> w(5);
    build_three_squads(w, elected);
    w.net.crash(w.addresses[0]); // the root never comes up
    w.start_all();
    w.net.advance(40s);
    std::size_t promoted = 0;
    std::size_t promoted_index = 0;
    for (std::size_t i = 1; i <= 3; ++i)
        if (w.mesh(i).level() == 2) {
            ++promoted;
            promoted_index = i;
        }
    ASSERT_EQ(promoted, 1u);
    // Promoted to the top, it is no root: it holds what comes up for the real one.
    EXPECT_FALSE(w.mesh(promoted_index).is_root());
    EXPECT_TRUE(w.mesh(promoted_index).partitioned());
    for (std::size_t i = 1; i <= 3; ++i) {
        if (i != promoted_index) {
            EXPECT_EQ(w.parent_of(i), w.nodes[promoted_index]->id());
        }
    }
    // The root comes up: the promoted node steps down and everyone is under it.
    w.net.restart(w.addresses[0]);
    w.net.advance(90s);
    for (std::size_t i = 1; i <= 3; ++i) {
        EXPECT_EQ(w.mesh(i).level(), 1);
        EXPECT_EQ(w.parent_of(i), w.nodes[0]->id()) << "squad leader " << i;
        EXPECT_EQ(w.mesh(i).held(), 0u);
    }
    EXPECT_FALSE(w.mesh(promoted_index).partitioned());
}

TEST(HierarchicalMesh, ACutOffSquadGoesAutonomousHoldsItsReadingsAndFlushesOnHeal)
{
    mesh_world<hierarchy::static_strategy> w(6);
    build_three_squads(w, fixed_level);
    w.start_all();
    w.net.advance(15s);
    // Squad 0 (leader 1, members 4..6) cut from everyone else for 60 s.
    std::vector<endpoint> cell{w.addresses[1], w.addresses[4], w.addresses[5], w.addresses[6]};
    w.net.partition({cell});
    std::set<topology::packet_key> reported;
    for (int round = 0; round < 30; ++round) {
        for (std::size_t i : {4u, 5u, 6u, 1u}) {
            auto k = reference::report(*w.nodes[i], data_type::telemetry, reading_at(origin));
            ASSERT_TRUE(k);
            reported.insert(*k);
        }
        w.net.advance(2s);
    }
    EXPECT_TRUE(w.mesh(1).partitioned());
    EXPECT_EQ(w.all<topology::partition_detected>(1).size(), 1u);
    // Inside the cell the hierarchy held: members still under their leader.
    for (std::size_t m = 4; m <= 6; ++m)
        EXPECT_EQ(w.parent_of(m), w.nodes[1]->id());
    w.net.heal();
    w.net.advance(60s);
    EXPECT_FALSE(w.mesh(1).partitioned());
    ASSERT_EQ(w.all<topology::partition_healed>(1).size(), 1u);
    EXPECT_EQ(w.parent_of(1), w.nodes[0]->id());
    auto const delivered = w.delivered_readings();
    for (auto const& k : reported)
        EXPECT_TRUE(delivered.count(k)) << "a reading was lost";
}

TEST(HierarchicalMesh, ForgedPacketsCannotLoopAndAbsurdBeaconsAreCounted)
{
    mesh_world<hierarchy::static_strategy> w(7);
    build_three_squads(w, fixed_level);
    w.start_all();
    w.net.advance(15s);
    auto const before = w.mesh(1).stats();
    // A forged beacon placing a node on no map, and a packet claiming 250 hops.
    sim::transport attacker(w.net, w.net.next_endpoint());
    auto forged_beacon = beacon_at(geo_position{0, 500, std::nullopt}, 1);
    auto forged = packet(id_of(66), 1, std::nullopt, data_type::command, 250, 255);
    auto send = [&](auto const& m) {
        wire::envelope h{};
        h.type = std::remove_cvref_t<decltype(m)>::wire_id;
        h.sender = id_of(66);
        std::vector<std::byte> bytes;
        wire::encode_envelope(h, bytes);
        wire::encode(m, bytes);
        (void)attacker.send(w.addresses[1], bytes);
    };
    send(forged_beacon);
    send(forged);
    send(forged); // twice
    w.net.advance(2s);
    auto const& after = w.mesh(1).stats();
    EXPECT_EQ(after.beacons_refused, before.beacons_refused + 1);
    EXPECT_EQ(after.packets_over_hop_limit, before.packets_over_hop_limit + 2);
    EXPECT_EQ(after.packets_forwarded, before.packets_forwarded);
    EXPECT_EQ(w.mesh(1).observer().find(id_of(66)), nullptr);
}

struct capability_policies : reference::hierarchical_policies<hierarchy::static_strategy> {
    using discovery = ::meshkit::discovery::composite<::meshkit::discovery::static_seeds,
                                                      topology::capability_discovery>;
};

TEST(HierarchicalMesh, ADiscoveryPolicyThatLearnsFromBeaconsIsFedByTheEngine)
{
    using node_type = basic_node<capability_policies>;
    using engine_type = topology::hierarchical_mesh<topology::summary_aggregator>;
    sim::network net(8);
    std::vector<std::unique_ptr<node_type>> nodes;
    std::vector<std::vector<std::string>> const offers{{"radio"}, {"radio", "thermal"}, {"lidar"}};
    for (std::size_t i = 0; i < offers.size(); ++i) {
        topology::mesh_config cfg;
        cfg.position = offset_m(origin, 100.0 * static_cast<double>(i), 0);
        cfg.capabilities = offers[i];
        node_config nc;
        nc.engine<engine_type>() = cfg;
        capability_policies::discovery d{discovery::static_seeds{},
                                         topology::capability_discovery({{"radio"}, {"thermal"}})};
        nodes.push_back(std::make_unique<node_type>(net, nc, std::move(d), fixed_level(i == 0 ? 1 : 0, node_role::member)));
    }
    for (auto& n : nodes) {
        for (auto& other : nodes)
            if (other != n)
                n->join(other->local_endpoint());
        n->start();
    }
    net.advance(12s);
    // Node 2 asked for radio, thermal preferred: node 1 first, then node 0; node 2 itself offers neither.
    auto const found = nodes[2]->discovery().get<1>().candidates(5);
    EXPECT_EQ(found, (std::vector<endpoint>{nodes[1]->local_endpoint(), nodes[0]->local_endpoint()}));
}

TEST(HierarchicalMesh, AFloodOfReadingsIntoALeaderGoesUpInBoundedSummaries)
{
    mesh_world<hierarchy::static_strategy> w(9);
    topology::mesh_config small;
    small.max_children = 4; // a window of at most 16 folded readings
    w.add(origin, fixed_level(2, node_role::leader));
    w.add(offset_m(origin, 100, 0), fixed_level(1, node_role::leader), small);
    w.start_all();
    w.net.advance(15s);
    ASSERT_EQ(w.parent_of(1), w.nodes[0]->id());
    sim::transport attacker(w.net, w.net.next_endpoint());
    auto const before = w.mesh(1).stats().summaries_sent;
    for (std::uint64_t i = 0; i < 100; ++i) {
        auto p = packet(id_of(77), 1000 + i, std::nullopt, data_type::telemetry);
        p.payload = reading_at(origin);
        wire::envelope h{};
        h.type = topology::hm_packet::wire_id;
        h.sender = id_of(77);
        std::vector<std::byte> bytes;
        wire::encode_envelope(h, bytes);
        wire::encode(p, bytes);
        (void)attacker.send(w.addresses[1], bytes);
    }
    w.net.advance(50ms); // well within one aggregation interval
    // 100 readings, at most 16 held at once: at least 6 summaries already went up.
    EXPECT_GE(w.mesh(1).stats().summaries_sent - before, 6u);
    w.net.advance(10s);
    EXPECT_EQ(w.mesh(0).stats().readings_consumed, 100u);
}

TEST(HierarchicalMesh, ReplaysBitForBit)
{
    auto run = [](std::uint64_t seed) {
        mesh_world<hierarchy::dynamic_strategy> w(seed);
        build_three_squads(w, elected);
        w.start_all();
        w.net.advance(20s);
        for (std::size_t i = 1; i < w.nodes.size(); ++i)
            (void)reference::report(*w.nodes[i], data_type::telemetry, reading_at(origin));
        w.net.crash(w.addresses[2]);
        w.net.advance(30s);
        return w.net.trace_hash();
    };
    EXPECT_EQ(run(11), run(11));
    EXPECT_NE(run(11), run(12));
}

} // namespace
