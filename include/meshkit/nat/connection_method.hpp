// nat/connection_method.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_CONNECTION_METHOD_HPP
#define MESHKIT_NAT_CONNECTION_METHOD_HPP

#include <cstdint>

namespace meshkit::nat {

/// How a connection reached its peer: the rungs of the connection ladder.
enum class connection_method : std::uint8_t {
    /** The first datagrams got through: the peer is public, or its NAT filters nothing. */
    direct = 1,
    /** Both sides fired at a moment an intermediary chose, and the NATs let the crossing datagrams in. */
    punched,
    /** Datagrams travel through a public relay because no direct path exists. */
    relayed,
};

/// A short lowercase name, for logs and reports.
constexpr char const* to_string(connection_method m) noexcept
{
    switch (m) {
    case connection_method::direct: return "direct";
    case connection_method::punched: return "punched";
    case connection_method::relayed: return "relayed";
    }
    return "unknown";
}

} // namespace meshkit::nat

#endif // MESHKIT_NAT_CONNECTION_METHOD_HPP
