// discovery/registry_client.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_REGISTRY_CLIENT_HPP
#define MESHKIT_DISCOVERY_REGISTRY_CLIENT_HPP

#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/discovery/registry_messages.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/inbound.hpp>
#include <meshkit/nat/connection_events.hpp>
#include <meshkit/time.hpp>
#include <meshkit/type_list.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace meshkit::discovery {

/// Settings of the registry client.
struct registry_client_config {
    /// The registry's address; unset, the client does nothing.
    std::optional<endpoint> registry;
    /// Whether to register this node as a bootstrap node (it must be public and broadcast).
    bool register_self = false;
    /// Registrations are renewed this often, well inside their TTL.
    duration refresh = std::chrono::minutes(20);
    std::uint32_t ttl_s = 3600;
};

/// The bootstrap nodes a registry listed, in answer to `registry_client::request_list`.
struct registry_listed {
    std::vector<peer_record> bootstraps;
};

/** A node's side of the registry: reports how each connection was made, and registers bootstrap nodes.

    Reporting only. Nothing here feeds discovery, so a registry that is
    down, slow or lying changes no connection; its answers to
    `request_list` reach the application as `registry_listed` and go no
    further.

    @par Events
    `registry_listed`.
*/
class registry_client {
public:
    using messages = registry_messages;
    using events = type_list<registry_listed>;

    /// Its run-time settings: `node_config::engine<registry_client>()` on a node.
    using config_type = registry_client_config;

    explicit registry_client(registry_client_config cfg = {}) : cfg_(cfg) {}

    [[nodiscard]] std::uint64_t reports_sent() const noexcept { return reports_sent_; }
    /// Listed records dropped because their author's signature did not verify.
    [[nodiscard]] std::uint64_t forged_records() const noexcept { return forged_records_; }

    /// Asks the registry for its bootstrap list.
    template <class Ctx>
    void request_list(Ctx& ctx)
    {
        if (cfg_.registry)
            ctx.send(*cfg_.registry, rg_list_request{pending_list_ = ctx.rng()() | 1});
    }

    /// Withdraws this node's registration.
    template <class Ctx>
    void unregister(Ctx& ctx)
    {
        if (cfg_.registry && cfg_.register_self)
            ctx.send(*cfg_.registry, rg_unregister{});
    }

    template <class Ctx>
    void start(Ctx& ctx)
    {
        if (cfg_.registry && cfg_.register_self) {
            register_now(ctx);
            ctx.set_timer(cfg_.refresh, 1);
        }
    }

    template <class Ctx>
    void on_timer(Ctx& ctx, std::uint64_t)
    {
        register_now(ctx);
        ctx.set_timer(cfg_.refresh, 1);
    }

    template <class Ctx>
    void on_event(Ctx&, nat::address_observed const& e)
    {
        own_nat_ = e.nat;
    }

    template <class Ctx>
    void on_event(Ctx& ctx, link_up const& e)
    {
        if (!cfg_.registry || !e.initiated)
            return;
        auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.time_to_connect).count();
        ctx.send(*cfg_.registry, rg_connection_report{e.method, own_nat_, e.peer_nat,
                                                      static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, std::numeric_limits<std::uint32_t>::max())),
                                                      static_cast<std::uint16_t>(std::min(e.attempts, 65535u)), e.upgraded});
        ++reports_sent_;
    }

    template <class Ctx>
    void on_message(Ctx& ctx, inbound const& in, rg_list_response const& m)
    {
        if (!cfg_.registry || in.from != *cfg_.registry || m.request_id != pending_list_)
            return;
        pending_list_ = 0;
        // The registry relays what bootstrap nodes registered: each record must be its author's.
        registry_listed listed;
        for (auto const& r : m.bootstraps) {
            if (ctx.verify(r.id, signing_bytes(r), r.signature))
                listed.bootstraps.push_back(r);
            else
                ++forged_records_;
        }
        ctx.emit(listed);
    }

    // The registry's own messages are ignored by clients.
    template <class Ctx> void on_message(Ctx&, inbound const&, rg_register const&) {}
    template <class Ctx> void on_message(Ctx&, inbound const&, rg_unregister const&) {}
    template <class Ctx> void on_message(Ctx&, inbound const&, rg_list_request const&) {}
    template <class Ctx> void on_message(Ctx&, inbound const&, rg_connection_report const&) {}

private:
    template <class Ctx>
    void register_now(Ctx& ctx)
    {
        peer_record self;
        self.id = ctx.self();
        self.address = ctx.local_endpoint();
        self.nat = nat::nat_type::open;
        self.capabilities = can_relay | can_coordinate | is_bootstrap;
        self.broadcasting = true;
        self.version = 1;
        self.signature = ctx.sign(signing_bytes(self));
        ctx.send(*cfg_.registry, rg_register{self, cfg_.ttl_s});
    }

    registry_client_config cfg_;
    nat::nat_type own_nat_ = nat::nat_type::unknown;
    std::uint64_t pending_list_ = 0;
    std::uint64_t reports_sent_ = 0;
    std::uint64_t forged_records_ = 0;
};

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_REGISTRY_CLIENT_HPP
