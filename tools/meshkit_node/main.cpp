// meshkit-node: a real meshkit node over UDP.
//
// Role `overlay` (the default) runs HyParView + Plumtree: each line read on
// stdin is broadcast to the mesh; each broadcast received is printed with its
// origin and hop count, and so is every change of the node's neighbours.
// Roles `node` and `bootstrap` run the gossip-first reference node (peer
// cache, cache gossip, connection ladder); `registry` runs the registry.
// Roles `substrate` and `transient` run the substrate/transient reference
// node: substrates form the mesh over UDP, transients attach to one over TCP.
// Role `hierarchy` runs the hierarchical mesh (Peat): beacons on a LAN
// multicast group or to seeds, a parent one level up, telemetry up, commands down.
// See docs/meshkit-node.md.
//
//   meshkit-node --listen 127.0.0.1:7000
//   meshkit-node --listen 127.0.0.1:7001 --bootstrap 127.0.0.1:7000
//   meshkit-node --role node --bootstrap 198.51.100.1:7000 --connect ID

#include <common/cli.hpp>
#include <common/planned_strategy.hpp>

#include <meshkit/discovery/static_file.hpp>
#include <meshkit/hierarchy/hybrid_strategy.hpp>
#include <meshkit/hierarchy/static_strategy.hpp>
#include <meshkit/reference/hierarchical.hpp>
#include <meshkit/tcp/substrate_transient_policies.hpp>
#include <meshkit/udp/hierarchical_policies.hpp>
#include <meshkit/wire/codec.hpp>
#include <meshkit/udp/gossip_first_policies.hpp>
#include <meshkit/udp/udp_policies.hpp>
#include <meshkit/udp/network_monitor.hpp>
#include <meshkit/udp/sleep_monitor.hpp>
#include <meshkit/udp/udp_topic_policies.hpp>
#include <meshkit/version.hpp>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <algorithm>
#include <istream>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using namespace meshkit;

enum class role { overlay, node, bootstrap, registry, substrate, transient, hierarchy };

struct options {
    role what = role::overlay;
    endpoint listen = endpoint::v4(127, 0, 0, 1, 0);
    std::optional<endpoint> registry;
    std::vector<node_id> connect;
    std::string state_dir;
    std::vector<endpoint> bootstrap;
    std::optional<node_id> id;
    std::optional<std::uint64_t> seed;
    double metrics_every_s = 0;
    double run_for_s = 0;
    std::vector<endpoint> substrates;
    std::string enclave = "default";
    std::size_t max_children = 100;
    double heartbeat_s = 30;
    double evaluation_s = 30;
    // hierarchy
    int level = 0;
    int top_level = 3;
    std::string strategy = "static";
    std::string position = "59.91,10.75";
    std::vector<std::string> capabilities;
    std::optional<endpoint> lan;
    std::string peers_file;
    double beacon_s = 5;
    double report_every_s = 0;
    std::size_t report_count = 0;
    bool insecure = false;
    std::vector<std::string> topics;
};

/// "LAT,LON" or "LAT,LON,ALT" as a plausible position, or nothing.
std::optional<geo_position> parse_position(std::string const& text)
{
    double v[3] = {0, 0, 0};
    std::size_t n = 0, at = 0;
    while (n < 3) {
        std::size_t const comma = text.find(',', at);
        std::string const part = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        try {
            std::size_t used = 0;
            v[n++] = std::stod(part, &used);
            if (used != part.size())
                return std::nullopt;
        } catch (std::exception const&) {
            return std::nullopt;
        }
        if (comma == std::string::npos)
            break;
        at = comma + 1;
    }
    if (n < 2 || (n == 3 && text.find(',', at) != std::string::npos))
        return std::nullopt;
    geo_position p{v[0], v[1], n == 3 ? std::optional<double>(v[2]) : std::nullopt};
    return p.is_plausible() ? std::optional<geo_position>(p) : std::nullopt;
}

options parse(int argc, char** argv)
{
    options o;
    CLI::App app{"meshkit-node (meshkit " MESHKIT_VERSION_STRING "): a real meshkit node over UDP.", "meshkit-node"};
    app.set_version_flag("--version", "meshkit " MESHKIT_VERSION_STRING);
    app.footer("overlay: lines on stdin are broadcast; deliveries and neighbour changes go to stdout.\n"
               "node, bootstrap: lines on stdin go to every connected or connecting peer; connections, addresses\n"
               "and messages go to stdout. See docs/meshkit-node.md.");
    std::map<std::string, role> const roles{{"overlay", role::overlay},     {"node", role::node},
                                            {"bootstrap", role::bootstrap}, {"registry", role::registry},
                                            {"substrate", role::substrate}, {"transient", role::transient},
                                            {"hierarchy", role::hierarchy}};
    app.add_option_function<std::string>(
           "--role", [&](std::string const& name) { o.what = roles.at(name); },
           "overlay: HyParView + Plumtree (default); node, bootstrap: the gossip-first reference node "
           "(a bootstrap node also registers and relays); registry; substrate, transient: the "
           "substrate/transient reference node; hierarchy: the hierarchical mesh")
        ->check(CLI::IsMember(roles))
        ->type_name("ROLE");
    tools::add_parsed(app, "--listen", o.listen, "HOST:PORT", "Address to bind (default 127.0.0.1:0, a free port)");
    tools::add_parsed(app, "--bootstrap", o.bootstrap, "HOST:PORT", "A node to join through; repeat for several");
    tools::add_parsed(app, "--id", o.id, "HEX64",
                      "Refused: every role is secure, and its id is its Ed25519 public key (keep it with --state, "
                      "or derive a reproducible one with --seed)");
    app.add_flag("--insecure", o.insecure,
                 "Debugging only: no encryption and no peer authentication; talks only to other --insecure nodes");
    app.add_option("--seed", o.seed,
                   "Derive the id and all random choices from N and the bound address (reproducible with a "
                   "fixed --listen port; --id, if given, wins for the id)")
        ->check(tools::in_range(0))
        ->type_name("N");
    tools::add_parsed(app, "--registry", o.registry, "HOST:PORT", "(node, bootstrap) Where to send connection reports");
    tools::add_parsed(app, "--connect", o.connect, "HEX64",
                      "(node, bootstrap) Connect to this peer once cache gossip names it; repeat for several");
    app.add_option("--state", o.state_dir, "(node, bootstrap, overlay with --topic) Keep the identity and peer cache in DIR across restarts")
        ->type_name("DIR");
    tools::add_parsed(app, "--substrate", o.substrates, "tcp://HOST:PORT",
                      "(transient) A substrate to attach to; repeat for several (it learns the rest from them)");
    app.add_option("--enclave", o.enclave, "(substrate, transient) This node's enclave (default \"default\")")
        ->type_name("NAME");
    app.add_option("--max-children", o.max_children, "(substrate) Transients it takes (default 100)")
        ->check(tools::in_range(0))
        ->type_name("N");
    app.add_option("--heartbeat", o.heartbeat_s, "(substrate, transient) Heartbeat interval (default 30, 3 missed end it)")
        ->check(tools::in_range(0.05))
        ->type_name("SECONDS");
    app.add_option("--evaluation", o.evaluation_s,
                   "(transient) How often it weighs moving to a faster substrate (default 30; 0: never)")
        ->check(tools::in_range(0))
        ->type_name("SECONDS");
    app.add_option("--level", o.level, "(hierarchy) This node's level: 0 the leaves, up to --top-level (default 0)")
        ->check(tools::in_range(0, 15))
        ->type_name("N");
    app.add_option("--top-level", o.top_level, "(hierarchy) The deployment's highest level: its nodes are roots (default 3)")
        ->check(tools::in_range(0, 15))
        ->type_name("N");
    app.add_option("--strategy", o.strategy, "(hierarchy) static (default), dynamic or hybrid")
        ->check(CLI::IsMember({"static", "dynamic", "hybrid"}))
        ->type_name("STRATEGY");
    app.add_option("--position", o.position, "(hierarchy) Where the node is (default 59.91,10.75)")
        ->check([](std::string const& v) { return parse_position(v) ? std::string{} : "not a position on Earth: " + v; })
        ->type_name("LAT,LON[,ALT]");
    app.add_option("--capability", o.capabilities, "(hierarchy) A capability it offers; repeat for several (at most 16)")
        ->type_name("NAME");
    tools::add_parsed(app, "--lan", o.lan, "GROUP:PORT",
                      "(hierarchy) Beacon on this IPv4 multicast group (joined on 127.0.0.1), hearing everyone on it");
    app.add_option("--peers", o.peers_file,
                   "(hierarchy) A TOML file of [[peer]] address = \"HOST:PORT\" entries to beacon to (static discovery)")
        ->type_name("FILE");
    app.add_option("--beacon-interval", o.beacon_s, "(hierarchy) Seconds between beacons (default 5; TTL 6 intervals)")
        ->check(tools::in_range(0.05))
        ->type_name("SECONDS");
    app.add_option("--report", o.report_every_s, "(hierarchy) Report a telemetry reading every SECONDS (default 0: never)")
        ->check(tools::in_range(0))
        ->type_name("SECONDS");
    app.add_option("--report-count", o.report_count, "(hierarchy) Stop reporting after N readings (default 0: never stop)")
        ->check(tools::in_range(0))
        ->type_name("N");
    app.add_option("--metrics", o.metrics_every_s, "Print the node's counters every SECONDS (default 0: never)")
        ->check(tools::in_range(0))
        ->type_name("SECONDS");
    app.add_option("--topic", o.topics,
                   "(overlay) Join the topic NAME: its own overlay, broadcast tree and anti-entropy log (kept in "
                   "--state DIR); repeat for several (at most 16)")
        ->type_name("NAME");
    app.add_option("--run-for", o.run_for_s, "Exit after SECONDS (default: until SIGINT or SIGTERM)")
        ->check(tools::in_range(0))
        ->type_name("SECONDS");
    tools::parse_or_exit(app, argc, argv);
    if (o.id) {
        std::fprintf(stderr, "meshkit-node: --id: a node's id is its Ed25519 public key; keep it with --state DIR, "
                             "or derive a reproducible one with --seed N\n");
        std::exit(2);
    }
    return o;
}

/// Applies --insecure: the node's secure transports pass datagrams and stream frames through unencrypted.
template <class Node>
void apply_security(Node& node, options const& o)
{
    if (!o.insecure)
        return;
    auto cfg = node.transport().config();
    cfg.plaintext = true;
    node.transport().set_config(cfg);
    if constexpr (requires { node.stream_transport().set_plaintext(true); })
        node.stream_transport().set_plaintext(true);
    std::fprintf(stderr, "meshkit-node: --insecure: no encryption, no peer authentication (debugging only)\n");
}

/** A peer's bytes as printable ASCII: printable bytes as they are, a backslash as `\\`, every other byte as `\xHH`.

    Never raw: a peer must not write control sequences (C0, DEL, or 8-bit
    C1 such as CSI 0x9b) to an operator's terminal, nor invalid UTF-8 into
    a log parser. Non-ASCII text is escaped too, which keeps the rule one
    line long and the output unambiguous.
*/
std::string text_of(std::vector<std::byte> const& payload)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(payload.size());
    for (std::byte b : payload) {
        auto const c = static_cast<unsigned char>(b);
        if (c == '\\') {
            s += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            s.push_back(static_cast<char>(c));
        } else {
            s += "\\x";
            s.push_back(hex[c >> 4]);
            s.push_back(hex[c & 0xf]);
        }
    }
    return s;
}

auto steady(double seconds)
{
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

/// Runs `io` until SIGINT, SIGTERM or `--run-for`.
void run_until_stopped(asio::io_context& io, options const& o)
{
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) { io.stop(); });
    asio::steady_timer stop_timer(io);
    if (o.run_for_s > 0) {
        stop_timer.expires_after(steady(o.run_for_s));
        stop_timer.async_wait([&](std::error_code ec) {
            if (!ec)
                io.stop();
        });
    }
    io.run();
}

/** Reads stdin line by line into `on_line` (lines longer than 64 KiB are dropped, with a message).

    `on_line` returns whether it took the line. When it did not (the mesh
    pushes back: `errc::queue_full`), the reader keeps that line and reads
    nothing more until `resume()`, which offers it again: stdin, not the
    node, absorbs the backlog, and no line is lost.
*/
class line_reader {
public:
    line_reader(asio::io_context& io, std::function<bool(std::string const&)> on_line)
        : input_(io, ::dup(STDIN_FILENO)), buffer_(64 * 1024), on_line_(std::move(on_line))
    {
        read();
    }

    /// Offers the held line again; reading goes on once it is taken.
    void resume()
    {
        if (!held_)
            return;
        if (!on_line_(*held_))
            return;
        held_.reset();
        read();
    }

private:
    void read()
    {
        asio::async_read_until(input_, buffer_, '\n', [this](std::error_code ec, std::size_t n) {
            if (ec == asio::error::not_found) {
                std::fprintf(stderr, "meshkit-node: line too long, not sent\n");
                buffer_.consume(buffer_.size());
                read();
                return;
            }
            if (ec) {
                if (ec != asio::error::eof)
                    std::fprintf(stderr, "meshkit-node: stdin: %s\n", ec.message().c_str());
                return; // keep running without input
            }
            std::string line(asio::buffers_begin(buffer_.data()),
                             asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n) - 1);
            buffer_.consume(n);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (!line.empty() && !on_line_(line)) {
                held_ = std::move(line);
                return; // until resume()
            }
            read();
        });
    }

    asio::posix::stream_descriptor input_;
    asio::streambuf buffer_;
    std::function<bool(std::string const&)> on_line_;
    std::optional<std::string> held_;
};

/// Prints `line()` every `seconds` (nothing when 0), until `io` stops.
class periodic_printer {
public:
    periodic_printer(asio::io_context& io, double seconds, std::function<std::string()> line)
        : timer_(io), seconds_(seconds), line_(std::move(line))
    {
        if (seconds_ > 0)
            arm();
    }

private:
    void arm()
    {
        timer_.expires_after(steady(seconds_));
        timer_.async_wait([this](std::error_code ec) {
            if (ec)
                return;
            std::printf("%s\n", line_().c_str());
            arm();
        });
    }

    asio::steady_timer timer_;
    double seconds_;
    std::function<std::string()> line_;
};

/// The node's counters as `metrics name=value ...`, the transport's own (kernel drops, ...) included.
template <class Node>
std::string counters_line(Node& node)
{
    node.sample_transport_metrics();
    std::string line = "metrics";
    for (auto const& [name, value] : node.metrics().counters())
        line += " " + name + "=" + std::to_string(value);
    return line;
}

/// The settings every role takes from the command line.
node_config config_of(options const& o)
{
    node_config cfg;
    cfg.listen = o.listen;
    cfg.seed = o.seed;
    return cfg;
}

/** Builds the node in `node`, or says why it cannot listen. @return whether it was built.

    On success stdout becomes line-buffered, so each output line reaches a
    pipe (a test, a log collector) as soon as it is printed.
*/
template <class Node, class... Args>
bool open_node(std::optional<Node>& node, options const& o, asio::io_context& io, Args&&... args)
{
    try {
        node.emplace(io, std::forward<Args>(args)...);
    } catch (std::system_error const& e) {
        if (e.code().category() == security::error_category() || e.code().category() == storage::error_category())
            std::fprintf(stderr, "meshkit-node: cannot start: %s\n", e.what()); // the identity key in --state
        else
            std::fprintf(stderr, "meshkit-node: cannot listen on %s: %s\n", o.listen.to_string().c_str(),
                         e.code().message().c_str());
        return false;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    return true;
}

int run_overlay(options const& o)
{
    asio::io_context io;

    node_config cfg = config_of(o);
    std::optional<udp_node> node;
    if (!open_node(node, o, io, cfg, discovery::static_seeds{o.bootstrap}))
        return 1;
    apply_security(*node, o);
    std::printf("listening %s id %s\n", node->local_endpoint().to_string().c_str(), node->id().short_hex().c_str());

    std::function<void()> ready_to_resume; // set once stdin is read, below
    node->on_event([&ready_to_resume](udp_node::event_type const& ev) {
        if (std::holds_alternative<broadcast::ready_to_publish>(ev) && ready_to_resume)
            ready_to_resume();
        else if (auto const* d = std::get_if<broadcast::delivered>(&ev))
            std::printf("deliver from %s hops %u seq %llu: %s\n", d->key.origin.short_hex().c_str(),
                        static_cast<unsigned>(d->hops), static_cast<unsigned long long>(d->key.seq),
                        text_of(d->payload).c_str());
        else if (auto const* up = std::get_if<link_up>(&ev))
            std::printf("neighbor up %s %s\n", up->peer.short_hex().c_str(), up->address.to_string().c_str());
        else if (auto const* down = std::get_if<link_down>(&ev))
            std::printf("neighbor down %s %s\n", down->peer.short_hex().c_str(), down->address.to_string().c_str());
        else if (auto const* f = std::get_if<contact_failed>(&ev))
            std::fprintf(stderr, "meshkit-node: no answer from %s\n", f->address.to_string().c_str());
    });
    node->start();

    // stdin: one broadcast per line. When the mesh pushes back
    // (queue_full), the line is kept and stdin waits for ready_to_publish:
    // a producer faster than the mesh is slowed, never dropped.
    line_reader lines(io, [&](std::string const& line) {
        auto r = node->broadcast(std::as_bytes(std::span(line.data(), line.size())));
        if (r)
            std::printf("sent seq %llu: %s\n", static_cast<unsigned long long>(r->seq), line.c_str());
        else if (r.error() == make_error_code(errc::queue_full))
            return false;
        else
            std::fprintf(stderr, "meshkit-node: not sent: %s (at most %zu bytes)\n", r.error().message().c_str(),
                         node->config().engine<broadcast::plumtree>().max_payload);
        return true;
    });
    ready_to_resume = [&lines] { lines.resume(); };

    periodic_printer metrics(io, o.metrics_every_s, [&] {
        return counters_line(*node) + " active=" + std::to_string(node->engine<membership::hyparview>().active_size()) +
               " passive=" + std::to_string(node->engine<membership::hyparview>().passive_view().size());
    });

    run_until_stopped(io, o);
    return 0;
}

/** The overlay role with `--topic`: a node in several topics, each with its log of recent broadcasts.

    stdin: `NAME: TEXT` publishes TEXT in topic NAME, any other line in the
    first topic joined; `/join NAME` and `/leave NAME` change the topics at
    run time. With `--state DIR` the identity and every topic's log live in
    DIR/meshkit.db (SQLite): a restarted node keeps what it had and
    reconciles only what it missed.
*/
int run_topics(options const& o)
{
    asio::io_context io;
    using host_type = topic::reliable_gossip_topics;
    std::string const db = o.state_dir.empty() ? std::string(":memory:") : o.state_dir + "/meshkit.db";
    std::optional<udp_topic_node> node;
    try {
        if (!open_node(node, o, io, config_of(o), discovery::static_seeds{o.bootstrap}, hierarchy::flat{},
                       storage::sqlite_store(db)))
            return 1;
    } catch (std::system_error const& e) { // the database itself
        std::fprintf(stderr, "meshkit-node: cannot start: %s\n", e.what());
        return 1;
    }
    apply_security(*node, o);
    std::printf("listening %s id %s\n", node->local_endpoint().to_string().c_str(), node->id().short_hex().c_str());

    std::map<topic::topic_id, std::string> names; // for output: ids are what the wire carries
    auto name_of = [&](topic::topic_id t) {
        auto it = names.find(t);
        return it == names.end() ? t.to_hex() : it->second;
    };
    std::vector<std::string> joined; // in the order joined: the first is where untagged lines go
    auto host = [&]() -> host_type const& {
        return node->with_engine<host_type>([](auto& h, auto&) -> host_type const& { return h; });
    };
    auto join = [&](std::string const& name) {
        topic::topic_id const t = topic::topic_id::named(name);
        if (auto ec = node->with_engine<host_type>([&](auto& h, auto& ctx) { return h.join(ctx, t); })) {
            std::fprintf(stderr, "meshkit-node: cannot join %s: %s\n", name.c_str(), ec.message().c_str());
            return;
        }
        names[t] = name;
        if (std::find(joined.begin(), joined.end(), name) == joined.end())
            joined.push_back(name);
        auto const* ae = host().engine<sync::anti_entropy>(t);
        std::printf("joined topic %s log %zu\n", name.c_str(), ae ? ae->log().size() : std::size_t{0});
    };

    std::function<void()> ready_to_resume; // set once stdin is read, below
    node->on_event([&](udp_topic_node::event_type const& ev) {
        using topic::topic_event;
        if (auto const* d = std::get_if<topic_event<broadcast::delivered>>(&ev))
            std::printf("deliver topic %s from %s hops %u seq %llu: %s\n", name_of(d->topic).c_str(),
                        d->event.key.origin.short_hex().c_str(), static_cast<unsigned>(d->event.hops),
                        static_cast<unsigned long long>(d->event.key.seq), text_of(d->event.payload).c_str());
        else if (auto const* up = std::get_if<topic_event<link_up>>(&ev))
            std::printf("neighbor up topic %s %s %s\n", name_of(up->topic).c_str(), up->event.peer.short_hex().c_str(),
                        up->event.address.to_string().c_str());
        else if (auto const* down = std::get_if<topic_event<link_down>>(&ev))
            std::printf("neighbor down topic %s %s %s\n", name_of(down->topic).c_str(),
                        down->event.peer.short_hex().c_str(), down->event.address.to_string().c_str());
        else if (std::holds_alternative<topic_event<broadcast::ready_to_publish>>(ev) && ready_to_resume)
            ready_to_resume();
        else if (auto const* r = std::get_if<topic::rejoining>(&ev)) {
            std::string list;
            for (auto t : r->topics)
                list += (list.empty() ? "" : ",") + name_of(topic::topic_id{t});
            std::printf("rejoin %s topics %s requests %zu verified %zu\n", topic::to_string(r->why), list.c_str(),
                        r->contacts, r->verified);
        }
        else if (auto const* f = std::get_if<contact_failed>(&ev))
            std::fprintf(stderr, "meshkit-node: no answer from %s\n", f->address.to_string().c_str());
    });
    node->start();
    for (auto const& name : o.topics)
        join(name);

    // The rejoin supervisor's triggers from the operating system: network changes (rtnetlink) and wakes.
    auto trigger = [&](topic::rejoin_trigger why) {
        node->with_engine<host_type>([&](auto& h, auto& ctx) { h.trigger(ctx, why); });
    };
    std::optional<udp::network_monitor> network;
    try {
        network.emplace(io, [&](udp::network_change const& c) {
            std::printf("network change %s interface %d\n", udp::to_string(c.kind), c.interface_index);
            trigger(topic::rejoin_trigger::network_change);
        });
    } catch (std::system_error const& e) {
        std::fprintf(stderr, "meshkit-node: network changes will not be noticed: %s\n", e.what());
    }
    udp::sleep_monitor sleep(io, [&](duration slept) {
        std::printf("woke after %.1f s asleep\n", std::chrono::duration<double>(slept).count());
        trigger(topic::rejoin_trigger::wake);
    });

    line_reader lines(io, [&](std::string const& line) {
        if (line.starts_with("/join ")) {
            join(line.substr(6));
            return true;
        }
        if (line.starts_with("/leave ")) {
            std::string const name = line.substr(7);
            auto ec = node->with_engine<host_type>(
                [&](auto& h, auto& ctx) { return h.leave(ctx, topic::topic_id::named(name)); });
            if (ec)
                std::fprintf(stderr, "meshkit-node: cannot leave %s: %s\n", name.c_str(), ec.message().c_str());
            else
                std::printf("left topic %s\n", name.c_str());
            std::erase(joined, name);
            return true;
        }
        std::string name = joined.empty() ? std::string() : joined.front();
        std::string text = line;
        if (auto colon = line.find(": "); colon != std::string::npos &&
                                          std::find(joined.begin(), joined.end(), line.substr(0, colon)) != joined.end()) {
            name = line.substr(0, colon);
            text = line.substr(colon + 2);
        }
        auto r = node->with_engine<host_type>([&](auto& h, auto& ctx) {
            return h.publish(ctx, topic::topic_id::named(name), std::as_bytes(std::span(text.data(), text.size())));
        });
        if (r)
            std::printf("sent topic %s seq %llu: %s\n", name.c_str(), static_cast<unsigned long long>(r->seq),
                        text.c_str());
        else if (r.error() == make_error_code(errc::queue_full))
            return false;
        else
            std::fprintf(stderr, "meshkit-node: not sent in topic %s: %s\n", name.empty() ? "(none joined)" : name.c_str(),
                         r.error().message().c_str());
        return true;
    });
    ready_to_resume = [&lines] { lines.resume(); };

    periodic_printer metrics(io, o.metrics_every_s, [&] {
        std::string line = counters_line(*node);
        for (auto const& name : joined)
            if (auto const* ae = host().engine<sync::anti_entropy>(topic::topic_id::named(name)))
                line += " log_" + name + "=" + std::to_string(ae->log().size()) + " recovered_" + name + "=" +
                        std::to_string(ae->stats().items_recovered);
        return line;
    });

    run_until_stopped(io, o);
    return 0;
}

int run_registry(options const& o)
{
    asio::io_context io;
    node_config cfg = config_of(o);
    std::optional<udp::registry_node> node;
    if (!open_node(node, o, io, cfg))
        return 1;
    apply_security(*node, o);
    std::printf("listening %s id %s\n", node->local_endpoint().to_string().c_str(), node->id().short_hex().c_str());
    node->start();
    periodic_printer report(io, o.metrics_every_s > 0 ? o.metrics_every_s : 10, [&] {
        auto const& r = node->engine<discovery::registry_server>();
        std::uint64_t by_method[3] = {};
        for (auto const& local : r.reports_by_nat())
            for (auto const& remote : local)
                for (std::size_t m = 0; m < 3; ++m)
                    by_method[m] += remote[m];
        char buf[256];
        std::snprintf(buf, sizeof buf, "registry bootstraps=%zu reports=%llu direct=%llu punched=%llu relayed=%llu refused=%llu",
                      r.registrations().size(), static_cast<unsigned long long>(r.reports()),
                      static_cast<unsigned long long>(by_method[0]), static_cast<unsigned long long>(by_method[1]),
                      static_cast<unsigned long long>(by_method[2]), static_cast<unsigned long long>(r.refused()));
        return std::string(buf);
    });
    run_until_stopped(io, o);
    return 0;
}

std::string ms_of(duration d)
{
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

int run_gossip_first(options const& o)
{
    asio::io_context io;
    node_config cfg = config_of(o);
    cfg.engine<discovery::registry_client>().registry = o.registry;
    if (o.what == role::bootstrap) {
        cfg.engine<discovery::peer_gossip>().bootstrap = true;
        cfg.engine<discovery::peer_gossip>().capabilities = discovery::can_relay | discovery::can_coordinate;
        cfg.engine<discovery::registry_client>().register_self = true;
        cfg.engine<nat::connector>().max_connections = 4096;
        cfg.engine<nat::connector>().max_relay_sessions = 1024;
        cfg.engine<nat::connector>().introducers = 2;
    }
    // Without --state, a private directory that goes away with the process.
    std::string dir = o.state_dir;
    bool const scratch = dir.empty();
    if (scratch) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "meshkit-node-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) {
            std::fprintf(stderr, "meshkit-node: cannot create a state directory: %s\n", std::strerror(errno));
            return 1;
        }
        dir = tmpl;
    }
    struct remove_scratch {
        std::string dir;
        bool active;
        ~remove_scratch()
        {
            std::error_code ec;
            if (active)
                std::filesystem::remove_all(dir, ec);
        }
    } const cleanup{dir, scratch};

    discovery::bootstrap_cache cache(reference::gossip_first_cache_config(), o.seed.value_or(std::random_device{}()));
    for (auto const& b : o.bootstrap)
        cache.add_seed(b);
    std::optional<udp::gossip_first_node> node;
    if (!open_node(node, o, io, cfg, std::move(cache), hierarchy::flat{}, storage::file_store(dir)))
        return 1;
    apply_security(*node, o);
    std::printf("listening %s id %s\n", node->local_endpoint().to_string().c_str(), node->id().to_hex().c_str());
    if (auto ec = node->discovery_load_error())
        std::fprintf(stderr, "meshkit-node: saved peer cache not loaded: %s\n", ec.message().c_str());
    else if (node->discovery().size())
        std::printf("cache loaded %zu peers\n", node->discovery().size());

    node->on_event([&](udp::gossip_first_node::event_type const& ev) {
        if (auto const* up = std::get_if<link_up>(&ev))
            std::printf("connection up %s %s method %s attempts %u time_ms %s%s%s\n", up->peer.to_hex().c_str(),
                        up->address.to_string().c_str(), to_string(up->method), up->attempts,
                        ms_of(up->time_to_connect).c_str(), up->initiated ? " initiated" : "",
                        up->upgraded ? " upgraded" : "");
        else if (auto const* moved = std::get_if<nat::relay_failover>(&ev))
            std::printf("relay failover %s from %s to %s outage_ms %s\n", moved->peer.to_hex().c_str(),
                        moved->old_relay.to_string().c_str(), moved->new_relay.to_string().c_str(),
                        ms_of(moved->outage).c_str());
        else if (auto const* down = std::get_if<link_down>(&ev))
            std::printf("connection down %s %s\n", down->peer.to_hex().c_str(), down->address.to_string().c_str());
        else if (auto const* f = std::get_if<nat::connection_failed>(&ev))
            std::printf("connection failed %s attempts %u retry_ms %s\n", f->peer.to_hex().c_str(), f->attempts,
                        ms_of(f->retry_in).c_str());
        else if (auto const* a = std::get_if<nat::address_observed>(&ev))
            std::printf("address %s nat %s introducers %zu\n", a->address.to_string().c_str(), nat::to_string(a->nat),
                        a->introducers.size());
        else if (auto const* m = std::get_if<nat::peer_message>(&ev))
            std::printf("message from %s: %s\n", m->from.to_hex().c_str(), text_of(m->payload).c_str());
        else if (auto const* u = std::get_if<nat::messages_undelivered>(&ev))
            std::fprintf(stderr, "meshkit-node: %zu messages to %s unacknowledged when its connection was forgotten\n",
                         u->count, u->peer.to_hex().c_str());
        else if (auto const* c = std::get_if<contact_failed>(&ev))
            std::fprintf(stderr, "meshkit-node: no answer from %s\n", c->address.to_string().c_str());
    });
    node->start();

    // --connect: as soon as cache gossip names the peer, climb the ladder to it.
    std::vector<node_id> waiting = o.connect;
    asio::steady_timer connect_timer(io);
    std::function<void()> try_connect = [&] {
        std::erase_if(waiting, [&](node_id const& id) { return !reference::connect(*node, id); });
        if (waiting.empty())
            return;
        connect_timer.expires_after(std::chrono::milliseconds(250));
        connect_timer.async_wait([&](std::error_code ec) {
            if (!ec)
                try_connect();
        });
    };
    try_connect();

    // stdin: each line goes to every peer we have a connection with. One
    // still climbing the ladder queues it (the connector delivers it once
    // the path is up); a line nobody can take is reported, never dropped.
    line_reader lines(io, [&](std::string const& line) {
        auto const outcomes = reference::publish(*node, std::as_bytes(std::span(line.data(), line.size())));
        if (outcomes.empty())
            std::fprintf(stderr, "meshkit-node: not sent: no connection\n");
        for (auto const& sent : outcomes) {
            if (sent.error)
                std::fprintf(stderr, "meshkit-node: not sent to %s: %s\n", sent.peer.short_hex().c_str(),
                             sent.error.message().c_str());
            else if (sent.queued)
                std::fprintf(stderr, "meshkit-node: queued for %s until its connection is up\n",
                             sent.peer.short_hex().c_str());
        }
           return true;
    });

    periodic_printer metrics(io, o.metrics_every_s, [&] {
        auto const& c = node->engine<nat::connector>().stats();
        return counters_line(*node) + " cache=" + std::to_string(node->discovery().size()) +
               " relay_sessions=" + std::to_string(node->engine<nat::connector>().relay_sessions()) +
               " raced=" + std::to_string(c.raced) + " reversals=" + std::to_string(c.reversals_coordinated) +
               " birthday_punches=" + std::to_string(c.birthday_punches) +
               " birthday_sockets=" + std::to_string(c.birthday_sockets) +
               " birthday_probes=" + std::to_string(c.birthday_probes) +
               " birthday_hits=" + std::to_string(c.birthday_hits);
    });
    run_until_stopped(io, o);
    node->stop(); // saves the peer cache
    return 0;
}

/** Substrate or transient: lines on stdin are published to the whole mesh; every publication is printed once.

    A substrate stopped by SIGINT or SIGTERM tells its children to move
    (`goodbye{shutdown}`) and gives the goodbyes a moment to leave before
    it closes: they move in a round trip, not a heartbeat timeout.
*/
template <class Node>
int run_substrate_transient(options const& o)
{
    constexpr bool is_substrate = reference::is_substrate<typename Node::policies>;
    asio::io_context io;
    node_config cfg = config_of(o);
    auto const every = [](double seconds) { return std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds)); };
    if constexpr (is_substrate) {
        cfg.engine<attach::substrate>().max_children = o.max_children;
        cfg.max_streams = std::max<std::size_t>(cfg.max_streams, o.max_children + 32); // a stream per child
        cfg.engine<attach::substrate>().heartbeat_interval = every(o.heartbeat_s);
    } else {
        cfg.engine<attach::transient>().heartbeat_interval = every(o.heartbeat_s);
        cfg.engine<attach::transient>().evaluation_interval = every(o.evaluation_s);
        cfg.engine<attach::transient>().attach_timeout = std::min(every(10), 3 * every(o.heartbeat_s));
    }
    hierarchy::substrate_transient_config h;
    h.role = is_substrate ? node_role::substrate : node_role::transient;
    h.enclave = o.enclave;
    try {
        h.validate();
    } catch (std::invalid_argument const& e) {
        std::fprintf(stderr, "meshkit-node: %s\n", e.what());
        return 2;
    }
    std::optional<Node> node;
    if (!open_node(node, o, io, cfg, discovery::static_seeds{o.bootstrap}, hierarchy::substrate_transient{h}))
        return 1;
    apply_security(*node, o);
    std::printf("listening %s %s id %s\n", node->local_endpoint().to_string().c_str(),
                node->local_endpoint(wire::channel::stream).to_string().c_str(), node->id().to_hex().c_str());

    std::function<void()> ready_to_resume;
    node->on_event([&](typename Node::event_type const& ev) {
        if (auto const* p = std::get_if<attach::published>(&ev))
            std::printf("deliver from %s seq %llu: %s\n", p->origin.short_hex().c_str(),
                        static_cast<unsigned long long>(p->seq), text_of(p->data).c_str());
        else if (auto const* up = std::get_if<link_up>(&ev))
            std::printf("%s up %s %s\n", up->method != link_method::attached ? "neighbor" : is_substrate ? "child" : "attached",
                        up->peer.short_hex().c_str(), up->address.to_string().c_str());
        else if (auto const* down = std::get_if<link_down>(&ev))
            std::printf("%s down %s %s\n", is_substrate ? "link" : "attachment", down->peer.short_hex().c_str(),
                        down->address.to_string().c_str());
        if constexpr (is_substrate) {
            if (std::holds_alternative<broadcast::ready_to_publish>(ev) && ready_to_resume)
                ready_to_resume();
        } else {
            if (auto const* d = std::get_if<attach::detached>(&ev))
                std::printf("detached after %zu failed attempts, retry_ms %lld\n", d->failed_attempts,
                            static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d->retry_in).count()));
            else if (auto const* m = std::get_if<attach::migrated>(&ev))
                std::printf("migrated from %s to %s rtt_ms %.1f to %.1f\n", m->from.short_hex().c_str(),
                            m->to.short_hex().c_str(), std::chrono::duration<double, std::milli>(m->from_rtt).count(),
                            std::chrono::duration<double, std::milli>(m->to_rtt).count());
        }
    });
    node->start();
    if constexpr (!is_substrate)
        for (auto const& s : o.substrates)
            node->join(s);

    line_reader lines(io, [&](std::string const& line) {
        auto const ec = reference::publish(*node, std::as_bytes(std::span(line.data(), line.size())));
        if (ec == make_error_code(errc::queue_full))
            return false; // held until ready_to_publish
        if (ec)
            std::fprintf(stderr, "meshkit-node: not published: %s (at most %zu bytes)\n", ec.message().c_str(),
                         attach::max_publication_size);
        return true;
    });
    ready_to_resume = [&lines] { lines.resume(); };
    periodic_printer metrics(io, o.metrics_every_s, [&] { return counters_line(*node); });
    run_until_stopped(io, o);
    if constexpr (is_substrate) {
        reference::shutdown(*node);
        io.restart();
        io.run_for(std::chrono::milliseconds(200)); // the goodbyes leave before the sockets close
    }
    node->stop();
    return 0;
}

/** The hierarchical mesh: beacons on `--lan` or to `--bootstrap` seeds, a parent one level up.

    Lines on stdin go up as status packets; a line that starts with `!` goes
    down to the whole subtree as a command. `--report` adds a telemetry
    reading (`topology::node_state`) every interval. What the node consumes
    is printed: at a root every packet that came up (a summary with the
    readings it stands for), elsewhere the commands that reached it. On exit
    it prints what it reported, what it still held and what it dropped.
*/
template <class Strategy>
int run_hierarchy(options const& o)
{
    using node_type = udp::hierarchical_node<Strategy>;
    using engine_type = topology::hierarchical_mesh<topology::summary_aggregator>;
    asio::io_context io;
    node_config cfg = config_of(o);
    auto const every = [](double seconds) { return std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds)); };
    topology::mesh_config& mesh = cfg.engine<engine_type>();
    mesh.position = *parse_position(o.position);
    mesh.capabilities = o.capabilities;
    mesh.mobility = o.level > 0 ? mobility::fixed : mobility::mobile;
    mesh.top_level = static_cast<std::uint8_t>(o.top_level);
    mesh.beacons.broadcast_interval = every(o.beacon_s);
    mesh.beacons.ttl = every(6 * o.beacon_s);
    mesh.beacons.janitor_interval = every(o.beacon_s);
    mesh.aggregation_interval = every(o.beacon_s);
    mesh.reevaluation_interval = every(6 * o.beacon_s);
    mesh.parent_change_cooldown = every(12 * o.beacon_s);
    mesh.beacon_to_heard = !o.lan; // a LAN group carries every beacon in one datagram
    Strategy strategy;
    try {
        mesh.validate();
        strategy = tools::planned_strategy<Strategy>(static_cast<std::uint8_t>(o.level),
                                                       static_cast<std::uint8_t>(o.top_level));
    } catch (std::invalid_argument const& e) {
        std::fprintf(stderr, "meshkit-node: %s\n", e.what());
        return 2;
    }
    std::vector<endpoint> seeds = o.bootstrap;
    if (o.lan)
        seeds.push_back(*o.lan);
    if (!o.peers_file.empty()) {
        try {
            auto const listed = discovery::load_static_seeds(o.peers_file);
            seeds.insert(seeds.end(), listed.seeds().begin(), listed.seeds().end());
        } catch (discovery::static_file_error const& e) {
            std::fprintf(stderr, "meshkit-node: %s\n", e.what());
            return 2;
        }
    }
    std::optional<node_type> node;
    if (!open_node(node, o, io, cfg, discovery::static_seeds{seeds}, strategy))
        return 1;
    apply_security(*node, o);
    if (o.lan) {
        try {
            node->transport().join_group(*o.lan);
        } catch (std::exception const& e) {
            std::fprintf(stderr, "meshkit-node: cannot join %s: %s\n", o.lan->to_string().c_str(), e.what());
            return 1;
        }
    }
    std::printf("listening %s id %s level %d\n", node->local_endpoint().to_string().c_str(), node->id().to_hex().c_str(),
                o.level);
    node->on_event([&](typename node_type::event_type const& ev) {
        if (auto const* p = std::get_if<topology::parent_selected>(&ev))
            std::printf("parent selected %s\n", p->parent.short_hex().c_str());
        else if (auto const* c = std::get_if<topology::parent_changed>(&ev))
            std::printf("parent changed %s to %s%s\n", c->from.short_hex().c_str(), c->to.short_hex().c_str(),
                        c->failover ? " failover" : "");
        else if (auto const* l = std::get_if<topology::parent_lost>(&ev))
            std::printf("parent lost %s\n", l->parent.short_hex().c_str());
        else if (auto const* a = std::get_if<topology::child_added>(&ev))
            std::printf("child added %s\n", a->child.short_hex().c_str());
        else if (auto const* r = std::get_if<topology::child_removed>(&ev))
            std::printf("child removed %s\n", r->child.short_hex().c_str());
        else if (auto const* lc = std::get_if<topology::level_changed>(&ev))
            std::printf("level %u%s\n", static_cast<unsigned>(lc->to), lc->promoted ? " promoted" : "");
        else if (auto const* rc = std::get_if<topology::role_changed>(&ev))
            std::printf("role %s\n", to_string(rc->to));
        else if (std::holds_alternative<topology::partition_detected>(ev))
            std::printf("partition detected\n");
        else if (auto const* h = std::get_if<topology::partition_healed>(&ev))
            std::printf("partition healed after %.1f s\n", std::chrono::duration<double>(h->lasted).count());
        else if (auto const* got = std::get_if<topology::packet_received>(&ev)) {
            std::string what;
            if (got->type == topology::data_type::aggregated_telemetry) {
                auto sum = wire::decode<topology::cell_summary>(got->payload);
                what = sum ? "summary of " + std::to_string(sum->readings) + " readings, " +
                                 std::to_string(sum->operational) + " operational"
                           : "summary (unreadable)";
            } else if (got->type == topology::data_type::telemetry) {
                what = "reading";
            } else {
                what = text_of(got->payload);
            }
            std::printf("received %s from %s readings %u hops %u: %s\n", topology::to_string(got->type),
                        got->source.short_hex().c_str(), got->readings, static_cast<unsigned>(got->hops), what.c_str());
        }
    });
    node->start();

    line_reader lines(io, [&](std::string const& line) {
        std::error_code ec;
        if (line.front() == '!') {
            std::string const text = line.substr(1);
            ec = reference::send(*node, topology::data_type::command, std::nullopt,
                                 std::as_bytes(std::span(text.data(), text.size())));
            if (!ec)
                std::printf("sent command: %s\n", text.c_str());
        } else {
            auto r = reference::report(*node, topology::data_type::status, std::as_bytes(std::span(line.data(), line.size())));
            if (!r)
                ec = r.error();
        }
        if (ec)
            std::fprintf(stderr, "meshkit-node: not sent: %s (at most %zu bytes)\n", ec.message().c_str(),
                         topology::max_packet_payload);
        return true;
    });

    // Telemetry: one node_state every --report seconds, --report-count of them.
    asio::steady_timer reporter(io);
    std::size_t reported = 0;
    std::function<void()> arm_report = [&] {
        if (o.report_every_s <= 0 || (o.report_count > 0 && reported >= o.report_count))
            return;
        reporter.expires_after(steady(o.report_every_s));
        reporter.async_wait([&](std::error_code ec) {
            if (ec)
                return;
            std::vector<std::byte> reading;
            wire::encode(topology::node_state{*parse_position(o.position), std::nullopt, true, 1}, reading);
            if (reference::report(*node, topology::data_type::telemetry, reading))
                ++reported;
            arm_report();
        });
    };
    arm_report();

    periodic_printer metrics(io, o.metrics_every_s, [&] {
        auto const& m = reference::mesh(*node);
        return counters_line(*node) + " readings_reported=" + std::to_string(m.stats().readings_reported) +
               " readings_consumed=" + std::to_string(m.stats().readings_consumed) + " held=" + std::to_string(m.held()) +
               " children=" + std::to_string(m.children().size());
    });
    run_until_stopped(io, o);
    auto const& m = reference::mesh(*node);
    std::printf("done reported %llu consumed %llu held %zu dropped %llu\n",
                static_cast<unsigned long long>(m.stats().readings_reported),
                static_cast<unsigned long long>(m.stats().readings_consumed), m.held(),
                static_cast<unsigned long long>(m.stats().readings_dropped));
    node->stop();
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    options const o = parse(argc, argv);
    switch (o.what) {
    case role::overlay: return o.topics.empty() ? run_overlay(o) : run_topics(o);
    case role::registry: return run_registry(o);
    case role::node:
    case role::bootstrap: return run_gossip_first(o);
    case role::substrate: return run_substrate_transient<tcp::substrate_node>(o);
    case role::transient: return run_substrate_transient<tcp::transient_node>(o);
    case role::hierarchy:
        if (o.strategy == "dynamic")
            return run_hierarchy<hierarchy::dynamic_strategy>(o);
        if (o.strategy == "hybrid")
            return run_hierarchy<hierarchy::hybrid_strategy>(o);
        return run_hierarchy<hierarchy::static_strategy>(o);
    }
    return 2;
}
