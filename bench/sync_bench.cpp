// meshkit-bench-sync: what range-based set reconciliation (`sync::reconciler`)
// costs to find every difference between two sets, against sending every id.
//
// For each size N and difference rate: two sets share N items and each holds
// half the differences on its own (random 32-byte ids, orders rising with a
// few items per order). One session runs to the end in this process, every
// message through the wire codec, twice: with no message limit (as over a
// stream) and with 1,100-byte messages (one datagram each). It reports the
// turns (messages; a round trip is two of them), the bytes, the
// bytes per difference, and the time, and checks that each side found
// exactly what it lacks. The baseline sends every id of one side and gets
// back the ids it lacks: 32 (N_a + d_b) bytes in one round trip.
//
// A second table runs the points negentropy was measured at
// (../shared/research/gossip.md §10: its C++ reference, Vector storage, no
// frame limit) beside its published figures.
//
//   meshkit-bench-sync [--items 1000,10000,100000,1000000] [--rates 0.1,1,10] [--seed 1] [--json]

#include <common/cli.hpp>
#include <common/reconcile_pair.hpp>
#include <common/report.hpp>

#include <meshkit/detail/rng.hpp>
#include <meshkit/sync/reconciler.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace meshkit;
using clock_type = std::chrono::steady_clock;

struct workload {
    sync::item_set a, b;
    std::vector<sync::item_id> only_a, only_b;
};

// N common items, `differences` more split evenly (the odd one to a).
workload make_workload(std::uint64_t seed, std::size_t n, std::size_t differences)
{
    detail::rng r{seed};
    std::vector<sync::item> va, vb;
    std::vector<sync::item_id> only_a, only_b;
    va.reserve(n + differences);
    vb.reserve(n + differences);
    std::uint64_t order = 1;
    auto next = [&] {
        order += r() % 3;
        sync::item it{order, {}};
        for (std::size_t i = 0; i < it.id.size(); i += 8) {
            auto const w = r();
            std::memcpy(it.id.data() + i, &w, 8);
        }
        return it;
    };
    for (std::size_t i = 0; i < n; ++i) {
        auto const it = next();
        va.push_back(it);
        vb.push_back(it);
    }
    for (std::size_t i = 0; i < differences; ++i) {
        auto const it = next();
        (i % 2 == 0 ? va : vb).push_back(it);
        (i % 2 == 0 ? only_a : only_b).push_back(it.id);
    }
    workload w{sync::item_set{n + differences}, sync::item_set{n + differences}, std::move(only_a), std::move(only_b)};
    w.a.assign(std::move(va));
    w.b.assign(std::move(vb));
    std::sort(w.only_a.begin(), w.only_a.end());
    std::sort(w.only_b.begin(), w.only_b.end());
    return w;
}

struct run_figures {
    std::size_t messages = 0;
    std::size_t round_trips = 0;
    std::size_t bytes = 0;
    std::size_t largest_message = 0;
    double ms = 0;
    bool exact = false;
};

run_figures run(workload const& w, std::size_t max_message_bytes)
{
    sync::reconcile_settings s;
    s.max_message_bytes = max_message_bytes;
    if (max_message_bytes != 0)
        s.max_ids_per_range = 16; // an id list of 32 would not fit beside the rest
    auto const t0 = clock_type::now();
    auto const out = tools::reconcile_pair(w.a, w.b, s);
    double const ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    return {out.messages,
            (out.messages + 2) / 2, // the last message is answered by a "done"
            out.bytes,
            out.largest_message,
            ms,
            out.converged && out.a_needs == w.only_b && out.b_needs == w.only_a};
}

std::string count_text(std::size_t v)
{
    std::string s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

std::string bytes_text(double v)
{
    if (v >= 1e6)
        return tools::fixed(v / 1e6, 2) + " MB";
    if (v >= 1e4)
        return tools::fixed(v / 1e3, 1) + " kB";
    return count_text(static_cast<std::size_t>(v + 0.5)) + " B";
}

tools::figures as_json(run_figures const& f, std::size_t differences)
{
    return tools::figures{{"messages", f.messages},
                          {"round_trips", f.round_trips},
                          {"bytes", f.bytes},
                          {"bytes_per_difference", differences ? static_cast<double>(f.bytes) / static_cast<double>(differences) : 0.0},
                          {"largest_message_bytes", f.largest_message},
                          {"time_ms", f.ms},
                          {"exact", f.exact}};
}

// negentropy's C++ reference at 6edb041, measured in ../shared/research/gossip.md §10.
struct published_point {
    std::size_t n, differences, round_trips;
    double bytes, ms;
};
constexpr published_point negentropy_points[] = {
    {10'000, 0, 1, 324, 3},          {10'000, 20, 2, 11'900, 2},       {10'000, 2'000, 2, 241'000, 10},
    {100'000, 20, 2, 26'400, 9},     {100'000, 2'000, 2, 1'360'000, 30}, {1'000'000, 0, 1, 338, 32},
    {1'000'000, 2, 3, 4'300, 37},    {1'000'000, 20, 3, 37'000, 66},   {1'000'000, 200, 3, 311'000, 104},
    {1'000'000, 20'000, 3, 18'700'000, 300},
};

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::size_t> sizes{1'000, 10'000, 100'000, 1'000'000};
    std::vector<double> rates{0.1, 1, 10};
    std::uint64_t seed = 1;
    bool json = false, skip_published = false;
    CLI::App app{"meshkit-bench-sync: turns, bytes and time for range-based set reconciliation to find every "
                 "difference between two sets, against sending every id, and beside negentropy's figures.",
                 "meshkit-bench-sync"};
    app.add_option("--items", sizes, "Items both sets share (default 1000,10000,100000,1000000)")->delimiter(',')
        ->check(tools::in_range(1, 1e8));
    app.add_option("--rates", rates, "Differences, in percent of the items (default 0.1,1,10)")->delimiter(',')
        ->check(tools::in_range(0, 100.0001));
    app.add_option("--seed", seed, "Seed for the ids (default 1)");
    app.add_flag("--no-negentropy", skip_published, "Skip the table at negentropy's published points");
    app.add_flag("--json", json, "Print the figures as JSON instead of tables");
    tools::parse_or_exit(app, argc, argv);

    tools::report_table grid{"Range-based reconciliation against sending every id (stream: no message limit; "
                             "datagram: 1,100-byte messages)",
                             {"items", "differences", "stream: round trips", "stream: bytes", "B/difference",
                              "stream: ms", "datagram: round trips", "datagram: bytes", "datagram: ms",
                              "every id: bytes", "exact"}};
    tools::figures grid_json = tools::figures::array();
    for (auto n : sizes) {
        for (auto rate : rates) {
            auto const d = static_cast<std::size_t>(static_cast<double>(n) * rate / 100.0 + 0.5);
            auto const w = make_workload(seed, n, d);
            auto const stream = run(w, 0);
            auto const dgram = run(w, 1'100);
            double const naive = 32.0 * static_cast<double>(w.a.size() + w.only_b.size());
            grid.add_row({count_text(n), count_text(d), std::to_string(stream.round_trips), bytes_text(static_cast<double>(stream.bytes)),
                          d ? tools::fixed(static_cast<double>(stream.bytes) / static_cast<double>(d), 0) : "-",
                          tools::fixed(stream.ms, 1), std::to_string(dgram.round_trips), bytes_text(static_cast<double>(dgram.bytes)),
                          tools::fixed(dgram.ms, 1), bytes_text(naive), stream.exact && dgram.exact ? "yes" : "NO"});
            grid_json.push_back({{"items", n},
                                 {"differences", d},
                                 {"difference_percent", rate},
                                 {"stream", as_json(stream, d)},
                                 {"datagram_1100", as_json(dgram, d)},
                                 {"every_id_bytes", naive}});
        }
    }

    tools::report_table versus{"At negentropy's measured points (its C++ reference, no frame limit; gossip.md §10)",
                               {"items", "differences", "meshkit: round trips", "meshkit: bytes", "meshkit: ms",
                                "negentropy: round trips", "negentropy: bytes", "negentropy: ms", "exact"}};
    tools::figures versus_json = tools::figures::array();
    if (!skip_published) {
        for (auto const& p : negentropy_points) {
            auto const w = make_workload(seed, p.n, p.differences);
            auto const f = run(w, 0);
            versus.add_row({count_text(p.n), count_text(p.differences), std::to_string(f.round_trips),
                            bytes_text(static_cast<double>(f.bytes)), tools::fixed(f.ms, 1), std::to_string(p.round_trips),
                            bytes_text(p.bytes), tools::fixed(p.ms, 0), f.exact ? "yes" : "NO"});
            versus_json.push_back({{"items", p.n},
                                   {"differences", p.differences},
                                   {"meshkit", as_json(f, p.differences)},
                                   {"negentropy", {{"round_trips", p.round_trips}, {"bytes", p.bytes}, {"time_ms", p.ms}}}});
        }
    }

    std::vector<tools::report_table> tables{grid};
    if (!skip_published)
        tables.push_back(versus);
    tools::print_report(tables,
                        {{"tool", "meshkit-bench-sync"},
                         {"seed", seed},
                         {"datagram_message_bytes", 1100},
                         {"runs", grid_json},
                         {"negentropy_points", versus_json}},
                        json);
}
