// sim/cluster.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_CLUSTER_HPP
#define MESHKIT_SIM_CLUSTER_HPP

#include <meshkit/broadcast/delivered.hpp>
#include <meshkit/discovery/static_seeds.hpp>
#include <meshkit/node_config.hpp>
#include <meshkit/sim/network.hpp>
#include <meshkit/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <variant>
#include <vector>

namespace meshkit::sim {

/// What one broadcast achieved across a cluster.
struct broadcast_outcome {
    /// Live nodes other than the origin.
    std::size_t receivers = 0;
    /// Of those, how many delivered the broadcast.
    std::size_t delivered = 0;
    /// Payload messages received by all nodes for this broadcast.
    std::uint64_t payload_messages = 0;
    /// Relative message redundancy: payload messages per delivery, less one (0 = a perfect tree).
    double rmr = 0;
    /// Last delivery hop: the most hops any delivered copy travelled.
    std::size_t last_delivery_hop = 0;
    /// Time from the broadcast to the last delivery.
    duration last_delivery_time{0};

    [[nodiscard]] double delivery_ratio() const noexcept
    {
        return receivers ? static_cast<double>(delivered) / static_cast<double>(receivers) : 1.0;
    }
};

/** A population of broadcast-capable nodes on one `sim::network`, for
    scenarios, tests and benchmarks.

    Nodes join through a random node that joined before them (the first
    one knows nobody), are started `join_spacing` apart, and can be crashed
    (destroyed: their address goes dead) or added at any time, which is all
    churn needs. `broadcast_from` runs one broadcast to completion and
    measures it the way the Plumtree paper does.

    @tparam Node a `basic_node` with a broadcast engine.
*/
template <class Node>
class cluster {
public:
    struct options {
        std::size_t nodes = 100;
        node_config config{};
        /// Earlier nodes each newcomer is given as seeds.
        std::size_t contacts = 1;
        /// Virtual time between two nodes' starts, so joins do not all land in one instant.
        duration join_spacing = std::chrono::milliseconds(10);
    };

    cluster(network& net, options const& opts) : net_(&net), opts_(opts)
    {
        for (std::size_t i = 0; i < opts.nodes; ++i)
            add_node(false);
    }

    /// Starts every node not yet started, `join_spacing` apart.
    void start_all()
    {
        for (auto& s : slots_)
            if (s.node && !s.node->running()) {
                s.node->start();
                net_->advance(opts_.join_spacing);
            }
    }

    /// Adds a node that joins through a random live node; returns its index.
    std::size_t add_node(bool start = true)
    {
        discovery::static_seeds seeds;
        std::vector<std::size_t> live = live_indices();
        for (std::size_t k = 0; k < opts_.contacts && !live.empty(); ++k)
            seeds.add(slots_[live[net_->rng().below(live.size())]].node->local_endpoint());
        node_config cfg = opts_.config;
        cfg.seed = opts_.config.seed.value_or(0) * 1'000'003 + slots_.size();
        std::size_t const index = slots_.size();
        slots_.push_back(slot{std::make_unique<Node>(*net_, cfg, std::move(seeds))});
        // Handlers reach the tracking state through a pointer that survives
        // moving the cluster.
        tracking_->hops.push_back(-1);
        slots_.back().node->on_event([t = tracking_.get(), net = net_, index](typename Node::event_type const& ev) {
            if (auto const* d = std::get_if<broadcast::delivered>(&ev); d && d->key == t->current) {
                t->hops[index] = static_cast<int>(d->hops);
                t->last_delivery = net->now();
            }
        });
        if (start)
            slots_.back().node->start();
        return index;
    }

    /// Destroys node `i`, as a process dying: its address goes dead at once.
    void crash(std::size_t i) { slots_[i].node.reset(); }

    /// Crashes `fraction` of the live nodes, chosen with the network's generator, sparing `keep`.
    void crash_fraction(double fraction, std::size_t keep = static_cast<std::size_t>(-1))
    {
        std::vector<std::size_t> live = live_indices();
        std::erase(live, keep);
        auto const count = static_cast<std::size_t>(fraction * static_cast<double>(live_indices().size()));
        for (std::size_t k = 0; k < count && !live.empty(); ++k) {
            std::size_t const pick = net_->rng().below(live.size());
            crash(live[pick]);
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(pick));
        }
    }

    /// Broadcasts from node `origin`, lets the network run for `settle`, and measures.
    broadcast_outcome broadcast_from(std::size_t origin, std::span<std::byte const> payload,
                                     duration settle = std::chrono::seconds(5))
    {
        auto& t = *tracking_;
        std::fill(t.hops.begin(), t.hops.end(), -1);
        std::uint64_t const before = payloads_received();
        time_point const sent_at = net_->now();
        t.last_delivery = sent_at;
        auto key = slots_[origin].node->broadcast(payload);
        broadcast_outcome out;
        if (key) {
            t.current = *key;
            net_->advance(settle);
        }
        // A refused broadcast reaches nobody: it counts as such, never as success.
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (!slots_[i].node || i == origin)
                continue;
            ++out.receivers;
            if (t.hops[i] >= 0) {
                ++out.delivered;
                out.last_delivery_hop = std::max(out.last_delivery_hop, static_cast<std::size_t>(t.hops[i]));
            }
        }
        out.payload_messages = payloads_received() - before;
        out.rmr = out.delivered ? static_cast<double>(out.payload_messages) / static_cast<double>(out.delivered) - 1 : 0;
        out.last_delivery_time = t.last_delivery - sent_at;
        t.current = {};
        return out;
    }

    /// A random live node's index.
    [[nodiscard]] std::size_t random_live()
    {
        auto live = live_indices();
        return live[net_->rng().below(live.size())];
    }

    [[nodiscard]] std::vector<std::size_t> live_indices() const
    {
        std::vector<std::size_t> live;
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].node)
                live.push_back(i);
        return live;
    }

    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    [[nodiscard]] bool alive(std::size_t i) const noexcept { return slots_[i].node != nullptr; }
    [[nodiscard]] Node& node(std::size_t i) { return *slots_[i].node; }
    [[nodiscard]] network& net() noexcept { return *net_; }

private:
    struct slot {
        std::unique_ptr<Node> node;
    };

    struct tracking {
        broadcast::message_key current{};
        time_point last_delivery{};
        std::vector<int> hops; // per node: hops of the current broadcast, -1 if not delivered
    };

    std::uint64_t payloads_received()
    {
        std::uint64_t total = 0;
        for (auto& s : slots_)
            if (s.node)
                total += s.node->broadcaster().stats().payloads_received;
        return total;
    }

    network* net_;
    options opts_;
    std::vector<slot> slots_;
    std::unique_ptr<tracking> tracking_ = std::make_unique<tracking>();
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_CLUSTER_HPP
