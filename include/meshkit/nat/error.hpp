// nat/error.hpp
// ~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_ERROR_HPP
#define MESHKIT_NAT_ERROR_HPP

#include <string>
#include <system_error>
#include <type_traits>

namespace meshkit::nat {

/** What the connection ladder's operations (`connect`, `send`) refuse, and why.

    Its own enum and category: these are about peers and connections, not
    about storage keys or datagram sizes, so a caller can tell "no such
    peer" from "no value under that key" by the category alone. Bounds
    shared with the rest of meshkit stay `meshkit::errc` (`queue_full`,
    `message_too_large`).
*/
enum class errc {
    /** `connect`: the peer cache has no address for that id (or it is this node's own). */
    unknown_peer = 1,
    /** `send`: there is no connection to that peer, established or being set up; `connect` first. */
    not_connected,
    /** `connect`: the node holds `max_connections` already; nothing was started. */
    connection_limit,
};

/// The category of `nat::errc`.
inline std::error_category const& error_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit.nat"; }
        std::string message(int ev) const override
        {
            switch (static_cast<errc>(ev)) {
            case errc::unknown_peer: return "no address known for that peer";
            case errc::not_connected: return "no connection to that peer";
            case errc::connection_limit: return "connection limit reached";
            }
            return "unknown meshkit.nat error";
        }
    };
    static category const instance;
    return instance;
}

/// Makes `nat::errc` usable wherever a `std::error_code` is expected.
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace meshkit::nat

template <>
struct std::is_error_code_enum<meshkit::nat::errc> : std::true_type {};

#endif // MESHKIT_NAT_ERROR_HPP
