// The exemplars quoted in docs/concepts/*.md. They live in a test so they
// always compile; each concept is also checked against real models (positive)
// and near misses (negative).
#include <meshkit/concepts/clock.hpp>
#include <meshkit/concepts/engine.hpp>
#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/concepts/aggregator.hpp>
#include <meshkit/concepts/hierarchy_strategy.hpp>
#include <meshkit/concepts/metrics_sink.hpp>
#include <meshkit/concepts/node_policies.hpp>
#include <meshkit/concepts/peer_cache.hpp>
#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/concepts/transport.hpp>

#include <meshkit/discovery/bootstrap_cache.hpp>
#include <meshkit/discovery/static_seeds.hpp>
#include <meshkit/error.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/hierarchy/flat.hpp>
#include <meshkit/topology/no_aggregation.hpp>
#include <meshkit/topology/summary_aggregator.hpp>
#include <meshkit/metrics/in_memory_metrics.hpp>
#include <meshkit/metrics/null_metrics.hpp>
#include <meshkit/node_policies.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/sim/virtual_clock.hpp>
#include <meshkit/storage/error.hpp>
#include <meshkit/storage/memory_store.hpp>

#include <gtest/gtest.h>
#include <support/recording_context.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <map>

namespace exemplar {

//[concept_transport
class transport {
public:
    meshkit::endpoint local_endpoint() const { return self_; }
    std::error_code send(meshkit::endpoint const& to, std::span<std::byte const> datagram);
    void on_receive(meshkit::receive_handler handler) { handler_ = std::move(handler); }
    std::size_t max_datagram_size() const { return 1200; }

private:
    meshkit::endpoint self_;
    meshkit::receive_handler handler_;
};
//]

//[concept_clock
class clock {
public:
    meshkit::time_point now() const;
    meshkit::timer_handle set_timer(meshkit::time_point at, meshkit::timer_callback cb);
    void cancel(meshkit::timer_handle h);
};
//]

//[concept_discovery_strategy
class dns_seeds {
public:
    std::vector<meshkit::endpoint> candidates(std::size_t n)
    {
        std::vector<meshkit::endpoint> out(resolved_.begin(), resolved_.begin() + std::min(n, resolved_.size()));
        return out;
    }
    void report(meshkit::endpoint const&, meshkit::contact_outcome) {}

private:
    std::vector<meshkit::endpoint> resolved_;
};
//]

//[concept_hierarchy_strategy
/// A member at a fixed level that attaches to the nearest parent, moving only for a clear gain (REPRAM's rule).
class nearest_parent {
public:
    meshkit::node_role role() const { return meshkit::node_role::member; }
    std::uint8_t level() const { return 1; }
    std::optional<meshkit::node_id> parent() const { return parent_; }

    /// A move must cut the latency by more than 25 %, or reach our own enclave.
    bool justifies_move(std::optional<meshkit::attachment_option> const& current,
                        meshkit::attachment_option const& candidate) const
    {
        if (!current)
            return true;
        if (candidate.same_enclave && !current->same_enclave)
            return true;
        return candidate.rtt < current->rtt * 3 / 4;
    }

    void attach(meshkit::node_id const& id) { parent_ = id; }
    void detach() { parent_.reset(); }

private:
    std::optional<meshkit::node_id> parent_;
};
//]

//[concept_aggregator
/// Folds readings that are one little-endian 32-bit count each into their sum: a cell reports one total.
class count_aggregator {
public:
    bool fold(meshkit::topology::upward_item const& item)
    {
        if (item.payload.size() != 4)
            return false; // not ours: it goes up as it is
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i)
            v |= static_cast<std::uint32_t>(item.payload[i]) << (8 * i);
        total_ += v;
        readings_ += item.readings;
        ++pending_;
        return true;
    }
    std::size_t pending() const { return pending_; }
    meshkit::topology::aggregate_summary take_summary()
    {
        meshkit::topology::aggregate_summary s;
        for (std::size_t i = 0; i < 4; ++i)
            s.payload.push_back(static_cast<std::byte>(total_ >> (8 * i)));
        s.readings = readings_;
        total_ = readings_ = 0;
        pending_ = 0;
        return s;
    }

private:
    std::uint32_t total_ = 0;
    std::uint32_t readings_ = 0;
    std::size_t pending_ = 0;
};
//]

//[concept_peer_cache
/// The smallest peer cache: a vector, newest version wins, nothing evicted but the silent.
class vector_cache {
public:
    std::vector<meshkit::endpoint> candidates(std::size_t n)
    {
        std::vector<meshkit::endpoint> out;
        for (auto const& p : peers_)
            if (out.size() < n && !p.addresses.empty())
                out.push_back(p.addresses.back());
        return out;
    }
    void report(meshkit::endpoint const&, meshkit::contact_outcome) {}

    meshkit::discovery::cached_peer const* find(meshkit::node_id const& id) const
    {
        auto it = std::find_if(peers_.begin(), peers_.end(), [&](auto const& p) { return p.id == id; });
        return it == peers_.end() ? nullptr : &*it;
    }
    std::vector<meshkit::discovery::cached_peer> const& peers() const { return peers_; }
    bool upsert(meshkit::discovery::cached_peer p, meshkit::time_point now)
    {
        p.last_seen_s = std::max(p.last_seen_s, meshkit::whole_seconds(now));
        p.changed_rev = ++revision_;
        if (auto* e = find_mutable(p.id)) {
            if (p.version <= e->version)
                return false;
            *e = std::move(p);
            return true;
        }
        peers_.push_back(std::move(p));
        return true;
    }
    void erase(meshkit::node_id const& id) { std::erase_if(peers_, [&](auto const& p) { return p.id == id; }); }
    void touch(meshkit::node_id const& id, meshkit::time_point now)
    {
        if (auto* e = find_mutable(id))
            e->last_seen_s = meshkit::whole_seconds(now);
    }
    void record_success(meshkit::node_id const& id, meshkit::endpoint const& at, meshkit::duration, meshkit::time_point now)
    {
        meshkit::discovery::cached_peer p;
        p.id = id;
        p.addresses = {at};
        if (!find(id))
            upsert(p, now);
        touch(id, now);
    }
    void record_public_reachability(meshkit::node_id const& id)
    {
        if (auto* e = find_mutable(id))
            e->publicly_reachable = true;
    }
    void observe_time(meshkit::time_point now) { now_s_ = meshkit::whole_seconds(now); }
    void evict_stale() { std::erase_if(peers_, [&](auto const& p) { return now_s_ - p.last_seen_s > 7200; }); }
    std::uint64_t revision() const { return revision_; }
    std::uint64_t next_revision() { return ++revision_; }

private:
    meshkit::discovery::cached_peer* find_mutable(meshkit::node_id const& id)
    {
        auto it = std::find_if(peers_.begin(), peers_.end(), [&](auto const& p) { return p.id == id; });
        return it == peers_.end() ? nullptr : &*it;
    }

    std::vector<meshkit::discovery::cached_peer> peers_;
    std::uint64_t revision_ = 0;
    std::int64_t now_s_ = 0;
};
//]

//[concept_storage_backend
class map_store {
public:
    std::error_code load(std::string_view key, std::vector<std::byte>& out)
    {
        auto it = data_.find(std::string(key));
        if (it == data_.end()) {
            out.clear();
            return meshkit::storage::errc::not_found;
        }
        out = it->second;
        return {};
    }
    std::error_code store(std::string_view key, std::span<std::byte const> value)
    {
        data_[std::string(key)].assign(value.begin(), value.end());
        return {};
    }
    std::error_code erase(std::string_view key)
    {
        data_.erase(std::string(key));
        return {};
    }

private:
    std::map<std::string, std::vector<std::byte>> data_;
};
//]

//[concept_metrics_sink
struct stdout_metrics {
    void increment(std::string_view name, std::uint64_t n) { std::printf("%.*s += %llu\n", int(name.size()), name.data(), static_cast<unsigned long long>(n)); }
    void set_gauge(std::string_view name, double v) { std::printf("%.*s = %g\n", int(name.size()), name.data(), v); }
    void observe(std::string_view name, double v) { std::printf("%.*s <- %g\n", int(name.size()), name.data(), v); }
};
//]

//[concept_engine
/// Greets every peer it is told about, answers greetings, and counts the answers.
struct hello {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 100;
    std::uint32_t number = 0;
};
struct hello_back {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 101;
    std::uint32_t number = 0;
};
struct greeted {
    meshkit::endpoint by;
};

/// The greeter's run-time settings: it lives beside the engine, like every built-in engine's.
struct greeter_config {
    /// Hellos it answers in all; later ones go unanswered.
    std::uint32_t max_answers = 8;
};

class greeter {
public:
    using messages = meshkit::wire::registry<hello, hello_back>;
    using events = meshkit::type_list<greeted>;
    /// Set on a node as `config.engine<greeter>()`.
    using config_type = greeter_config;

    explicit greeter(greeter_config cfg = {}) : cfg_(cfg) {}

    template <class Ctx>
    void add_candidate(Ctx& ctx, meshkit::endpoint const& peer)
    {
        ctx.send(peer, hello{++sent_});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, meshkit::inbound const& in, hello const& h)
    {
        if (answered_ < cfg_.max_answers) {
            ++answered_;
            ctx.send(in.from, hello_back{h.number});
        }
    }

    template <class Ctx>
    void on_message(Ctx& ctx, meshkit::inbound const& in, hello_back const&)
    {
        ++answers_;
        ctx.emit(greeted{in.from});
    }

    std::uint32_t answers() const { return answers_; }

private:
    greeter_config cfg_;
    std::uint32_t sent_ = 0;
    std::uint32_t answered_ = 0;
    std::uint32_t answers_ = 0;
};
//]

//[engine_reaches_policies
struct where_are_you {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 102;
    std::uint64_t nonce = 0;
};
struct here_i_am {
    static constexpr meshkit::wire::type_id wire_id = meshkit::wire::user_first + 103;
    std::uint64_t nonce = 0;
};

/** Attaches to the nearest candidate, as the hierarchy strategy allows, and remembers it across restarts.

    It measures each candidate's round trip, asks `ctx.hierarchy()` whether
    that justifies leaving the current parent, records the attachment there,
    and keeps the parent in `ctx.storage()` so a restarted node goes back
    to it.
*/
class attacher {
public:
    using messages = meshkit::wire::registry<where_are_you, here_i_am>;
    using events = meshkit::type_list<>;
    static constexpr char const* parent_key = "attacher/parent";

    template <class Ctx>
    void start(Ctx& ctx)
    {
        std::vector<std::byte> stored;
        if (!ctx.storage().load(parent_key, stored) && stored.size() == 32) {
            meshkit::node_id id;
            std::memcpy(id.bytes.data(), stored.data(), 32);
            ctx.hierarchy().attach(id);
        }
    }

    template <class Ctx>
    void add_candidate(Ctx& ctx, meshkit::endpoint const& peer)
    {
        std::uint64_t const nonce = ctx.rng()() | 1;
        asked_[nonce] = ctx.now();
        ctx.send(peer, where_are_you{nonce});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, meshkit::inbound const& in, where_are_you const& m)
    {
        ctx.send(in.from, here_i_am{m.nonce});
    }

    template <class Ctx>
    void on_message(Ctx& ctx, meshkit::inbound const& in, here_i_am const& m)
    {
        auto it = asked_.find(m.nonce);
        if (it == asked_.end())
            return;
        meshkit::attachment_option const candidate{in.header.sender, ctx.now() - it->second};
        asked_.erase(it);
        auto& h = ctx.hierarchy();
        if (!h.justifies_move(current_, candidate))
            return;
        h.attach(candidate.id);
        current_ = candidate;
        (void)ctx.storage().store(parent_key, std::as_bytes(std::span(candidate.id.bytes)));
    }

private:
    std::map<std::uint64_t, meshkit::time_point> asked_;
    std::optional<meshkit::attachment_option> current_;
};
//]

// Near misses: each differs from its concept in one way.
struct transport_send_returns_bool {
    meshkit::endpoint local_endpoint() const;
    bool send(meshkit::endpoint const&, std::span<std::byte const>);
    void on_receive(meshkit::receive_handler);
    std::size_t max_datagram_size() const;
};
struct clock_without_cancel {
    meshkit::time_point now() const;
    meshkit::timer_handle set_timer(meshkit::time_point, meshkit::timer_callback);
};
struct discovery_returning_list {
    std::vector<std::string> candidates(std::size_t);
    void report(meshkit::endpoint const&, meshkit::contact_outcome);
};
struct hierarchy_with_int_role {
    int role() const;
    std::uint8_t level() const;
    std::optional<meshkit::node_id> parent() const;
};
struct cache_without_revisions : dns_seeds {
    meshkit::discovery::cached_peer const* find(meshkit::node_id const&) const;
    std::vector<meshkit::discovery::cached_peer> const& peers() const;
    bool upsert(meshkit::discovery::cached_peer, meshkit::time_point);
    void erase(meshkit::node_id const&);
    void touch(meshkit::node_id const&, meshkit::time_point);
    void record_success(meshkit::node_id const&, meshkit::endpoint const&, meshkit::duration, meshkit::time_point);
    void record_public_reachability(meshkit::node_id const&);
    void observe_time(meshkit::time_point);
    void evict_stale();
};
struct hierarchy_that_cannot_attach {
    meshkit::node_role role() const;
    std::uint8_t level() const;
    std::optional<meshkit::node_id> parent() const;
    bool justifies_move(std::optional<meshkit::attachment_option> const&, meshkit::attachment_option const&) const;
};
struct storage_without_erase {
    std::error_code load(std::string_view, std::vector<std::byte>&);
    std::error_code store(std::string_view, std::span<std::byte const>);
};
struct aggregator_without_summary {
    bool fold(meshkit::topology::upward_item const&);
    std::size_t pending() const;
};
struct metrics_without_histograms {
    void increment(std::string_view, std::uint64_t);
    void set_gauge(std::string_view, double);
};

} // namespace exemplar

// -- positive ----------------------------------------------------------------
static_assert(meshkit::transport<exemplar::transport>);
static_assert(meshkit::transport<meshkit::sim::transport>);
static_assert(meshkit::clock<exemplar::clock>);
static_assert(meshkit::clock<meshkit::sim::virtual_clock>);
static_assert(meshkit::discovery_strategy<exemplar::dns_seeds>);
static_assert(meshkit::discovery_strategy<meshkit::discovery::static_seeds>);
static_assert(meshkit::hierarchy_strategy<exemplar::nearest_parent>);
static_assert(meshkit::peer_cache<exemplar::vector_cache>);
static_assert(meshkit::peer_cache<meshkit::discovery::bootstrap_cache>);
static_assert(!meshkit::peer_cache<meshkit::discovery::static_seeds>, "seeds are no cache");
static_assert(!meshkit::peer_cache<exemplar::cache_without_revisions>);
static_assert(!meshkit::hierarchy_strategy<exemplar::hierarchy_that_cannot_attach>);
static_assert(meshkit::hierarchy_strategy<meshkit::hierarchy::flat>);
static_assert(meshkit::storage_backend<exemplar::map_store>);
static_assert(meshkit::storage_backend<meshkit::storage::memory_store>);
static_assert(meshkit::metrics_sink<exemplar::stdout_metrics>);
static_assert(meshkit::metrics_sink<meshkit::metrics::null_metrics>);
static_assert(meshkit::metrics_sink<meshkit::metrics::in_memory_metrics>);
static_assert(meshkit::aggregator<exemplar::count_aggregator>);
static_assert(meshkit::aggregator<meshkit::topology::no_aggregation>);
static_assert(meshkit::aggregator<meshkit::topology::summary_aggregator>);
static_assert(meshkit::node_policies<meshkit::sim_policies>);
static_assert(meshkit::engine<exemplar::greeter>);
static_assert(meshkit::engine<meshkit::membership::liveness>);

// -- negative ----------------------------------------------------------------
static_assert(!meshkit::transport<exemplar::transport_send_returns_bool>);
static_assert(!meshkit::clock<exemplar::clock_without_cancel>);
static_assert(!meshkit::discovery_strategy<exemplar::discovery_returning_list>);
static_assert(!meshkit::hierarchy_strategy<exemplar::hierarchy_with_int_role>);
static_assert(!meshkit::storage_backend<exemplar::storage_without_erase>);
static_assert(!meshkit::metrics_sink<exemplar::metrics_without_histograms>);
static_assert(!meshkit::aggregator<exemplar::aggregator_without_summary>);
static_assert(!meshkit::node_policies<int>);
static_assert(!meshkit::engine<exemplar::hello>, "a message is not an engine");

namespace {

//[concept_node_policies
struct exemplar_policies : meshkit::sim_policies {
    using discovery = exemplar::dns_seeds;
    using hierarchy = exemplar::nearest_parent;
    using storage = exemplar::map_store;
};
static_assert(meshkit::node_policies<exemplar_policies>);
//]

struct greeter_policies : meshkit::sim_policies {
    using engines = meshkit::type_list<exemplar::greeter>;
};

TEST(ConceptExemplars, AUserEngineRunsInANode)
{
    meshkit::sim::network net{2};
    meshkit::basic_node<greeter_policies> a{net}, b{net};
    std::vector<meshkit::endpoint> greeted_by;
    a.on_event([&](auto const& ev) {
        if (auto const* g = std::get_if<exemplar::greeted>(&ev))
            greeted_by.push_back(g->by);
    });
    a.start();
    b.start();
    a.join(b.local_endpoint());
    a.join(b.local_endpoint());
    net.run_until_idle();
    EXPECT_EQ(a.engine<exemplar::greeter>().answers(), 2u);
    EXPECT_EQ(greeted_by, (std::vector<meshkit::endpoint>{b.local_endpoint(), b.local_endpoint()}));
}

TEST(ConceptExemplars, AUserEngineTakesRunTimeSettingsLikeABuiltInOne)
{
    meshkit::sim::network net{3};
    meshkit::node_config strict;
    strict.engine<exemplar::greeter>().max_answers = 1;
    strict.engine<meshkit::membership::liveness>().min_peers = 9; // a built-in engine's, beside it: untouched by the greeter
    meshkit::node_config copy = strict;                          // settings are values
    copy.engine<exemplar::greeter>().max_answers = 3;
    EXPECT_EQ(strict.engine<exemplar::greeter>().max_answers, 1u);
    EXPECT_EQ(copy.engine<meshkit::membership::liveness>().min_peers, 9u);

    meshkit::basic_node<greeter_policies> a{net}, b{net, strict}, c{net, copy};
    a.start();
    b.start();
    c.start();
    for (int i = 0; i < 4; ++i) {
        a.join(b.local_endpoint());
        a.join(c.local_endpoint());
    }
    net.run_until_idle();
    // b answers one hello, c three: 4 answers in all, though a sent 8.
    EXPECT_EQ(a.engine<exemplar::greeter>().answers(), 4u);
}

struct attacher_policies : exemplar_policies {
    using engines = meshkit::type_list<exemplar::attacher>;
};

TEST(ConceptExemplars, AnEngineReachesTheHierarchyAndStorageThroughItsContext)
{
    using namespace std::chrono_literals;
    meshkit::sim::network net{4};
    using node = meshkit::basic_node<attacher_policies>;
    auto a = std::make_unique<node>(net);
    node far{net}, near{net}, slightly_nearer{net};
    auto const link = [&](node& to, auto latency) {
        meshkit::sim::link_model m;
        m.latency = meshkit::sim::latency_distribution::fixed(latency);
        net.set_link(a->local_endpoint(), to.local_endpoint(), m);
    };
    link(far, 50ms);
    link(near, 20ms);
    link(slightly_nearer, 18ms); // 10 % better: below the strategy's 25 %
    for (node* n : {a.get(), &far, &near, &slightly_nearer})
        n->start();

    a->join(far.local_endpoint());
    net.advance(1s);
    EXPECT_EQ(a->hierarchy().parent(), far.id()) << "no parent yet: the first candidate is taken";
    a->join(near.local_endpoint());
    net.advance(1s);
    EXPECT_EQ(a->hierarchy().parent(), near.id()) << "60 % nearer justifies a move";
    a->join(slightly_nearer.local_endpoint());
    net.advance(1s);
    EXPECT_EQ(a->hierarchy().parent(), near.id()) << "10 % nearer does not";

    // A restart on the same storage goes back to the parent the engine stored.
    auto const id = a->id();
    exemplar::map_store disk = a->storage(); // what survives the process
    net.crash(a->local_endpoint());
    a.reset();
    node again(net, meshkit::node_config{}, exemplar::dns_seeds{}, exemplar::nearest_parent{}, disk);
    EXPECT_EQ(again.id(), id);
    EXPECT_FALSE(again.hierarchy().parent());
    again.start();
    EXPECT_EQ(again.hierarchy().parent(), near.id());
}

TEST(ConceptExemplars, TheRecordingContextCarriesTheHierarchyAndStorageAnEngineReaches)
{
    // The same engine, driven hook by hook with no node: the test double
    // hands it the bundle's hierarchy and storage policies, and the test
    // reads what the engine did to them.
    using namespace std::chrono_literals;
    using ctx_type = meshkit::test::recording_context<exemplar::attacher, meshkit::metrics::in_memory_metrics,
                                                      meshkit::test::no_discovery, exemplar::attacher::messages,
                                                      exemplar::nearest_parent, exemplar::map_store>;
    ctx_type ctx;
    exemplar::attacher engine;
    engine.start(ctx);
    EXPECT_FALSE(ctx.hierarchy().parent()) << "nothing stored: no parent";

    auto const far = meshkit::endpoint::v4(10, 0, 0, 1, 7000);
    auto const far_id = meshkit::node_id::from_seed(1);
    engine.add_candidate(ctx, far);
    auto const asked = ctx.sent_of<exemplar::where_are_you>();
    ASSERT_EQ(asked.size(), 1u);
    ctx.clock += 30ms;
    ctx.deliver(engine, far, far_id, exemplar::here_i_am{asked[0].second.nonce});
    EXPECT_EQ(ctx.hierarchy().parent(), far_id);
    std::vector<std::byte> stored;
    ASSERT_FALSE(ctx.storage().load(exemplar::attacher::parent_key, stored));
    EXPECT_EQ(stored.size(), 32u);

    // A new engine on the same storage goes back to that parent.
    ctx_type again;
    again.store = ctx.store;
    exemplar::attacher restarted;
    restarted.start(again);
    EXPECT_EQ(again.hierarchy().parent(), far_id);
}

TEST(ConceptExemplars, UserPoliciesComposeIntoARunningNode)
{
    using namespace std::chrono_literals;
    meshkit::sim::network net{1};
    meshkit::basic_node<exemplar_policies> a{net}, b{net};
    EXPECT_EQ(a.hierarchy().level(), 1);
    EXPECT_FALSE(a.hierarchy().parent());
    a.start();
    b.start();
    b.join(a.local_endpoint());
    net.advance(3s);
    EXPECT_EQ(a.engine<meshkit::membership::liveness>().sessions().size(), 1u);
    // The identity went through the user's storage backend.
    std::vector<std::byte> stored;
    EXPECT_FALSE(a.storage().load(meshkit::basic_node<exemplar_policies>::identity_key, stored));
    EXPECT_EQ(stored.size(), 32u);
}

} // namespace
