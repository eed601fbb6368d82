// sim/nat_box.hpp
// ~~~~~~~~~~~~~~~
#ifndef MESHKIT_SIM_NAT_BOX_HPP
#define MESHKIT_SIM_NAT_BOX_HPP

#include <meshkit/detail/rng.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/time.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace meshkit::sim {

/// How a NAT chooses the external port for an outbound flow (RFC 4787 §4.1).
enum class nat_mapping {
    /** One external port per internal endpoint, whatever the destination (EIM: "cone"). */
    endpoint_independent = 1,
    /** A new external port per destination address. */
    address_dependent,
    /** A new external port per destination address and port (the "symmetric" NAT). */
    address_and_port_dependent,
};

/// Which inbound datagrams a NAT lets through an existing mapping (RFC 4787 §5).
enum class nat_filtering {
    /** Any source (EIF: "full cone"). */
    endpoint_independent = 1,
    /** Sources at an address the internal endpoint has sent to ("restricted cone"). */
    address_dependent,
    /** Sources at an address and port the internal endpoint has sent to ("port-restricted"). */
    address_and_port_dependent,
};

/// How a NAT picks external port numbers (RFC 4787 §4.2).
enum class nat_port_assignment {
    /** The internal port if it is free, else the next free one. */
    preserving = 1,
    /** The next port after the last one handed out: predictable. */
    sequential,
    /** A random free port: unpredictable. */
    random,
};

/** The behaviour of one simulated NAT.

    The presets name the classic RFC 3489 types on RFC 4787's grid. The
    default mapping timeout is 30 s: RFC 4787 asks for at least 2 minutes,
    but deployed NATs drop idle UDP mappings at about 30 s (Tailscale keeps
    endpoints for 27 s for that reason), and a traversal that survives 30 s
    survives the rest.
*/
struct nat_config {
    nat_mapping mapping = nat_mapping::endpoint_independent;
    nat_filtering filtering = nat_filtering::address_and_port_dependent;
    nat_port_assignment ports = nat_port_assignment::preserving;
    /// An idle mapping expires after this long without outbound traffic through it.
    duration mapping_timeout = std::chrono::seconds(30);
    /// Whether a host may reach another behind the same NAT through the NAT's external address.
    bool hairpinning = true;

    /// EIM + EIF.
    static nat_config full_cone() { return {nat_mapping::endpoint_independent, nat_filtering::endpoint_independent}; }
    /// EIM + address-dependent filtering.
    static nat_config restricted_cone() { return {nat_mapping::endpoint_independent, nat_filtering::address_dependent}; }
    /// EIM + address-and-port-dependent filtering: what Linux masquerading does.
    static nat_config port_restricted_cone()
    {
        return {nat_mapping::endpoint_independent, nat_filtering::address_and_port_dependent};
    }
    /// Address-and-port-dependent mapping and filtering, random ports: the hardest common NAT.
    static nat_config symmetric()
    {
        return {nat_mapping::address_and_port_dependent, nat_filtering::address_and_port_dependent,
                nat_port_assignment::random};
    }
    /// A carrier-grade NAT (RFC 6888 asks for EIM), placed in series with a home NAT.
    static nat_config cgnat()
    {
        return {nat_mapping::endpoint_independent, nat_filtering::address_and_port_dependent,
                nat_port_assignment::sequential};
    }
};

/// What a `nat_box` has done, for tests and reports.
struct nat_stats {
    std::uint64_t mappings_created = 0;
    std::uint64_t translated_out = 0;
    std::uint64_t translated_in = 0;
    /// Inbound datagrams with no live mapping at their port.
    std::uint64_t dropped_no_mapping = 0;
    /// Inbound datagrams a live mapping's filter refused.
    std::uint64_t dropped_filtered = 0;
    /// Hairpinned datagrams refused because hairpinning is off.
    std::uint64_t dropped_hairpin = 0;
};

/** The translation state of one NAT: its mappings, ports and filters.

    Pure state with no notion of the network around it: `sim::network`
    decides which datagrams cross which box, and calls `outbound` and
    `inbound`. Mappings are bounded by the port space; filter memory is
    bounded per mapping.
*/
class nat_box {
public:
    nat_box(nat_config cfg, std::uint32_t external_ip) : cfg_(cfg), external_ip_(external_ip) {}

    /** Translates a datagram leaving `internal` for `remote`.

        Creates or refreshes the mapping. @return the external endpoint the
        datagram now comes from, or nothing when the port space is exhausted.
    */
    std::optional<endpoint> outbound(endpoint const& internal, endpoint const& remote, time_point now, detail::rng& rng)
    {
        flow_key const key = key_for(internal, remote);
        std::uint16_t port = 0;
        if (auto it = by_flow_.find(key); it != by_flow_.end() && alive(it->second, now)) {
            port = it->second;
        } else {
            auto p = allocate(internal.port, now, rng);
            if (!p)
                return std::nullopt;
            port = *p;
            by_flow_[key] = port;
            mappings_[port] = mapping{internal, now + cfg_.mapping_timeout, {}};
            ++stats_.mappings_created;
        }
        mapping& m = mappings_[port];
        m.expires = now + cfg_.mapping_timeout;
        remember(m, remote);
        ++stats_.translated_out;
        return endpoint::v4(external_ip_, port);
    }

    /** Where a datagram from `remote` to external port `port` goes, if anywhere.

        @return the internal endpoint, or nothing when no live mapping exists
        or the mapping's filter refuses `remote`.
    */
    std::optional<endpoint> inbound(std::uint16_t port, endpoint const& remote, time_point now)
    {
        auto it = mappings_.find(port);
        if (it == mappings_.end() || !alive(port, now)) {
            ++stats_.dropped_no_mapping;
            return std::nullopt;
        }
        if (!admits(it->second, remote)) {
            ++stats_.dropped_filtered;
            return std::nullopt;
        }
        ++stats_.translated_in;
        return it->second.internal;
    }

    /// Records a hairpinned datagram refused because hairpinning is off.
    void refuse_hairpin() noexcept { ++stats_.dropped_hairpin; }

    [[nodiscard]] nat_config const& config() const noexcept { return cfg_; }
    [[nodiscard]] std::uint32_t external_ip() const noexcept { return external_ip_; }
    [[nodiscard]] nat_stats const& stats() const noexcept { return stats_; }

    /// Live mappings now.
    [[nodiscard]] std::size_t mapping_count(time_point now) const
    {
        return static_cast<std::size_t>(std::count_if(mappings_.begin(), mappings_.end(),
                                                       [&](auto const& kv) { return kv.second.expires > now; }));
    }

private:
    /** Remote endpoints a mapping's filter remembers, the oldest forgotten first.

        Linux tracks each flow in conntrack (tens of thousands per box), so
        a host that sprays 1,024 birthday probes keeps its other flows. A
        bound of 64 made the sprayer's own relay and introducer sessions
        look unsolicited to its NAT; 2,048 keeps them.
    */
    static constexpr std::size_t max_remembered = 2048;
    static constexpr std::uint16_t first_port = 1024;

    struct flow_key {
        endpoint internal;
        endpoint remote; // zeroed parts the mapping behaviour ignores
        friend bool operator==(flow_key const&, flow_key const&) = default;
    };
    struct flow_hash {
        std::size_t operator()(flow_key const& k) const noexcept
        {
            return detail::hash_combine(std::hash<endpoint>{}(k.internal), std::hash<endpoint>{}(k.remote));
        }
    };
    struct mapping {
        endpoint internal;
        time_point expires;
        std::vector<endpoint> contacted; // most recent last, bounded
    };

    flow_key key_for(endpoint const& internal, endpoint const& remote) const
    {
        endpoint r{};
        if (cfg_.mapping != nat_mapping::endpoint_independent)
            r.ip = remote.ip;
        if (cfg_.mapping == nat_mapping::address_and_port_dependent)
            r.port = remote.port;
        return {internal, r};
    }

    bool alive(std::uint16_t port, time_point now) const
    {
        auto it = mappings_.find(port);
        return it != mappings_.end() && it->second.expires > now;
    }

    bool admits(mapping const& m, endpoint const& remote) const
    {
        switch (cfg_.filtering) {
        case nat_filtering::endpoint_independent:
            return true;
        case nat_filtering::address_dependent:
            return std::any_of(m.contacted.begin(), m.contacted.end(),
                               [&](endpoint const& c) { return c.ip == remote.ip; });
        case nat_filtering::address_and_port_dependent:
            return std::find(m.contacted.begin(), m.contacted.end(), remote) != m.contacted.end();
        }
        return false;
    }

    static void remember(mapping& m, endpoint const& remote)
    {
        auto it = std::find(m.contacted.begin(), m.contacted.end(), remote);
        if (it != m.contacted.end())
            m.contacted.erase(it);
        else if (m.contacted.size() >= max_remembered)
            m.contacted.erase(m.contacted.begin());
        m.contacted.push_back(remote);
    }

    bool port_free(std::uint16_t port, time_point now) const { return port >= first_port && !alive(port, now); }

    std::optional<std::uint16_t> allocate(std::uint16_t wanted, time_point now, detail::rng& rng)
    {
        constexpr std::uint32_t span = 65536 - first_port;
        std::uint32_t start = 0;
        switch (cfg_.ports) {
        case nat_port_assignment::preserving:
            if (port_free(wanted, now))
                return claim(wanted);
            start = next_sequential_;
            break;
        case nat_port_assignment::sequential:
            start = next_sequential_;
            break;
        case nat_port_assignment::random:
            start = static_cast<std::uint32_t>(rng.below(span));
            break;
        }
        for (std::uint32_t i = 0; i < span; ++i) {
            auto const port = static_cast<std::uint16_t>(first_port + (start + i) % span);
            if (port_free(port, now)) {
                if (cfg_.ports != nat_port_assignment::random)
                    next_sequential_ = (port - first_port + 1) % span;
                return claim(port);
            }
        }
        return std::nullopt;
    }

    std::uint16_t claim(std::uint16_t port)
    {
        // An expired mapping's flow entries point at a port being reused: drop them.
        if (auto old = mappings_.find(port); old != mappings_.end()) {
            boost::unordered::erase_if(by_flow_, [&](auto const& kv) { return kv.second == port; });
            mappings_.erase(old);
        }
        return port;
    }

    nat_config cfg_;
    std::uint32_t external_ip_;
    std::uint32_t next_sequential_ = 0;
    nat_stats stats_;
    boost::unordered_flat_map<flow_key, std::uint16_t, flow_hash> by_flow_;
    boost::unordered_flat_map<std::uint16_t, mapping> mappings_;
};

} // namespace meshkit::sim

#endif // MESHKIT_SIM_NAT_BOX_HPP
