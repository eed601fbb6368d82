// tests/support/run_until.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Bounded waits for tests on real sockets.
#ifndef MESHKIT_TESTS_SUPPORT_RUN_UNTIL_HPP
#define MESHKIT_TESTS_SUPPORT_RUN_UNTIL_HPP

#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>

namespace meshkit::test {

/** Runs `io` until `done()` holds or `limit` passes; returns `done()`.

    One handler at a time, so the condition is checked as soon as it can
    have changed, and a test never waits longer than it must.
*/
template <class Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(5))
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        auto const now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return false;
        if (io.stopped())
            io.restart();
        io.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
    }
    return true;
}

} // namespace meshkit::test

#endif // MESHKIT_TESTS_SUPPORT_RUN_UNTIL_HPP
