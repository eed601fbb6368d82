// discovery/registry.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_REGISTRY_HPP
#define MESHKIT_DISCOVERY_REGISTRY_HPP

#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/discovery/registry_messages.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

namespace meshkit::discovery {

/// Settings of the registry; the TTL and sweep follow Flashback's relay tracker (1 h, every 5 min).
struct registry_config {
    duration max_ttl = std::chrono::hours(1);
    duration cleanup_interval = std::chrono::minutes(5);
    std::size_t max_entries = 1024;
    /// Connection reports kept for inspection (the counters keep everything).
    std::size_t max_reports = 4096;
    /** Registrations per list response: one datagram's worth.

        Five of the largest signed records make 1,100 bytes, within the
        1,175 a secure session leaves of a 1,200-byte datagram. A record
        naming more than `peer_record::max_introducers` is refused at
        registration, so no registration can push a reply past the limit.
    */
    std::size_t list_limit = 5;
};

/** The registry node's engine: bootstrap registrations and connection reports, never discovery.

    It tracks only bootstrap nodes: `rg_register` (which must come from the
    address in the record, from a node that says it broadcasts and is a
    bootstrap), `rg_unregister` and `rg_list_request`, each registration
    expiring after at most `max_ttl` and swept every `cleanup_interval`.
    It counts `rg_connection_report`s by method and NAT pair: the
    dashboard the seed measures its KPIs on.

    Nodes never need it to find each other (cache gossip does that), so
    the mesh works with the registry down; a test proves it.

    @par Events
    None.
*/
class registry_server {
public:
    using messages = registry_messages;
    using events = type_list<>;

    struct registration {
        peer_record record;
        endpoint address;
        time_point expires;
    };

    /// Connection counts by method, indexed [local NAT][remote NAT][method - 1].
    using report_matrix = std::array<std::array<std::array<std::uint64_t, 3>, 4>, 4>;

    /// Its run-time settings: `node_config::engine<registry_server>()` on a node.
    using config_type = registry_config;

    explicit registry_server(registry_config cfg = {}) : cfg_(cfg) {}

    [[nodiscard]] std::map<node_id, registration> const& registrations() const noexcept { return entries_; }
    [[nodiscard]] report_matrix const& reports_by_nat() const noexcept { return matrix_; }
    [[nodiscard]] std::deque<rg_connection_report> const& recent_reports() const noexcept { return recent_; }
    [[nodiscard]] std::uint64_t reports() const noexcept { return reports_; }
    [[nodiscard]] std::uint64_t refused() const noexcept { return refused_; }
    /// Registrations refused because their signature did not verify (counted in `refused` too).
    [[nodiscard]] std::uint64_t forged() const noexcept { return forged_; }

    template <class Ctx>
    void start(Ctx& ctx)
    {
        ctx.set_timer(cfg_.cleanup_interval, 1);
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t)
    {
        ctx.set_timer(cfg_.cleanup_interval, 1);
        std::erase_if(entries_, [&](auto const& kv) { return kv.second.expires <= ctx.now(); });
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, rg_register const& m)
    {
        bool const honest = m.self.id == in.header.sender && m.self.broadcasting && m.self.address &&
                            *m.self.address == in.from && (m.self.capabilities & is_bootstrap) &&
                            m.self.introducers.size() <= peer_record::max_introducers;
        if (!honest || (entries_.size() >= cfg_.max_entries && !entries_.contains(m.self.id))) {
            ++refused_;
            return;
        }
        // The registry passes the record on to whoever asks: it must be its author's own word.
        if (!ctx.verify(m.self.id, signing_bytes(m.self), m.self.signature)) {
            ++refused_;
            ++forged_;
            return;
        }
        duration const ttl = std::min<duration>(std::chrono::seconds(m.ttl_s), cfg_.max_ttl);
        entries_[m.self.id] = registration{m.self, in.from, ctx.now() + ttl};
    }

    template <class Ctx>
    void on_message(Ctx&, inbound const& in, rg_unregister const&)
    {
        if (auto it = entries_.find(in.header.sender); it != entries_.end() && it->second.address == in.from)
            entries_.erase(it);
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, rg_list_request const& m)
    {
        std::vector<registration const*> live;
        for (auto const& [id, r] : entries_)
            if (r.expires > ctx.now())
                live.push_back(&r);
        std::sort(live.begin(), live.end(), [](auto* a, auto* b) { return a->expires > b->expires; });
        rg_list_response out{m.request_id, {}};
        for (std::size_t i = 0; i < live.size() && i < cfg_.list_limit; ++i)
            out.bootstraps.push_back(live[i]->record);
        ctx.send(in.from, out);
    }

    template <class Ctx>
    void on_message(Ctx&, inbound const&, rg_list_response const&)
    {
    }

    template <class Ctx>
    void on_message(Ctx&, inbound const&, rg_connection_report const& m)
    {
        auto const method = static_cast<std::size_t>(m.method);
        auto const local = static_cast<std::size_t>(m.local_nat), remote = static_cast<std::size_t>(m.remote_nat);
        if (method < 1 || method > 3 || local > 3 || remote > 3) {
            ++refused_;
            return;
        }
        ++matrix_[local][remote][method - 1];
        ++reports_;
        recent_.push_back(m);
        if (recent_.size() > cfg_.max_reports)
            recent_.pop_front();
    }

private:
    registry_config cfg_;
    std::map<node_id, registration> entries_;
    report_matrix matrix_{};
    std::deque<rg_connection_report> recent_;
    std::uint64_t reports_ = 0;
    std::uint64_t refused_ = 0;
    std::uint64_t forged_ = 0;
};

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_REGISTRY_HPP
