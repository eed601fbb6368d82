// Range-based set reconciliation: the sums and fingerprints it rests on, the
// bounded item set, and sessions between two sets that must find exactly
// what differs, in few turns, within a message limit, refusing bad input.

#include <common/reconcile_pair.hpp>

#include <meshkit/detail/rng.hpp>
#include <meshkit/sync/reconciler.hpp>
#include <meshkit/wire/codec.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

namespace {

using namespace meshkit;
using sync::item;
using sync::item_id;

item_id random_id(detail::rng& r)
{
    item_id id;
    for (std::size_t i = 0; i < id.size(); i += 8) {
        auto const w = r();
        std::memcpy(id.data() + i, &w, 8);
    }
    return id;
}

/// Two sets sharing `common` items, each with `only` items of its own; orders cluster (several items per order).
struct two_sets {
    sync::item_set a, b;
    std::vector<item_id> only_a, only_b;

    two_sets(std::uint64_t seed, std::size_t common, std::size_t only, std::size_t capacity = 1'000'000)
        : a(capacity), b(capacity)
    {
        detail::rng r{seed};
        std::vector<item> va, vb;
        std::uint64_t order = 1000;
        auto next = [&] {
            order += r() % 3; // 0, 1 or 2: ties in order are common and must be handled by id
            return item{order, random_id(r)};
        };
        for (std::size_t i = 0; i < common; ++i) {
            auto const it = next();
            va.push_back(it);
            vb.push_back(it);
        }
        for (std::size_t i = 0; i < only; ++i) {
            auto const x = next();
            va.push_back(x);
            only_a.push_back(x.id);
            auto const y = next();
            vb.push_back(y);
            only_b.push_back(y.id);
        }
        a.assign(va);
        b.assign(vb);
        std::sort(only_a.begin(), only_a.end());
        std::sort(only_b.begin(), only_b.end());
    }
};

sync::fingerprint fingerprint_from_scratch(sync::item_set const& s, std::size_t begin, std::size_t end)
{
    sync::id_sum sum;
    for (std::size_t k = begin; k < end; ++k)
        sum += s[k].id;
    return sync::fingerprint_of(sum, end - begin);
}

TEST(IdSum, AddingAndSubtractingCarriesAcrossEveryLimb)
{
    item_id all_ones;
    all_ones.fill(0xff); // 2^256 - 1
    item_id one{};
    one[0] = 1;
    sync::id_sum s;
    s += all_ones;
    s += one; // wraps to zero through every limb's carry
    EXPECT_EQ(s, sync::id_sum{});
    s -= one; // borrows through every limb back to 2^256 - 1
    auto const bytes = s.bytes();
    EXPECT_TRUE(std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0xff; }));

    detail::rng r{7};
    sync::id_sum a, b;
    std::vector<item_id> ids;
    for (int i = 0; i < 100; ++i)
        ids.push_back(random_id(r));
    for (auto const& id : ids)
        a += id;
    for (auto it = ids.rbegin(); it != ids.rend(); ++it)
        b += *it;
    EXPECT_EQ(a, b) << "the sum does not depend on order";
    for (auto const& id : ids)
        a -= id;
    EXPECT_EQ(a, sync::id_sum{});
}

TEST(Fingerprint, DependsOnTheSetAndItsCount)
{
    detail::rng r{3};
    auto const x = random_id(r), y = random_id(r);
    sync::id_sum xy, yx, only_x;
    xy += x;
    xy += y;
    yx += y;
    yx += x;
    only_x += x;
    EXPECT_EQ(sync::fingerprint_of(xy, 2), sync::fingerprint_of(yx, 2));
    EXPECT_NE(sync::fingerprint_of(xy, 2), sync::fingerprint_of(only_x, 1));
    EXPECT_NE(sync::fingerprint_of(xy, 2), sync::fingerprint_of(xy, 3)) << "the count is part of it";
}

TEST(Bound, SeparatesNeighboursWithTheShortestPrefix)
{
    detail::rng r{11};
    for (int trial = 0; trial < 2000; ++trial) {
        item lo{r() % 4, random_id(r)}, hi{r() % 4, random_id(r)};
        if (trial % 3 == 0) { // share a long prefix, same order
            hi = lo;
            std::size_t const at = r() % 32;
            hi.id[at] = static_cast<std::uint8_t>(hi.id[at] ^ (1u << (r() % 8)));
        }
        if (lo == hi)
            continue;
        if (hi < lo)
            std::swap(lo, hi);
        auto const b = sync::separating_bound(lo, hi);
        EXPECT_TRUE(sync::before(lo, b));
        EXPECT_FALSE(sync::before(hi, b));
        if (lo.order != hi.order)
            EXPECT_TRUE(b.id_prefix.empty());
        else
            EXPECT_LE(b.id_prefix.size(), 32u);
    }
    EXPECT_TRUE(sync::before(item{sync::max_order, {}}, sync::bound::infinite()));
}

TEST(ItemSet, KeepsItemsSortedWithFingerprintsThatMatchARecount)
{
    detail::rng r{5};
    sync::item_set s{1000};
    for (int i = 0; i < 500; ++i)
        EXPECT_TRUE(s.insert(item{r() % 50, random_id(r)}).inserted);
    ASSERT_EQ(s.size(), 500u);
    for (std::size_t k = 1; k < s.size(); ++k)
        ASSERT_LT(s[k - 1], s[k]);
    for (int trial = 0; trial < 200; ++trial) {
        std::size_t i = r() % 501, j = r() % 501;
        if (i > j)
            std::swap(i, j);
        EXPECT_EQ(s.fingerprint(i, j), fingerprint_from_scratch(s, i, j));
    }
    auto const held = s[17];
    EXPECT_FALSE(s.insert(item{held.order + 1, held.id}).inserted) << "an id is held once, whatever its order";
    EXPECT_FALSE(s.insert(item{sync::max_order + 1, random_id(r)}).inserted) << "the largest order is reserved";
    EXPECT_EQ(s.order_of(held.id), held.order);
}

TEST(ItemSet, AtCapacityKeepsTheNewestAndRefusesOlder)
{
    detail::rng r{9};
    sync::item_set s{100};
    EXPECT_EQ(s.horizon(), 0u) << "a set that is not full takes anything";
    for (std::uint64_t order = 1; order <= 100; ++order)
        ASSERT_TRUE(s.insert(item{order, random_id(r)}).inserted);
    EXPECT_EQ(s.horizon(), 1u);
    auto const oldest = s[0];
    auto const res = s.insert(item{150, random_id(r)});
    EXPECT_TRUE(res.inserted);
    ASSERT_TRUE(res.evicted.has_value());
    EXPECT_EQ(*res.evicted, oldest);
    EXPECT_FALSE(s.contains(oldest.id));
    EXPECT_EQ(s.size(), 100u);
    EXPECT_EQ(s.horizon(), 2u);
    EXPECT_FALSE(s.insert(item{1, random_id(r)}).inserted) << "older than everything in a full set";
    // Prefix sums stay valid across evictions from the front.
    for (int i = 0; i < 300; ++i)
        s.insert(item{150 + r() % 100, random_id(r)});
    EXPECT_EQ(s.size(), 100u);
    EXPECT_EQ(s.fingerprint(0, s.size()), fingerprint_from_scratch(s, 0, s.size()));
    EXPECT_EQ(s.fingerprint(30, 70), fingerprint_from_scratch(s, 30, 70));
}

TEST(SyncMessage, SurvivesTheWireCodec)
{
    two_sets sets{1, 500, 10};
    auto const msg = sync::reconciler{sets.a}.initiate();
    std::vector<std::byte> bytes;
    wire::encode(msg, bytes);
    auto const back = wire::decode<sync::sync_message>(bytes);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->ranges.size(), msg.ranges.size());
    for (std::size_t k = 0; k < msg.ranges.size(); ++k) {
        EXPECT_EQ(sync::compare(back->ranges[k].upper, msg.ranges[k].upper), std::strong_ordering::equal);
        EXPECT_EQ(back->ranges[k].payload, msg.ranges[k].payload);
    }
}

struct reconcile_case {
    std::size_t common, only;
    std::size_t max_message_bytes;
};

class Reconcile : public ::testing::TestWithParam<reconcile_case> {};

TEST_P(Reconcile, EachSideFindsExactlyWhatItLacks)
{
    auto const c = GetParam();
    for (std::uint64_t seed : {1, 2, 3}) {
        two_sets sets{seed, c.common, c.only};
        sync::reconcile_settings s;
        s.max_message_bytes = c.max_message_bytes;
        if (c.max_message_bytes != 0)
            s.max_ids_per_range = 16; // 32 ids would not fit a datagram beside the rest
        auto const out = tools::reconcile_pair(sets.a, sets.b, s);
        ASSERT_TRUE(out.converged) << "seed " << seed;
        EXPECT_EQ(out.a_needs, sets.only_b) << "seed " << seed;
        EXPECT_EQ(out.b_needs, sets.only_a) << "seed " << seed;
        if (c.max_message_bytes != 0) {
            EXPECT_LE(out.largest_message, c.max_message_bytes);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Sizes, Reconcile,
                         ::testing::Values(reconcile_case{0, 0, 0}, reconcile_case{0, 1, 0}, reconcile_case{0, 300, 0},
                                           reconcile_case{10, 3, 0}, reconcile_case{5'000, 1, 0},
                                           reconcile_case{5'000, 50, 0}, reconcile_case{20'000, 1'000, 0},
                                           reconcile_case{5'000, 50, 1'100}, reconcile_case{20'000, 1'000, 1'100},
                                           reconcile_case{0, 2'000, 1'100}));

TEST(Reconcile, IdenticalSetsSettleInOneAnswer)
{
    two_sets sets{4, 100'000, 0};
    auto const out = tools::reconcile_pair(sets.a, sets.b, {});
    ASSERT_TRUE(out.converged);
    EXPECT_EQ(out.messages, 1u) << "the first answer finds every fingerprint equal and sends nothing";
    EXPECT_LT(out.bytes, 600u);
    EXPECT_TRUE(out.a_needs.empty());
    EXPECT_TRUE(out.b_needs.empty());
}

TEST(Reconcile, OneDifferenceAmongAHundredThousandTakesFewTurnsAndLittle)
{
    two_sets sets{5, 100'000, 1};
    auto const out = tools::reconcile_pair(sets.a, sets.b, {});
    ASSERT_TRUE(out.converged);
    EXPECT_EQ(out.a_needs, sets.only_b);
    EXPECT_EQ(out.b_needs, sets.only_a);
    // log16(100,000 / 32) is about 3 splits; an answer each way per split, and the id lists.
    EXPECT_LE(out.messages, 8u);
    EXPECT_LT(out.bytes, 8'000u) << "against 3.2 MB to send every id";
}

TEST(Reconcile, AFullSetDoesNotAskForWhatItWouldEvict)
{
    // b keeps only its newest 1,000 items; a holds older ones b has evicted.
    detail::rng r{12};
    sync::item_set a{10'000}, b{1'000};
    std::vector<item> all;
    for (std::uint64_t order = 1; order <= 3'000; ++order)
        all.push_back(item{order, random_id(r)});
    a.assign(all);
    b.assign(all);
    ASSERT_EQ(b.horizon(), 2'001u);
    item const fresh{2'500, random_id(r)};
    a.insert(fresh);
    auto const out = tools::reconcile_pair(a, b, {});
    ASSERT_TRUE(out.converged);
    EXPECT_EQ(out.b_needs, std::vector<item_id>{fresh.id}) << "b asks only for what lies above its horizon";
    EXPECT_TRUE(out.a_needs.empty());
}

TEST(Reconcile, ReplaysBitForBit)
{
    two_sets x{21, 10'000, 100}, y{21, 10'000, 100};
    sync::reconcile_settings s;
    s.max_message_bytes = 1'100;
    s.max_ids_per_range = 16;
    auto const ox = tools::reconcile_pair(x.a, x.b, s), oy = tools::reconcile_pair(y.a, y.b, s);
    EXPECT_EQ(ox.messages, oy.messages);
    EXPECT_EQ(ox.bytes, oy.bytes);
    EXPECT_EQ(ox.a_needs, oy.a_needs);
}

// -- hostile messages: refused with a reason, nothing recorded -----------------

sync::sync_range range_of(std::uint64_t order, sync::range_mode mode, std::vector<std::uint8_t> payload = {})
{
    return sync::sync_range{sync::bound::at(order), static_cast<std::uint8_t>(mode), std::move(payload)};
}

TEST(ReconcileInput, MalformedMessagesAreRefusedWithTheirReason)
{
    two_sets sets{6, 1'000, 0};
    sync::reconcile_settings limits;
    limits.max_incoming_ranges = 100;
    limits.max_incoming_ids = 10;
    sync::reconciler const r{sets.a, limits};
    auto refused = [&](sync::sync_message const& m) {
        auto const res = r.respond(m);
        return res ? std::error_code{} : res.error();
    };
    std::vector<std::uint8_t> const fp(16, 0);
    std::vector<std::uint8_t> two_ids(64, 0);
    two_ids[32] = 1; // increasing

    sync::sync_message m{5, {range_of(5, sync::range_mode::match_fingerprint, fp)}};
    EXPECT_EQ(refused(m), sync::errc::unordered_ranges) << "a range ending at the floor is empty";
    m = {0, {range_of(10, sync::range_mode::skip), range_of(10, sync::range_mode::match_fingerprint, fp)}};
    EXPECT_EQ(refused(m), sync::errc::unordered_ranges) << "bounds must increase";
    m = {0, {sync::sync_range{sync::bound{10, std::vector<std::uint8_t>(33, 1)}, 1, fp}}};
    EXPECT_EQ(refused(m), sync::errc::unordered_ranges) << "a prefix longer than an id";
    m = {0, {range_of(10, static_cast<sync::range_mode>(9))}};
    EXPECT_EQ(refused(m), sync::errc::unknown_mode);
    m = {0, {range_of(10, sync::range_mode::match_fingerprint, std::vector<std::uint8_t>(15, 0))}};
    EXPECT_EQ(refused(m), sync::errc::malformed_range) << "a fingerprint is 16 bytes";
    m = {0, {range_of(10, sync::range_mode::id_list, std::vector<std::uint8_t>(33, 0))}};
    EXPECT_EQ(refused(m), sync::errc::malformed_range) << "ids are 32 bytes each";
    std::vector<std::uint8_t> decreasing = two_ids;
    std::swap_ranges(decreasing.begin(), decreasing.begin() + 32, decreasing.begin() + 32);
    m = {0, {range_of(10, sync::range_mode::you_lack, decreasing)}};
    EXPECT_EQ(refused(m), sync::errc::malformed_range) << "ids must increase";
    m = {0, {range_of(10, sync::range_mode::skip, {1})}};
    EXPECT_EQ(refused(m), sync::errc::malformed_range) << "a skip carries nothing";
    m = {0, {range_of(10, sync::range_mode::you_lack, std::vector<std::uint8_t>(11 * 32, 0))}};
    EXPECT_EQ(refused(m), sync::errc::too_large);
    m = {0, {}};
    for (std::uint64_t k = 1; k <= 101; ++k)
        m.ranges.push_back(range_of(k, sync::range_mode::skip));
    EXPECT_EQ(refused(m), sync::errc::too_large);

    m = {0, {range_of(10, sync::range_mode::you_lack, two_ids)}};
    auto const ok = r.respond(m);
    ASSERT_TRUE(ok) << "well-formed input is answered";
    EXPECT_EQ(ok->need.size(), 2u) << "ids it lacks are recorded";
}

TEST(ReconcileSettings, AMessageLimitTooSmallToProgressIsRefusedUpFront)
{
    sync::item_set s;
    sync::reconcile_settings bad;
    bad.max_message_bytes = 200;
    EXPECT_THROW((sync::reconciler{s, bad}), std::invalid_argument);
    bad.max_message_bytes = sync::reconciler::minimum_message_bytes(bad);
    EXPECT_NO_THROW((sync::reconciler{s, bad}));
}

} // namespace
