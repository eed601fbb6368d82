// stream_lifecycle.hpp
// ~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STREAM_LIFECYCLE_HPP
#define MESHKIT_STREAM_LIFECYCLE_HPP

#include <meshkit/endpoint.hpp>

#include <cstddef>
#include <system_error>

namespace meshkit {

/** Events a node raises about the streams it opens for its engines.

    A node opens a stream to an address the first time an engine sends a
    stream message there, and accepts the streams peers open to it. Every
    engine with an `on_event` hook for these sees them, then the
    application.
*/

/// A stream to `peer` opened: our connect succeeded, or (`inbound`) the peer connected to us.
struct stream_opened {
    endpoint peer;
    bool inbound = false;
};

/** A stream to `peer` ended, or never opened.

    `reason` is a `meshkit::stream_errc` (`refused`, `unreachable`,
    `connection_reset`, `closed_by_peer`, ...). `unsent` counts the
    messages engines had handed to the node for this stream that never
    went out: they are reported here, never dropped silently.
*/
struct stream_ended {
    endpoint peer;
    std::error_code reason;
    std::size_t unsent = 0;
};

} // namespace meshkit

#endif // MESHKIT_STREAM_LIFECYCLE_HPP
