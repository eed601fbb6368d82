// attach/substrate_view.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_ATTACH_SUBSTRATE_VIEW_HPP
#define MESHKIT_ATTACH_SUBSTRATE_VIEW_HPP

#include <meshkit/attach/messages.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <vector>

namespace meshkit::attach {

/// The node's enclave: its hierarchy policy's (`substrate_transient_config::enclave`), else `"default"`.
template <class Ctx>
std::string_view enclave_of(Ctx& ctx)
{
    if constexpr (requires { ctx.hierarchy().config().enclave; })
        return ctx.hierarchy().config().enclave;
    else
        return "default";
}

/** The substrate records a node knows, bounded, each forgotten when not refreshed in time.

    Substrates fill it from their mesh neighbours' `at_announce`;
    transients from `at_welcome` and `at_goodbye`. A record replaces the
    one it has for the same id only when its version is newer, so an old
    copy relayed late cannot undo a change. When full, a record from an
    unknown substrate replaces the one refreshed longest ago. Only local
    times are kept, never sent.
*/
class substrate_view {
public:
    explicit substrate_view(std::size_t capacity = 64, duration keep_for = std::chrono::seconds(90))
        : capacity_(std::max<std::size_t>(1, capacity)), keep_for_(keep_for)
    {
    }

    /// Takes `r` if it is new, or newer than what is known; returns whether it did.
    bool merge(substrate_record const& r, time_point now)
    {
        return merge(r, now, [](substrate_record const&) { return true; });
    }

    /** Takes `r` as `merge` does, if `authentic(r)` says it is its author's word.

        `authentic` (a signature check, 55 µs) is asked only of a record
        that would be taken: a copy no newer than the one held is dropped
        unchecked.
    */
    template <class Authentic>
    bool merge(substrate_record const& r, time_point now, Authentic&& authentic)
    {
        if (r.enclave.size() > max_enclave_length || r.address.is_unspecified())
            return false;
        auto it = std::find_if(entries_.begin(), entries_.end(), [&](entry const& e) { return e.record.id == r.id; });
        if (it != entries_.end() && r.version <= it->record.version)
            return false;
        if (!authentic(r))
            return false;
        if (it != entries_.end()) {
            it->record = r;
            it->refreshed = now;
            return true;
        }
        if (entries_.size() >= capacity_) {
            auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                           [](entry const& a, entry const& b) { return a.refreshed < b.refreshed; });
            *oldest = entry{r, now};
            return true;
        }
        entries_.push_back(entry{r, now});
        return true;
    }

    /// Forgets `id` (it said goodbye, or refused us).
    void forget(node_id const& id)
    {
        std::erase_if(entries_, [&](entry const& e) { return e.record.id == id; });
    }

    /// Forgets every record not refreshed within `keep_for` of `now`.
    void expire(time_point now)
    {
        std::erase_if(entries_, [&](entry const& e) { return now - e.refreshed > keep_for_; });
    }

    /** Up to `n` records, same enclave as `enclave` first, then the nearest to `near`; never `exclude`.

        What a goodbye names as alternatives and a welcome as the mesh, and
        the order a transient tries substrates in. Full substrates come
        last: they would only refuse. Without a coordinate that has
        measured something (`near` absent, or at the maximum error), the
        least loaded come first instead of the nearest.
    */
    [[nodiscard]] std::vector<substrate_record>
    best(std::string_view enclave, std::size_t n, std::optional<node_id> exclude = std::nullopt,
         std::optional<coordinates::network_coordinate> const& near = std::nullopt) const
    {
        bool const by_distance = near && near->is_plausible() && near->error < 1.5f;
        struct ranked {
            substrate_record const* r;
            std::tuple<bool, bool, std::int64_t, std::uint32_t> key;
        };
        std::vector<ranked> order;
        for (entry const& e : entries_) {
            substrate_record const& r = e.record;
            if (exclude && r.id == *exclude)
                continue;
            bool const full = r.max_children == 0 || r.children >= r.max_children;
            std::int64_t const distance =
                by_distance && r.coordinate.is_plausible() ? near->estimate_rtt(r.coordinate).count() : 0;
            order.push_back({&r, {full, r.enclave != enclave, distance, r.children}});
        }
        std::sort(order.begin(), order.end(), [](ranked const& a, ranked const& b) {
            return a.key != b.key ? a.key < b.key : a.r->id < b.r->id;
        });
        std::vector<substrate_record> out;
        for (std::size_t i = 0; i < order.size() && out.size() < n; ++i)
            out.push_back(*order[i].r);
        return out;
    }

    [[nodiscard]] std::optional<substrate_record> find(node_id const& id) const
    {
        for (entry const& e : entries_)
            if (e.record.id == id)
                return e.record;
        return std::nullopt;
    }

    /// Every record, in order of id.
    [[nodiscard]] std::vector<substrate_record> all() const
    {
        std::vector<substrate_record> out;
        for (entry const& e : entries_)
            out.push_back(e.record);
        std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a.id < b.id; });
        return out;
    }

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct entry {
        substrate_record record;
        time_point refreshed;
    };
    std::size_t capacity_;
    duration keep_for_;
    std::vector<entry> entries_;
};

} // namespace meshkit::attach

#endif // MESHKIT_ATTACH_SUBSTRATE_VIEW_HPP
