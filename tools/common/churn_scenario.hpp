// tools/common/churn_scenario.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Broadcasts during heavy link churn, the case docs/broadcast.md lists as
// Plumtree's known limitation: N simulated nodes in one reliable topic; for
// 60 s a broadcast goes out every second while every 2 s a fresh random 10 %
// of the nodes is cut off (the cuts heal every 4 s). Then the churn stops and
// anti-entropy must bring every broadcast to every node. How the gossip tests
// check it at 1,000 nodes and how meshkit-bench-robustness measures it at
// 1,000 and 10,000. Not part of the public API.
#ifndef MESHKIT_TOOLS_COMMON_CHURN_SCENARIO_HPP
#define MESHKIT_TOOLS_COMMON_CHURN_SCENARIO_HPP

#include <meshkit/detail/rng.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/topic/topic_policies.hpp>
#include <meshkit/wire/envelope.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace meshkit::tools {

/** The type id of the message a datagram carries inside a `topic_frame`, or 0 when it carries none.

    For taps that count one engine's traffic in topics: the frame's inner
    type follows the envelope and the 8-byte topic id.
*/
inline int topic_frame_inner_type(std::span<std::byte const> datagram)
{
    if (datagram.size() < wire::envelope_size + 10)
        return 0;
    auto const u16_at = [&](std::size_t at) {
        return static_cast<int>(datagram[at]) | (static_cast<int>(datagram[at + 1]) << 8);
    };
    return u16_at(3) == topic::topic_frame::wire_id ? u16_at(wire::envelope_size + 8) : 0;
}

/// What the churn scenario measured.
struct churn_outcome {
    std::size_t nodes = 0;
    std::size_t broadcasts = 0;
    /// (node, broadcast) pairs not delivered 5 s after the churn, of `nodes - 1` per broadcast.
    std::size_t missing_after_churn = 0;
    /// Seconds from then until every node held every broadcast; -1 if not within `catch_up_limit_s`.
    int seconds_until_all = -1;
    /// Anti-entropy datagrams (`ae_*` inside topic frames) and all datagrams, from then until every node held every broadcast.
    std::uint64_t anti_entropy_bytes = 0;
    std::uint64_t all_bytes = 0;
    /// Deliveries of a broadcast a node had delivered already.
    std::size_t duplicates = 0;
    /// Simulated events, for the wall-clock rate.
    std::uint64_t events = 0;
};

/// Runs the scenario on `nodes` nodes with `seed`; gives anti-entropy up to `catch_up_limit_s` after the churn.
inline churn_outcome run_churn_scenario(std::size_t nodes, std::uint64_t seed, int catch_up_limit_s = 120)
{
    using namespace std::chrono_literals;
    using node_type = topic::sim_reliable_topic_node;
    using host_type = topic::reliable_gossip_topics;
    topic::topic_id const t = topic::topic_id::named("alpha");
    constexpr std::size_t churn_seconds = 60;

    sim::network net{seed};
    std::vector<std::unique_ptr<node_type>> all;
    // delivered[k][i]: how many times node i delivered broadcast k (payload "churn-K").
    std::vector<std::vector<std::uint8_t>> delivered(churn_seconds, std::vector<std::uint8_t>(nodes, 0));
    for (std::size_t i = 0; i < nodes; ++i) {
        all.push_back(std::make_unique<node_type>(net, node_config{}));
        all.back()->on_event([&delivered, i](node_type::event_type const& ev) {
            if (auto const* d = std::get_if<topic::topic_event<broadcast::delivered>>(&ev)) {
                std::string const text(reinterpret_cast<char const*>(d->event.payload.data()), d->event.payload.size());
                if (text.rfind("churn-", 0) == 0) {
                    std::size_t const k = std::stoul(text.substr(6));
                    if (k < delivered.size() && delivered[k][i] < 255)
                        ++delivered[k][i];
                }
            }
        });
    }
    for (auto& n : all)
        n->start();
    for (std::size_t i = 0; i < nodes; ++i) {
        all[i]->with_engine<host_type>([&](auto& h, auto& ctx) { return h.join(ctx, t); });
        if (i != 0)
            all[i]->join(all[i / 2]->local_endpoint()); // a tree of contacts: no single seed for all
    }
    net.advance(60s);

    detail::rng pick{7};
    std::vector<std::size_t> publisher;
    for (std::size_t second = 0; second < churn_seconds; ++second) {
        if (second % 2 == 0) {
            std::vector<endpoint> cut, rest;
            for (std::size_t i = 0; i < nodes; ++i)
                (pick() % 10 == 0 ? cut : rest).push_back(all[i]->local_endpoint());
            net.partition({rest, cut});
        }
        if (second % 4 == 3)
            net.heal();
        std::size_t const from = static_cast<std::size_t>(pick() % nodes);
        publisher.push_back(from);
        std::string const text = "churn-" + std::to_string(second);
        std::vector<std::byte> payload(reinterpret_cast<std::byte const*>(text.data()),
                                       reinterpret_cast<std::byte const*>(text.data()) + text.size());
        all[from]->with_engine<host_type>([&](auto& h, auto& ctx) { return h.publish(ctx, t, payload); });
        net.advance(1s);
    }
    net.heal();
    net.advance(5s);

    churn_outcome out;
    out.nodes = nodes;
    out.broadcasts = churn_seconds;
    auto missing = [&] {
        std::size_t m = 0;
        for (std::size_t k = 0; k < churn_seconds; ++k)
            for (std::size_t i = 0; i < nodes; ++i)
                m += i != publisher[k] && delivered[k][i] == 0;
        return m;
    };
    out.missing_after_churn = missing();
    net.set_tap([&](endpoint const&, endpoint const&, std::span<std::byte const> b) {
        out.all_bytes += b.size();
        if (int const inner = topic_frame_inner_type(b); inner >= 0xA0 && inner <= 0xAF)
            out.anti_entropy_bytes += b.size();
    });
    for (int second = 1; second <= catch_up_limit_s; ++second) {
        net.advance(1s);
        if (missing() == 0) {
            out.seconds_until_all = second;
            break;
        }
    }
    net.set_tap({});
    for (auto const& row : delivered)
        for (auto count : row)
            out.duplicates += count > 1 ? count - 1 : 0;
    out.events = net.stats().events;
    return out;
}

} // namespace meshkit::tools

#endif // MESHKIT_TOOLS_COMMON_CHURN_SCENARIO_HPP
