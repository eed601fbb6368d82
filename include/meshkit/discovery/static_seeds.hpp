// discovery/static_seeds.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DISCOVERY_STATIC_SEEDS_HPP
#define MESHKIT_DISCOVERY_STATIC_SEEDS_HPP

#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/endpoint.hpp>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <vector>

namespace meshkit::discovery {

/** A fixed list of seed endpoints; models `meshkit::discovery_strategy`.

    The simplest strategy, and the fallback every other one ends in: the
    operator names a few well-known nodes. Seeds are offered in order,
    except that seeds which failed their last contact go to the back, so a
    dead first seed does not delay every bootstrap.
*/
class static_seeds {
public:
    static_seeds() = default;
    static_seeds(std::initializer_list<endpoint> seeds) : seeds_(seeds), failed_(seeds_.size(), false) {}
    explicit static_seeds(std::vector<endpoint> seeds) : seeds_(std::move(seeds)), failed_(seeds_.size(), false) {}

    /// Adds a seed at the end; duplicates are ignored.
    void add(endpoint const& seed)
    {
        if (std::find(seeds_.begin(), seeds_.end(), seed) == seeds_.end()) {
            seeds_.push_back(seed);
            failed_.push_back(false);
        }
    }

    /// The seeds, at most `n`, those not known to have failed first.
    [[nodiscard]] std::vector<endpoint> candidates(std::size_t n) const
    {
        std::vector<endpoint> out;
        for (int pass = 0; pass < 2 && out.size() < n; ++pass)
            for (std::size_t i = 0; i < seeds_.size() && out.size() < n; ++i)
                if (failed_[i] == (pass == 1))
                    out.push_back(seeds_[i]);
        return out;
    }

    /// Remembers whether the seed answered.
    void report(endpoint const& ep, contact_outcome o)
    {
        for (std::size_t i = 0; i < seeds_.size(); ++i)
            if (seeds_[i] == ep)
                failed_[i] = o == contact_outcome::unreachable;
    }

    /// All configured seeds.
    [[nodiscard]] std::vector<endpoint> const& seeds() const noexcept { return seeds_; }

private:
    std::vector<endpoint> seeds_;
    std::vector<bool> failed_;
};

} // namespace meshkit::discovery

#endif // MESHKIT_DISCOVERY_STATIC_SEEDS_HPP
