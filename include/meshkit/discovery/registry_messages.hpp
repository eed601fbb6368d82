// discovery/registry_messages.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_REGISTRY_MESSAGES_HPP
#define MESHKIT_DISCOVERY_REGISTRY_MESSAGES_HPP

#include <meshkit/discovery/peer_record.hpp>
#include <meshkit/link_events.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/wire/message.hpp>
#include <meshkit/wire/registry.hpp>

#include <cstdint>
#include <vector>

namespace meshkit::discovery {

/// A bootstrap node registers itself (or refreshes its registration) for `ttl_s` seconds.
struct rg_register {
    static constexpr wire::type_id wire_id = 0x0060;
    peer_record self;
    std::uint32_t ttl_s = 3600;
};

/// A bootstrap node withdraws its registration.
struct rg_unregister {
    static constexpr wire::type_id wire_id = 0x0061;
};

/// Asks the registry for the bootstrap nodes it knows.
struct rg_list_request {
    static constexpr wire::type_id wire_id = 0x0062;
    std::uint64_t request_id = 0;
};

/// The registry's answer: up to one datagram of live registrations, freshest first.
struct rg_list_response {
    static constexpr wire::type_id wire_id = 0x0063;
    std::uint64_t request_id = 0;
    std::vector<peer_record> bootstraps;
};

/// How one connection was made: the registry's dashboard data.
struct rg_connection_report {
    static constexpr wire::type_id wire_id = 0x0064;
    link_method method = link_method::direct;
    nat::nat_type local_nat = nat::nat_type::unknown;
    nat::nat_type remote_nat = nat::nat_type::unknown;
    std::uint32_t time_to_connect_ms = 0;
    std::uint16_t attempts = 0;
    bool upgraded = false;
};

/// The messages between nodes and the registry.
using registry_messages = wire::registry<rg_register, rg_unregister, rg_list_request, rg_list_response,
                                         rg_connection_report>;

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_REGISTRY_MESSAGES_HPP
