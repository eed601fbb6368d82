// nat/observed_address.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_OBSERVED_ADDRESS_HPP
#define MESHKIT_NAT_OBSERVED_ADDRESS_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/nat/nat_type.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace meshkit::nat {

/// Settings of `observed_address`.
struct observed_address_config {
    /// Independent observers that must agree before an address is trusted (libp2p identify uses 4; 2 is the floor).
    std::size_t quorum = 2;
    /// The most observations kept (one per observer).
    std::size_t max_observers = 16;
    /// Observations older than this are forgotten: mappings change, and an old one may be gone.
    duration ttl = std::chrono::minutes(5);
};

/** Learns the node's external address from what peers report seeing.

    Each peer that receives a datagram from us can report the source
    address it saw. One report proves nothing (a peer may lie, or sit on
    our side of the NAT), so an address is trusted only when `quorum`
    independent observers report it; observers are independent when they
    differ in id and in IP address, so one host with many ids counts once.
    Comparing what different observers see also reveals the NAT's mapping
    behaviour (`inferred_type`).

    Bounded: at most `max_observers` observations, each for `ttl`.
*/
class observed_address {
public:
    explicit observed_address(observed_address_config cfg = {}) : cfg_(cfg) {}

    /// Records that `observer`, at `observer_address`, saw us as `seen`.
    void observe(node_id const& observer, endpoint const& observer_address, endpoint const& seen, time_point now)
    {
        expire(now);
        for (auto& o : observations_)
            if (o.observer == observer) {
                o = {observer, observer_address, seen, now};
                return;
            }
        if (observations_.size() >= cfg_.max_observers)
            observations_.erase(std::min_element(observations_.begin(), observations_.end(),
                                                 [](auto const& a, auto const& b) { return a.at < b.at; }));
        observations_.push_back({observer, observer_address, seen, now});
    }

    /// The address at least `quorum` independent observers agree on (the most reported one), if any.
    [[nodiscard]] std::optional<endpoint> confirmed() const
    {
        std::optional<endpoint> best;
        std::size_t best_votes = 0;
        for (auto const& o : observations_) {
            std::size_t const votes = independent_votes([&](observation const& x) { return x.seen == o.seen; });
            if (votes >= cfg_.quorum && votes > best_votes) {
                best = o.seen;
                best_votes = votes;
            }
        }
        return best;
    }

    /** The mapping behaviour the observations show.

        `open` when a confirmed address equals `bound` (no translation);
        `symmetric` when independent observers saw the same external IP with
        different ports; `cone` when the confirmed address is not `bound`
        and no observer saw another port; else `unknown`.
    */
    [[nodiscard]] nat_type inferred_type(endpoint const& bound) const
    {
        auto const addr = confirmed();
        bool ports_differ = false;
        for (auto const& a : observations_)
            for (auto const& b : observations_)
                if (a.observer_address.ip != b.observer_address.ip && a.seen.ip == b.seen.ip && a.seen.port != b.seen.port)
                    ports_differ = true;
        if (ports_differ)
            return nat_type::symmetric;
        if (!addr)
            return nat_type::unknown;
        return *addr == bound ? nat_type::open : nat_type::cone;
    }

    /** The address to advertise: the confirmed one, else a stable pick among the observations.

        Behind a symmetric NAT no two observers agree, but every observation
        still names the NAT's public IP, which is what a peer needs for a
        punch (with predicted ports) or to see that we are behind a NAT at
        all. The smallest observed address is chosen, so the answer does
        not change with every new observation.
    */
    [[nodiscard]] std::optional<endpoint> best() const
    {
        if (auto c = confirmed())
            return c;
        if (observations_.empty())
            return std::nullopt;
        auto const less = [](endpoint const& a, endpoint const& b) { return a.ip != b.ip ? a.ip < b.ip : a.port < b.port; };
        endpoint out = observations_.front().seen;
        for (auto const& o : observations_)
            if (less(o.seen, out))
                out = o.seen;
        return out;
    }

    /** Ports a sequential allocator will hand out next: the `count` ports after the highest one observed.

        RFC 5128 §3.4's port prediction. Only meaningful behind a symmetric
        NAT that allocates sequentially; for a random allocator the guesses
        cost `count` wasted probes and nothing else.
    */
    [[nodiscard]] std::vector<std::uint16_t> predicted_ports(std::size_t count) const
    {
        std::uint16_t highest = 0;
        for (auto const& o : observations_)
            highest = std::max(highest, o.seen.port);
        std::vector<std::uint16_t> out;
        for (std::size_t i = 1; i <= count && highest != 0 && highest + i <= 65535; ++i)
            out.push_back(static_cast<std::uint16_t>(highest + i));
        return out;
    }

    /// Forgets observations older than the TTL.
    void expire(time_point now)
    {
        std::erase_if(observations_, [&](observation const& o) { return now - o.at > cfg_.ttl; });
    }

    [[nodiscard]] std::size_t size() const noexcept { return observations_.size(); }

private:
    struct observation {
        node_id observer;
        endpoint observer_address;
        endpoint seen;
        time_point at;
    };

    template <class Pred>
    std::size_t independent_votes(Pred matches) const
    {
        // Count distinct observer IPs among matching observations: ids are free to mint, addresses less so.
        std::vector<std::array<std::uint8_t, 16>> ips;
        for (auto const& o : observations_)
            if (matches(o) && std::find(ips.begin(), ips.end(), o.observer_address.ip) == ips.end())
                ips.push_back(o.observer_address.ip);
        return ips.size();
    }

    observed_address_config cfg_;
    std::vector<observation> observations_;
};

} // namespace meshkit::nat

#endif // MESHKIT_NAT_OBSERVED_ADDRESS_HPP
