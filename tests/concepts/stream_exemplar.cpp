// The exemplar quoted in docs/concepts/stream_transport.md. It lives in a test
// so it always compiles; the concept is also checked against the simulator's
// model (positive) and near misses (negative). The TCP model is checked in
// tests/tcp/tcp_tests.cpp, beside its Asio includes.
#include <meshkit/concepts/stream_transport.hpp>

#include <meshkit/concepts/transport.hpp>
#include <meshkit/sim/stream_transport.hpp>
#include <meshkit/sim/transport.hpp>
#include <meshkit/stream_error.hpp>
#include <meshkit/stream_events.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <utility>
#include <variant>
#include <vector>

namespace exemplar {

//[concept_stream_transport
/// A stream transport that reaches nobody: every connect is refused. A stand-in for an engine's error paths.
class refusing_streams {
public:
    meshkit::endpoint local_endpoint() const { return self_; }

    meshkit::stream_id connect(meshkit::endpoint const&)
    {
        auto const id = meshkit::stream_id{next_++}; // never reused
        refused_.push_back(id);                      // reported by poll(), never inside connect
        return id;
    }
    std::error_code send(meshkit::stream_id, std::span<std::byte const>)
    {
        return meshkit::stream_errc::not_connected;
    }
    void close(meshkit::stream_id) {}
    void on_stream(meshkit::stream_handler handler) { handler_ = std::move(handler); }
    std::size_t max_frame_size() const { return 1 << 20; }
    std::size_t max_queued_bytes() const { return 4 << 20; }

    /// What the owner's event loop calls: each refusal is its own event, after connect returned.
    void poll()
    {
        auto due = std::exchange(refused_, {});
        for (auto id : due)
            if (handler_)
                handler_(meshkit::stream_closed{id, meshkit::stream_errc::refused});
    }

private:
    meshkit::endpoint self_;
    std::uint64_t next_ = 1;
    std::vector<meshkit::stream_id> refused_;
    meshkit::stream_handler handler_;
};
//]

/// Near miss: `send` returns bool.
struct bool_send : refusing_streams {
    bool send(meshkit::stream_id, std::span<std::byte const>) { return false; }
};

/// Near miss: `connect` returns the error instead of an id.
struct connect_returns_error : refusing_streams {
    std::error_code connect(meshkit::endpoint const&) { return {}; }
};

} // namespace exemplar

static_assert(meshkit::stream_transport<exemplar::refusing_streams>);
static_assert(meshkit::stream_transport<meshkit::sim::stream_transport>);
static_assert(meshkit::detail::check_stream_transport<meshkit::sim::stream_transport>());
static_assert(!meshkit::stream_transport<exemplar::bool_send>);
static_assert(!meshkit::stream_transport<exemplar::connect_returns_error>);
// The two transport concepts are distinct: a datagram socket is not a stream transport, nor the reverse.
static_assert(!meshkit::stream_transport<meshkit::sim::transport>);
static_assert(!meshkit::transport<meshkit::sim::stream_transport>);

namespace {

TEST(StreamTransportConcept, TheExemplarRefusesAfterConnectReturns)
{
    exemplar::refusing_streams t;
    std::vector<meshkit::stream_event> seen;
    t.on_stream([&](meshkit::stream_event const& ev) { seen.push_back(ev); });
    auto const a = t.connect({});
    auto const b = t.connect({});
    EXPECT_NE(a, b);
    EXPECT_TRUE(seen.empty()); // nothing inside connect
    t.poll();
    ASSERT_EQ(seen.size(), 2u);
    auto const* closed = std::get_if<meshkit::stream_closed>(&seen[0]);
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->id, a);
    EXPECT_EQ(closed->reason, meshkit::stream_errc::refused);
    EXPECT_EQ(closed->reason, std::errc::connection_refused); // the portable condition
}

TEST(StreamTransportConcept, StreamErrorsHaveMessagesAndPortableConditions)
{
    using meshkit::stream_errc;
    for (int v = 1; v <= static_cast<int>(stream_errc::not_connected); ++v) {
        std::error_code const ec = static_cast<stream_errc>(v);
        EXPECT_EQ(std::string(ec.category().name()), "meshkit.stream");
        EXPECT_NE(ec.message(), "unknown stream error");
    }
    EXPECT_EQ(std::error_code(stream_errc::connection_reset), std::errc::connection_reset);
    EXPECT_EQ(std::error_code(stream_errc::queue_full), std::errc::resource_unavailable_try_again);
    EXPECT_EQ(std::error_code(stream_errc::frame_too_large), std::errc::message_size);
    EXPECT_EQ(std::error_code(stream_errc::not_connected), std::errc::not_connected);
    EXPECT_NE(std::error_code(stream_errc::closed_by_peer), std::errc::connection_reset);
}

} // namespace
