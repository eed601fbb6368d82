// Must not compile: the stream transport's send returns bool instead of
// std::error_code, and the check basic_node runs on a bundle's stream
// transport must say so with meshkit's message (pinned by CTest).
#include <meshkit/concepts/stream_transport.hpp>
#include <meshkit/sim/stream_transport.hpp>

struct broken_stream_transport : meshkit::sim::stream_transport {
    using meshkit::sim::stream_transport::stream_transport;
    bool send(meshkit::stream_id, std::span<std::byte const>) { return true; }
};

static_assert(meshkit::detail::check_stream_transport<broken_stream_transport>());

int main()
{
    meshkit::sim::network net{1};
    broken_stream_transport t{net};
}
