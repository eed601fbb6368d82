// tests/security/security_tests.cpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Identities, the Noise XX handshake against the published vectors, the
// replay window, and the secure transport's sessions and abuse limits.

#include <meshkit/address_prefix.hpp>
#include <meshkit/broadcast/delivered.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/reference/gossip_first.hpp>
#include <meshkit/reference/substrate_transient.hpp>
#include <meshkit/security/identity_store.hpp>
#include <meshkit/security/noise/handshake.hpp>
#include <meshkit/security/replay_window.hpp>
#include <meshkit/security/secure_stream_transport.hpp>
#include <meshkit/sim/stream_transport.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/security/signing_key.hpp>
#include <meshkit/storage/file_store.hpp>
#include <meshkit/storage/memory_store.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <support/keys.hpp>
#include <support/overlay.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;
namespace noise = meshkit::security::noise;

std::vector<std::byte> from_hex(std::string const& hex)
{
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> array_from_hex(std::string const& hex)
{
    auto const v = from_hex(hex);
    std::array<std::uint8_t, N> a{};
    std::memcpy(a.data(), v.data(), N);
    return a;
}

std::vector<std::byte> bytes_of(std::string_view s)
{
    auto const b = std::as_bytes(std::span(s.data(), s.size()));
    return {b.begin(), b.end()};
}

// -- Noise XX against the published test vectors --------------------------------------

TEST(NoiseXX, MatchesThePublishedCacophonyVectorByteForByte)
{
    std::ifstream in(std::string(MESHKIT_TEST_DATA_DIR) + "/security/noise_vectors.json");
    ASSERT_TRUE(in) << "tests/security/noise_vectors.json";
    auto const doc = nlohmann::json::parse(in);
    auto const& v = doc["vectors"][0];
    ASSERT_EQ(v["protocol_name"], noise::xx_protocol_name);
    auto const prologue = from_hex(v["init_prologue"]);
    noise::xx_handshake init(noise::xx_handshake::role::initiator, array_from_hex<32>(v["init_static"]), prologue,
                             array_from_hex<32>(v["init_ephemeral"]));
    noise::xx_handshake resp(noise::xx_handshake::role::responder, array_from_hex<32>(v["resp_static"]),
                             from_hex(v["resp_prologue"]), array_from_hex<32>(v["resp_ephemeral"]));
    auto const& messages = v["messages"];
    ASSERT_EQ(messages.size(), 6u);
    std::optional<std::pair<noise::cipher_state, noise::cipher_state>> ic, rc;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        auto const payload = from_hex(messages[i]["payload"]);
        auto const expected = from_hex(messages[i]["ciphertext"]);
        bool const from_initiator = i % 2 == 0; // cacophony alternates, handshake and transport alike
        auto& writer = from_initiator ? init : resp;
        auto& reader = from_initiator ? resp : init;
        std::vector<std::byte> wire, read;
        if (i < 3) {
            ASSERT_FALSE(writer.write_message(payload, wire)) << "message " << i;
            ASSERT_FALSE(reader.read_message(wire, read)) << "message " << i;
        } else {
            if (!ic) {
                ASSERT_TRUE(init.complete() && resp.complete());
                EXPECT_EQ(init.handshake_hash(), array_from_hex<32>(v["handshake_hash"]));
                EXPECT_EQ(resp.handshake_hash(), init.handshake_hash());
                ic = init.split();
                rc = resp.split();
            }
            auto& tx = from_initiator ? ic->first : rc->first;
            auto& rx = from_initiator ? rc->second : ic->second;
            tx.encrypt_with_ad({}, payload, wire);
            ASSERT_TRUE(rx.decrypt_with_ad({}, wire, read)) << "message " << i;
        }
        EXPECT_EQ(wire, expected) << "message " << i;
        EXPECT_EQ(read, payload) << "message " << i;
    }
    EXPECT_EQ(init.remote_static(), noise::x25519_public(array_from_hex<32>(v["resp_static"])));
    EXPECT_EQ(resp.remote_static(), noise::x25519_public(array_from_hex<32>(v["init_static"])));
}

TEST(NoiseXX, ATamperedOrTruncatedMessageIsRefusedAndLeavesTheHandshakeAsItWas)
{
    security::signing_key const a = security::signing_key::generate(), b = security::signing_key::generate();
    noise::xx_handshake init(noise::xx_handshake::role::initiator, a.x25519_secret(), {}, a.x25519_secret());
    noise::xx_handshake resp(noise::xx_handshake::role::responder, b.x25519_secret(), {}, b.x25519_secret());
    std::vector<std::byte> m1, m2, m3, payload;
    ASSERT_FALSE(init.write_message({}, m1));
    ASSERT_FALSE(resp.read_message(m1, payload));
    ASSERT_FALSE(resp.write_message(bytes_of("responder"), m2));
    for (std::size_t i = 0; i < m2.size(); i += 7) {
        auto bad = m2;
        bad[i] ^= std::byte{0x01};
        EXPECT_EQ(init.read_message(bad, payload), security::errc::handshake_failed) << "byte " << i;
    }
    EXPECT_EQ(init.read_message(std::span(m2).first(40), payload), security::errc::handshake_failed);
    EXPECT_TRUE(payload.empty());
    EXPECT_EQ(init.next_message(), 1) << "refused messages change nothing";
    ASSERT_FALSE(init.read_message(m2, payload));
    EXPECT_EQ(payload, bytes_of("responder"));
    ASSERT_FALSE(init.write_message({}, m3));
    EXPECT_EQ(init.read_message(m3, payload), security::errc::handshake_failed) << "out of turn";
    ASSERT_FALSE(resp.read_message(m3, payload));
    EXPECT_TRUE(init.complete() && resp.complete());
    EXPECT_EQ(init.handshake_hash(), resp.handshake_hash());
}

// -- identities ---------------------------------------------------------------------------

TEST(SigningKey, TheIdIsThePublicKeyAndSignaturesVerifyOnlyForTheirAuthorAndMessage)
{
    auto const k = security::signing_key::generate();
    auto const other = security::signing_key::generate();
    auto const msg = bytes_of("peer record v7 at 10.0.0.1:4000");
    auto const sig = k.sign(msg);
    EXPECT_TRUE(security::verify(k.id(), msg, sig));
    EXPECT_FALSE(security::verify(other.id(), msg, sig)) << "another author";
    auto altered = msg;
    altered.back() ^= std::byte{1};
    EXPECT_FALSE(security::verify(k.id(), altered, sig)) << "another message";
    auto forged = sig;
    forged[10] ^= 1;
    EXPECT_FALSE(security::verify(k.id(), msg, forged));
    EXPECT_FALSE(security::verify(node_id{}, msg, sig)) << "the zero id is no key";
    // Same seed, same key, on every host.
    std::array<std::uint8_t, 32> seed{};
    seed[0] = 7;
    EXPECT_EQ(security::signing_key(seed).id(), security::signing_key(seed).id());
    // The session key is the identity key's X25519 form.
    EXPECT_EQ(security::x25519_public_of(k.id()), noise::x25519_public(k.x25519_secret()));
}

TEST(IdentityStore, AKeyPersistsOwnerOnlyAndACorruptOneIsAnErrorNeverANewIdentity)
{
    auto const dir = std::filesystem::temp_directory_path() / ("meshkit-identity-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    node_id first;
    {
        storage::file_store store(dir);
        first = security::load_or_create_signing_key(store, [] { return security::signing_key::generate(); }).id();
        auto const again = security::load_or_create_signing_key(store, [] {
            ADD_FAILURE() << "a stored key must be loaded, not replaced";
            return security::signing_key::generate();
        });
        EXPECT_EQ(again.id(), first);
        struct ::stat st{};
        ASSERT_EQ(::stat(store.path_of(security::identity_storage_key).c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u) << "the key file is owner-only";
        ASSERT_EQ(::stat(dir.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0700u) << "so is the directory the store made";
    }
    {
        // Damage both copies the store keeps: the node must refuse, not start as someone else.
        storage::file_store store(dir);
        for (auto const& p : {store.path_of(security::identity_storage_key),
                              std::filesystem::path(store.path_of(security::identity_storage_key).string() + ".prev")})
            if (std::filesystem::exists(p)) {
                std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
                f.seekp(20);
                f.put('\x55');
            }
        EXPECT_EQ(security::load_signing_key(store).error(), security::errc::corrupt_identity);
        try {
            (void)security::load_or_create_signing_key(store, [] { return security::signing_key::generate(); });
            ADD_FAILURE() << "a corrupt key must throw";
        } catch (std::system_error const& e) {
            EXPECT_EQ(e.code(), security::errc::corrupt_identity);
            EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
        }
    }
    {
        // A medium without checksums: the public half catches a flipped seed bit.
        storage::memory_store mem;
        auto const k = security::signing_key::generate();
        ASSERT_FALSE(security::store_signing_key(mem, k));
        std::vector<std::byte> v;
        ASSERT_FALSE(mem.load(security::identity_storage_key, v));
        v[10] ^= std::byte{0x04};
        ASSERT_FALSE(mem.store(security::identity_storage_key, v));
        EXPECT_EQ(security::load_signing_key(mem).error(), security::errc::corrupt_identity);
        v.pop_back();
        ASSERT_FALSE(mem.store(security::identity_storage_key, v));
        EXPECT_EQ(security::load_signing_key(mem).error(), security::errc::corrupt_identity);
    }
    std::filesystem::remove_all(dir);
}

// -- the replay window ----------------------------------------------------------------------

TEST(ReplayWindow, AcceptsEachCounterOnceInAnyOrderAndRefusesWhatFellOutOfTheWindow)
{
    security::replay_window w;
    EXPECT_TRUE(w.accept(5));
    EXPECT_FALSE(w.accept(5)) << "a duplicate";
    EXPECT_TRUE(w.accept(3)) << "out of order, inside the window";
    EXPECT_TRUE(w.accept(4));
    EXPECT_FALSE(w.accept(3));
    EXPECT_TRUE(w.accept(10'000));
    EXPECT_FALSE(w.fresh(10'000 - security::replay_window::size)) << "older than the window";
    EXPECT_TRUE(w.fresh(10'000 - security::replay_window::size + 1));
    EXPECT_FALSE(w.accept(5)) << "long gone";
    // Sliding forward forgets the slots it passes: counter c and c + size share a slot.
    EXPECT_TRUE(w.accept(10'000 + security::replay_window::size - 1));
    EXPECT_TRUE(w.accept(10'000 + security::replay_window::size + 5));
    EXPECT_FALSE(w.accept(10'000 + security::replay_window::size + 5));
}

// -- the secure transport over a scripted network ---------------------------------------

/// A network the test drives by hand: datagrams wait until delivered, and anyone may claim any source.
struct scripted_net {
    struct datagram {
        endpoint from, to;
        std::vector<std::byte> bytes;
    };
    std::deque<datagram> in_flight;
    std::map<endpoint, receive_handler> hosts;
    time_point now{};
    std::size_t bytes_to(endpoint const& to) const
    {
        std::size_t n = 0;
        for (auto const& d : in_flight)
            n += d.to == to ? d.bytes.size() : 0;
        return n;
    }
    /// Delivers everything in flight, and what that causes, until quiet.
    void deliver_all()
    {
        while (!in_flight.empty()) {
            datagram d = std::move(in_flight.front());
            in_flight.pop_front();
            if (auto it = hosts.find(d.to); it != hosts.end() && it->second)
                it->second(d.from, d.bytes);
        }
    }
    /// Delivers `bytes` to `to` as if from `from` (a spoofed source, a replay).
    void inject(endpoint const& from, endpoint const& to, std::span<std::byte const> bytes)
    {
        if (auto it = hosts.find(to); it != hosts.end() && it->second)
            it->second(from, bytes);
    }
};

/// A datagram transport on `scripted_net`.
class scripted_transport {
public:
    scripted_transport(scripted_net& net, endpoint const& at) : net_(&net), at_(at) {}
    [[nodiscard]] endpoint local_endpoint() const { return at_; }
    std::error_code send(endpoint const& to, std::span<std::byte const> bytes)
    {
        net_->in_flight.push_back({at_, to, {bytes.begin(), bytes.end()}});
        return {};
    }
    void on_receive(receive_handler h) { net_->hosts[at_] = std::move(h); }
    [[nodiscard]] std::size_t max_datagram_size() const { return 1200; }

private:
    scripted_net* net_;
    endpoint at_;
};
static_assert(meshkit::transport<security::secure_transport<scripted_transport>>);

using secure = security::secure_transport<scripted_transport>;

struct party {
    security::signing_key key = security::signing_key::generate();
    secure t;
    std::vector<std::pair<endpoint, std::string>> received;
    party(scripted_net& net, endpoint at, security::secure_config cfg = {}) : t(net, at, cfg)
    {
        t.use_identity(key, [&net] { return net.now; }, 1);
        t.on_receive([this](endpoint const& from, std::span<std::byte const> d) {
            received.emplace_back(from, std::string(reinterpret_cast<char const*>(d.data()), d.size()));
        });
    }
    void say(endpoint const& to, std::string_view s) { ASSERT_FALSE(t.send(to, bytes_of(s))); }
};

endpoint ep(std::uint8_t host, std::uint16_t port = 4000) { return endpoint::v4(10, 0, 0, host, port); }

/// An init frame `from` sends to `to`, taken off the network before delivery: what an attacker copies and forges.
std::vector<std::byte> captured_init(scripted_net& net, party& from, endpoint const& to)
{
    from.say(to, "x");
    auto init = net.in_flight.front().bytes;
    net.in_flight.clear();
    return init;
}

TEST(SecureTransport, AHandshakeCarriesTheQueuedDatagramsAndNamesEachPeerByItsKey)
{
    scripted_net net;
    party a(net, ep(1)), b(net, ep(2));
    a.say(ep(2), "one");
    a.say(ep(2), "two");
    EXPECT_EQ(net.in_flight.size(), 1u) << "only the handshake goes out; the datagrams wait";
    EXPECT_EQ(net.in_flight.front().bytes.size(), security::frame::init_size);
    net.deliver_all();
    ASSERT_EQ(b.received.size(), 2u);
    EXPECT_EQ(b.received[0], std::make_pair(ep(1), std::string("one")));
    EXPECT_EQ(b.received[1].second, "two");
    EXPECT_EQ(b.t.authenticated_peer(ep(1)), a.key.id());
    EXPECT_EQ(a.t.authenticated_peer(ep(2)), b.key.id());
    b.say(ep(1), "three");
    net.deliver_all();
    ASSERT_EQ(a.received.size(), 1u);
    EXPECT_EQ(a.received[0].second, "three");
    EXPECT_EQ(a.t.stats().handshakes_completed, 1u);
    EXPECT_EQ(b.t.stats().handshakes_completed, 1u);
    EXPECT_EQ(a.t.max_datagram_size(), 1200u - security::frame::data_overhead);
}

TEST(SecureTransport, AReplayedOrAlteredDatagramIsDroppedAndCountedNeverDelivered)
{
    scripted_net net;
    party a(net, ep(1)), b(net, ep(2));
    a.say(ep(2), "hello");
    net.deliver_all();
    ASSERT_EQ(b.received.size(), 1u);
    a.say(ep(2), "pay 10");
    ASSERT_EQ(net.in_flight.size(), 1u);
    auto const captured = net.in_flight.front();
    net.deliver_all();
    ASSERT_EQ(b.received.size(), 2u);
    // The attacker replays it from A's address, and sends it again altered.
    net.inject(ep(1), ep(2), captured.bytes);
    auto altered = captured.bytes;
    altered.back() ^= std::byte{0x80};
    net.inject(ep(1), ep(2), altered);
    auto recountered = captured.bytes;
    recountered[1] = std::byte{0x77}; // a fresh counter does not make it authentic
    net.inject(ep(1), ep(2), recountered);
    EXPECT_EQ(b.received.size(), 2u) << "nothing more delivered";
    EXPECT_EQ(b.t.stats().replayed, 2u) << "a seen counter is refused before any decryption";
    EXPECT_EQ(b.t.stats().decrypt_failures, 1u);
    // The session survives the attack.
    a.say(ep(2), "still here");
    net.deliver_all();
    ASSERT_EQ(b.received.size(), 3u);
    EXPECT_EQ(b.received.back().second, "still here");
}

TEST(SecureTransport, AHandshakeWithAnyoneButTheExpectedNodeFailsAndWhatWaitedForItIsDropped)
{
    scripted_net net;
    party a(net, ep(1)), impostor(net, ep(9));
    auto const b = security::signing_key::generate(); // the node A means to reach; the impostor holds ep(9)
    a.t.expect_peer(ep(9), b.id());
    a.say(ep(9), "secret for B");
    net.deliver_all();
    EXPECT_TRUE(impostor.received.empty()) << "nothing meant for B reaches the impostor";
    EXPECT_EQ(a.t.stats().unexpected_peers, 1u);
    EXPECT_EQ(a.t.stats().queue_dropped, 1u);
    EXPECT_FALSE(a.t.authenticated_peer(ep(9)));
}

TEST(SecureTransport, BeforeAuthenticationNoReplyIsLargerThanItsRequest)
{
    scripted_net net;
    security::secure_config cfg;
    cfg.max_half_open = 4;
    party b(net, ep(2), cfg);
    // Inits from 50 spoofed sources, each resent 3 times; then junk of every frame type.
    party a(net, ep(1));
    auto const init = captured_init(net, a, ep(2));
    std::size_t in = 0;
    for (std::uint8_t src = 10; src < 60; ++src)
        for (int i = 0; i < 3; ++i) {
            auto forged = init;
            forged[20] = std::byte{src}; // another ephemeral key per source
            net.inject(ep(src, 5000), ep(2), forged);
            in += forged.size();
        }
    for (std::uint8_t type = 0; type < 8; ++type)
        for (std::size_t len : {1u, 17u, 97u, 129u, 145u, 300u}) {
            std::vector<std::byte> junk(len, std::byte{0x33});
            junk[0] = std::byte{type};
            net.inject(ep(77, 5000), ep(2), junk);
            in += len;
        }
    std::size_t out = 0, largest = 0;
    for (auto const& d : net.in_flight) {
        out += d.bytes.size();
        largest = std::max(largest, d.bytes.size());
    }
    EXPECT_LE(out, in) << "bytes out <= bytes in before authentication";
    EXPECT_LE(largest, security::frame::init_size);
    EXPECT_GT(b.t.stats().cookies_sent, 0u) << "past max_half_open, strangers get a cookie, not a handshake";
    EXPECT_LE(b.t.half_open(), cfg.max_half_open);
    EXPECT_GT(b.t.stats().malformed, 0u);
}

TEST(SecureTransport, ASpoofedHandshakeFloodHoldsNoStateAndALegitimatePeerStillConnects)
{
    scripted_net net;
    security::secure_config cfg;
    party b(net, ep(2), cfg);
    party a(net, ep(1));
    auto const init = captured_init(net, a, ep(2));
    // 100,000 inits from spoofed sources across 65,536 addresses, none of which ever answers.
    for (std::uint32_t i = 0; i < 100'000; ++i) {
        auto forged = init;
        std::memcpy(forged.data() + 17, &i, 4);
        net.inject(endpoint::v4(0x0b000000u | (i & 0xffff), 6000), ep(2), forged);
        if (i % 1000 == 0)
            net.now += 10ms;
    }
    net.in_flight.clear(); // the cookies and responses go to addresses nobody holds
    EXPECT_LE(b.t.half_open(), cfg.max_half_open);
    EXPECT_LE(b.t.peer_count(), cfg.max_half_open + 1) << "past the threshold, spoofed sources create nothing";
    EXPECT_GT(b.t.stats().cookies_sent, 90'000u);
    // A real peer, at an address it receives on, echoes its cookie and gets through.
    net.now += 1s;
    party c(net, ep(3));
    c.say(ep(2), "real");
    net.deliver_all();
    ASSERT_EQ(b.received.size(), 1u);
    EXPECT_EQ(b.received[0].second, "real");
    EXPECT_EQ(b.t.authenticated_peer(ep(3)), c.key.id());
}

TEST(SecureTransport, HandshakesArePerSourceRateLimited)
{
    scripted_net net;
    security::secure_config cfg;
    cfg.handshakes_per_second = 5;
    cfg.handshake_burst = 10;
    party b(net, ep(2), cfg);
    party a(net, ep(1));
    auto const init = captured_init(net, a, ep(2));
    for (int i = 0; i < 100; ++i) {
        auto forged = init;
        forged[20] = static_cast<std::byte>(i);
        net.inject(ep(50, static_cast<std::uint16_t>(7000 + i)), ep(2), forged); // one IP, many ports
    }
    EXPECT_EQ(b.t.stats().rate_limited, 90u) << "a burst of 10, then nothing until tokens refill";
    net.now += 1s;
    net.in_flight.clear();
    auto forged = init;
    forged[20] = std::byte{0xee};
    net.inject(ep(50, 9000), ep(2), forged);
    EXPECT_EQ(b.t.stats().rate_limited, 90u) << "a second later the source may try again";
}

TEST(SecureTransport, LostHandshakeMessagesAreResentAndASessionRekeysOnTime)
{
    scripted_net net;
    party a(net, ep(1)), b(net, ep(2));
    a.say(ep(2), "first");
    net.in_flight.clear(); // the init is lost
    net.now += 1500ms;
    a.say(ep(2), "second"); // a send after the retry interval resends it
    net.deliver_all();
    ASSERT_EQ(b.received.size(), 2u);
    auto const handshakes = a.t.stats().handshakes_completed;
    net.now += a.t.config().rekey_after_time + 1s;
    a.say(ep(2), "after rekey time");
    net.deliver_all();
    EXPECT_EQ(a.t.stats().rekeys, 1u);
    EXPECT_EQ(a.t.stats().handshakes_completed, handshakes + 1);
    a.say(ep(2), "on the new keys");
    b.say(ep(1), "both ways");
    net.deliver_all();
    ASSERT_EQ(b.received.size(), 4u);
    EXPECT_EQ(b.received.back().second, "on the new keys");
    ASSERT_EQ(a.received.size(), 1u);
}

TEST(SecureTransport, AFullQueueDoesNotStallTheHandshake)
{
    // Found through real NAT: a peer unreachable for a while (its NAT
    // filtered us) filled the queue; when a birthday hit opened a path, no
    // send resent the handshake until it timed out, 10 s later.
    scripted_net net;
    party a(net, ep(1)), b(net, ep(2));
    std::size_t const room = a.t.config().queue_per_peer;
    for (std::size_t i = 0; i < room; ++i)
        a.say(ep(2), "queued " + std::to_string(i));
    net.in_flight.clear(); // the init is lost: the path is not open yet
    net.now += 1500ms;
    EXPECT_EQ(a.t.send(ep(2), bytes_of("over the limit")), make_error_code(security::errc::queue_full));
    ASSERT_EQ(net.in_flight.size(), 1u) << "the handshake was not resent";
    EXPECT_EQ(net.in_flight.front().bytes.size(), security::frame::init_size);
    net.deliver_all();
    ASSERT_EQ(b.received.size(), room) << "what waited was not carried by the handshake";
    EXPECT_EQ(b.received.back().second, "queued " + std::to_string(room - 1));
}

TEST(SecureTransport, APeerThatRestartedWithNewSessionsIsReachedAgain)
{
    scripted_net net;
    party a(net, ep(1));
    auto b = std::make_unique<party>(net, ep(2));
    auto const b_key = b->key;
    a.say(ep(2), "before");
    net.deliver_all();
    ASSERT_EQ(b->received.size(), 1u);
    // B restarts: same key, no sessions. A's frames go unanswered until it rehandshakes.
    b.reset();
    net.hosts.erase(ep(2));
    security::secure_config cfg;
    b = std::make_unique<party>(net, ep(2), cfg);
    b->t.use_identity(b_key, [&net] { return net.now; }, 2);
    for (int i = 0; i < 20 && b->received.empty(); ++i) {
        net.now += 1s;
        a.say(ep(2), "after");
        net.deliver_all();
    }
    ASSERT_FALSE(b->received.empty()) << "silence_rehandshake brings the session back";
    EXPECT_EQ(b->received.back().second, "after");
    EXPECT_EQ(b->t.authenticated_peer(ep(1)), a.key.id());
}

} // namespace

// -- secure nodes on the simulator ------------------------------------------------------------

namespace secure_nodes {

struct secure_gossip_policies : sim_gossip_policies {
    using transport = security::secure_transport<sim::transport>;
};
using secure_gossip_node = basic_node<secure_gossip_policies>;

template <class Node>
std::size_t delivered_everywhere(sim::cluster<Node>& c, std::vector<std::size_t>& counts)
{
    std::size_t n = 0;
    for (auto i : c.live_indices())
        n += counts[i] > 0;
    return n;
}

TEST(SecureNodes, AnOverlayOfSecureNodesFormsBroadcastsToEveryNodeAndReplaysBitForBit)
{
    auto run = [](std::uint64_t& hash) {
        sim::network net{41, test::internet_like()};
        auto c = test::make_cluster<secure_gossip_node>(net, 60);
        std::vector<std::size_t> got(c.size());
        for (std::size_t i = 0; i < c.size(); ++i) {
            EXPECT_TRUE(security::x25519_public_of(c.node(i).id())) << "every id is an Ed25519 key";
            c.node(i).on_event([&got, i](auto const& e) {
                if (std::holds_alternative<broadcast::delivered>(e))
                    ++got[i];
            });
        }
        EXPECT_EQ(test::components(c), 1u);
        auto const payload = test::payload(200);
        ASSERT_TRUE(c.node(7).broadcast(payload));
        net.advance(5s);
        EXPECT_EQ(delivered_everywhere(c, got), c.size() - 1) << "every node but the origin delivers";
        std::uint64_t sessions = 0;
        for (std::size_t i = 0; i < c.size(); ++i)
            sessions += c.node(i).transport().stats().handshakes_completed;
        EXPECT_GT(sessions, c.size());
        hash = net.trace_hash();
    };
    std::uint64_t first = 0, second = 0;
    run(first);
    run(second);
    EXPECT_EQ(first, second) << "keys and ephemerals come from the seed: a run replays";
}

TEST(SecureNodes, AJoinOrNeighbourRequestUnderAnotherNodesIdIsDroppedAndChangesNothing)
{
    sim::network net{43, test::internet_like()};
    auto c = test::make_cluster<secure_gossip_node>(net, 10);
    auto& victim = c.node(0);
    auto const& hv = victim.engine<membership::hyparview>();
    ASSERT_FALSE(hv.active_view().empty());
    node_id const neighbour = hv.active_view().front().id;
    auto const active_before = hv.active_view();

    // The attacker completes a handshake of its own, then speaks as the victim's neighbour.
    security::secure_transport<sim::transport> attacker(net, net.next_endpoint());
    security::signing_key const attacker_key = security::signing_key::generate();
    attacker.use_identity(attacker_key, [&net] { return net.now(); }, 99);
    auto const decode_errors = victim.stats().decode_errors;
    std::vector<std::byte> out;
    for (std::uint64_t i = 0; i < 20; ++i) {
        out.clear();
        wire::envelope const forged{membership::hv_neighbor::wire_id, neighbour, 1000 + i, 0};
        secure_gossip_node::messages::encode(forged, membership::hv_neighbor{true}, out);
        ASSERT_FALSE(attacker.send(victim.local_endpoint(), out));
        out.clear();
        wire::envelope const claimed_hops{membership::hv_join::wire_id, neighbour, 2000 + i, 3};
        secure_gossip_node::messages::encode(claimed_hops, membership::hv_join{}, out);
        ASSERT_FALSE(attacker.send(victim.local_endpoint(), out));
        net.advance(100ms);
    }
    net.advance(1s);
    EXPECT_EQ(victim.transport().authenticated_peer(attacker.local_endpoint()), attacker_key.id())
        << "the attacker did get a session: it is refused for what it claims, not for being new";
    EXPECT_EQ(victim.stats().decode_errors - decode_errors, 40u) << "every forged envelope counted";
    for (auto const& p : hv.active_view()) {
        EXPECT_NE(p.address, attacker.local_endpoint()) << "no link moved to the attacker";
        EXPECT_NE(p.id, attacker_key.id());
    }
    bool neighbour_kept = false;
    for (auto const& p : hv.active_view())
        neighbour_kept = neighbour_kept || (p.id == neighbour && p.address != attacker.local_endpoint());
    EXPECT_TRUE(neighbour_kept);
    auto const active_after = hv.active_view();
    for (auto const& p : active_before) {
        bool const still = std::any_of(active_after.begin(), active_after.end(),
                                       [&](auto const& q) { return q.id == p.id && q.address == p.address; });
        EXPECT_TRUE(still) << "the attack evicted no real neighbour";
    }
}

TEST(SecureNodes, AStrangersBroadcastUnderAForgedOriginIsDeliveredNowhere)
{
    sim::network net{47, test::internet_like()};
    auto c = test::make_cluster<secure_gossip_node>(net, 12);
    std::vector<std::size_t> got(c.size());
    for (std::size_t i = 0; i < c.size(); ++i)
        c.node(i).on_event([&got, i](auto const& e) {
            if (std::holds_alternative<broadcast::delivered>(e))
                ++got[i];
        });
    // A node with a session of its own (so the sender check passes) pushes a
    // payload as if it were relaying node 3's broadcast, to every node.
    security::secure_transport<sim::transport> attacker(net, net.next_endpoint());
    security::signing_key const attacker_key = security::signing_key::generate();
    attacker.use_identity(attacker_key, [&net] { return net.now(); }, 98);
    std::vector<std::byte> out;
    for (std::size_t i = 0; i < c.size(); ++i) {
        out.clear();
        wire::envelope const own{broadcast::pt_gossip::wire_id, attacker_key.id(), 500 + i, 0};
        secure_gossip_node::messages::encode(
            own, broadcast::pt_gossip{broadcast::message_key{c.node(3).id(), 77}, 1, 1, 0, test::payload(64)}, out);
        ASSERT_FALSE(attacker.send(c.node(i).local_endpoint(), out));
    }
    net.advance(5s);
    std::uint64_t refused = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
        EXPECT_EQ(got[i], 0u) << "node " << i << " delivered the stranger's payload";
        refused += c.node(i).engine<broadcast::plumtree>().stats().from_strangers;
    }
    EXPECT_EQ(refused, c.size()) << "each copy counted where it arrived";
    // The overlay still carries node 3's real broadcasts.
    ASSERT_TRUE(c.node(3).broadcast(test::payload(64)));
    net.advance(5s);
    EXPECT_EQ(delivered_everywhere(c, got), c.size() - 1);
}

TEST(SecureNodes, FiveKeysFromOneNetworkAskingWithHighPriorityTakeAtMostTwoLinksAndBroadcastsFlow)
{
    sim::network net{53, test::internet_like()};
    auto c = test::make_cluster<secure_gossip_node>(net, 12);
    auto& victim = c.node(0);
    std::size_t delivered = 0;
    victim.on_event([&](auto const& e) { delivered += std::holds_alternative<broadcast::delivered>(e); });

    // Five attacker nodes, each with a key and a session of its own, all in 203.0.113.0/24.
    struct attacker_node {
        std::unique_ptr<security::secure_transport<sim::transport>> transport;
        security::signing_key key;
    };
    std::vector<attacker_node> attackers;
    for (std::uint8_t i = 1; i <= 5; ++i) {
        attacker_node a{std::make_unique<security::secure_transport<sim::transport>>(
                            net, endpoint::v4(203, 0, 113, i, 7000)),
                        security::signing_key::generate()};
        a.transport->use_identity(a.key, [&net] { return net.now(); }, 90 + i);
        attackers.push_back(std::move(a));
    }
    auto const attackers_linked = [&] {
        std::size_t n = 0;
        for (auto const& p : victim.engine<membership::hyparview>().active_view())
            n += address_prefix::of(p.address) == address_prefix::of(endpoint::v4(203, 0, 113, 0, 0));
        return n;
    };
    std::size_t most = 0, least_honest = 99;
    std::uint64_t id = 1;
    std::vector<std::byte> out;
    for (int round = 0; round < 40; ++round) { // 10 s of requests every 250 ms
        for (auto& a : attackers) {
            out.clear();
            secure_gossip_node::messages::encode(wire::envelope{membership::hv_neighbor::wire_id, a.key.id(), id++, 0},
                                                 membership::hv_neighbor{true}, out);
            ASSERT_FALSE(a.transport->send(victim.local_endpoint(), out));
        }
        if (round == 20) {
            ASSERT_TRUE(c.node(5).broadcast(test::payload(100)));
        }
        net.advance(250ms);
        most = std::max(most, attackers_linked());
        least_honest = std::min(least_honest, victim.engine<membership::hyparview>().active_view().size() - attackers_linked());
    }
    EXPECT_GE(most, 1u) << "the requests did arrive";
    EXPECT_LE(most, 2u) << "one network holds at most max_active_per_prefix links";
    EXPECT_GE(least_honest, 2u) << "the victim kept honest neighbours throughout";
    EXPECT_GT(victim.engine<membership::hyparview>().prefix_refusals(), 0u);
    EXPECT_EQ(delivered, 1u) << "a broadcast during the attack reached the victim";
}

TEST(SecureNodes, AnAnnouncementOfAnotherNodesIdAtTheAttackersAddressMisleadsNoOne)
{
    // The first row of the attack table: a peer announcement carrying B's id with
    // the attacker's address, sent once to each bootstrap node, used to make new
    // nodes that connect to B connect to the attacker.
    using node = reference::secure_gossip_first_node;
    sim::network net{59, [] {
                         sim::link_model l;
                         l.latency = sim::latency_distribution::uniform(10ms, 40ms);
                         return l;
                     }()};
    std::vector<endpoint> const seeds{net.next_endpoint(), net.next_endpoint()};
    auto make = [&](endpoint at, std::uint64_t seed, bool bootstrap, std::vector<endpoint> const& with) {
        node_config c;
        c.listen = at;
        c.seed = seed;
        if (bootstrap) {
            c.engine<discovery::peer_gossip>().bootstrap = true;
            c.engine<discovery::peer_gossip>().capabilities = discovery::can_relay | discovery::can_coordinate;
            c.engine<nat::connector>().introducers = 1;
        }
        discovery::bootstrap_cache cache(reference::gossip_first_cache_config(), seed);
        for (auto const& e : with)
            cache.add_seed(e);
        auto n = std::make_unique<node>(net, std::move(c), std::move(cache));
        n->start();
        return n;
    };
    std::vector<std::unique_ptr<node>> bootstraps;
    bootstraps.push_back(make(seeds[0], 1, true, {seeds[1]}));
    bootstraps.push_back(make(seeds[1], 2, true, {seeds[0]}));
    auto b = make(net.next_endpoint(), 3, false, seeds);
    net.advance(30s);
    for (auto& boot : bootstraps) {
        auto const* known = boot->discovery().find(b->id());
        ASSERT_NE(known, nullptr) << "the bootstrap nodes learned B";
    }

    security::secure_transport<sim::transport> attacker(net, net.next_endpoint());
    security::signing_key const attacker_key = security::signing_key::generate();
    attacker.use_identity(attacker_key, [&net] { return net.now(); }, 97);
    discovery::peer_record lie;
    lie.id = b->id();
    lie.address = attacker.local_endpoint();
    lie.nat = nat::nat_type::open;
    lie.capabilities = discovery::can_coordinate;
    lie.broadcasting = true;
    lie.version = b->engine<discovery::peer_gossip>().self_record().version + 1000;
    lie.signature = attacker_key.sign(discovery::signing_bytes(lie));
    std::vector<std::byte> out;
    for (std::size_t i = 0; i < bootstraps.size(); ++i) {
        out.clear();
        // Relayed (one hop), so the envelope may name B as its sender.
        node::messages::encode(wire::envelope{discovery::fb_peer_announcement::wire_id, b->id(), 9000 + i, 1},
                               discovery::fb_peer_announcement{31, lie}, out);
        ASSERT_FALSE(attacker.send(bootstraps[i]->local_endpoint(), out));
    }
    net.advance(5s);
    for (auto& boot : bootstraps) {
        EXPECT_EQ(boot->engine<discovery::peer_gossip>().stats().records_forged, 1u);
        auto const* known = boot->discovery().find(b->id());
        ASSERT_NE(known, nullptr);
        EXPECT_EQ(known->addresses.back(), b->local_endpoint()) << "B's address stands";
    }

    auto n = make(net.next_endpoint(), 4, false, seeds);
    net.advance(30s);
    ASSERT_FALSE(reference::connect(*n, b->id()));
    net.advance(20s);
    auto const info = n->engine<nat::connector>().find(b->id());
    ASSERT_TRUE(info && info->established);
    EXPECT_EQ(info->path, b->local_endpoint()) << "the new node reached B itself";
    EXPECT_FALSE(n->transport().authenticated_peer(attacker.local_endpoint())) << "and never the attacker";
}

} // namespace secure_nodes

// -- secure streams -------------------------------------------------------------------

namespace secure_streams {

using secure_stream = security::secure_stream_transport<sim::stream_transport>;
static_assert(stream_transport<secure_stream>, "a secure stream transport is a stream transport: it drops into a bundle");

/// A secure stream end with a key, recording what its node would hear.
struct stream_end {
    secure_stream t;
    security::signing_key key;
    std::vector<std::string> frames;
    std::vector<stream_id> connected, closed;
    std::vector<std::error_code> reasons;

    stream_end(sim::network& net, std::uint8_t n) : t(net, net.next_endpoint()), key(test::key_of(n))
    {
        t.use_identity(key, [&net] { return net.now(); }, n);
        t.on_stream([this](stream_event const& e) {
            if (auto const* c = std::get_if<stream_connected>(&e))
                connected.push_back(c->id);
            else if (auto const* f = std::get_if<stream_frame>(&e))
                frames.emplace_back(reinterpret_cast<char const*>(f->bytes.data()), f->bytes.size());
            else if (auto const* d = std::get_if<stream_closed>(&e)) {
                closed.push_back(d->id);
                reasons.push_back(d->reason);
            }
        });
    }
};

std::span<std::byte const> text(std::string const& s)
{
    return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(SecureStreams, AHandshakeNamesBothEndsByTheirKeysAndFramesArriveInOrderEachOnce)
{
    sim::network net{61};
    stream_end a(net, 1), b(net, 2);
    // What crosses the network underneath: a plain listener in the middle would see only this.
    stream_id const id = a.t.connect(b.t.local_endpoint());
    EXPECT_EQ(a.t.send(id, text("too early")), make_error_code(stream_errc::not_connected));
    net.advance(1s);
    ASSERT_EQ(a.connected.size(), 1u);
    ASSERT_EQ(b.connected.size(), 1u);
    EXPECT_EQ(a.t.authenticated_peer(id), b.key.id());
    EXPECT_EQ(b.t.authenticated_peer(b.connected[0]), a.key.id());
    for (int i = 0; i < 50; ++i)
        ASSERT_FALSE(a.t.send(id, text("frame " + std::to_string(i))));
    ASSERT_FALSE(b.t.send(b.connected[0], text("reply")));
    net.advance(1s);
    ASSERT_EQ(b.frames.size(), 50u);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(b.frames[i], "frame " + std::to_string(i)) << "in order, each once";
    ASSERT_EQ(a.frames.size(), 1u);
    EXPECT_EQ(a.frames[0], "reply");
    EXPECT_EQ(a.t.max_frame_size() + 16, a.t.next_layer().max_frame_size());
}

TEST(SecureStreams, AStreamToAnyoneButTheExpectedNodeEndsWithUnexpectedPeerAndCarriesNothing)
{
    sim::network net{62};
    stream_end a(net, 1), b(net, 2), c(net, 3);
    a.t.expect_peer(b.t.local_endpoint(), c.key.id()); // a record said C is there; B is
    stream_id const id = a.t.connect(b.t.local_endpoint());
    net.advance(2s);
    EXPECT_TRUE(a.connected.empty());
    ASSERT_EQ(a.closed.size(), 1u);
    EXPECT_EQ(a.closed[0], id);
    EXPECT_EQ(a.reasons[0], make_error_code(security::errc::unexpected_peer));
    EXPECT_EQ(a.t.stats().unexpected_peers, 1u);
    EXPECT_TRUE(b.connected.empty()) << "B's node never heard of the stream";
    EXPECT_TRUE(b.closed.empty());
}

TEST(SecureStreams, APlainPeerOrGarbageNeverReachesTheNodeAndIdleHandshakesAreBounded)
{
    sim::network net{63};
    stream_end b(net, 2);
    // A peer that speaks no Noise: 32 bytes pass as an ephemeral key, the third message cannot.
    sim::stream_transport plain(net, net.next_endpoint());
    std::vector<stream_id> opened;
    plain.on_stream([&](stream_event const& e) {
        if (auto const* c = std::get_if<stream_connected>(&e))
            opened.push_back(c->id);
    });
    stream_id const s = plain.connect(b.t.local_endpoint());
    net.advance(200ms);
    ASSERT_EQ(opened.size(), 1u);
    std::vector<std::byte> junk(32, std::byte{0x41});
    ASSERT_FALSE(plain.send(s, junk));
    net.advance(200ms);
    junk.assign(64, std::byte{0x42});
    (void)plain.send(s, junk);
    net.advance(200ms);
    EXPECT_EQ(b.t.stats().handshake_failures, 1u);
    EXPECT_TRUE(b.connected.empty());
    EXPECT_TRUE(b.frames.empty());

    // 70 silent streams: 64 wait for a handshake, the rest are closed unheard; all go after the timeout.
    std::vector<std::unique_ptr<sim::stream_transport>> silent;
    for (int i = 0; i < 70; ++i) {
        silent.push_back(std::make_unique<sim::stream_transport>(net, net.next_endpoint()));
        (void)silent.back()->connect(b.t.local_endpoint());
    }
    net.advance(1s);
    EXPECT_EQ(b.t.stats().refused_busy, 6u);
    net.advance(11s);
    (void)silent.front()->connect(b.t.local_endpoint()); // any event runs the expiry
    net.advance(1s);
    EXPECT_EQ(b.t.stats().handshake_timeouts, 64u);
    // A real peer still connects.
    stream_end a(net, 1);
    (void)a.t.connect(b.t.local_endpoint());
    net.advance(1s);
    EXPECT_EQ(a.connected.size(), 1u);
    EXPECT_TRUE(b.connected.size() == 1u);
}

} // namespace secure_streams

// -- the substrate/transient node, secure -------------------------------------------

namespace secure_substrate {

using reference::secure_substrate_node;
using reference::secure_transient_node;

hierarchy::substrate_transient role(node_role r)
{
    hierarchy::substrate_transient_config c;
    c.role = r;
    return hierarchy::substrate_transient{c};
}

TEST(SecureSubstrate, ATransientAttachesOverANoiseStreamAndAFrameUnderAnotherIdClosesOnlyItsStream)
{
    sim::network net{71};
    node_config sc;
    sc.engine<attach::substrate>().heartbeat_interval = 1s;
    secure_substrate_node a(net, sc, discovery::static_seeds{}, role(node_role::substrate));
    secure_substrate_node b(net, sc, discovery::static_seeds{}, role(node_role::substrate));
    node_config tc;
    tc.engine<attach::transient>().heartbeat_interval = 1s;
    secure_transient_node t(net, tc, discovery::static_seeds{}, role(node_role::transient));
    std::vector<attach::published> at_b;
    b.on_event([&](auto const& e) {
        if (auto const* p = std::get_if<attach::published>(&e))
            at_b.push_back(*p);
    });
    a.start();
    b.start();
    b.join(a.local_endpoint());
    net.advance(2s);
    t.start();
    t.join(a.local_endpoint(wire::channel::stream));
    net.advance(3s);
    ASSERT_EQ(a.engine<attach::substrate>().children().size(), 1u);
    EXPECT_EQ(a.engine<attach::substrate>().children()[0].id, t.signing_key().id()) << "the child is named by its key";
    EXPECT_EQ(a.stream_transport().stats().handshakes_completed, 1u);

    // A genuine publication crosses the stream, then the mesh.
    std::string const line = "from the transient";
    ASSERT_FALSE(reference::publish(t, std::as_bytes(std::span(line.data(), line.size()))));
    net.advance(2s);
    ASSERT_EQ(at_b.size(), 1u);
    EXPECT_EQ(at_b[0].origin, t.id());

    // An attacker with a key of its own attaches, then publishes under the transient's id.
    security::secure_stream_transport<sim::stream_transport> attacker(net, net.next_endpoint());
    attacker.use_identity(test::key_of(66), [&net] { return net.now(); }, 66);
    std::optional<stream_id> open;
    bool closed = false;
    attacker.on_stream([&](stream_event const& e) {
        if (auto const* c = std::get_if<stream_connected>(&e))
            open = c->id;
        else if (std::holds_alternative<stream_closed>(e))
            closed = true;
    });
    (void)attacker.connect(a.local_endpoint(wire::channel::stream));
    net.advance(1s);
    ASSERT_TRUE(open);
    std::vector<std::byte> out;
    secure_substrate_node::messages::encode(wire::envelope{attach::at_hello::wire_id, test::key_of(66).id(), 1, 0},
                                            attach::at_hello{"default", 0, 0, {}}, out);
    ASSERT_FALSE(attacker.send(*open, out));
    net.advance(1s);
    ASSERT_EQ(a.engine<attach::substrate>().children().size(), 2u) << "its own hello is honest: it is a child";
    auto const refused_before = a.stats().decode_errors;
    out.clear();
    secure_substrate_node::messages::encode(wire::envelope{attach::at_publish::wire_id, t.id(), 2, 0},
                                            attach::at_publish{900, test::payload(16)}, out);
    ASSERT_FALSE(attacker.send(*open, out));
    net.advance(2s);
    EXPECT_EQ(a.stats().decode_errors - refused_before, 1u) << "the lie counted (meshkit_sender_mismatch_total)";
    EXPECT_TRUE(closed) << "the stream that lied is closed";
    EXPECT_EQ(at_b.size(), 1u) << "nothing was published under the transient's id";
    ASSERT_EQ(a.engine<attach::substrate>().children().size(), 1u);
    EXPECT_EQ(a.engine<attach::substrate>().children()[0].id, t.id()) << "the real child keeps its attachment";
}

} // namespace secure_substrate
