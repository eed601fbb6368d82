// discovery/composite.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_COMPOSITE_HPP
#define MESHKIT_DISCOVERY_COMPOSITE_HPP

#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/endpoint.hpp>

#include <algorithm>
#include <cstddef>
#include <tuple>
#include <utility>
#include <vector>

namespace meshkit::discovery {

/** Several discovery strategies as one: candidates from each in turn, every outcome to all.

    Models `meshkit::discovery_strategy` when every `Ds` does. `candidates(n)`
    takes one candidate from each strategy in order, round after round,
    skipping addresses already taken, until it has `n` or every strategy is
    out: a static list and a LAN group and a capability query all get a
    say, none crowds the others out. `report` goes to every strategy (each
    ignores addresses it never gave). A member that also takes beacons
    (`observe_beacon`) is fed them: `feed` forwards to each that does.
*/
template <discovery_strategy... Ds>
class composite {
public:
    composite() = default;
    explicit composite(Ds... members) : members_(std::move(members)...) {}

    [[nodiscard]] std::vector<endpoint> candidates(std::size_t n)
    {
        std::vector<std::vector<endpoint>> lists;
        std::apply([&](auto&... d) { (lists.push_back(d.candidates(n)), ...); }, members_);
        std::vector<endpoint> out;
        for (std::size_t round = 0; out.size() < n; ++round) {
            bool any = false;
            for (auto const& list : lists) {
                if (round >= list.size())
                    continue;
                any = true;
                if (out.size() < n && std::find(out.begin(), out.end(), list[round]) == out.end())
                    out.push_back(list[round]);
            }
            if (!any)
                break;
        }
        return out;
    }

    void report(endpoint const& ep, contact_outcome o)
    {
        std::apply([&](auto&... d) { (d.report(ep, o), ...); }, members_);
    }

    /// Forwards a beacon (or whatever a member observes) to every member that takes it.
    template <class... Args>
    void observe_beacon(Args const&... args)
    {
        observe_each(std::index_sequence_for<Ds...>{}, args...);
    }

    /// The `I`th member.
    template <std::size_t I>
    [[nodiscard]] auto& get() noexcept
    {
        return std::get<I>(members_);
    }
    template <std::size_t I>
    [[nodiscard]] auto const& get() const noexcept
    {
        return std::get<I>(members_);
    }

private:
    template <std::size_t... I, class... Args>
    void observe_each(std::index_sequence<I...>, Args const&... args)
    {
        (feed_one(std::get<I>(members_), args...), ...);
    }

    template <class D, class... Args>
    static void feed_one(D& d, Args const&... args)
    {
        if constexpr (requires { d.observe_beacon(args...); })
            d.observe_beacon(args...);
    }

    std::tuple<Ds...> members_;
};

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_COMPOSITE_HPP
