// libFuzzer target for the wire decoder: any input must decode or fail with
// a wire::errc, never crash, hang or read out of bounds (ASan and UBSan are on),
// and whatever decodes must re-encode to the same bytes. The same input is
// also a datagram to a secure transport (from a peer it holds a session
// with, and from a stranger) and a Noise handshake message at each step:
// refused or accepted, never a crash, and never a reply larger than it. And
// it is a frame on a secure stream at each step of its handshake and once
// it is established: refused (the stream closed, and told so) or taken, never a crash.
// And it is a reconciliation message (`sync::sync_message`) to a reconciler
// over a set of 2,000 items: refused with a sync::errc, or answered with a
// reply within the reconciler's message limit and that another reconciler
// accepts, never a crash.
//
// Run: tools/fuzz.sh [seconds]

#include <meshkit/attach/messages.hpp>
#include <meshkit/discovery/gossip_messages.hpp>
#include <meshkit/discovery/registry_messages.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/membership/liveness_messages.hpp>
#include <meshkit/nat/traversal_messages.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/security/noise/handshake.hpp>
#include <meshkit/security/secure_stream_transport.hpp>
#include <meshkit/security/secure_transport.hpp>
#include <meshkit/sync/anti_entropy_messages.hpp>
#include <meshkit/sync/reconciler.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/topic/topic_messages.hpp>
#include <meshkit/topology/cell_summary.hpp>
#include <meshkit/topology/messages.hpp>
#include <meshkit/topology/node_state.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

struct entry {
    meshkit::node_id id;
    meshkit::endpoint address;
    std::string name;
    std::vector<std::uint16_t> caps;
};

struct everything {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first;
    std::uint64_t a;
    bool b;
    double c;
    std::string s;
    std::vector<std::string> strings;
    std::optional<entry> best;
    std::vector<entry> entries;
    std::vector<std::vector<std::uint8_t>> blobs;
};

// What the summary aggregator decodes from packet payloads, as messages of their own.
struct fuzz_node_state {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 1;
    meshkit::topology::node_state state;
};
struct fuzz_cell_summary {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 2;
    meshkit::topology::cell_summary summary;
};

// A synthetic message with every field shape, plus the real messages whose
// fields are richest: the gossip-first node's (optional addresses, nested
// vectors of records, byte payloads, enums) and the substrate/transient
// attachments' (substrate records with strings, goodbye reasons), the
// hierarchical mesh's (beacons with positions, optional resources and
// capability lists; packets; acknowledgements) and the telemetry its
// aggregator reads; the topic host's frames and probes; and anti-entropy's
// turns, wants and items.
using registry = meshkit::wire::registry_union<
    meshkit::wire::registry<meshkit::membership::ping, meshkit::membership::pong, everything, fuzz_node_state,
                            fuzz_cell_summary>,
    meshkit::nat::traversal_messages, meshkit::discovery::gossip_messages, meshkit::discovery::registry_messages,
    meshkit::attach::attach_messages, meshkit::topology::topology_messages, meshkit::topic::topic_messages,
    meshkit::sync::anti_entropy_messages>;

/// A network in memory for the secure transport: what is sent waits in `queue` until delivered.
struct fuzz_net {
    std::map<meshkit::endpoint, meshkit::receive_handler> hosts;
    std::deque<std::pair<std::pair<meshkit::endpoint, meshkit::endpoint>, std::vector<std::byte>>> queue;
    meshkit::time_point now{};
    void deliver()
    {
        while (!queue.empty()) {
            auto d = std::move(queue.front());
            queue.pop_front();
            if (auto it = hosts.find(d.first.second); it != hosts.end())
                it->second(d.first.first, d.second);
        }
    }
};

class fuzz_transport {
public:
    fuzz_transport(fuzz_net& net, meshkit::endpoint const& at) : net_(&net), at_(at) {}
    meshkit::endpoint local_endpoint() const { return at_; }
    std::error_code send(meshkit::endpoint const& to, std::span<std::byte const> b)
    {
        net_->queue.push_back({{at_, to}, {b.begin(), b.end()}});
        return {};
    }
    void on_receive(meshkit::receive_handler h) { net_->hosts[at_] = std::move(h); }
    std::size_t max_datagram_size() const { return 1200; }

private:
    fuzz_net* net_;
    meshkit::endpoint at_;
};

using secure = meshkit::security::secure_transport<fuzz_transport>;

meshkit::security::signing_key key_of(std::uint8_t n)
{
    std::array<std::uint8_t, 32> seed{};
    seed[0] = n;
    return meshkit::security::signing_key(seed);
}

/// Two secure transports with a session between them, and handshakes waiting at each step.
struct secure_fixture {
    fuzz_net net;
    meshkit::endpoint const a_at = meshkit::endpoint::v4(10, 0, 0, 1, 1000), b_at = meshkit::endpoint::v4(10, 0, 0, 2, 1000);
    secure a{net, a_at}, b{net, b_at};
    std::optional<meshkit::security::noise::xx_handshake> responder_at_0, initiator_at_1, responder_at_2;
    secure_fixture()
    {
        a.use_identity(key_of(1), [this] { return net.now; }, 1);
        b.use_identity(key_of(2), [this] { return net.now; }, 2);
        b.on_receive([](meshkit::endpoint const&, std::span<std::byte const>) {});
        std::array<std::byte, 4> hello{};
        (void)a.send(b_at, hello);
        net.deliver();
        using hs = meshkit::security::noise::xx_handshake;
        auto const ka = key_of(1), kb = key_of(2);
        responder_at_0.emplace(hs::role::responder, kb.x25519_secret(), std::span<std::byte const>{}, ka.x25519_secret());
        hs init(hs::role::initiator, ka.x25519_secret(), {}, kb.x25519_secret());
        std::vector<std::byte> m1, m2, payload;
        (void)init.write_message({}, m1);
        initiator_at_1.emplace(init);
        hs resp = *responder_at_0;
        (void)resp.read_message(m1, payload);
        (void)resp.write_message({}, m2);
        responder_at_2.emplace(resp);
    }
};

void fuzz_secure(std::span<std::byte const> input)
{
    static secure_fixture f;
    std::vector<std::byte> payload;
    for (auto const* waiting : {&f.responder_at_0, &f.initiator_at_1, &f.responder_at_2}) {
        auto copy = **waiting;
        payload.clear();
        if (!copy.read_message(input, payload) && copy.next_message() == (*waiting)->next_message())
            std::abort(); // accepted, yet the handshake did not move
    }
    // From the peer with a session, then from a stranger: whatever happens, replies are no larger than the input.
    auto const stranger = meshkit::endpoint::v4(10, 0, 0, 9, 999);
    for (auto const& from : {f.a_at, stranger}) {
        f.net.queue.clear();
        f.net.hosts[f.b_at](from, input);
        if (!f.b.authenticated_peer(from)) // before authentication: the amplification rule
            for (auto const& d : f.net.queue)
                if (d.second.size() > input.size())
                    std::abort();
        f.net.queue.clear();
    }
    f.net.now += std::chrono::milliseconds(1);
}

/// A stream transport in memory: the fuzzer raises its events by hand and reads what was written.
class fuzz_stream_transport {
public:
    static constexpr bool deterministic = true; // ephemeral keys from the seed: a crash replays
    explicit fuzz_stream_transport(meshkit::endpoint at) : at_(at) {}
    meshkit::endpoint local_endpoint() const { return at_; }
    meshkit::stream_id connect(meshkit::endpoint const&) { return meshkit::stream_id{++next_}; }
    std::error_code send(meshkit::stream_id id, std::span<std::byte const> frame)
    {
        written.push_back({id, {frame.begin(), frame.end()}});
        return {};
    }
    void close(meshkit::stream_id id) { closed.push_back(id); }
    void on_stream(meshkit::stream_handler h) { handler = std::move(h); }
    std::size_t max_frame_size() const { return 65536; }
    std::size_t max_queued_bytes() const { return 1 << 20; }

    meshkit::stream_handler handler;
    std::vector<std::pair<meshkit::stream_id, std::vector<std::byte>>> written;
    std::vector<meshkit::stream_id> closed;

private:
    meshkit::endpoint at_;
    std::uint64_t next_ = 0;
};

using secure_stream = meshkit::security::secure_stream_transport<fuzz_stream_transport>;

/** Two secure stream transports, a stream from `a` to `b`, and `input` as the frame `b` (or `a`) reads at `step`.

    Steps 0 to 2 are the handshake's three messages (`b` reads 1 and 3,
    `a` reads 2); step 3 is a data frame once the stream is established.
*/
void fuzz_secure_stream(std::span<std::byte const> input, int step)
{
    meshkit::endpoint const a_at = meshkit::endpoint::v4(10, 0, 0, 1, 1000), b_at = meshkit::endpoint::v4(10, 0, 0, 2, 1000);
    secure_stream a{a_at}, b{b_at};
    meshkit::time_point now{};
    a.use_identity(key_of(1), [&now] { return now; }, 1);
    b.use_identity(key_of(2), [&now] { return now; }, 2);
    std::vector<meshkit::stream_event> heard_by_b;
    b.on_stream([&](meshkit::stream_event const& e) {
        if (auto const* f = std::get_if<meshkit::stream_frame>(&e))
            heard_by_b.push_back(meshkit::stream_frame{f->id, {}}); // the bytes live only inside the call
        else
            heard_by_b.push_back(e);
    });
    a.on_stream([](meshkit::stream_event const&) {});
    auto& ia = a.next_layer();
    auto& ib = b.next_layer();
    meshkit::stream_id const at_a = a.connect(b_at), at_b{7};
    ia.handler(meshkit::stream_connected{at_a, b_at, false}); // a writes message 1
    ib.handler(meshkit::stream_connected{at_b, a_at, true});
    // Plays the handshake up to `step`, then hands `input` to whoever reads next.
    auto relay = [](fuzz_stream_transport& from, fuzz_stream_transport& to, meshkit::stream_id id) {
        auto const frame = from.written.back().second;
        to.handler(meshkit::stream_frame{id, frame});
    };
    for (int i = 0; i < step && i < 3; ++i) {
        if (i % 2 == 0)
            relay(ia, ib, at_b);
        else
            relay(ib, ia, at_a);
    }
    if (step == 3 && !b.authenticated_peer(at_b))
        std::abort(); // a genuine handshake must complete
    std::size_t const heard_before = heard_by_b.size();
    if (step == 1)
        ia.handler(meshkit::stream_frame{at_a, input});
    else
        ib.handler(meshkit::stream_frame{at_b, input});
    if (step == 3) {
        // Forged data on an established stream: taken only if it authenticates, else the stream is closed.
        bool const taken = heard_by_b.size() > heard_before;
        bool const closed = !ib.closed.empty();
        if (taken == closed)
            std::abort();
    }
    if (step == 2 && b.authenticated_peer(at_b)) {
        // Only a's own third message completes b's handshake.
        auto const& genuine = ia.written.back().second;
        if (!std::equal(input.begin(), input.end(), genuine.begin(), genuine.end()))
            std::abort();
    }
    now += std::chrono::seconds(11); // past the handshake timeout: whatever still waits is closed
    ib.handler(meshkit::stream_connected{meshkit::stream_id{8}, a_at, true});
    if (step < 3 && !b.authenticated_peer(at_b) && std::find(ib.closed.begin(), ib.closed.end(), at_b) == ib.closed.end())
        std::abort(); // a handshake that did not complete is never left open
}

/// Two item sets that overlap, built once: what a fuzzed reconciliation message is answered from.
struct sync_fixture {
    meshkit::sync::item_set ours{4'000}, theirs{4'000};
    meshkit::sync::reconcile_settings settings;
    sync_fixture()
    {
        settings.max_message_bytes = 1'100;
        settings.max_ids_per_range = 16;
        for (std::uint64_t i = 0; i < 2'000; ++i) {
            auto const id = meshkit::node_id::from_seed(i).bytes;
            meshkit::sync::item const it{i / 3, id};
            if (i % 7 != 0)
                ours.insert(it);
            if (i % 5 != 0)
                theirs.insert(it);
        }
    }
};

void fuzz_sync(std::span<std::byte const> input)
{
    static sync_fixture const f;
    auto const msg = meshkit::wire::decode<meshkit::sync::sync_message>(input);
    if (!msg)
        return;
    meshkit::sync::reconciler const r{f.ours, f.settings};
    auto const step = r.respond(*msg);
    if (!step)
        return; // refused: nothing recorded, nothing sent
    if (step->finished())
        return;
    std::vector<std::byte> reply;
    meshkit::wire::encode(step->reply, reply);
    if (reply.size() > f.settings.max_message_bytes)
        std::abort(); // past the limit, whatever the peer sent
    if (!meshkit::sync::reconciler{f.theirs, f.settings}.respond(step->reply))
        std::abort(); // an answer another reconciler refuses
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    auto const input = std::span(reinterpret_cast<std::byte const*>(data), size);
    fuzz_secure(input);
    if (!input.empty()) // the first byte picks the step (a handshake costs milliseconds under ASan)
        fuzz_secure_stream(input.subspan(1), static_cast<int>(input[0]) % 4);
    fuzz_sync(input);
    auto decoded = registry::decode(input);
    if (!decoded)
        return 0;
    std::vector<std::byte> again;
    std::visit([&](auto const& m) { registry::encode(decoded->header, m, again); }, decoded->message);
    if (again.size() != size || !std::equal(again.begin(), again.end(), input.begin()))
        std::abort(); // non-canonical: two encodings of one message
    return 0;
}
