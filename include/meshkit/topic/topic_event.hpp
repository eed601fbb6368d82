// topic/topic_event.hpp
// ~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_TOPIC_TOPIC_EVENT_HPP
#define MESHKIT_TOPIC_TOPIC_EVENT_HPP

#include <meshkit/topic/topic_id.hpp>

namespace meshkit::topic {

/** An event one topic's engine raised, and the topic it belongs to.

    What the application sees of a topic: `topic_event<broadcast::delivered>`
    for each broadcast delivered in it, `topic_event<link_up>` and
    `topic_event<link_down>` as its overlay's neighbours change.
*/
template <class E>
struct topic_event {
    topic_id topic;
    E event;
};

} // namespace meshkit::topic

#endif // MESHKIT_TOPIC_TOPIC_EVENT_HPP
