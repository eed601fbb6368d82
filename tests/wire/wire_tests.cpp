// Test that header file is self-contained.
#include <meshkit/wire/registry.hpp>

#include <meshkit/detail/rng.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/membership/liveness_messages.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/wire/envelope.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <vector>

// -- heap accounting ----------------------------------------------------------
// The mutation test must prove decoding never allocates more than its bound,
// so this executable counts every byte requested from operator new.
namespace {
std::atomic<std::size_t> g_heap_requested{0};
}

// GCC cannot see that these replace the global pair and warns that free()
// releases memory from operator new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n)
{
    g_heap_requested.fetch_add(n, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

struct peer_record {
    node_id id;
    endpoint address;
    std::string name;
    std::vector<std::uint16_t> capabilities;
};

struct rich {
    static constexpr wire::type_id wire_id = wire::user_first + 1;
    std::uint64_t seq = 0;
    std::int32_t delta = 0;
    bool flag = false;
    double ratio = 0;
    std::string label;
    std::vector<std::uint32_t> numbers;
    std::vector<std::string> tags;
    std::optional<peer_record> best;
    std::vector<peer_record> peers;
    std::array<std::uint8_t, 4> tail{};
    std::chrono::milliseconds ttl{0};
    std::vector<std::vector<std::uint8_t>> blobs;
};

struct small {
    static constexpr wire::type_id wire_id = wire::user_first + 2;
    std::uint8_t x = 0;
};

using test_registry = wire::registry<rich, small>;

rich sample_rich()
{
    rich r;
    r.seq = 0x0102030405060708ULL;
    r.delta = -5;
    r.flag = true;
    r.ratio = 0.25;
    r.label = "hello mesh";
    r.numbers = {1, 2, 300000};
    r.tags = {"a", "", "a longer tag that does not fit SSO"};
    r.best = peer_record{node_id::from_seed(1), endpoint::v4(10, 0, 0, 1, 7000), "best", {1, 2}};
    r.peers = {peer_record{node_id::from_seed(2), endpoint::v4(10, 0, 0, 2, 7000), "p2", {}},
               peer_record{node_id::from_seed(3), endpoint::v4(10, 0, 0, 3, 7001), "p3", {9}}};
    r.tail = {9, 8, 7, 6};
    r.ttl = 1500ms;
    r.blobs = {{1, 2, 3}, {}, {4}};
    return r;
}

bool same(peer_record const& a, peer_record const& b)
{
    return a.id == b.id && a.address == b.address && a.name == b.name && a.capabilities == b.capabilities;
}

bool same(rich const& a, rich const& b)
{
    if (a.peers.size() != b.peers.size() || a.best.has_value() != b.best.has_value())
        return false;
    for (std::size_t i = 0; i < a.peers.size(); ++i)
        if (!same(a.peers[i], b.peers[i]))
            return false;
    return a.seq == b.seq && a.delta == b.delta && a.flag == b.flag && a.ratio == b.ratio && a.label == b.label &&
           a.numbers == b.numbers && a.tags == b.tags && (!a.best || same(*a.best, *b.best)) && a.tail == b.tail &&
           a.ttl == b.ttl && a.blobs == b.blobs;
}

TEST(WireCodec, RoundTripsEveryFieldKind)
{
    rich const in = sample_rich();
    std::vector<std::byte> bytes;
    wire::encode(in, bytes);
    auto out = wire::decode<rich>(bytes);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_TRUE(same(in, *out));
}

TEST(WireCodec, ByteOrderIsLittleEndianOnEveryMachine)
{
    struct fixed {
        std::uint32_t a;
        std::uint16_t b;
        std::int8_t c;
    };
    std::vector<std::byte> bytes;
    wire::encode(fixed{0x11223344u, 0x5566u, -1}, bytes);
    std::vector<std::byte> const expected{std::byte{0x44}, std::byte{0x33}, std::byte{0x22}, std::byte{0x11},
                                          std::byte{0x66}, std::byte{0x55}, std::byte{0xff}};
    EXPECT_EQ(bytes, expected);
}

TEST(WireCodec, LengthsAreMinimalVarints)
{
    std::vector<std::byte> bytes;
    wire::encode(std::string(200, 'x'), bytes);
    ASSERT_EQ(bytes.size(), 202u); // 200 = 0xC8 0x01
    EXPECT_EQ(bytes[0], std::byte{0xC8});
    EXPECT_EQ(bytes[1], std::byte{0x01});
}

TEST(WireCodec, RejectsTruncatedInputAtEveryLength)
{
    std::vector<std::byte> bytes;
    wire::encode(sample_rich(), bytes);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        auto r = wire::decode<rich>(std::span(bytes).first(n));
        ASSERT_FALSE(r) << "prefix of " << n << " bytes decoded";
    }
}

TEST(WireCodec, RejectsTrailingBytes)
{
    std::vector<std::byte> bytes;
    wire::encode(small{7}, bytes);
    bytes.push_back(std::byte{0});
    EXPECT_EQ(wire::decode<small>(bytes).error(), wire::errc::trailing_bytes);
}

TEST(WireCodec, RejectsLyingLengthBeforeAllocating)
{
    // A string claiming 2^40 bytes in a 7-byte input.
    std::vector<std::byte> bytes{std::byte{0x80}, std::byte{0x80}, std::byte{0x80}, std::byte{0x80},
                                 std::byte{0x80}, std::byte{0x20}, std::byte{'a'}};
    auto const before = g_heap_requested.load();
    auto r = wire::decode<std::string>(bytes);
    EXPECT_EQ(r.error(), wire::errc::length_exceeds_input);
    EXPECT_EQ(g_heap_requested.load(), before);
}

TEST(WireCodec, RejectsNonMinimalAndOverlongVarints)
{
    std::vector<std::byte> redundant{std::byte{0x81}, std::byte{0x00}};
    EXPECT_EQ(wire::decode<std::string>(redundant).error(), wire::errc::malformed_length);
    std::vector<std::byte> overlong(11, std::byte{0xff});
    EXPECT_EQ(wire::decode<std::string>(overlong).error(), wire::errc::malformed_length);
}

TEST(WireCodec, RejectsInvalidBoolAndOptionalFlags)
{
    std::vector<std::byte> two{std::byte{2}};
    EXPECT_EQ(wire::decode<bool>(two).error(), wire::errc::invalid_value);
    EXPECT_EQ(wire::decode<std::optional<std::uint8_t>>(two).error(), wire::errc::invalid_value);
}

TEST(WireEnvelope, IsFortySixBytesAndRoundTrips)
{
    std::vector<std::byte> bytes;
    wire::envelope const e{0x1234, node_id::from_seed(9), 77, 3};
    wire::encode_envelope(e, bytes);
    ASSERT_EQ(bytes.size(), wire::envelope_size);
    EXPECT_EQ(bytes[0], std::byte{'M'});
    EXPECT_EQ(bytes[1], std::byte{'K'});
    auto v = wire::decode_envelope(bytes);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->header.type, 0x1234);
    EXPECT_EQ(v->header.sender, node_id::from_seed(9));
    EXPECT_EQ(v->header.message_id, 77u);
    EXPECT_EQ(v->header.hops, 3);
    EXPECT_TRUE(v->body.empty());
}

TEST(WireEndpoint, NineteenBytesThatSayWhichTransportTheAddressBelongsTo)
{
    // A record that advertises a stream address must say so: the same IP and
    // port over TCP is another address, and it survives the wire.
    auto const udp_address = endpoint::v4(10, 1, 2, 3, 4000);
    auto const tcp_address = udp_address.on(transport_protocol::tcp);
    EXPECT_NE(udp_address, tcp_address);
    EXPECT_NE(std::hash<endpoint>{}(udp_address), std::hash<endpoint>{}(tcp_address));
    for (endpoint const& e : {udp_address, tcp_address, udp_address.on(transport_protocol{200})}) {
        std::vector<std::byte> bytes;
        wire::encode(e, bytes);
        ASSERT_EQ(bytes.size(), 19u);
        EXPECT_EQ(bytes[18], std::byte{static_cast<std::uint8_t>(e.transport)});
        auto back = wire::decode<endpoint>(bytes);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, e);
    }
}

TEST(WireEndpoint, TextNamesTheTransportAndABareAddressIsUdp)
{
    EXPECT_EQ(endpoint::v4(10, 1, 2, 3, 4000).to_string(), "10.1.2.3:4000");
    EXPECT_EQ(endpoint::v4(10, 1, 2, 3, 4000).on(transport_protocol::tcp).to_string(), "tcp://10.1.2.3:4000");
    EXPECT_EQ(endpoint::v4(10, 1, 2, 3, 4000).on(transport_protocol{200}).to_string(), "t200://10.1.2.3:4000");
    for (char const* text : {"10.1.2.3:4000", "udp://10.1.2.3:4000", "tcp://10.1.2.3:4000", "tcp://[::1]:9",
                             "t200://10.1.2.3:1"}) {
        auto const e = endpoint::parse(text);
        ASSERT_TRUE(e) << text;
        auto const again = endpoint::parse(e->to_string());
        ASSERT_TRUE(again) << text;
        EXPECT_EQ(*again, *e) << text;
    }
    EXPECT_EQ(endpoint::parse("10.1.2.3:4000")->transport, transport_protocol::udp);
    EXPECT_EQ(endpoint::parse("tcp://10.1.2.3:4000")->transport, transport_protocol::tcp);
    for (char const* bad :
         {"quic://10.1.2.3:1", "t256://10.1.2.3:1", "t01://10.1.2.3:1", "tcp:/10.1.2.3:1", "://1.2.3.4:5"})
        EXPECT_FALSE(endpoint::parse(bad)) << bad;
}

TEST(WireEnvelope, RejectsForeignAndFutureDatagrams)
{
    std::vector<std::byte> bytes;
    wire::encode_envelope({1, {}, 0, 0}, bytes);
    auto wrong_magic = bytes;
    wrong_magic[0] = std::byte{'X'};
    EXPECT_EQ(wire::decode_envelope(wrong_magic).error(), wire::errc::bad_magic);
    auto future = bytes;
    future[2] = std::byte{wire::protocol_version + 1};
    EXPECT_EQ(wire::decode_envelope(future).error(), wire::errc::unsupported_version);
    EXPECT_EQ(wire::decode_envelope(std::span(bytes).first(45)).error(), wire::errc::truncated);
}

TEST(WireRegistry, DispatchesByTypeAndRejectsUnknownTypes)
{
    std::vector<std::byte> bytes;
    test_registry::encode({0, node_id::from_seed(4), 1, 0}, small{42}, bytes);
    auto d = test_registry::decode(bytes);
    ASSERT_TRUE(d);
    ASSERT_TRUE(std::holds_alternative<small>(d->message));
    EXPECT_EQ(std::get<small>(d->message).x, 42);
    EXPECT_EQ(d->header.type, small::wire_id);

    std::vector<std::byte> other;
    membership::liveness_messages::encode({}, membership::ping{5}, other);
    EXPECT_EQ(test_registry::decode(other).error(), wire::errc::unknown_type);
}

TEST(WireRegistry, UnionKeepsEveryMessage)
{
    using both = wire::registry_union<test_registry, membership::liveness_messages>;
    static_assert(both::size == 4);
    static_assert(both::contains<membership::pong> && both::contains<rich>);
    EXPECT_TRUE(both::contains_id(membership::ping::wire_id));
    EXPECT_FALSE(both::contains_id(0x7777));
}

// -- hostile input --------------------------------------------------------------

/// Mutates a valid datagram the ways an attacker or a broken peer would.
std::vector<std::byte> mutate(std::vector<std::byte> base, detail::rng& r)
{
    switch (r.below(6)) {
    case 0: // flip bits
        for (int i = 0, n = 1 + static_cast<int>(r.below(4)); i < n && !base.empty(); ++i)
            base[r.below(base.size())] ^= std::byte(1u << r.below(8));
        break;
    case 1: // truncate
        base.resize(r.below(base.size() + 1));
        break;
    case 2: // overwrite a byte with an extreme value (lying lengths)
        if (!base.empty())
            base[r.below(base.size())] = r.chance(0.5) ? std::byte{0xff} : std::byte{0x7f};
        break;
    case 3: // insert garbage
        for (int i = 0, n = 1 + static_cast<int>(r.below(8)); i < n; ++i)
            base.insert(base.begin() + static_cast<std::ptrdiff_t>(r.below(base.size() + 1)),
                        std::byte(r.below(256)));
        break;
    case 4: // pure noise of random length
        base.resize(r.below(200));
        for (auto& b : base)
            b = std::byte(r.below(256));
        break;
    default: // change the type id in the envelope
        if (base.size() > 4) {
            base[3] = std::byte(r.below(256));
            base[4] = std::byte(r.below(3) == 0 ? 0x10 : r.below(256));
        }
        break;
    }
    return base;
}

TEST(WireHostileInput, MillionMutationsNeverCrashAndStayWithinHeapBound)
{
    std::vector<std::vector<std::byte>> seeds;
    for (int i = 0; i < 3; ++i) {
        std::vector<std::byte> d;
        rich r = sample_rich();
        r.peers.resize(static_cast<std::size_t>(i));
        test_registry::encode({0, node_id::from_seed(static_cast<std::uint64_t>(i)), 1, 0}, r, d);
        seeds.push_back(std::move(d));
    }
    std::vector<std::byte> s;
    test_registry::encode({}, small{1}, s);
    seeds.push_back(std::move(s));

    detail::rng r{20261121};
    std::size_t decoded_ok = 0, rejected = 0;
    std::size_t worst_ratio_x100 = 0;
    constexpr std::size_t iterations = 1'000'000;
    for (std::size_t i = 0; i < iterations; ++i) {
        auto input = mutate(seeds[r.below(seeds.size())], r);
        auto const before = g_heap_requested.load(std::memory_order_relaxed);
        auto result = test_registry::decode(input);
        auto const used = g_heap_requested.load(std::memory_order_relaxed) - before;
        // The decoded value is still alive, so `used` counts everything it holds.
        ASSERT_LE(used, test_registry::max_expansion * input.size())
            << "iteration " << i << ": " << used << " heap bytes for " << input.size() << " input bytes";
        if (!input.empty())
            worst_ratio_x100 = std::max(worst_ratio_x100, used * 100 / input.size());
        if (result) {
            ++decoded_ok;
            // Whatever decodes must re-encode to exactly the same bytes (canonical encoding).
            std::vector<std::byte> again;
            std::visit([&](auto const& m) { test_registry::encode(result->header, m, again); }, result->message);
            ASSERT_EQ(again, input) << "iteration " << i;
        } else {
            ++rejected;
            ASSERT_EQ(&result.error().category(), &wire::error_category());
        }
    }
    EXPECT_EQ(decoded_ok + rejected, iterations);
    EXPECT_GT(rejected, iterations / 2);
    EXPECT_GT(decoded_ok, 0u); // some bit flips land in payload bytes and still decode
    RecordProperty("decoded_ok", static_cast<int>(decoded_ok));
    RecordProperty("worst_heap_ratio_x100", static_cast<int>(worst_ratio_x100));
}

} // namespace
