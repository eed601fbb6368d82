// nat/nat_type.hpp
// ~~~~~~~~~~~~~~~~
#ifndef MESHKIT_NAT_NAT_TYPE_HPP
#define MESHKIT_NAT_NAT_TYPE_HPP

#include <cstdint>

namespace meshkit::nat {

/** What a node can learn about its own NAT from the addresses peers observe.

    Observations reveal the mapping behaviour (RFC 4787 §4.1), which is what
    decides how to connect: a cone can be punched from its observed
    address, a symmetric NAT shows each peer a different port. Filtering
    cannot be seen from observations alone and is not claimed here.
*/
enum class nat_type : std::uint8_t {
    /** Not enough independent observations yet. */
    unknown = 0,
    /** No address translation: peers see the address the node is bound to (a firewall may still filter). */
    open,
    /** Endpoint-independent mapping: every observer sees one external address. */
    cone,
    /** Endpoint-dependent mapping: observers see different external ports. */
    symmetric,
};

/// A short lowercase name, for logs and reports.
constexpr char const* to_string(nat_type t) noexcept
{
    switch (t) {
    case nat_type::unknown: return "unknown";
    case nat_type::open: return "open";
    case nat_type::cone: return "cone";
    case nat_type::symmetric: return "symmetric";
    }
    return "unknown";
}

} // namespace meshkit::nat

#endif // MESHKIT_NAT_NAT_TYPE_HPP
