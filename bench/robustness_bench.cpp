// meshkit-bench-robustness: broadcasts during heavy link churn, at 1,000 and
// 10,000 simulated nodes (tools/common/churn_scenario.hpp). How many
// deliveries the broadcast tree missed, how long anti-entropy took to bring
// every broadcast to every node, and what that cost in bytes.

#include <common/churn_scenario.hpp>
#include <common/cli.hpp>
#include <common/report.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    using namespace meshkit;
    std::vector<std::size_t> sizes{1'000, 10'000};
    std::uint64_t seed = 50;
    bool json = false;
    CLI::App app{"meshkit-bench-robustness: N simulated nodes in one reliable topic; 60 broadcasts while every 2 s a "
                 "fresh 10 % of the nodes is cut off; then how long anti-entropy takes to bring every broadcast to "
                 "every node, and its bytes.",
                 "meshkit-bench-robustness"};
    app.add_option("--nodes", sizes, "Node counts (default 1000,10000)")->delimiter(',')->check(tools::in_range(10, 1e6));
    app.add_option("--seed", seed, "Simulation seed (default 50, as the gossip test)");
    app.add_flag("--json", json, "Print the figures as JSON instead of a table");
    tools::parse_or_exit(app, argc, argv);

    tools::report_table table{"Broadcasts during heavy link churn (60 broadcasts, 10 % of nodes cut off every 2 s)",
                              {"nodes", "deliveries", "missing 5 s after", "until all hold all", "anti-entropy B/node/s",
                               "anti-entropy share of bytes", "duplicates", "wall s"}};
    tools::figures runs = tools::figures::array();
    for (auto n : sizes) {
        auto const started = std::chrono::steady_clock::now();
        tools::churn_outcome const r = tools::run_churn_scenario(n, seed);
        double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::size_t const deliveries = r.broadcasts * (r.nodes - 1);
        double const per_node_s = r.seconds_until_all > 0
                                      ? static_cast<double>(r.anti_entropy_bytes) / static_cast<double>(n) / r.seconds_until_all
                                      : 0;
        double const share = r.all_bytes ? static_cast<double>(r.anti_entropy_bytes) / static_cast<double>(r.all_bytes) : 0;
        table.add_row({std::to_string(n), std::to_string(deliveries), std::to_string(r.missing_after_churn),
                       r.seconds_until_all > 0 ? std::to_string(r.seconds_until_all) + " s" : "not within 120 s",
                       tools::fixed(per_node_s, 0), tools::fixed(100 * share, 1) + " %", std::to_string(r.duplicates),
                       tools::fixed(wall, 1)});
        runs.push_back({{"nodes", n},
                        {"deliveries", deliveries},
                        {"missing_5s_after_churn", r.missing_after_churn},
                        {"seconds_until_all_hold_all", r.seconds_until_all},
                        {"anti_entropy_bytes", r.anti_entropy_bytes},
                        {"anti_entropy_bytes_per_node_per_s", per_node_s},
                        {"all_bytes_while_catching_up", r.all_bytes},
                        {"duplicates", r.duplicates},
                        {"events", r.events},
                        {"wall_s", wall}});
    }
    tools::print_report({table}, {{"tool", "meshkit-bench-robustness"}, {"seed", seed}, {"runs", runs}}, json);
    return 0;
}
