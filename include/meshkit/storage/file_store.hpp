// storage/file_store.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STORAGE_FILE_STORE_HPP
#define MESHKIT_STORAGE_FILE_STORE_HPP

#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/storage/error.hpp>

#include <boost/crc.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace meshkit::storage {

/** Keeps each value in its own file under a directory; models `meshkit::storage_backend`.

    A store survives a crash at any instant:

    1. the value goes to `KEY.tmp`, which is fsynced;
    2. the current `KEY`, if intact, becomes `KEY.prev` (one rename);
    3. `KEY.tmp` becomes `KEY` (one rename), and the directory is fsynced.

    Every file carries a magic number, its length and the CRC-32 of its
    bytes (the header in host byte order: the files are not meant to move
    between machines of different endianness; the CRC detects torn and
    corrupt files, not an adversary). `load` reads `KEY`, and if that is missing, torn or corrupt,
    falls back to `KEY.prev`: the last value that was completely written.
    A torn write can therefore lose the newest value, never return a
    corrupt one.

    Files are written owner-only (0600): a node's identity key is one of
    them (security/identity_store.hpp).

    Keys may contain any characters: they are percent-encoded into file
    names, so `meshkit/node_id` is the file `meshkit%2Fnode_id`.
*/
class file_store {
public:
    /** Uses (and creates) `directory`; a directory it creates is owner-only (0700).

        @throws std::filesystem::filesystem_error if it cannot be created.
    */
    explicit file_store(std::filesystem::path directory) : dir_(std::move(directory))
    {
        if (std::filesystem::create_directories(dir_))
            std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    }

    std::error_code load(std::string_view key, std::vector<std::byte>& out) const
    {
        out.clear();
        auto const path = path_of(key);
        std::error_code ec = read_checked(path, out);
        if (!ec)
            return {};
        std::error_code const prev = read_checked(path.string() + ".prev", out);
        if (!prev)
            return {};
        out.clear();
        // not_found only when neither copy exists; any damaged copy makes it corrupt.
        if (ec == storage::errc::not_found && prev == storage::errc::not_found)
            return make_error_code(storage::errc::not_found);
        return ec == storage::errc::not_found ? prev : ec;
    }

    std::error_code store(std::string_view key, std::span<std::byte const> value)
    {
        auto const path = path_of(key);
        std::string const tmp = path.string() + ".tmp";
        if (auto ec = write_synced(tmp, value))
            return ec;
        // Only an intact current value may become the fallback: demoting a
        // torn one would destroy the last good copy.
        std::error_code ec;
        std::vector<std::byte> current;
        if (!read_checked(path, current))
            std::filesystem::rename(path, path.string() + ".prev", ec);
        if (ec)
            return ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec)
            return ec;
        return sync_directory();
    }

    std::error_code erase(std::string_view key)
    {
        auto const path = path_of(key);
        std::error_code ec;
        std::filesystem::remove(path, ec);
        std::filesystem::remove(path.string() + ".prev", ec);
        std::filesystem::remove(path.string() + ".tmp", ec);
        return {};
    }

    /// The file a key is stored in (for tests and operators).
    [[nodiscard]] std::filesystem::path path_of(std::string_view key) const
    {
        static constexpr char hex[] = "0123456789ABCDEF";
        std::string name;
        for (unsigned char c : key) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
                name.push_back(static_cast<char>(c));
            else {
                name.push_back('%');
                name.push_back(hex[c >> 4]);
                name.push_back(hex[c & 0xf]);
            }
        }
        return dir_ / name;
    }

    [[nodiscard]] std::filesystem::path const& directory() const noexcept { return dir_; }

private:
    // "MSS2". Files of format 1 ("MSS1", a 64-bit meshkit hash in place of
    // the CRC) fail the magic check and load as corrupt.
    static constexpr std::uint32_t magic = 0x3253534d;
    static constexpr std::size_t header_size = 4 + 8 + 4;

    /// The standard CRC-32 (as zlib, gzip and PNG compute it), so any tool can check a file.
    static std::uint32_t crc_of(std::span<std::byte const> value) noexcept
    {
        boost::crc_32_type crc;
        crc.process_bytes(value.data(), value.size());
        return static_cast<std::uint32_t>(crc.checksum());
    }

    static std::error_code errno_code() { return {errno, std::system_category()}; }

    static std::error_code write_all(int fd, void const* data, std::size_t n)
    {
        auto const* p = static_cast<char const*>(data);
        while (n > 0) {
            ssize_t const w = ::write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return errno_code();
            }
            p += w;
            n -= static_cast<std::size_t>(w);
        }
        return {};
    }

    static std::error_code write_synced(std::string const& path, std::span<std::byte const> value)
    {
        // Owner-only: what a node keeps (its identity key among it) is nobody else's to read.
        int const fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return errno_code();
        (void)::fchmod(fd, 0600); // a KEY.tmp left by a crash keeps the mode it was made with
        std::uint64_t const length = value.size();
        std::uint32_t const crc = crc_of(value);
        std::byte header[header_size];
        std::memcpy(header, &magic, 4);
        std::memcpy(header + 4, &length, 8);
        std::memcpy(header + 12, &crc, 4);
        std::error_code ec = write_all(fd, header, header_size);
        if (!ec)
            ec = write_all(fd, value.data(), value.size());
        if (!ec && ::fsync(fd) != 0)
            ec = errno_code();
        ::close(fd);
        return ec;
    }

    static std::error_code read_checked(std::filesystem::path const& path, std::vector<std::byte>& out)
    {
        out.clear();
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (!f)
            return errno == ENOENT ? make_error_code(storage::errc::not_found) : errno_code();
        std::byte header[header_size];
        std::uint32_t m = 0, crc = 0;
        std::uint64_t length = 0;
        bool ok = std::fread(header, 1, header_size, f) == header_size;
        if (ok) {
            std::memcpy(&m, header, 4);
            std::memcpy(&length, header + 4, 8);
            std::memcpy(&crc, header + 12, 4);
            std::error_code size_ec;
            auto const file_size = std::filesystem::file_size(path, size_ec);
            // The length must match the file exactly: a torn file is shorter,
            // and no allocation is made for a length the file cannot back.
            ok = m == magic && !size_ec && file_size == header_size + length;
        }
        if (ok) {
            out.resize(static_cast<std::size_t>(length));
            ok = std::fread(out.data(), 1, out.size(), f) == out.size() && crc_of(out) == crc;
        }
        std::fclose(f);
        if (!ok) {
            out.clear();
            return make_error_code(storage::errc::corrupt);
        }
        return {};
    }

    std::error_code sync_directory() const
    {
        int const fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return errno_code();
        std::error_code ec;
        if (::fsync(fd) != 0)
            ec = errno_code();
        ::close(fd);
        return ec;
    }

    std::filesystem::path dir_;
};

} // namespace meshkit::storage

#endif // MESHKIT_STORAGE_FILE_STORE_HPP
