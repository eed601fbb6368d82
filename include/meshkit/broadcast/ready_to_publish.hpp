// broadcast/ready_to_publish.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_BROADCAST_READY_TO_PUBLISH_HPP
#define MESHKIT_BROADCAST_READY_TO_PUBLISH_HPP

namespace meshkit::broadcast {

/** The node can take broadcasts again.

    `broadcast()` refuses a payload with `errc::queue_full` while a
    neighbour's send window and queue are full: nothing was accepted, and
    the caller holds on to its payload. This event follows once the queues
    have drained below their low-water mark, exactly once per refusal
    episode. A publisher that stops on `queue_full` and resumes on this
    event runs at the rate its slowest neighbour acknowledges, and loses
    nothing.
*/
struct ready_to_publish {};

} // namespace meshkit::broadcast

#endif // MESHKIT_BROADCAST_READY_TO_PUBLISH_HPP
