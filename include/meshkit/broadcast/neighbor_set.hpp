// broadcast/neighbor_set.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_NEIGHBOR_SET_HPP
#define MESHKIT_BROADCAST_NEIGHBOR_SET_HPP

#include <meshkit/link_events.hpp>
#include <meshkit/peer_info.hpp>

#include <algorithm>
#include <vector>

namespace meshkit::broadcast {

/** The neighbours a broadcast engine pushes to, kept in step with the
    membership engine's `link_up` / `link_down` events.

    A plain vector: an active view holds a handful of peers, so a linear
    scan beats any index, and iteration order is the order peers came up.
*/
class neighbor_set {
public:
    /** Adds the peer, or adopts its new address if it is already a neighbour.

        A relayed link is no neighbour: its address is the relay's, which
        would take a broadcast for itself.
    */
    void on(link_up const& e)
    {
        if (e.method == link_method::attached)
            return; // a transient child: its substrate's attachment engine serves it
        if (e.method == link_method::relayed) {
            on(link_down{e.peer, e.address});
            return;
        }
        for (auto& p : peers_)
            if (p.id == e.peer) {
                p.address = e.address;
                return;
            }
        peers_.push_back(peer_info{e.peer, e.address});
    }

    void on(link_down const& e)
    {
        std::erase_if(peers_, [&](peer_info const& p) { return p.id == e.peer; });
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
