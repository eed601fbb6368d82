// wire/archive.hpp
// ~~~~~~~~~~~~~~~~
#ifndef MESHKIT_WIRE_ARCHIVE_HPP
#define MESHKIT_WIRE_ARCHIVE_HPP

#include <meshkit/wire/error.hpp>
#include <meshkit/wire/layout.hpp>
#include <meshkit/wire/traits.hpp>

#include <boost/pfr/core.hpp>
#include <cereal/cereal.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

namespace meshkit::wire {

/** A cereal output archive that appends meshkit's wire encoding to a byte vector.

    The encoding is the same on every machine: integers and floats are
    little-endian at their fixed width, lengths are minimal unsigned LEB128
    varints, and aggregates are their fields in declaration order with no
    padding, names or tags. cereal supplies the dispatch, so a type with its
    own `serialize` or `save` works unchanged; plain aggregates need nothing
    (see `serialize` below).
*/
class output_archive : public cereal::OutputArchive<output_archive, cereal::AllowEmptyClassElision> {
public:
    /// Appends to `out`; the vector must outlive the archive.
    explicit output_archive(std::vector<std::byte>& out) noexcept
        : cereal::OutputArchive<output_archive, cereal::AllowEmptyClassElision>(this), out_(&out)
    {
    }

    void write_bytes(void const* data, std::size_t n)
    {
        auto const* p = static_cast<std::byte const*>(data);
        out_->insert(out_->end(), p, p + n);
    }

    template <class U>
    void write_le(U value)
    {
        static_assert(std::is_trivially_copyable_v<U>);
        if constexpr (std::endian::native == std::endian::big && sizeof(U) > 1) {
            std::byte tmp[sizeof(U)];
            std::memcpy(tmp, &value, sizeof(U));
            for (std::size_t i = 0; i < sizeof(U) / 2; ++i)
                std::swap(tmp[i], tmp[sizeof(U) - 1 - i]);
            write_bytes(tmp, sizeof(U));
        } else {
            write_bytes(&value, sizeof(U));
        }
    }

    void write_varint(std::uint64_t v)
    {
        while (v >= 0x80) {
            write_le(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        write_le(static_cast<std::uint8_t>(v));
    }

private:
    std::vector<std::byte>* out_;
};

/** A cereal input archive over a datagram that never reads past it and never throws.

    The first problem found is recorded and every later read becomes a no-op
    that zero-fills, so a hostile datagram costs at most one pass over its own
    bytes. Callers check `error()` once at the end. Element counts are checked
    against the remaining input before anything is allocated (see
    `min_wire_size`).
*/
class input_archive : public cereal::InputArchive<input_archive, cereal::AllowEmptyClassElision> {
public:
    explicit input_archive(std::span<std::byte const> input) noexcept
        : cereal::InputArchive<input_archive, cereal::AllowEmptyClassElision>(this), in_(input)
    {
    }

    [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }
    [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(ec_); }
    [[nodiscard]] std::error_code error() const noexcept { return ec_; }

    /// Records `e` unless an earlier error is already recorded.
    void fail(errc e) noexcept
    {
        if (!ec_)
            ec_ = make_error_code(e);
    }

    bool read_bytes(void* dst, std::size_t n) noexcept
    {
        if (failed() || n > remaining()) {
            fail(errc::truncated);
            if (n)
                std::memset(dst, 0, n);
            return false;
        }
        if (n)
            std::memcpy(dst, in_.data() + pos_, n);
        pos_ += n;
        return true;
    }

    template <class U>
    bool read_le(U& value) noexcept
    {
        static_assert(std::is_trivially_copyable_v<U>);
        if (!read_bytes(&value, sizeof(U)))
            return false;
        if constexpr (std::endian::native == std::endian::big && sizeof(U) > 1) {
            std::byte tmp[sizeof(U)];
            std::memcpy(tmp, &value, sizeof(U));
            for (std::size_t i = 0; i < sizeof(U) / 2; ++i)
                std::swap(tmp[i], tmp[sizeof(U) - 1 - i]);
            std::memcpy(&value, tmp, sizeof(U));
        }
        return true;
    }

    bool read_varint(std::uint64_t& v) noexcept
    {
        v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            std::uint8_t byte = 0;
            if (!read_le(byte))
                return false;
            if (shift == 63 && byte > 1)
                break; // would overflow 64 bits
            v |= std::uint64_t{byte & 0x7fu} << shift;
            if (!(byte & 0x80)) {
                if (byte == 0 && shift != 0)
                    break; // non-minimal: a redundant zero group
                return true;
            }
        }
        fail(errc::malformed_length);
        v = 0;
        return false;
    }

    /** Reads an element count and checks the input can back it.

        @param min_element_size the fewest bytes one element can occupy.
        @return false (with the error recorded) when the count is malformed or
        claims more elements than the remaining bytes could hold.
    */
    bool read_count(std::uint64_t& n, std::size_t min_element_size) noexcept
    {
        if (!read_varint(n))
            return false;
        std::size_t const per = min_element_size ? min_element_size : 1;
        if (n > remaining() / per) {
            fail(errc::length_exceeds_input);
            n = 0;
            return false;
        }
        return true;
    }

    /// True when every byte has been consumed.
    [[nodiscard]] bool at_end() const noexcept { return pos_ == in_.size(); }

private:
    std::span<std::byte const> in_;
    std::size_t pos_ = 0;
    std::error_code ec_;
};

// -- scalars --------------------------------------------------------------
// Enumerations are left to cereal (types/common.hpp, always included), which
// writes them as their underlying integer through the overloads below: the
// same bytes, and one serialiser per type, as cereal requires.

template <scalar T>
    requires std::is_arithmetic_v<T>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, T const& v)
{
    if constexpr (std::is_same_v<T, bool>)
        ar.write_le(static_cast<std::uint8_t>(v ? 1 : 0));
    else
        ar.write_le(v);
}

template <scalar T>
    requires std::is_arithmetic_v<T>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, T& v)
{
    if constexpr (std::is_same_v<T, bool>) {
        std::uint8_t b = 0;
        ar.read_le(b);
        if (b > 1)
            ar.fail(errc::invalid_value);
        v = b == 1;
    } else {
        ar.read_le(v);
    }
}

// -- durations ------------------------------------------------------------

template <class R, class P>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, std::chrono::duration<R, P> const& d)
{
    ar.write_le(d.count());
}

template <class R, class P>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::chrono::duration<R, P>& d)
{
    R count{};
    ar.read_le(count);
    d = std::chrono::duration<R, P>(count);
}

// -- strings --------------------------------------------------------------

template <class C, class Tr, class A>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, std::basic_string<C, Tr, A> const& s)
{
    static_assert(sizeof(C) == 1, "meshkit: wire strings hold single-byte characters (UTF-8)");
    ar.write_varint(s.size());
    ar.write_bytes(s.data(), s.size());
}

template <class C, class Tr, class A>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::basic_string<C, Tr, A>& s)
{
    static_assert(sizeof(C) == 1, "meshkit: wire strings hold single-byte characters (UTF-8)");
    std::uint64_t n = 0;
    s.clear();
    if (!ar.read_count(n, 1))
        return;
    s.resize(static_cast<std::size_t>(n));
    ar.read_bytes(s.data(), s.size());
}

// -- vectors --------------------------------------------------------------

template <class T, class A>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, std::vector<T, A> const& v)
{
    static_assert(!std::is_same_v<T, bool>, "meshkit: std::vector<bool> is not a wire type; use std::vector<std::uint8_t>");
    ar.write_varint(v.size());
    if constexpr (scalar<T> && sizeof(T) == 1)
        ar.write_bytes(v.data(), v.size());
    else
        for (auto const& e : v)
            ar(e);
}

template <class T, class A>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::vector<T, A>& v)
{
    static_assert(!std::is_same_v<T, bool>, "meshkit: std::vector<bool> is not a wire type; use std::vector<std::uint8_t>");
    std::uint64_t n = 0;
    v.clear();
    if (!ar.read_count(n, min_wire_size<T>()))
        return;
    v.resize(static_cast<std::size_t>(n));
    if constexpr (scalar<T> && sizeof(T) == 1 && !std::is_same_v<T, bool>) {
        ar.read_bytes(v.data(), v.size());
    } else {
        for (auto& e : v) {
            ar(e);
            if (ar.failed())
                return;
        }
    }
}

// -- fixed arrays ---------------------------------------------------------

template <class T, std::size_t N>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, std::array<T, N> const& a)
{
    if constexpr (scalar<T> && sizeof(T) == 1)
        ar.write_bytes(a.data(), N);
    else
        for (auto const& e : a)
            ar(e);
}

template <class T, std::size_t N>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::array<T, N>& a)
{
    if constexpr (scalar<T> && sizeof(T) == 1 && !std::is_same_v<T, bool>) {
        ar.read_bytes(a.data(), N);
    } else {
        for (auto& e : a)
            ar(e);
    }
}

// -- optionals ------------------------------------------------------------

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(output_archive& ar, std::optional<T> const& o)
{
    ar.write_le(static_cast<std::uint8_t>(o ? 1 : 0));
    if (o)
        ar(*o);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(input_archive& ar, std::optional<T>& o)
{
    std::uint8_t flag = 0;
    o.reset();
    if (!ar.read_le(flag))
        return;
    if (flag > 1) {
        ar.fail(errc::invalid_value);
        return;
    }
    if (flag)
        ar(o.emplace());
}

// -- aggregates -----------------------------------------------------------

/** Serialises any plain aggregate field by field, through Boost.PFR.

    This is why a meshkit message needs no serialisation code: declare the
    struct, and this overload (found by argument-dependent lookup on the
    archive) writes its fields in declaration order.
*/
template <class Archive, reflected_aggregate T>
    requires(std::is_same_v<Archive, output_archive> || std::is_same_v<Archive, input_archive>) &&
            (!cereal::traits::has_member_serialize<T, Archive>::value) &&
            (!cereal::traits::has_member_save<T, Archive>::value) &&
            (!cereal::traits::has_member_load<T, Archive>::value)
void CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, T& value)
{
    boost::pfr::for_each_field(value, [&ar](auto& field) { ar(field); });
}

} // namespace meshkit::wire

CEREAL_SETUP_ARCHIVE_TRAITS(meshkit::wire::input_archive, meshkit::wire::output_archive)

#endif // MESHKIT_WIRE_ARCHIVE_HPP
