// tests/support/bytes.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~
// Converting between test strings and datagram bytes.
#ifndef MESHKIT_TESTS_SUPPORT_BYTES_HPP
#define MESHKIT_TESTS_SUPPORT_BYTES_HPP

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace meshkit::test {

inline std::vector<std::byte> bytes_of(std::string const& s)
{
    std::vector<std::byte> b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}

inline std::string text_of(std::span<std::byte const> b)
{
    return std::string(reinterpret_cast<char const*>(b.data()), b.size());
}

} // namespace meshkit::test

#endif // MESHKIT_TESTS_SUPPORT_BYTES_HPP
