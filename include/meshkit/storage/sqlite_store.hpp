// storage/sqlite_store.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
#ifndef MESHKIT_STORAGE_SQLITE_STORE_HPP
#define MESHKIT_STORAGE_SQLITE_STORE_HPP

#include <meshkit/storage/error.hpp>

#include <sqlite3.h>

#include <sys/stat.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace meshkit::storage {

/// The category of SQLite's result codes ("meshkit.sqlite"), with SQLite's own messages.
inline std::error_category const& sqlite_category() noexcept
{
    struct category final : std::error_category {
        char const* name() const noexcept override { return "meshkit.sqlite"; }
        std::string message(int ev) const override { return sqlite3_errstr(ev); }
    };
    static category const instance;
    return instance;
}

/** Keeps every value in one SQLite database file; models `meshkit::storage_backend`.

    A table of keys and blobs in one file, written in SQLite's write-ahead
    log mode with `synchronous = FULL`: a `store` that returned is on disk,
    and a crash at any instant leaves the previous value or the new one,
    as SQLite's transactions guarantee. For state with many keys (a
    topic's log of broadcasts, one key each) where `file_store`'s file per
    key would be thousands of files; `keys` lists them by prefix.

    The file is owner-only (0600): it may hold the node's identity key.
    A file that is not a database, or a damaged one, is
    `storage::errc::corrupt` from the constructor (thrown) or from `load`;
    other failures carry SQLite's code and message (`sqlite_category`).
*/
class sqlite_store {
public:
    /** Opens (and creates) the database at `file`, and its directory as `file_store` does (owner-only, 0700).

        @throws std::system_error: `errc::corrupt` for a file that is not a
        SQLite database, SQLite's code for anything else (no permission, a
        directory that cannot be made), each with the path in its message.
    */
    explicit sqlite_store(std::filesystem::path const& file)
    {
        if (file.has_parent_path()) {
            std::error_code ec;
            if (std::filesystem::create_directories(file.parent_path(), ec))
                std::filesystem::permissions(file.parent_path(), std::filesystem::perms::owner_all, ec);
        }
        sqlite3* raw = nullptr;
        int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
        db_.reset(raw);
        if (rc == SQLITE_OK) {
            ::chmod(file.c_str(), S_IRUSR | S_IWUSR);
            rc = exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                      "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;");
        }
        if (rc != SQLITE_OK)
            throw std::system_error(code_of(rc), "meshkit: cannot open the SQLite store " + file.string());
    }

    std::error_code load(std::string_view key, std::vector<std::byte>& out) const
    {
        out.clear();
        statement st{db_.get(), "SELECT value FROM kv WHERE key = ?1"};
        if (st.rc != SQLITE_OK)
            return code_of(st.rc);
        sqlite3_bind_text(st.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        int const rc = sqlite3_step(st.get());
        if (rc == SQLITE_DONE)
            return errc::not_found;
        if (rc != SQLITE_ROW)
            return code_of(rc);
        auto const* data = static_cast<std::byte const*>(sqlite3_column_blob(st.get(), 0));
        auto const size = static_cast<std::size_t>(sqlite3_column_bytes(st.get(), 0));
        if (data)
            out.assign(data, data + size);
        return {};
    }

    std::error_code store(std::string_view key, std::span<std::byte const> value)
    {
        statement st{db_.get(), "INSERT INTO kv (key, value) VALUES (?1, ?2) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value"};
        if (st.rc != SQLITE_OK)
            return code_of(st.rc);
        sqlite3_bind_text(st.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        // An empty value is a zero-length blob, not NULL.
        sqlite3_bind_zeroblob(st.get(), 2, 0);
        if (!value.empty())
            sqlite3_bind_blob(st.get(), 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
        int const rc = sqlite3_step(st.get());
        return rc == SQLITE_DONE ? std::error_code{} : code_of(rc);
    }

    std::error_code erase(std::string_view key)
    {
        statement st{db_.get(), "DELETE FROM kv WHERE key = ?1"};
        if (st.rc != SQLITE_OK)
            return code_of(st.rc);
        sqlite3_bind_text(st.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
        int const rc = sqlite3_step(st.get());
        return rc == SQLITE_DONE ? std::error_code{} : code_of(rc);
    }

    /** The keys that start with `prefix`, in byte order: what a log stored one key per entry reloads from.

        @return SQLite's error, or nothing; `out` holds the keys.
    */
    std::error_code keys(std::string_view prefix, std::vector<std::string>& out) const
    {
        out.clear();
        // substr rather than LIKE: LIKE would read % and _ in the prefix as wildcards.
        statement st{db_.get(), "SELECT key FROM kv WHERE substr(key, 1, ?2) = ?1 ORDER BY key"};
        if (st.rc != SQLITE_OK)
            return code_of(st.rc);
        sqlite3_bind_text(st.get(), 1, prefix.data(), static_cast<int>(prefix.size()), SQLITE_STATIC);
        sqlite3_bind_int64(st.get(), 2, static_cast<sqlite3_int64>(prefix.size()));
        int rc = 0;
        while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
            auto const* text = reinterpret_cast<char const*>(sqlite3_column_text(st.get(), 0));
            out.emplace_back(text, static_cast<std::size_t>(sqlite3_column_bytes(st.get(), 0)));
        }
        return rc == SQLITE_DONE ? std::error_code{} : code_of(rc);
    }

private:
    struct closer {
        void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
    };

    // A prepared statement, finalised on every path.
    struct statement {
        statement(sqlite3* db, char const* sql) { rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr); }
        ~statement() { sqlite3_finalize(stmt); }
        statement(statement const&) = delete;
        statement& operator=(statement const&) = delete;
        sqlite3_stmt* get() const noexcept { return stmt; }
        sqlite3_stmt* stmt = nullptr;
        int rc = SQLITE_OK;
    };

    int exec(char const* sql) { return sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr); }

    static std::error_code code_of(int rc) noexcept
    {
        int const primary = rc & 0xff;
        if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
            return errc::corrupt;
        return {rc, sqlite_category()};
    }

    std::unique_ptr<sqlite3, closer> db_;
};

} // namespace meshkit::storage

#endif // MESHKIT_STORAGE_SQLITE_STORE_HPP
