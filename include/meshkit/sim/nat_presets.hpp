// sim/nat_presets.hpp
// ~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_NAT_PRESETS_HPP
#define MESHKIT_SIM_NAT_PRESETS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/sim/nat_box.hpp>
#include <meshkit/sim/network.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace meshkit::sim {

/// Where a simulated host sits: the classic NAT types, on RFC 4787's grid (see `sim::nat_config`).
enum class nat_preset : std::uint8_t {
    open = 0,
    full_cone,
    restricted_cone,
    port_restricted_cone,
    /// Address-and-port-dependent mapping with random ports.
    symmetric,
    /// The same with sequential ports: predictable.
    symmetric_sequential,
    /// A home port-restricted NAT behind a shared carrier-grade NAT.
    cgnat,
};

/// How many presets there are: `nat_preset` values run from 0 to this, exclusive.
inline constexpr std::size_t nat_preset_count = 7;

/// The preset's printed name: `open`, `full_cone`, `restricted_cone`, `port_restricted`, `symmetric`, `symmetric_seq`, `cgnat`.
constexpr char const* to_string(nat_preset p) noexcept
{
    constexpr char const* names[] = {"open", "full_cone", "restricted_cone", "port_restricted", "symmetric",
                                     "symmetric_seq", "cgnat"};
    return names[static_cast<std::size_t>(p)];
}

/// The preset printed as `s` by `to_string`, if any.
inline std::optional<nat_preset> parse_nat_preset(std::string_view s)
{
    for (std::size_t i = 0; i < nat_preset_count; ++i)
        if (s == to_string(static_cast<nat_preset>(i)))
            return static_cast<nat_preset>(i);
    return std::nullopt;
}

/** Puts simulated hosts behind NATs of a given preset.

    Each host gets its own NAT box, except that carrier-grade NAT hosts
    share a carrier box, `per_carrier` at a time, each behind its own home
    NAT, as subscribers do.

    @par Example
    @code
    sim::network net{7};
    sim::host_placer placer{net};
    node_config c;
    c.listen = placer.place(sim::nat_preset::cgnat);
    @endcode
*/
class host_placer {
public:
    explicit host_placer(network& net, std::size_t per_carrier = 16) : net_(&net), per_carrier_(per_carrier) {}

    /// A fresh address for a host behind a NAT of `preset` (a public address for `open`).
    endpoint place(nat_preset preset)
    {
        network& net = *net_;
        switch (preset) {
        case nat_preset::open: return net.next_endpoint();
        case nat_preset::full_cone: return net.next_endpoint_behind(net.add_nat(nat_config::full_cone()));
        case nat_preset::restricted_cone: return net.next_endpoint_behind(net.add_nat(nat_config::restricted_cone()));
        case nat_preset::port_restricted_cone:
            return net.next_endpoint_behind(net.add_nat(nat_config::port_restricted_cone()));
        case nat_preset::symmetric: return net.next_endpoint_behind(net.add_nat(nat_config::symmetric()));
        case nat_preset::symmetric_sequential: {
            auto cfg = nat_config::symmetric();
            cfg.ports = nat_port_assignment::sequential;
            return net.next_endpoint_behind(net.add_nat(cfg));
        }
        case nat_preset::cgnat:
            if (!carrier_ || carrier_hosts_ == per_carrier_) {
                carrier_ = net.add_nat(nat_config::cgnat());
                carrier_hosts_ = 0;
            }
            ++carrier_hosts_;
            return net.next_endpoint_behind(net.add_nat(nat_config::port_restricted_cone(), *carrier_));
        }
        return net.next_endpoint();
    }

private:
    network* net_;
    std::size_t per_carrier_;
    std::optional<nat_id> carrier_;
    std::size_t carrier_hosts_ = 0;
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_NAT_PRESETS_HPP
