// Test that header file is self-contained.
#include <meshkit/discovery/bootstrap_cache.hpp>

#include <meshkit/nat/observed_address.hpp>
#include <meshkit/storage/file_store.hpp>
#include <meshkit/discovery/peer_record.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/wire/registry.hpp>
#include <meshkit/udp/transport.hpp>
#include <meshkit/discovery/registry.hpp>
#include <meshkit/discovery/peer_gossip.hpp>
#include <meshkit/discovery/registry_messages.hpp>
#include <meshkit/discovery/gossip_messages.hpp>
#include <meshkit/storage/memory_store.hpp>
#include <meshkit/security/signing_key.hpp>

#include <support/bytes.hpp>
#include <support/keys.hpp>
#include <support/recording_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>

namespace {

using namespace meshkit;
using test::bytes_of;
using test::text_of;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// A fresh directory under the system's temp dir, removed afterwards.
struct temp_dir {
    fs::path path = fs::temp_directory_path() /
                    ("meshkit-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    ~temp_dir() { fs::remove_all(path); }
    static int& counter()
    {
        static int n = 0;
        return n;
    }
};

void truncate_file(fs::path const& p, std::uintmax_t size) { fs::resize_file(p, size); }

// -- file_store ----------------------------------------------------------------------

static_assert(storage_backend<storage::file_store>);

TEST(FileStore, StoresLoadsAndErasesWithAnyKey)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    std::vector<std::byte> out;
    EXPECT_EQ(s.load("meshkit/node_id", out), storage::errc::not_found);
    ASSERT_FALSE(s.store("meshkit/node_id", bytes_of("v1")));
    ASSERT_FALSE(s.load("meshkit/node_id", out));
    EXPECT_EQ(text_of(out), "v1");
    EXPECT_EQ(s.path_of("meshkit/node_id").filename(), "meshkit%2Fnode_id");
    ASSERT_FALSE(s.store("meshkit/node_id", bytes_of("v2")));
    ASSERT_FALSE(s.load("meshkit/node_id", out));
    EXPECT_EQ(text_of(out), "v2");
    // A new store object on the same directory (a restarted process) sees the value.
    storage::file_store again{dir.path};
    ASSERT_FALSE(again.load("meshkit/node_id", out));
    EXPECT_EQ(text_of(out), "v2");
    ASSERT_FALSE(again.erase("meshkit/node_id"));
    EXPECT_EQ(again.load("meshkit/node_id", out), storage::errc::not_found);
}

TEST(FileStore, CrashBeforeTheRenameLeavesTheOldValue)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("k", bytes_of("good")));
    // The process dies while writing the next value: only the temp file is there, half written.
    std::ofstream(s.path_of("k").string() + ".tmp", std::ios::binary) << "MSS1\x05";
    std::vector<std::byte> out;
    ASSERT_FALSE(s.load("k", out));
    EXPECT_EQ(text_of(out), "good");
}

TEST(FileStore, TornOrCorruptValueFallsBackToTheLastGoodOne)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("k", bytes_of("first complete value")));
    ASSERT_FALSE(s.store("k", bytes_of("second complete value")));
    // Tear the newest file: it is now shorter than its header says.
    truncate_file(s.path_of("k"), 25);
    std::vector<std::byte> out;
    ASSERT_FALSE(s.load("k", out));
    EXPECT_EQ(text_of(out), "first complete value");

    // Store again over the torn file (which must not become the fallback),
    // then flip a byte of the new one: the checksum catches it, and the last
    // complete value is still the first.
    ASSERT_FALSE(s.store("k", bytes_of("third complete value")));
    {
        std::fstream f(s.path_of("k"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(22);
        f.put('X');
    }
    ASSERT_FALSE(s.load("k", out));
    EXPECT_EQ(text_of(out), "first complete value");
}

TEST(FileStore, CrashBetweenTheTwoRenamesLoadsThePreviousValue)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("k", bytes_of("old")));
    ASSERT_FALSE(s.store("k", bytes_of("new")));
    // The current value was renamed away and the process died before the new one moved in.
    fs::remove(s.path_of("k"));
    std::vector<std::byte> out;
    ASSERT_FALSE(s.load("k", out));
    EXPECT_EQ(text_of(out), "old");
    // With the fallback damaged too, the answer is "corrupt", not "never stored".
    truncate_file(s.path_of("k").string() + ".prev", 5);
    EXPECT_EQ(s.load("k", out), storage::errc::corrupt);
}

TEST(FileStore, BothCopiesCorruptIsAnErrorNeverBadData)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("k", bytes_of("aaaaaaaaaa")));
    ASSERT_FALSE(s.store("k", bytes_of("bbbbbbbbbb")));
    truncate_file(s.path_of("k"), 10);
    truncate_file(s.path_of("k").string() + ".prev", 3);
    std::vector<std::byte> out{std::byte{1}};
    EXPECT_EQ(s.load("k", out), storage::errc::corrupt);
    EXPECT_TRUE(out.empty());
}

TEST(FileStore, ALengthThatLiesAllocatesNothing)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("k", bytes_of("x")));
    {
        // Claim an exabyte in the header of a 21-byte file.
        std::fstream f(s.path_of("k"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(4);
        std::uint64_t huge = std::uint64_t{1} << 60;
        f.write(reinterpret_cast<char const*>(&huge), 8);
    }
    fs::remove(s.path_of("k").string() + ".prev");
    std::vector<std::byte> out;
    EXPECT_EQ(s.load("k", out), storage::errc::corrupt);
}

// -- bootstrap_cache -------------------------------------------------------------------

using discovery::bootstrap_cache;
using discovery::cached_peer;

time_point at(std::chrono::seconds s) { return time_point(s); }

cached_peer peer(std::uint64_t n, std::uint8_t caps = 0, bool is_public = false)
{
    cached_peer p;
    p.id = node_id::from_seed(n);
    p.addresses = {endpoint::v4(10, 0, 0, static_cast<std::uint8_t>(n), 7000)};
    p.capabilities = caps;
    p.publicly_reachable = is_public;
    return p;
}

static_assert(discovery_strategy<bootstrap_cache>);

TEST(BootstrapCache, QualityWeighsSuccessRttFreshnessAndEarnedCapabilities)
{
    bootstrap_cache c;
    auto const t0 = at(1000000s);
    c.upsert(peer(1), t0);
    cached_peer const& p = *c.find(node_id::from_seed(1));
    c.observe_time(t0);
    // Untested, unmeasured, just seen, no capabilities: 0.4*0.5 + 0.25*0.5 + 0.15*1 + 0.
    EXPECT_NEAR(c.quality(p), 0.475, 1e-9);

    c.record_success(p.id, p.addresses[0], 100ms, t0);
    // All successes, RTT 100 ms: 0.4*1 + 0.25*0.9 + 0.15*1.
    EXPECT_NEAR(c.quality(*c.find(p.id)), 0.775, 1e-9);

    c.observe_time(t0 + 24h);
    EXPECT_NEAR(c.quality(*c.find(p.id)), 0.775 - 0.15 * 0.5, 1e-9) << "freshness halves in 24 h";

    // A relay claim counts only with evidence of public reachability.
    c.upsert(peer(2, discovery::can_relay, false), t0 + 24h);
    c.upsert(peer(3, discovery::can_relay, true), t0 + 24h);
    EXPECT_NEAR(c.quality(*c.find(node_id::from_seed(3))) - c.quality(*c.find(node_id::from_seed(2))), 0.2 * 0.5, 1e-9);
    EXPECT_EQ(c.select(10, discovery::can_relay).size(), 1u) << "only the proven relay is offered as a relay";

    // Each failure since the last success halves the score, so a dead relay drops below untested peers.
    double const before = c.quality(*c.find(node_id::from_seed(3)));
    c.record_failure(c.find(node_id::from_seed(3))->addresses[0], t0 + 24h);
    c.record_failure(c.find(node_id::from_seed(3))->addresses[0], t0 + 24h);
    double const after = c.quality(*c.find(node_id::from_seed(3)));
    EXPECT_LT(after, before / 4 + 1e-9);
    EXPECT_LT(after, c.quality(*c.find(node_id::from_seed(2))));
}

TEST(BootstrapCache, EpsilonGreedyMostlyPicksTheBestButExplores)
{
    discovery::bootstrap_cache_config cfg;
    cfg.epsilon = 0.1;
    bootstrap_cache c{cfg, 1};
    auto const t0 = at(1000s);
    for (std::uint64_t i = 1; i <= 10; ++i)
        c.upsert(peer(i), t0);
    auto const best = node_id::from_seed(7);
    c.record_success(best, c.find(best)->addresses[0], 10ms, t0);
    int best_first = 0;
    constexpr int trials = 2000;
    for (int i = 0; i < trials; ++i)
        best_first += c.select(1).front()->id == best;
    // First pick: best with probability 1 - eps + eps/10 = 0.91.
    EXPECT_NEAR(best_first / double(trials), 0.91, 0.03);

    discovery::bootstrap_cache_config greedy = cfg;
    greedy.epsilon = 0;
    bootstrap_cache g{greedy};
    for (std::uint64_t i = 1; i <= 10; ++i)
        g.upsert(peer(i), t0);
    g.record_success(best, endpoint::v4(10, 0, 0, 7, 7000), 10ms, t0);
    EXPECT_EQ(g.select(1).front()->id, best);
}

TEST(BootstrapCache, CapacityEvictsTheWorstAndAgeEvictsTheStale)
{
    discovery::bootstrap_cache_config cfg;
    cfg.capacity = 3;
    cfg.stale_after = 48h;
    bootstrap_cache c{cfg};
    auto const t0 = at(1000000s);
    for (std::uint64_t i = 1; i <= 3; ++i)
        c.upsert(peer(i), t0);
    c.record_failure(c.find(node_id::from_seed(2))->addresses[0], t0);
    c.upsert(peer(4), t0);
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.find(node_id::from_seed(2)), nullptr) << "the peer that failed made room";

    c.record_success(node_id::from_seed(4), endpoint::v4(10, 0, 0, 4, 7000), 5ms, t0 + 47h);
    c.observe_time(t0 + 49h);
    EXPECT_EQ(c.evict_stale(), 2u);
    EXPECT_NE(c.find(node_id::from_seed(4)), nullptr);
}

TEST(BootstrapCache, OffersCachedPeersBeforeSeeds)
{
    bootstrap_cache c;
    endpoint const seed = endpoint::v4(192, 0, 2, 1, 7000);
    c.add_seed(seed);
    EXPECT_EQ(c.candidates(3), std::vector<endpoint>{seed}) << "an empty cache falls back to the seeds";
    c.upsert(peer(1), at(10s));
    auto const cands = c.candidates(3);
    ASSERT_EQ(cands.size(), 2u);
    EXPECT_EQ(cands[0], peer(1).addresses[0]);
    EXPECT_EQ(cands[1], seed);
}

TEST(BootstrapCache, MergingKeepsOnePeerWithTheNewestState)
{
    bootstrap_cache c;
    cached_peer old = peer(1);
    old.last_seen_s = 100;
    old.nat = nat::nat_type::cone;
    c.upsert(old, at(100s));
    cached_peer newer = peer(1);
    newer.addresses = {endpoint::v4(10, 9, 9, 9, 7000)};
    newer.last_seen_s = 200;
    newer.nat = nat::nat_type::symmetric;
    c.upsert(newer, at(200s));
    cached_peer stale = peer(1);
    stale.last_seen_s = 50;
    stale.nat = nat::nat_type::open;
    stale.addresses = {endpoint::v4(10, 7, 7, 7, 7000)};
    c.upsert(stale, at(200s));
    ASSERT_EQ(c.size(), 1u);
    auto const& p = *c.find(node_id::from_seed(1));
    EXPECT_EQ(p.nat, nat::nat_type::symmetric);
    EXPECT_EQ(p.addresses.size(), 2u) << "a stale copy must not add its address";
    EXPECT_EQ(p.addresses.back(), endpoint::v4(10, 9, 9, 9, 7000)) << "the newest copy's address stays current";
    EXPECT_EQ(p.last_seen_s, 200);
}

TEST(BootstrapCache, PersistsAcrossARestartAndSurvivesATornWrite)
{
    temp_dir dir;
    auto const t0 = at(5000s);
    {
        storage::file_store disk{dir.path};
        bootstrap_cache c;
        for (std::uint64_t i = 1; i <= 20; ++i)
            c.upsert(peer(i), t0);
        c.record_success(node_id::from_seed(3), peer(3).addresses[0], 30ms, t0);
        EXPECT_TRUE(c.save_if_changed(disk));
        EXPECT_EQ(c.pending_changes(), 0u);
        EXPECT_FALSE(c.save_if_changed(disk)) << "nothing changed: no write";
        c.upsert(peer(21), t0);
        ASSERT_FALSE(c.save(disk));
        // The process dies in the middle of a later save: the newest file is torn.
        truncate_file(disk.path_of(bootstrap_cache::storage_key), 100);
    }
    storage::file_store disk{dir.path};
    bootstrap_cache restarted;
    ASSERT_FALSE(restarted.load(disk, t0));
    EXPECT_EQ(restarted.size(), 20u) << "the last complete save (20 peers), never a corrupt one";
    auto const* p3 = restarted.find(node_id::from_seed(3));
    ASSERT_NE(p3, nullptr);
    EXPECT_EQ(p3->successes, 1u);
    EXPECT_EQ(p3->rtt_us, 30000u);
}

TEST(BootstrapCache, SavedTimesAreAgesSoARebootedClockCannotMakeAPeerLookFresh)
{
    // The host reboots: its monotonic clock starts again near zero. A saved
    // time point (5,000 s) would lie an hour in the new clock's future, and
    // the peer would be gossiped as just seen. Ages carry over instead.
    storage::memory_store disk;
    {
        bootstrap_cache c;
        c.upsert(peer(1), at(4000s)); // seen at 4,000 s
        c.observe_time(at(5000s));    // saved at 5,000 s: 1,000 s old
        ASSERT_FALSE(c.save(disk));
    }
    bootstrap_cache rebooted;
    ASSERT_FALSE(rebooted.load(disk, at(30s)));
    auto const* p = rebooted.find(node_id::from_seed(1));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(30 - p->last_seen_s, 1000) << "the peer's age survives the reboot";
    auto const record = discovery::shareable(
        [&] {
            auto q = *p;
            q.broadcasting = true;
            q.version = 1;
            return q;
        }(),
        30);
    ASSERT_TRUE(record);
    EXPECT_EQ(record->age_s, 1000u);
}

// -- observed addresses ------------------------------------------------------------------

TEST(ObservedAddress, TrustsAnAddressOnlyWhenIndependentObserversAgree)
{
    nat::observed_address o;
    endpoint const bound = endpoint::v4(192, 168, 1, 2, 7000);
    endpoint const ext = endpoint::v4(203, 0, 113, 5, 40000);
    auto const t = at(1s);
    o.observe(node_id::from_seed(1), endpoint::v4(198, 51, 100, 1, 7000), ext, t);
    EXPECT_FALSE(o.confirmed()) << "one observer is not enough";
    // A second id from the same IP is the same observer.
    o.observe(node_id::from_seed(2), endpoint::v4(198, 51, 100, 1, 7001), ext, t);
    EXPECT_FALSE(o.confirmed());
    o.observe(node_id::from_seed(3), endpoint::v4(198, 51, 100, 9, 7000), ext, t);
    ASSERT_TRUE(o.confirmed());
    EXPECT_EQ(*o.confirmed(), ext);
    EXPECT_EQ(o.inferred_type(bound), nat::nat_type::cone);
}

TEST(ObservedAddress, InfersOpenAndSymmetricAndForgetsOldObservations)
{
    endpoint const bound = endpoint::v4(198, 51, 100, 7, 7000);
    nat::observed_address open;
    open.observe(node_id::from_seed(1), endpoint::v4(203, 0, 113, 1, 1), bound, at(1s));
    open.observe(node_id::from_seed(2), endpoint::v4(203, 0, 113, 2, 1), bound, at(1s));
    EXPECT_EQ(open.inferred_type(bound), nat::nat_type::open);

    nat::observed_address sym;
    sym.observe(node_id::from_seed(1), endpoint::v4(203, 0, 113, 1, 1), endpoint::v4(192, 0, 2, 9, 40001), at(1s));
    sym.observe(node_id::from_seed(2), endpoint::v4(203, 0, 113, 2, 1), endpoint::v4(192, 0, 2, 9, 40002), at(1s));
    EXPECT_EQ(sym.inferred_type(endpoint::v4(10, 0, 0, 1, 7000)), nat::nat_type::symmetric);
    EXPECT_FALSE(sym.confirmed()) << "no two observers agree";

    sym.expire(at(1s + 6min));
    EXPECT_EQ(sym.size(), 0u);
    EXPECT_EQ(sym.inferred_type(endpoint::v4(10, 0, 0, 1, 7000)), nat::nat_type::unknown);
}

TEST(ObservedAddress, IsBounded)
{
    nat::observed_address o{{2, 4, 5min}};
    for (std::uint64_t i = 0; i < 100; ++i)
        o.observe(node_id::from_seed(i), endpoint::v4(203, 0, 113, static_cast<std::uint8_t>(i), 1),
                  endpoint::v4(192, 0, 2, 9, 40000), at(std::chrono::seconds(i)));
    EXPECT_EQ(o.size(), 4u);
}
TEST(PeerRecords, AFullListOfTheLargestSignedRecordsFitsOneSecureDatagram)
{
    // The largest record meshkit builds: an IPv6 address and 4 introducers,
    // each address carrying its transport byte, and its author's signature.
    discovery::peer_record big;
    big.id = node_id::from_seed(1);
    big.address = endpoint::parse("[2001:db8::1]:65535");
    big.version = ~std::uint64_t{0};
    big.age_s = ~std::uint32_t{0};
    for (std::size_t i = 0; i < discovery::peer_record::max_introducers; ++i)
        big.introducers.push_back(*endpoint::parse("[2001:db8::2]:65535"));
    big.signature.emplace();
    big.signature->fill(0xff);
    std::vector<std::byte> one;
    wire::encode(big, one);
    EXPECT_EQ(one.size(), 209u);

    using gossip = wire::registry<discovery::fb_peer_list_response>;
    using registry = wire::registry<discovery::rg_list_response>;
    wire::envelope const header{discovery::fb_peer_list_response::wire_id, node_id::from_seed(2), 1, 0};
    std::vector<std::byte> list, listing;
    gossip::encode(header,
                   discovery::fb_peer_list_response{~std::uint64_t{0}, ~std::uint64_t{0}, 0xffff, 0xffff,
                                                    std::vector<discovery::peer_record>(
                                                        discovery::peer_gossip_config{}.records_per_chunk, big)},
                   list);
    registry::encode(wire::envelope{discovery::rg_list_response::wire_id, node_id::from_seed(2), 1, 0},
                     discovery::rg_list_response{~std::uint64_t{0}, std::vector<discovery::peer_record>(
                                                                        discovery::registry_config{}.list_limit, big)},
                     listing);
    // What a secure session leaves of UDP's 1,200 bytes: the data frame's header and tag come off.
    std::size_t const secure_payload = udp::transport::default_max_datagram - 25;
    EXPECT_LE(list.size(), secure_payload);
    EXPECT_LE(listing.size(), secure_payload);
    EXPECT_EQ(list.size(), 1112u);
    EXPECT_EQ(listing.size(), 1100u);
}

// -- signed records: nobody publishes an address under another node's id ---------------------

using gossip_context = test::recording_context<discovery::peer_gossip, metrics::in_memory_metrics, discovery::bootstrap_cache>;

/// A record of `author`'s at `at`, as `signer` signs it (the author itself, or a forger).
discovery::peer_record record_of(security::signing_key const& author, endpoint const& at, std::uint64_t version,
                                 security::signing_key const& signer)
{
    discovery::peer_record r;
    r.id = author.id();
    r.address = at;
    r.nat = nat::nat_type::open;
    r.capabilities = discovery::can_coordinate;
    r.broadcasting = true;
    r.version = version;
    r.signature = signer.sign(discovery::signing_bytes(r));
    return r;
}

void cached_peer_is(gossip_context& ctx, node_id const& id, endpoint const& address, std::uint64_t version)
{
    discovery::cached_peer const* p = ctx.discovery().find(id);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->addresses.back(), address);
    EXPECT_EQ(p->version, version);
}

TEST(SignedRecords, AForgedTamperedUnsignedOrStaleRecordIsDroppedCountedAndNeverPassedOn)
{
    auto const me = test::key_of(1), author = test::key_of(2), forger = test::key_of(3);
    gossip_context ctx;
    ctx.key = me;
    ctx.me = me.id();
    discovery::peer_gossip g;
    g.start(ctx);
    endpoint const relay = endpoint::v4(10, 0, 0, 9, 7000), neighbour = endpoint::v4(10, 0, 0, 10, 7000);
    g.on_event(ctx, link_up{forger.id(), relay, link_method::direct});
    g.on_event(ctx, link_up{test::key_of(4).id(), neighbour, link_method::direct});
    endpoint const home = endpoint::v4(10, 0, 0, 2, 7000), trap = endpoint::v4(10, 0, 0, 66, 7000);
    auto const forwarded_to_trap = [&] {
        std::size_t n = 0;
        for (auto const& [to, m] : ctx.sent_of<discovery::fb_peer_announcement>())
            n += m.origin.address == trap;
        for (auto const& [to, m] : ctx.sent_of<discovery::fb_peer_update>())
            n += m.origin.address == trap;
        return n;
    };

    // The author's own record, relayed (one hop): taken and passed on.
    ctx.deliver(g, relay, author.id(), discovery::fb_peer_announcement{8, record_of(author, home, 5, author)}, 1);
    cached_peer_is(ctx, author.id(), home, 5);
    EXPECT_EQ(ctx.sent_of<discovery::fb_peer_announcement>().size(), 1u);

    // The forger relays the author's id at its own address, with a newer version: signed by
    // itself, unsigned, or the author's signature over other fields.
    auto forged = record_of(author, trap, 9, forger);
    auto bare = forged;
    bare.signature.reset();
    auto tampered = record_of(author, home, 9, author);
    tampered.address = trap;
    // The very signature the cache verified, on the same version, with the address changed.
    auto retargeted = record_of(author, home, 5, author);
    retargeted.address = trap;
    for (auto const& r : {forged, bare, tampered, retargeted})
        ctx.deliver(g, relay, author.id(), discovery::fb_peer_announcement{8, r}, 1);
    EXPECT_EQ(g.stats().records_forged, 4u);
    cached_peer_is(ctx, author.id(), home, 5);

    // A departure only the author can sign.
    ctx.deliver(g, relay, author.id(), discovery::fb_peer_update{8, forged, false}, 1);
    EXPECT_EQ(g.stats().records_forged, 5u);
    cached_peer_is(ctx, author.id(), home, 5);

    // A genuine but older record: stale, dropped, counted.
    ctx.deliver(g, relay, author.id(), discovery::fb_peer_announcement{8, record_of(author, trap, 3, author)}, 1);
    EXPECT_EQ(g.stats().records_stale, 1u);
    cached_peer_is(ctx, author.id(), home, 5);
    EXPECT_EQ(forwarded_to_trap(), 0u) << "no forged or stale record reached a neighbour";

    // What this node shares of the author is the author's signed record, verbatim.
    ctx.deliver(g, neighbour, test::key_of(4).id(), discovery::fb_peer_request{7, 1, 0, author.id()});
    auto const answers = ctx.sent_of<discovery::fb_peer_list_response>();
    ASSERT_EQ(answers.size(), 1u);
    ASSERT_EQ(answers[0].second.peers.size(), 1u);
    auto const& shared = answers[0].second.peers[0];
    EXPECT_TRUE(security::verify(author.id(), discovery::signing_bytes(shared), *shared.signature));

    // The author's signed departure does remove it.
    ctx.deliver(g, relay, author.id(), discovery::fb_peer_update{8, record_of(author, home, 6, author), false}, 1);
    EXPECT_EQ(ctx.discovery().find(author.id()), nullptr);
}

TEST(SignedRecords, ANodeSignsItsOwnRecordAndTheRegistryTakesOnlyTheAuthorsWord)
{
    auto const me = test::key_of(1), forger = test::key_of(3);
    gossip_context ctx;
    ctx.key = me;
    ctx.me = me.id();
    discovery::peer_gossip g;
    g.start(ctx);
    g.on_event(ctx, nat::address_observed{endpoint::v4(10, 0, 0, 1, 7000), nat::nat_type::open, {}});
    auto const& own = g.self_record();
    ASSERT_TRUE(own.signature);
    EXPECT_TRUE(security::verify(me.id(), discovery::signing_bytes(own), *own.signature));

    // The registry: a registration must carry its author's signature; a bloated one is refused.
    test::recording_context<discovery::registry_server, metrics::in_memory_metrics> reg;
    reg.key = test::key_of(9);
    reg.me = reg.key->id();
    discovery::registry_server server;
    endpoint const at = endpoint::v4(10, 0, 0, 1, 7000);
    auto bootstrap = record_of(me, at, 1, me);
    bootstrap.capabilities = discovery::is_bootstrap;
    bootstrap.signature = me.sign(discovery::signing_bytes(bootstrap));
    auto forged = bootstrap;
    forged.signature = forger.sign(discovery::signing_bytes(bootstrap));
    auto bloated = bootstrap;
    bloated.introducers.assign(60, endpoint::v4(10, 0, 0, 7, 7000));
    bloated.signature = me.sign(discovery::signing_bytes(bloated));
    reg.deliver(server, at, me.id(), discovery::rg_register{forged, 3600});
    reg.deliver(server, at, me.id(), discovery::rg_register{bloated, 3600});
    EXPECT_EQ(server.forged(), 1u);
    EXPECT_EQ(server.refused(), 2u);
    EXPECT_TRUE(server.registrations().empty());
    reg.deliver(server, at, me.id(), discovery::rg_register{bootstrap, 3600});
    ASSERT_EQ(server.registrations().size(), 1u);
    reg.deliver(server, endpoint::v4(10, 0, 0, 3, 7000), forger.id(), discovery::rg_list_request{1});
    auto const lists = reg.sent_of<discovery::rg_list_response>();
    ASSERT_EQ(lists.size(), 1u);
    ASSERT_EQ(lists[0].second.bootstraps.size(), 1u);
    EXPECT_EQ(lists[0].second.bootstraps[0].signature, bootstrap.signature) << "passed on as its author signed it";
}

} // namespace
