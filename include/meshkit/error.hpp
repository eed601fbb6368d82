// error.hpp
// ~~~~~~~~~
#ifndef MESHKIT_ERROR_HPP
#define MESHKIT_ERROR_HPP

#include <string>
#include <system_error>
#include <type_traits>

namespace meshkit {

/** Errors raised by the node and its transports.

    Modules with errors of their own have their own enums and categories:
    `wire::errc` (decoding), `stream_errc` (streams), `nat::errc` (the
    connection ladder's operations), `storage::errc` (storage backends).
    What stays here is shared: bounds (`queue_full`, `message_too_large`),
    addresses and the transports they name, and the node's state. (1 was `not_found`, now
    `storage::errc::not_found`.)
*/
enum class errc {
    /** The destination address is not bound to any host (simulator) or cannot be resolved. */
    host_unreachable = 2,

    /** The payload is larger than the transport's datagram limit. */
    message_too_large,

    /** The endpoint is already bound by another transport. */
    address_in_use,

    /** The operation needs a started node, or a live host in the simulator. */
    not_running,

    /** A message has been forwarded 255 times and cannot be forwarded again. */
    hop_limit,

    /** A bounded queue is full: the caller must retry later (nothing was accepted). */
    queue_full = 8,
    /** The address names a transport (`endpoint::transport`) the node does not have. */
    unknown_transport,
    /** The address's transport carries the other channel: a stream message to a UDP address, or the reverse. */
    wrong_channel,
    /** A hierarchical mesh packet's data type travels the other way: telemetry is reported up, commands sent down. */
    wrong_direction,
    /** The node already belongs to as many topics as its topic host allows (`topic_host_settings::max_topics`). */
    topic_limit,
    /** The node does not belong to that topic. */
    unknown_topic,
};

/// The category of `meshkit::errc`.
inline std::error_category const& error_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit"; }
        std::string message(int ev) const override
        {
            switch (static_cast<errc>(ev)) {
            case errc::host_unreachable: return "no host at that address";
            case errc::message_too_large: return "payload exceeds the datagram limit";
            case errc::address_in_use: return "address already bound";
            case errc::not_running: return "node or host is not running";
            case errc::hop_limit: return "hop limit reached";
            case errc::queue_full: return "queue full, nothing accepted";
            case errc::unknown_transport: return "the address names a transport this node does not have";
            case errc::wrong_channel: return "the address's transport does not carry this message's channel";
            case errc::wrong_direction: return "that data type does not travel in this direction";
            case errc::topic_limit: return "the node belongs to as many topics as it may";
            case errc::unknown_topic: return "the node does not belong to that topic";
            }
            return "unknown meshkit error";
        }
    };
    static category const instance;
    return instance;
}

/// Makes `errc` usable wherever a `std::error_code` is expected.
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace meshkit

template <>
struct std::is_error_code_enum<meshkit::errc> : std::true_type {};

#endif // MESHKIT_ERROR_HPP
