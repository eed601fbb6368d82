// result.hpp
// ~~~~~~~~~~
#ifndef MESHKIT_RESULT_HPP
#define MESHKIT_RESULT_HPP

#include <boost/system/result.hpp>

#include <system_error>

namespace meshkit {

/** A value or the `std::error_code` that explains why there is none.

    meshkit reports expected failures (a hostile datagram, a missing key) as
    values, never as exceptions, so a caller on an event loop cannot be unwound
    by a peer. Boost.System's `result` is used rather than a home-grown one;
    `std::expected` would replace it under C++23.
*/
template <class T>
using result = boost::system::result<T, std::error_code>;

} // namespace meshkit

#endif // MESHKIT_RESULT_HPP
