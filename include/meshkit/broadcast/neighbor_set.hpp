// broadcast/neighbor_set.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_NEIGHBOR_SET_HPP
#define MESHKIT_BROADCAST_NEIGHBOR_SET_HPP

#include <meshkit/overlay_events.hpp>
#include <meshkit/peer_info.hpp>

#include <algorithm>
#include <vector>

namespace meshkit::broadcast {

/** The neighbours a broadcast engine pushes to, kept in step with the
    membership engine's `neighbor_up` / `neighbor_down` events.

    A plain vector: an active view holds a handful of peers, so a linear
    scan beats any index, and iteration order is the order peers came up.
*/
class neighbor_set {
public:
    /// Adds the peer, or adopts its new address if it is already a neighbour.
    void on(neighbor_up const& e)
    {
        for (auto& p : peers_)
            if (p.id == e.peer.id) {
                p.address = e.peer.address;
                return;
            }
        peers_.push_back(e.peer);
    }

    void on(neighbor_down const& e)
    {
        std::erase_if(peers_, [&](peer_info const& p) { return p.id == e.peer.id; });
    }

    [[nodiscard]] bool contains(node_id const& id) const noexcept
    {
        return std::any_of(peers_.begin(), peers_.end(), [&](peer_info const& p) { return p.id == id; });
    }

    [[nodiscard]] std::vector<peer_info> const& peers() const noexcept { return peers_; }
    [[nodiscard]] auto begin() const noexcept { return peers_.begin(); }
    [[nodiscard]] auto end() const noexcept { return peers_.end(); }
    [[nodiscard]] std::size_t size() const noexcept { return peers_.size(); }

private:
    std::vector<peer_info> peers_;
};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_NEIGHBOR_SET_HPP
