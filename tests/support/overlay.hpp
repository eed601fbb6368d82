// tests/support/overlay.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
// Shared by the membership and broadcast tests: simulated overlays of
// HyParView nodes, their links, and how connected they are.
#ifndef MESHKIT_TESTS_SUPPORT_OVERLAY_HPP
#define MESHKIT_TESTS_SUPPORT_OVERLAY_HPP

#include <meshkit/membership/hyparview.hpp>
#include <meshkit/node_config.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/sim/cluster.hpp>
#include <meshkit/sim/link_model.hpp>
#include <meshkit/sim/network.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <queue>
#include <set>
#include <vector>

namespace meshkit::test {

using namespace std::chrono_literals;

inline std::vector<std::byte> payload(std::size_t n = 64)
{
    return std::vector<std::byte>(n, std::byte{0x5a});
}

inline sim::link_model internet_like()
{
    sim::link_model m;
    m.latency = sim::latency_distribution::uniform(10ms, 50ms);
    return m;
}

template <class Node>
inline sim::cluster<Node> make_cluster(sim::network& net, std::size_t n, node_config cfg = {})
{
    typename sim::cluster<Node>::options o;
    o.nodes = n;
    o.config = cfg;
    sim::cluster<Node> c{net, o};
    c.start_all();
    net.advance(20s);
    return c;
}

/// Number of connected components among live nodes' active views.
template <class Node>
inline std::size_t components(sim::cluster<Node>& c)
{
    std::map<node_id, std::size_t> index;
    for (auto i : c.live_indices())
        index[c.node(i).id()] = i;
    std::set<std::size_t> seen;
    std::size_t count = 0;
    for (auto start : c.live_indices()) {
        if (seen.contains(start))
            continue;
        ++count;
        std::queue<std::size_t> q;
        q.push(start);
        seen.insert(start);
        while (!q.empty()) {
            auto v = q.front();
            q.pop();
            for (auto const& p : c.node(v).template engine<membership::hyparview>().active_view())
                if (auto it = index.find(p.id); it != index.end() && seen.insert(it->second).second)
                    q.push(it->second);
        }
    }
    return count;
}

} // namespace meshkit::test

#endif // MESHKIT_TESTS_SUPPORT_OVERLAY_HPP
