// concepts/peer_cache.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_CONCEPTS_PEER_CACHE_HPP
#define MESHKIT_CONCEPTS_PEER_CACHE_HPP

#include <meshkit/concepts/discovery_strategy.hpp>
#include <meshkit/discovery/cached_peer.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/time.hpp>

#include <concepts>
#include <cstdint>
#include <ranges>

namespace meshkit {

/** A discovery policy that is a cache of known peers, which engines read and feed.

    The connection ladder looks peers up by id and records how contacts
    went; cache gossip merges records learned from neighbours and answers
    incremental pulls by revision. Both use the node's discovery policy
    through `ctx.discovery()`, so that policy must be such a cache. An
    engine that needs one says so (`static constexpr bool needs_peer_cache
    = true`), and `basic_node` checks it once, with a `meshkit:` message.

    A type `D` models `peer_cache` if it models `discovery_strategy` and,
    for `d` a `D`, `cd` a `D const`, `id` a `node_id`, `p` a
    `discovery::cached_peer`, `at` an `endpoint`, `rtt` a `duration` and
    `t` a `time_point`:

    1. `cd.find(id)` returns a pointer to the peer's entry, or null; it
       stays valid until the cache is next changed.
    2. `cd.peers()` is a range of every entry (`discovery::cached_peer`).
    3. `d.upsert(p, t)` adds or merges an entry (the newest origin version
       wins) and returns whether the cache changed; `d.erase(id)` forgets
       one; `d.touch(id, t)` marks it seen at `t`.
    4. `d.record_success(id, at, rtt, t)` records a contact that worked;
       `d.record_public_reachability(id)` that the peer accepted unsolicited
       traffic.
    5. `d.observe_time(t)` sets the cache's notion of now; `d.evict_stale()`
       drops entries not seen for too long.
    6. `cd.revision()` is raised by every change to an entry, and
       `d.next_revision()` takes the next one for a change outside the
       cache; entries remember theirs (`cached_peer::changed_rev`).

    See docs/concepts/peer_cache.md.
*/
template <class D>
concept peer_cache =
    discovery_strategy<D> &&
    requires(D& d, D const& cd, node_id const& id, discovery::cached_peer p, endpoint const& at, duration rtt,
             time_point t) {
        { cd.find(id) } -> std::convertible_to<discovery::cached_peer const*>;
        requires std::ranges::input_range<decltype(cd.peers())>;
        requires std::same_as<std::ranges::range_value_t<decltype(cd.peers())>, discovery::cached_peer>;
        { d.upsert(std::move(p), t) } -> std::convertible_to<bool>;
        d.erase(id);
        d.touch(id, t);
        d.record_success(id, at, rtt, t);
        d.record_public_reachability(id);
        d.observe_time(t);
        d.evict_stale();
        { cd.revision() } -> std::convertible_to<std::uint64_t>;
        { d.next_revision() } -> std::convertible_to<std::uint64_t>;
    };

} // namespace meshkit

#endif // MESHKIT_CONCEPTS_PEER_CACHE_HPP
