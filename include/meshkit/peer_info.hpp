// peer_info.hpp
// ~~~~~~~~~~~~~
#ifndef MESHKIT_PEER_INFO_HPP
#define MESHKIT_PEER_INFO_HPP

#include <meshkit/endpoint.hpp>
#include <meshkit/node_id.hpp>

#include <compare>

namespace meshkit {

/// A node and the address it was last reached at; 50 bytes on the wire.
struct peer_info {
    node_id id;
    endpoint address;

    friend bool operator==(peer_info const&, peer_info const&) = default;
};

} // namespace meshkit

#endif // MESHKIT_PEER_INFO_HPP
