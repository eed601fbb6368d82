// REPRAM's attachments between substrate and transient nodes, on the
// simulator's datagrams and streams: hello / welcome / goodbye, the cap with
// alternatives, shutdown, heartbeats, the re-attach loop, forged goodbyes.

#include <meshkit/attach/substrate.hpp>
#include <meshkit/attach/transient.hpp>
#include <meshkit/broadcast/plumtree.hpp>
#include <meshkit/hierarchy/substrate_transient.hpp>
#include <meshkit/membership/hyparview.hpp>
#include <meshkit/node.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/reference/substrate_transient.hpp>
#include <meshkit/sim/stream_transport.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/detail/rng.hpp>

#include <support/recording_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <utility>
#include <set>
#include <map>
#include <unordered_map>
#include <functional>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using namespace std::chrono_literals;

struct substrate_policies : sim_policies {
    using transports = type_list<sim::transport, sim::stream_transport>;
    using hierarchy = ::meshkit::hierarchy::substrate_transient;
    using engines = type_list<membership::hyparview, broadcast::plumtree, attach::substrate>;
};
using substrate_node = basic_node<substrate_policies>;

struct transient_policies : sim_policies {
    using transports = type_list<sim::transport, sim::stream_transport>;
    using hierarchy = ::meshkit::hierarchy::substrate_transient;
    using engines = type_list<attach::transient>;
};
using transient_node = basic_node<transient_policies>;

/// An attachment engine's context without a node, with the hierarchy policy it records attachments in.
template <class Engine>
using engine_context_double = test::recording_context<Engine, metrics::in_memory_metrics, test::no_discovery,
                                                      attach::attach_messages, hierarchy::substrate_transient>;

hierarchy::substrate_transient role(node_role r, std::string enclave = "default")
{
    hierarchy::substrate_transient_config c;
    c.role = r;
    c.enclave = std::move(enclave);
    return hierarchy::substrate_transient{c};
}

node_config substrate_config(std::size_t max_children = 100)
{
    node_config c;
    c.engine<attach::substrate>().max_children = max_children;
    c.engine<attach::substrate>().heartbeat_interval = 1s;
    c.engine<attach::substrate>().announce_interval = 2s;
    return c;
}

node_config transient_config()
{
    node_config c;
    c.engine<attach::transient>().heartbeat_interval = 1s;
    c.engine<attach::transient>().attach_timeout = 2s;
    return c;
}

/// Substrates in one mesh, transients beside them; every event kept.
struct world {
    sim::network net;
    std::vector<std::unique_ptr<substrate_node>> substrates;
    std::vector<std::unique_ptr<transient_node>> transients;
    std::deque<std::vector<attach::detached>> detached; // a deque: handlers hold references into it
    /// Per node (substrates first, then transients, in creation order): every publication delivered.
    std::deque<std::vector<attach::published>> got;

    explicit world(std::uint64_t seed) : net(seed) {}

    substrate_node& add_substrate(std::size_t max_children = 100, std::string enclave = "default")
    {
        auto& s = substrates.emplace_back(std::make_unique<substrate_node>(
            net, substrate_config(max_children), discovery::static_seeds{}, role(node_role::substrate, enclave)));
        auto& log = got.emplace_back();
        s->on_event([&log](auto const& e) {
            if (auto const* p = std::get_if<attach::published>(&e))
                log.push_back(*p);
        });
        s->start();
        if (substrates.size() > 1)
            s->join(substrates.front()->local_endpoint());
        return *s;
    }

    transient_node& add_transient(endpoint const& first_substrate, std::string enclave = "default")
    {
        auto& t = transients.emplace_back(std::make_unique<transient_node>(
            net, transient_config(), discovery::static_seeds{}, role(node_role::transient, enclave)));
        auto& log = detached.emplace_back();
        auto& mine = got.emplace_back();
        t->on_event([&log, &mine](auto const& e) {
            if (auto const* d = std::get_if<attach::detached>(&e))
                log.push_back(*d);
            if (auto const* p = std::get_if<attach::published>(&e))
                mine.push_back(*p);
        });
        t->start();
        t->join(first_substrate);
        return *t;
    }

    static endpoint stream_address(substrate_node& s) { return s.local_endpoint(wire::channel::stream); }

    static std::optional<node_id> parent(transient_node& t)
    {
        auto const& a = t.engine<attach::transient>().attached();
        return a ? std::optional<node_id>(a->id) : std::nullopt;
    }
};

TEST(Attach, ATransientAttachesToTheSubstrateItWasGivenAndBothSideSeeIt)
{
    world w{1};
    auto& a = w.add_substrate();
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    EXPECT_EQ(world::parent(t), a.id());
    EXPECT_EQ(t.hierarchy().parent(), a.id()) << "the engine records the attachment in the hierarchy policy";
    ASSERT_EQ(a.engine<attach::substrate>().children().size(), 1u);
    EXPECT_EQ(a.engine<attach::substrate>().children()[0].id, t.id());
    EXPECT_EQ(t.engine<attach::transient>().known_substrates().find(a.id())->address, world::stream_address(a));
    // It stays attached: heartbeats keep both sides' view of the link.
    w.net.advance(30s);
    EXPECT_EQ(world::parent(t), a.id());
    EXPECT_EQ(a.engine<attach::substrate>().children().size(), 1u);
    EXPECT_EQ(a.engine<attach::substrate>().stats().children_timed_out, 0u);
}

TEST(Attach, AFullSubstrateSaysGoodbyeNamingAnotherAndTheTransientAttachesThere)
{
    world w{2};
    auto& a = w.add_substrate(1);
    auto& b = w.add_substrate(100);
    w.net.advance(5s); // the mesh forms; each substrate announces itself to the other
    ASSERT_TRUE(a.engine<attach::substrate>().known_substrates().find(b.id()));
    auto& first = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    auto& second = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    EXPECT_EQ(world::parent(first), a.id());
    EXPECT_EQ(world::parent(second), b.id()) << "sent on by the full substrate's goodbye";
    EXPECT_EQ(a.engine<attach::substrate>().children().size(), 1u) << "never above the cap";
    EXPECT_EQ(a.engine<attach::substrate>().stats().refused_full, 1u);
    EXPECT_EQ(second.engine<attach::transient>().stats().goodbyes, 1u);
}

TEST(Attach, AShutdownMovesEveryChildInUnderASecond)
{
    world w{3};
    auto& a = w.add_substrate();
    auto& b = w.add_substrate();
    w.net.advance(5s);
    for (int i = 0; i < 5; ++i)
        w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    for (auto& t : w.transients)
        ASSERT_EQ(world::parent(*t), a.id());
    a.with_engine<attach::substrate>([](auto& s, auto& ctx) { s.shutdown(ctx); });
    time_point const said = w.net.now();
    std::optional<duration> all_moved;
    while (!all_moved && w.net.now() - said < 5s) {
        w.net.advance(10ms);
        bool moved = true;
        for (auto& t : w.transients)
            moved = moved && world::parent(*t) == b.id();
        if (moved)
            all_moved = w.net.now() - said;
    }
    ASSERT_TRUE(all_moved) << "every child reached the alternative";
    EXPECT_LT(*all_moved, 1s);
    EXPECT_EQ(b.engine<attach::substrate>().children().size(), 5u);
    EXPECT_TRUE(a.engine<attach::substrate>().children().empty());
}

TEST(Attach, AChildOfACrashedSubstrateMovesToOneItLearntFromItsWelcome)
{
    world w{4};
    auto& a = w.add_substrate();
    auto& b = w.add_substrate();
    w.net.advance(5s);
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    ASSERT_EQ(world::parent(t), a.id());
    w.net.crash(a.local_endpoint());
    w.net.advance(10s);
    EXPECT_EQ(world::parent(t), b.id()) << "it learnt b from a's welcome";
    EXPECT_EQ(t.engine<attach::transient>().stats().parents_lost, 1u) << "the reset stream told it, once";
}

TEST(Attach, WithEverySubstrateGoneItRetriesWithGrowingBackoffAndAttachesWhenOneReturns)
{
    world w{5};
    auto& a = w.add_substrate();
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    ASSERT_EQ(world::parent(t), a.id());
    w.net.crash(a.local_endpoint());
    w.net.advance(40s);
    EXPECT_FALSE(world::parent(t));
    auto const& rounds = w.detached.front();
    ASSERT_GE(rounds.size(), 3u);
    for (std::size_t i = 1; i < rounds.size(); ++i)
        EXPECT_GT(rounds[i].retry_in, rounds[i - 1].retry_in) << "the wait grows, round " << i;
    for (auto const& r : rounds)
        EXPECT_LE(r.retry_in, 72s) << "never past 60 s plus its jitter";
    w.net.restart(a.local_endpoint());
    w.net.advance(70s);
    EXPECT_EQ(world::parent(t), a.id()) << "attached again without a restart of its own";
}

TEST(Attach, AGoodbyeFromAnyoneButItsSubstrateIsIgnored)
{
    world w{6};
    auto& a = w.add_substrate();
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    ASSERT_EQ(world::parent(t), a.id());
    // Another node opens a stream to the transient and says goodbye on it.
    auto& forger = w.add_substrate();
    forger.with_engine<attach::substrate>([&](auto&, auto& ctx) {
        ctx.send(t.local_endpoint(wire::channel::stream), attach::at_goodbye{attach::goodbye_reason::shutdown, {}});
        ctx.send(t.local_endpoint(wire::channel::stream), attach::at_welcome{});
    });
    w.net.advance(2s);
    EXPECT_EQ(world::parent(t), a.id());
    EXPECT_EQ(t.engine<attach::transient>().stats().ignored, 2u);
    EXPECT_EQ(t.engine<attach::transient>().stats().goodbyes, 0u);
}

TEST(Attach, AHelloStormBeyondTheCapGetsGoodbyesNotState)
{
    world w{7};
    auto& a = w.add_substrate(5);
    for (int i = 0; i < 40; ++i)
        w.add_transient(world::stream_address(a));
    w.net.advance(3s);
    auto const& s = a.engine<attach::substrate>();
    EXPECT_EQ(s.children().size(), 5u);
    EXPECT_GE(s.stats().refused_full, 35u);
    std::size_t attached = 0;
    for (auto& t : w.transients)
        attached += world::parent(*t) ? 1 : 0;
    EXPECT_EQ(attached, 5u);
}

TEST(Attach, ThreeUnansweredHeartbeatsEndAnAttachmentWhoseStreamStillLooksOpen)
{
    // A half-open TCP connection never resets: only the heartbeats notice.
    // Driven without a node, so nothing but the engine's own timers acts.
    using ctx_type = engine_context_double<attach::transient>;
    ctx_type ctx;
    ctx.tier = role(node_role::transient);
    attach::transient_config cfg;
    cfg.heartbeat_interval = 1s;
    attach::transient engine{cfg};
    endpoint const substrate = endpoint::v4(10, 0, 0, 1, 7000).on(transport_protocol::tcp);
    engine.start(ctx);
    engine.add_candidate(ctx, substrate);
    ASSERT_EQ(ctx.sent_of<attach::at_hello>().size(), 1u);
    ctx.deliver(engine, substrate, node_id::from_seed(1), attach::at_welcome{});
    ASSERT_TRUE(engine.attached());
    EXPECT_EQ(ctx.tier.parent(), node_id::from_seed(1));

    // Answered pings keep it.
    for (int i = 0; i < 5; ++i) {
        ctx.advance(engine, 1s);
        auto const pings = ctx.sent_of<attach::at_ping>();
        ASSERT_FALSE(pings.empty());
        ctx.deliver(engine, substrate, node_id::from_seed(1), attach::at_pong{pings.back().second.nonce, {}});
    }
    EXPECT_TRUE(engine.attached());
    // Unanswered ones end it after three, and the stream is closed.
    ctx.advance(engine, 4s);
    EXPECT_FALSE(engine.attached());
    EXPECT_FALSE(ctx.tier.parent());
    EXPECT_EQ(engine.stats().heartbeat_losses, 1u);
    EXPECT_EQ(engine.stats().parents_lost, 1u);
    EXPECT_EQ(ctx.closed_streams, std::vector<endpoint>{substrate});
    EXPECT_EQ(ctx.events_of<link_down>().size(), 1u);
}

std::vector<std::byte> text(std::string const& s)
{
    std::vector<std::byte> b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}

/// How many times each (origin, number) was delivered in `log`.
std::map<std::pair<node_id, std::uint64_t>, int> counts(std::vector<attach::published> const& log)
{
    std::map<std::pair<node_id, std::uint64_t>, int> c;
    for (auto const& p : log)
        ++c[{p.origin, p.seq}];
    return c;
}

TEST(Attach, PublicationsReachEveryNodeOnceAndAreAcknowledged)
{
    world w{9};
    for (int i = 0; i < 3; ++i)
        w.add_substrate();
    w.net.advance(5s);
    for (int i = 0; i < 6; ++i)
        w.add_transient(world::stream_address(*w.substrates[static_cast<std::size_t>(i % 3)]));
    w.net.advance(3s);
    for (auto& t : w.transients)
        ASSERT_TRUE(world::parent(*t));
    std::set<std::pair<node_id, std::uint64_t>> all;
    for (int round = 0; round < 20; ++round) {
        for (auto& t : w.transients)
            EXPECT_FALSE(t->with_engine<attach::transient>(
                [&](auto& e, auto& ctx) { return e.publish(ctx, text("t" + std::to_string(round))); }));
        for (auto& s : w.substrates)
            EXPECT_FALSE(s->with_engine<attach::substrate>(
                [&](auto& e, auto& ctx) { return e.publish(ctx, text("s" + std::to_string(round))); }));
        w.net.advance(100ms);
    }
    w.net.advance(5s);
    for (auto const& log : w.got)
        for (auto const& p : log)
            all.insert({p.origin, p.seq});
    EXPECT_EQ(all.size(), 9u * 20u) << "every publication of 9 publishers reached someone";
    for (std::size_t n = 0; n < w.got.size(); ++n) {
        bool const is_transient = n >= w.substrates.size();
        node_id const self = is_transient ? w.transients[n - w.substrates.size()]->id() : w.substrates[n]->id();
        auto const c = counts(w.got[n]);
        for (auto const& key : all) {
            int const expected = is_transient && key.first == self ? 0 : 1; // a transient's own come not back
            auto const it = c.find(key);
            EXPECT_EQ(it == c.end() ? 0 : it->second, expected) << "node " << n;
        }
    }
    for (auto& t : w.transients) {
        EXPECT_EQ(t->engine<attach::transient>().unacknowledged(), 0u);
        EXPECT_EQ(t->engine<attach::transient>().stats().publications_acknowledged, 20u);
    }
}

TEST(Attach, NothingPublishedIsLostWhenSubstratesShutDownOrCrashMidStream)
{
    world w{10};
    for (int i = 0; i < 4; ++i)
        w.add_substrate();
    w.net.advance(5s);
    auto& a = *w.substrates[0];
    auto& b = *w.substrates[1];
    auto& publisher = w.add_transient(world::stream_address(a));
    auto& listener = w.add_transient(world::stream_address(b));
    w.net.advance(3s);
    ASSERT_EQ(world::parent(publisher), a.id());
    ASSERT_EQ(world::parent(listener), b.id());
    std::uint32_t sent = 0;
    auto publish_for = [&](duration d) {
        for (time_point const end = w.net.now() + d; w.net.now() < end; w.net.advance(50ms)) {
            ++sent;
            ASSERT_FALSE(publisher.with_engine<attach::transient>(
                [&](auto& e, auto& ctx) { return e.publish(ctx, text("line " + std::to_string(sent))); }));
        }
    };
    publish_for(3s);
    a.with_engine<attach::substrate>([](auto& s, auto& ctx) { s.shutdown(ctx); }); // the publisher moves
    publish_for(3s);
    w.net.crash(b.local_endpoint()); // the listener's substrate dies
    publish_for(3s);
    auto const now_parent = world::parent(publisher);
    ASSERT_TRUE(now_parent);
    for (auto& s : w.substrates)
        if (s->id() == *now_parent)
            w.net.crash(s->local_endpoint()); // and the publisher's new one
    publish_for(3s);
    w.net.advance(20s);
    EXPECT_EQ(publisher.engine<attach::transient>().unacknowledged(), 0u);
    EXPECT_EQ(publisher.engine<attach::transient>().stats().publications_dropped, 0u);
    auto const c = counts(w.got[w.substrates.size() + 1]);
    std::set<std::uint64_t> seqs;
    for (auto const& [key, n] : c) {
        EXPECT_EQ(n, 1) << "delivered once";
        if (key.first == publisher.id())
            seqs.insert(key.second);
    }
    EXPECT_EQ(seqs.size(), sent) << "every line reached the listener, across two moves of each";
    EXPECT_GE(listener.engine<attach::transient>().stats().parents_lost, 1u);
    auto const& ps = publisher.engine<attach::transient>().stats();
    auto const& ls = listener.engine<attach::transient>().stats();
    // Not vacuous: a publication went twice (unacknowledged when its substrate went), the
    // listener's new substrate resent what it may have missed, and the copies it had were dropped.
    EXPECT_GT(ps.publications_sent, sent);
    std::uint64_t caught_up = 0, incomplete = 0;
    for (auto& sub : w.substrates) {
        caught_up += sub->engine<attach::substrate>().stats().caught_up;
        incomplete += sub->engine<attach::substrate>().stats().catch_up_incomplete;
    }
    EXPECT_GT(caught_up, 0u);
    EXPECT_EQ(incomplete, 0u) << "the log reached back far enough";
    EXPECT_GT(ls.duplicates, 0u);
    EXPECT_EQ(ls.delivered, sent);
}

TEST(Attach, WhileDetachedPublicationsAreKeptAndGoOutOnTheNextAttachment)
{
    world w{11};
    auto& a = w.add_substrate();
    auto& t = w.add_transient(world::stream_address(a));
    w.net.advance(2s);
    ASSERT_EQ(world::parent(t), a.id());
    w.net.crash(a.local_endpoint());
    w.net.advance(3s);
    ASSERT_FALSE(world::parent(t));
    for (int i = 0; i < 5; ++i)
        EXPECT_FALSE(t.with_engine<attach::transient>([&](auto& e, auto& ctx) { return e.publish(ctx, text("kept")); }));
    EXPECT_EQ(t.engine<attach::transient>().unacknowledged(), 5u);
    auto big = std::vector<std::byte>(attach::max_publication_size + 1);
    EXPECT_EQ(t.with_engine<attach::transient>([&](auto& e, auto& ctx) { return e.publish(ctx, big); }),
              errc::message_too_large);
    w.net.restart(a.local_endpoint());
    w.net.advance(20s);
    ASSERT_EQ(world::parent(t), a.id());
    EXPECT_EQ(t.engine<attach::transient>().unacknowledged(), 0u);
    EXPECT_EQ(w.got[0].size(), 5u) << "the substrate delivered all five";
}

TEST(Attach, ASubstrateAcknowledgesOnlyWhatTheMeshTookAndRelaysAResendOnce)
{
    using ctx_type = engine_context_double<attach::substrate>;
    ctx_type ctx;
    ctx.tier = role(node_role::substrate);
    attach::substrate engine;
    engine.start(ctx);
    endpoint const child = endpoint::v4(10, 0, 0, 9, 50000).on(transport_protocol::tcp);
    node_id const child_id = node_id::from_seed(9);
    ctx.deliver(engine, child, child_id, attach::at_hello{"default", 0, 0, {}});
    ASSERT_EQ(engine.children().size(), 1u);

    ctx.broadcast_result = errc::queue_full; // the mesh's queues are full
    ctx.deliver(engine, child, child_id, attach::at_publish{7, text("x")});
    EXPECT_TRUE(ctx.sent_of<attach::at_ack>().empty()) << "not taken, so not acknowledged: the child resends";
    EXPECT_EQ(engine.stats().publications_refused, 1u);

    ctx.broadcast_result = {};
    ctx.deliver(engine, child, child_id, attach::at_publish{7, text("x")});
    ctx.deliver(engine, child, child_id, attach::at_publish{7, text("x")}); // its ack was lost: a second resend
    EXPECT_EQ(ctx.sent_of<attach::at_ack>().size(), 2u);
    EXPECT_EQ(engine.stats().publications_relayed, 1u);
    EXPECT_EQ(engine.stats().publications_repeated, 1u);
    EXPECT_EQ(ctx.broadcasts.size(), 2u) << "the refused attempt and the one taken; none for the repeat";
    auto const mesh = wire::decode<attach::publication>(ctx.broadcasts.back());
    ASSERT_TRUE(mesh);
    EXPECT_EQ(mesh->origin, child_id) << "the mesh carries the child as the publisher, not the substrate";
    EXPECT_EQ(mesh->seq, 7u);
    EXPECT_EQ(ctx.events_of<attach::published>().size(), 1u);
    EXPECT_TRUE(ctx.sent_of<attach::at_deliver>().empty()) << "never sent back to its publisher";

    // Oversized, or from a stream that is no child: dropped, counted, unacknowledged.
    ctx.deliver(engine, child, child_id, attach::at_publish{8, std::vector<std::byte>(attach::max_publication_size + 1)});
    ctx.deliver(engine, endpoint::v4(10, 0, 0, 66, 1).on(transport_protocol::tcp), node_id::from_seed(66),
                attach::at_publish{1, text("forged")});
    EXPECT_EQ(engine.stats().publications_oversized, 1u);
    EXPECT_EQ(engine.stats().not_a_child, 1u);
    EXPECT_EQ(ctx.sent_of<attach::at_ack>().size(), 2u);
}

TEST(Attach, TheSameSeedGivesTheSameTrace)
{
    auto run = [] {
        world w{8};
        auto& a = w.add_substrate(2);
        w.add_substrate();
        w.net.advance(5s);
        for (int i = 0; i < 4; ++i)
            w.add_transient(world::stream_address(a));
        w.net.advance(5s);
        a.with_engine<attach::substrate>([](auto& s, auto& ctx) { s.shutdown(ctx); });
        w.net.advance(5s);
        return w.net.trace_hash();
    };
    EXPECT_EQ(run(), run());
}

} // namespace

// -- choosing by latency, and moving ----------------------------------------

namespace migration {

/// Two substrates, A and B, as a lone transient engine sees them: their records, and RTTs the test sets.
struct two_substrates {
    using ctx_type = engine_context_double<attach::transient>;
    ctx_type ctx;
    attach::transient engine;
    node_id const a_id = node_id::from_seed(1), b_id = node_id::from_seed(2);
    endpoint const a_stream = endpoint::v4(10, 0, 0, 1, 7000).on(transport_protocol::tcp);
    endpoint const b_stream = endpoint::v4(10, 0, 0, 2, 7000).on(transport_protocol::tcp);
    endpoint const a_probe = endpoint::v4(10, 0, 0, 1, 7000), b_probe = endpoint::v4(10, 0, 0, 2, 7000);
    /// RTT of each substrate now, by id; `answers_hello` false: B never answers a hello.
    std::function<duration(node_id const&)> rtt = [](node_id const&) { return duration(50ms); };
    std::size_t read = 0;
    struct due_reply {
        time_point at;
        std::function<void()> deliver;
    };
    std::vector<due_reply> due;

    static attach::transient_config config()
    {
        attach::transient_config c;
        c.heartbeat_interval = 1s;
        c.attach_timeout = 2s;
        c.evaluation_interval = 10s;
        c.migration_overlap = 2s;
        return c;
    }

    two_substrates() : engine(config())
    {
        ctx.tier = role(node_role::transient);
        engine.start(ctx);
        engine.add_candidate(ctx, a_stream);
        attach::at_welcome w;
        w.substrates = {record(a_id, a_stream, a_probe), record(b_id, b_stream, b_probe)};
        ctx.deliver(engine, a_stream, a_id, w);
    }

    static attach::substrate_record record(node_id id, endpoint stream, endpoint probe)
    {
        attach::substrate_record r;
        r.id = id;
        r.address = stream;
        r.probe_address = probe;
        r.enclave = "default";
        r.max_children = 100;
        r.version = 1;
        return r;
    }

    /// Runs for `d` in 5 ms steps; pings and probes are answered after their substrate's RTT.
    void run(duration d)
    {
        for (time_point const end = ctx.clock + d; ctx.clock < end;) {
            ctx.advance(engine, 5ms);
            for (; read < ctx.outbox.size(); ++read) {
                auto const& s = ctx.outbox[read];
                if (auto const* p = std::get_if<attach::at_ping>(&s.message)) {
                    node_id const id = s.to == a_stream ? a_id : b_id;
                    auto const nonce = p->nonce;
                    endpoint const to = s.to;
                    due.push_back({ctx.clock + rtt(id), [this, id, nonce, to] {
                                       ctx.deliver(engine, to, id, attach::at_pong{nonce, {}});
                                   }});
                } else if (auto const* q = std::get_if<attach::at_probe>(&s.message)) {
                    node_id const id = s.to == a_probe ? a_id : b_id;
                    auto const nonce = q->nonce;
                    endpoint const to = s.to;
                    due.push_back({ctx.clock + rtt(id), [this, id, nonce, to] {
                                       ctx.deliver(engine, to, id, attach::at_probe_reply{nonce, {}, 50});
                                   }});
                }
            }
            for (std::size_t i = 0; i < due.size();) {
                if (due[i].at <= ctx.clock) {
                    auto f = std::move(due[i].deliver);
                    due.erase(due.begin() + static_cast<std::ptrdiff_t>(i));
                    f();
                } else {
                    ++i;
                }
            }
        }
    }

    std::size_t hellos_to_b() const
    {
        std::size_t n = 0;
        for (auto const& [to, m] : ctx.sent_of<attach::at_hello>())
            n += to == b_stream ? 1 : 0;
        return n;
    }
};

TEST(Migration, AFasterSubstrateMustWinTwoCyclesAfterTheCooldownThenTheOldOneOverlapsTheNew)
{
    two_substrates t;
    t.rtt = [&](node_id const& id) { return id == t.a_id ? duration(100ms) : duration(20ms); };
    // Cycle 1 (10 s) is the cooldown, cycle 2 starts B's streak, cycle 3 moves.
    t.run(25s);
    EXPECT_EQ(t.hellos_to_b(), 0u) << "no move before the rule holds";
    t.run(5s);
    ASSERT_EQ(t.hellos_to_b(), 1u) << "B won cycles 2 and 3";
    EXPECT_TRUE(t.engine.migrating());
    EXPECT_EQ(t.engine.attached()->id, t.a_id) << "still on A until B welcomes";

    t.ctx.deliver(t.engine, t.b_stream, t.b_id, attach::at_welcome{});
    EXPECT_EQ(t.engine.attached()->id, t.b_id);
    EXPECT_EQ(t.ctx.tier.parent(), t.b_id);
    // In the overlap both deliver; the application sees each publication once.
    node_id const origin = node_id::from_seed(40);
    t.ctx.deliver(t.engine, t.a_stream, t.a_id, attach::at_deliver{origin, 1, text("x")});
    t.ctx.deliver(t.engine, t.b_stream, t.b_id, attach::at_deliver{origin, 1, text("x")});
    t.ctx.deliver(t.engine, t.b_stream, t.b_id, attach::at_deliver{origin, 2, text("y")});
    EXPECT_EQ(t.ctx.events_of<attach::published>().size(), 2u);
    EXPECT_EQ(t.engine.stats().duplicates, 1u);
    EXPECT_TRUE(t.ctx.closed_streams.empty()) << "A stays open during the overlap";

    t.run(2100ms);
    EXPECT_FALSE(t.engine.migrating());
    EXPECT_EQ(t.ctx.closed_streams, std::vector<endpoint>{t.a_stream});
    EXPECT_EQ(t.engine.stats().migrations, 1u);
    auto const moves = t.ctx.events_of<attach::migrated>();
    ASSERT_EQ(moves.size(), 1u);
    EXPECT_EQ(moves[0].from, t.a_id);
    EXPECT_EQ(moves[0].to, t.b_id);
    EXPECT_EQ(moves[0].from_rtt, 100ms);
    EXPECT_EQ(moves[0].to_rtt, 20ms);
    // After the overlap only B counts: a late delivery from A is ignored.
    t.ctx.deliver(t.engine, t.a_stream, t.a_id, attach::at_deliver{origin, 3, text("z")});
    EXPECT_EQ(t.ctx.events_of<attach::published>().size(), 2u);
}

TEST(Migration, ASubstrateOnlyAFifthFasterNeverWinsAndNeitherDoesJitter)
{
    two_substrates t;
    detail::rng jitter{77};
    // A 50 ms, B 42 ms (16 % faster), both with up to 30 ms of queueing on every sample: 100 cycles, no move.
    t.rtt = [&](node_id const& id) {
        return (id == t.a_id ? duration(50ms) : duration(42ms)) + duration(jitter.between(0, 30'000'000));
    };
    t.run(1000s);
    EXPECT_EQ(t.engine.stats().migrations_started, 0u);
    EXPECT_EQ(t.engine.attached()->id, t.a_id);
    EXPECT_GE(t.engine.prober().stats().replies, 99u) << "B was measured every cycle";
}

TEST(Migration, AMoveRefusedOrUnansweredKeepsTheOldAttachment)
{
    for (bool refuse : {true, false}) {
        two_substrates t;
        t.rtt = [&](node_id const& id) { return id == t.a_id ? duration(100ms) : duration(20ms); };
        t.run(30s);
        ASSERT_EQ(t.hellos_to_b(), 1u);
        if (refuse)
            t.ctx.deliver(t.engine, t.b_stream, t.b_id, attach::at_goodbye{attach::goodbye_reason::full, {}});
        else
            t.run(2100ms); // the hello times out
        EXPECT_EQ(t.engine.stats().migrations_failed, 1u) << (refuse ? "full" : "timeout");
        EXPECT_FALSE(t.engine.migrating());
        EXPECT_EQ(t.engine.attached()->id, t.a_id);
        EXPECT_EQ(t.ctx.tier.parent(), t.a_id);
        EXPECT_EQ(t.ctx.closed_streams, std::vector<endpoint>{t.b_stream}) << "only the attempt's stream";
        EXPECT_TRUE(t.ctx.events_of<link_down>().empty());
        // A is still served: heartbeats go on and it delivers.
        auto const pings = t.ctx.sent_of<attach::at_ping>().size();
        t.run(3s);
        EXPECT_GT(t.ctx.sent_of<attach::at_ping>().size(), pings);
        EXPECT_TRUE(t.engine.attached());
    }
}

TEST(Migration, TheOldSubstrateDyingInTheOverlapCompletesTheMoveAndTheNewOneDyingUndoesIt)
{
    for (bool old_dies : {true, false}) {
        two_substrates t;
        t.rtt = [&](node_id const& id) { return id == t.a_id ? duration(100ms) : duration(20ms); };
        t.run(30s);
        ASSERT_EQ(t.hellos_to_b(), 1u);
        t.ctx.deliver(t.engine, t.b_stream, t.b_id, attach::at_welcome{});
        ASSERT_TRUE(t.engine.migrating());
        t.engine.on_event(t.ctx, stream_ended{old_dies ? t.a_stream : t.b_stream, {}, 0});
        EXPECT_FALSE(t.engine.migrating());
        if (old_dies) {
            EXPECT_EQ(t.engine.attached()->id, t.b_id);
            EXPECT_EQ(t.engine.stats().migrations, 1u);
        } else {
            EXPECT_EQ(t.engine.attached()->id, t.a_id) << "back on A, which never closed";
            EXPECT_EQ(t.ctx.tier.parent(), t.a_id);
            EXPECT_EQ(t.engine.stats().migrations_failed, 1u);
        }
        EXPECT_EQ(t.engine.stats().parents_lost, 0u) << "never without an attachment";
    }
}

TEST(Migration, AnAckOrDeliveryFromAnyoneButItsAttachmentsChangesNothing)
{
    two_substrates t;
    node_id const origin = node_id::from_seed(50);
    std::vector<std::byte> const line = text("one line");
    ASSERT_FALSE(t.engine.publish(t.ctx, line));
    auto const seq = t.ctx.sent_of<attach::at_publish>().back().second.seq;
    // B is known (named in A's welcome) but not attached; a stranger is not even known.
    endpoint const stranger = endpoint::v4(6, 6, 6, 6, 6).on(transport_protocol::tcp);
    t.ctx.deliver(t.engine, t.b_stream, t.b_id, attach::at_ack{seq});
    t.ctx.deliver(t.engine, stranger, origin, attach::at_ack{seq});
    EXPECT_EQ(t.engine.unacknowledged(), 1u) << "only its substrate may acknowledge";
    t.ctx.deliver(t.engine, t.b_stream, t.b_id, attach::at_deliver{origin, 7, line});
    t.ctx.deliver(t.engine, stranger, origin, attach::at_deliver{origin, 8, line});
    EXPECT_TRUE(t.ctx.events_of<attach::published>().empty()) << "only its substrate may deliver";
    EXPECT_EQ(t.engine.stats().ignored, 4u);
    t.ctx.deliver(t.engine, t.a_stream, t.a_id, attach::at_ack{seq});
    EXPECT_EQ(t.engine.unacknowledged(), 0u);
}

TEST(Migration, AForgedProbeReplyMeasuresNothing)
{
    two_substrates t;
    t.rtt = [&](node_id const&) { return duration(60ms); };
    t.run(10ms); // the probes sent on the welcome are out, their answers not yet
    auto const probes = t.ctx.sent_of<attach::at_probe>();
    ASSERT_FALSE(probes.empty());
    // Wrong nonce from the right address, right nonce from another address, a replay.
    t.ctx.deliver(t.engine, t.b_probe, t.b_id, attach::at_probe_reply{probes[0].second.nonce + 1, {}, 50});
    t.ctx.deliver(t.engine, endpoint::v4(6, 6, 6, 6, 6), t.b_id, attach::at_probe_reply{probes[0].second.nonce, {}, 50});
    EXPECT_EQ(t.engine.prober().stats().unmatched_replies, 2u);
    EXPECT_FALSE(t.engine.prober().measured(t.b_id, t.ctx.clock, 1h));
    t.ctx.deliver(t.engine, t.b_probe, t.b_id, attach::at_probe_reply{probes[0].second.nonce, {}, 50});
    EXPECT_TRUE(t.engine.prober().measured(t.b_id, t.ctx.clock, 1h));
    t.ctx.deliver(t.engine, t.b_probe, t.b_id, attach::at_probe_reply{probes[0].second.nonce, {}, 50});
    EXPECT_EQ(t.engine.prober().stats().unmatched_replies, 3u) << "a replay";
}

/// Hosts on a line, 1 ms of one-way latency per unit of distance, plus 2 ms: where each endpoint's host sits.
struct line_map {
    std::unordered_map<endpoint, double> place; // by datagram address
    duration operator()(endpoint const& a, endpoint const& b, time_point) const
    {
        auto at = [&](endpoint const& e) {
            auto it = place.find(e.on(transport_protocol::udp));
            return it == place.end() ? 0.0 : it->second;
        };
        return 2ms + std::chrono::duration_cast<duration>(std::chrono::duration<double, std::milli>(std::fabs(at(a) - at(b))));
    }
};

TEST(Migration, ATransientGivenTheFarthestSubstrateEndsOnTheNearestAndLosesNothingOnTheWay)
{
    world w{21};
    auto map = std::make_shared<line_map>();
    w.net.set_latency_map([map](endpoint const& a, endpoint const& b, time_point t) { return (*map)(a, b, t); });
    for (int i = 0; i < 8; ++i) {
        auto& s = w.add_substrate();
        map->place[s.local_endpoint()] = 10.0 * i; // 0, 10, ..., 70
    }
    w.net.advance(30s); // the substrates learn each other and their coordinates settle
    auto& publisher = w.add_transient(world::stream_address(*w.substrates[3]));
    map->place[publisher.local_endpoint()] = 30;
    auto& mover = w.add_transient(world::stream_address(*w.substrates[0])); // at 68: nearest is substrate 7
    map->place[mover.local_endpoint()] = 68;
    w.net.advance(2s); // both attached: what is published from now on is owed to both
    ASSERT_TRUE(world::parent(publisher) && world::parent(mover));
    std::uint32_t sent = 0;
    for (time_point const end = w.net.now() + 300s; w.net.now() < end; w.net.advance(200ms)) {
        ++sent;
        ASSERT_FALSE(publisher.with_engine<attach::transient>(
            [&](auto& e, auto& ctx) { return e.publish(ctx, text("line " + std::to_string(sent))); }));
    }
    w.net.advance(10s);
    EXPECT_EQ(world::parent(mover), w.substrates[7]->id()) << "the nearest substrate, 4 ms away";
    auto const& s = mover.engine<attach::transient>().stats();
    EXPECT_GE(s.migrations, 1u);
    EXPECT_EQ(s.flaps, 0u);
    EXPECT_EQ(s.migrations_failed, 0u);
    // Every line reached the mover once, across its moves.
    auto const c = counts(w.got[w.substrates.size() + 1]);
    std::set<std::uint64_t> seqs;
    for (auto const& [key, n] : c) {
        EXPECT_EQ(n, 1);
        if (key.first == publisher.id())
            seqs.insert(key.second);
    }
    EXPECT_EQ(seqs.size(), sent);
    // The publisher, at 30, stays where it was given: substrate 3 is the nearest.
    EXPECT_EQ(world::parent(publisher), w.substrates[3]->id());
    EXPECT_EQ(publisher.engine<attach::transient>().stats().migrations_started, 0u);
}

} // namespace migration

TEST(Attach, AFullAnnounceOfTheLargestSignedRecordsFitsOneSecureDatagram)
{
    // The largest record: IPv6 addresses, a 64-byte enclave name, every counter at its maximum, a signature.
    attach::substrate_record big;
    big.id = node_id::from_seed(1);
    big.address = endpoint::parse("[2001:db8::1]:65535")->on(transport_protocol::tcp);
    big.probe_address = *endpoint::parse("[2001:db8::1]:65535");
    big.enclave = std::string(attach::max_enclave_length, 'e');
    big.children = big.max_children = ~std::uint32_t{0};
    big.version = ~std::uint64_t{0};
    big.signature.emplace().fill(0xff);
    std::vector<std::byte> one;
    wire::encode(big, one);
    EXPECT_EQ(one.size(), 260u);
    attach::at_announce a;
    a.records.assign(attach::substrate_config{}.announce_bytes / one.size(), big);
    EXPECT_EQ(a.records.size(), 4u);
    std::vector<std::byte> datagram;
    attach::attach_messages::encode(wire::envelope{attach::at_announce::wire_id, node_id::from_seed(2), ~std::uint64_t{0}, 255},
                                    a, datagram);
    EXPECT_EQ(datagram.size(), 1087u);
    EXPECT_LE(datagram.size(), 1200u - 25u) << "what a secure session leaves of meshkit's 1,200-byte datagrams";
    // A probe and its answer are the same size: no reflection gain for a forged source.
    std::vector<std::byte> probe, reply;
    attach::attach_messages::encode(wire::envelope{attach::at_probe::wire_id, node_id::from_seed(2), 1, 0},
                                    attach::at_probe{~std::uint64_t{0}, {}, 0}, probe);
    attach::attach_messages::encode(wire::envelope{attach::at_probe_reply::wire_id, node_id::from_seed(2), 1, 0},
                                    attach::at_probe_reply{~std::uint64_t{0}, {}, ~std::uint32_t{0}}, reply);
    EXPECT_EQ(probe.size(), reply.size());
}

TEST(Attach, AMalformedFrameClosesThatAttachmentAndNoOther)
{
    world w{31};
    auto& s = w.add_substrate();
    auto& good = w.add_transient(world::stream_address(s));
    w.net.advance(2s);
    ASSERT_EQ(s.engine<attach::substrate>().children().size(), 1u);
    // A peer that attaches, then sends bytes that are no message at all.
    sim::stream_transport evil(w.net, w.net.next_endpoint());
    std::vector<std::byte> hello;
    attach::attach_messages::encode(wire::envelope{attach::at_hello::wire_id, node_id::from_seed(66), 1, 0},
                                    attach::at_hello{"default", 0, 0, {}}, hello);
    std::vector<std::byte> const garbage(40, std::byte{0xee});
    std::vector<stream_event> seen;
    evil.on_stream([&](stream_event const& e) {
        seen.push_back(e);
        if (auto const* c = std::get_if<stream_connected>(&e)) {
            ASSERT_FALSE(evil.send(c->id, hello));
            ASSERT_FALSE(evil.send(c->id, garbage));
        }
    });
    (void)evil.connect(world::stream_address(s));
    w.net.advance(2s);
    EXPECT_EQ(s.engine<attach::substrate>().children().size(), 1u) << "the broken child is gone, the good one kept";
    EXPECT_EQ(s.engine<attach::substrate>().children()[0].id, good.id());
    EXPECT_EQ(s.engine<attach::substrate>().stats().children_left, 1u);
    EXPECT_GE(s.stats().decode_errors, 1u);
    bool closed = false;
    for (auto const& e : seen)
        closed = closed || std::holds_alternative<stream_closed>(e);
    EXPECT_TRUE(closed) << "the sender sees its stream closed";
    // The good child still gets what is published.
    ASSERT_FALSE(reference::publish(s, text("still here")));
    w.net.advance(1s);
    ASSERT_EQ(w.got[1].size(), 1u);
    EXPECT_EQ(w.got[1][0].data, text("still here"));
}
