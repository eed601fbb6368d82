// detail/node_identity.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_DETAIL_NODE_IDENTITY_HPP
#define MESHKIT_DETAIL_NODE_IDENTITY_HPP

#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/detail/hash.hpp>
#include <meshkit/detail/rng.hpp>
#include <meshkit/endpoint.hpp>
#include <meshkit/error.hpp>
#include <meshkit/node_config.hpp>
#include <meshkit/node_id.hpp>
#include <meshkit/storage/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <span>
#include <system_error>
#include <vector>

/*  Who a node is across restarts: its seed, its identity in storage, and
    its incarnation (how many times that identity was started on that
    storage). basic_node calls these once, at construction.
*/

namespace meshkit::detail {

/// The storage key of a node's persisted identity (its id's 32 raw bytes).
inline constexpr char const* identity_key = "meshkit/node_id";
/// The storage key of its incarnation counter.
inline constexpr char const* incarnation_key = "meshkit/epoch";

/** The seed of a node's random choices.

    On a deterministic transport (the simulator) randomness comes from the
    configured seed, so a run replays exactly. On a real one an unset seed
    means fresh entropy: otherwise every default node would share an id.
*/
template <class Transport>
std::uint64_t initial_seed(node_config const& cfg, Transport const& t)
{
    auto const where = std::hash<endpoint>{}(t.local_endpoint());
    if (cfg.seed)
        return hash_combine(*cfg.seed, where);
    if constexpr (is_deterministic<Transport>)
        return where;
    else
        return (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}() ^ where;
}

/// Takes the next incarnation from `storage` (1 on a fresh one) and stores it; 24 bits.
template <storage_backend Storage>
std::uint64_t next_incarnation(Storage& storage)
{
    std::vector<std::byte> stored;
    std::uint64_t n = 0;
    if (!storage.load(incarnation_key, stored) && stored.size() == 8)
        std::memcpy(&n, stored.data(), 8);
    ++n;
    (void)storage.store(incarnation_key, std::as_bytes(std::span(&n, 1)));
    return n & 0xffffff;
}

/** The node's identity: the configured one, the stored one, or a new one drawn from `draw()`.

    A medium that says "nothing there", or holds a value it cannot vouch
    for (corrupt, or an older format), gets the new identity written; a
    failing one keeps whatever it holds for when it recovers.
*/
template <storage_backend Storage, class Draw>
node_id load_identity(Storage& storage, node_config const& cfg, Draw&& draw)
{
    if (cfg.id) {
        (void)storage.store(identity_key, std::as_bytes(std::span(cfg.id->bytes)));
        return *cfg.id;
    }
    std::vector<std::byte> stored;
    std::error_code const ec = storage.load(identity_key, stored);
    if (!ec && stored.size() == 32) {
        node_id id;
        std::memcpy(id.bytes.data(), stored.data(), 32);
        if (!id.is_zero())
            return id;
    }
    node_id id = node_id::from_seed(draw());
    if (ec == storage::errc::not_found || ec == storage::errc::corrupt)
        (void)storage.store(identity_key, std::as_bytes(std::span(id.bytes)));
    return id;
}

} // namespace meshkit::detail

#endif // MESHKIT_DETAIL_NODE_IDENTITY_HPP
