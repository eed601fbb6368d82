// Test that header file is self-contained.
#include <meshkit/storage/file_store.hpp>
#include <meshkit/storage/memory_store.hpp>
#include <meshkit/storage/sqlite_store.hpp>

#include <meshkit/concepts/storage_backend.hpp>
#include <meshkit/error.hpp>

#include <support/bytes.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

// Behaviour every storage_backend promises (docs/concepts/storage_backend.md),
// proven on both models, then what file_store adds (docs/storage.md). The
// crash states already pinned by the FileStore.* tests in
// tests/discovery/discovery_tests.cpp are not repeated here.

namespace {

using namespace meshkit;
using test::bytes_of;
using test::text_of;
namespace fs = std::filesystem;

static_assert(storage_backend<storage::memory_store>);
static_assert(storage_backend<storage::file_store>);

/// A fresh directory under the system's temp dir, removed with everything in it.
struct temp_dir {
    fs::path path = fs::temp_directory_path() /
                    ("meshkit-storage-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    temp_dir() = default;
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;
    ~temp_dir()
    {
        std::error_code ignored; // a destructor must not throw; a leftover dir is harmless
        fs::remove_all(path, ignored);
    }
    static int& counter()
    {
        static int n = 0;
        return n;
    }
};

std::vector<char> read_bytes(fs::path const& p)
{
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(fs::path const& p, std::vector<char> const& b)
{
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

std::vector<std::byte> every_byte_value()
{
    std::vector<std::byte> v;
    for (int i = 0; i < 256; ++i)
        v.push_back(static_cast<std::byte>(i));
    return v;
}

// -- the concept's contract, on both models ------------------------------------------

/// Builds a store, and the same store as a restarted process would see it.
struct memory_backend {
    storage::memory_store original;
    storage::memory_store& store() { return original; }
    // A simulated node restarts on a copy of its old store (copies share one map).
    storage::memory_store reopen() { return original; }
};

struct file_backend {
    temp_dir dir;
    storage::file_store original{dir.path};
    storage::file_store& store() { return original; }
    // A restarted process opens a new file_store on the same directory.
    storage::file_store reopen() { return storage::file_store{dir.path}; }
};

struct sqlite_backend {
    temp_dir dir;
    storage::sqlite_store original{dir.path / "state.db"};
    storage::sqlite_store& store() { return original; }
    // A restarted process opens the same database file.
    storage::sqlite_store reopen() { return storage::sqlite_store{dir.path / "state.db"}; }
};

template <class Backend>
class StorageBackend : public ::testing::Test {
protected:
    Backend backend;
};

struct backend_names {
    template <class T>
    static std::string GetName(int)
    {
        return std::is_same_v<T, memory_backend> ? "memory_store"
               : std::is_same_v<T, file_backend> ? "file_store"
                                                  : "sqlite_store";
    }
};

using backends = ::testing::Types<memory_backend, file_backend, sqlite_backend>;
TYPED_TEST_SUITE(StorageBackend, backends, backend_names);

TYPED_TEST(StorageBackend, AMissingKeyIsNotFoundAndLeavesOutEmpty)
{
    auto& s = this->backend.store();
    std::vector<std::byte> out = bytes_of("stale bytes from an earlier load");
    EXPECT_EQ(s.load("meshkit/node_id", out), storage::errc::not_found);
    EXPECT_TRUE(out.empty());
}

TYPED_TEST(StorageBackend, StoreThenLoadReturnsExactlyTheBytes)
{
    auto& s = this->backend.store();
    auto const all = every_byte_value();
    ASSERT_FALSE(s.store("meshkit/bootstrap_cache", all));
    std::vector<std::byte> out = bytes_of("replaced, not appended to");
    ASSERT_FALSE(s.load("meshkit/bootstrap_cache", out));
    EXPECT_EQ(out, all);

    // An empty value is a value: found, and empty.
    ASSERT_FALSE(s.store("empty", std::span<std::byte const>{}));
    out = bytes_of("x");
    EXPECT_FALSE(s.load("empty", out));
    EXPECT_TRUE(out.empty());
}

TYPED_TEST(StorageBackend, AnOverwriteReplacesTheWholeValue)
{
    auto& s = this->backend.store();
    ASSERT_FALSE(s.store("k", bytes_of("a much longer first value")));
    ASSERT_FALSE(s.store("k", bytes_of("short")));
    std::vector<std::byte> out;
    ASSERT_FALSE(s.load("k", out));
    EXPECT_EQ(text_of(out), "short");
}

TYPED_TEST(StorageBackend, EraseRemovesTheKeyAndErasingAMissingKeySucceeds)
{
    auto& s = this->backend.store();
    EXPECT_FALSE(s.erase("never stored"));
    ASSERT_FALSE(s.store("k", bytes_of("v1")));
    ASSERT_FALSE(s.store("k", bytes_of("v2")));
    EXPECT_FALSE(s.erase("k"));
    std::vector<std::byte> out;
    // Not even an older copy comes back.
    EXPECT_EQ(s.load("k", out), storage::errc::not_found);
    EXPECT_TRUE(out.empty());
    EXPECT_FALSE(s.erase("k")) << "erasing twice still succeeds";
}

TYPED_TEST(StorageBackend, KeysThatLookAlikeAreSeparate)
{
    auto& s = this->backend.store();
    // file_store encodes `.` and `/`, so a key cannot collide with another
    // key's KEY.tmp or KEY.prev, nor escape the directory.
    std::vector<std::string> const keys{"k", "k.prev", "k.tmp", "K", "k/", "../k", "k%2E"};
    for (auto const& k : keys)
        ASSERT_FALSE(s.store(k, bytes_of("value of [" + k + "]"))) << k;
    for (auto const& k : keys) // a second round gives every key a KEY.prev too
        ASSERT_FALSE(s.store(k, bytes_of("value of [" + k + "]"))) << k;
    for (auto const& k : keys) {
        std::vector<std::byte> out;
        ASSERT_FALSE(s.load(k, out)) << k;
        EXPECT_EQ(text_of(out), "value of [" + k + "]");
    }
}

TYPED_TEST(StorageBackend, AStoredValueSurvivesARestart)
{
    ASSERT_FALSE(this->backend.store().store("meshkit/epoch", bytes_of("epoch 7")));
    auto restarted = this->backend.reopen();
    std::vector<std::byte> out;
    ASSERT_FALSE(restarted.load("meshkit/epoch", out));
    EXPECT_EQ(text_of(out), "epoch 7");
    // And what the restarted process writes is what the next one reads.
    ASSERT_FALSE(restarted.store("meshkit/epoch", bytes_of("epoch 8")));
    auto again = this->backend.reopen();
    ASSERT_FALSE(again.load("meshkit/epoch", out));
    EXPECT_EQ(text_of(out), "epoch 8");
}

// -- sqlite_store ---------------------------------------------------------------------

static_assert(storage_backend<storage::sqlite_store>);

TEST(SqliteStore, TheDatabaseFileIsOwnerOnlyAndHoldsEmptyAndLargeValues)
{
    temp_dir dir;
    auto const file = dir.path / "state.db";
    storage::sqlite_store db{file};
    ASSERT_FALSE(db.store("empty", {}));
    std::vector<std::byte> big(1 << 20);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::byte>(i * 7);
    ASSERT_FALSE(db.store("big", big));
    std::vector<std::byte> out{std::byte{1}};
    ASSERT_FALSE(db.load("empty", out));
    EXPECT_TRUE(out.empty()) << "an empty value is a value, not a missing key";
    ASSERT_FALSE(db.load("big", out));
    EXPECT_EQ(out, big);
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "it may hold the node's key";
}

TEST(SqliteStore, KeysAreListedByPrefixTakenLiterally)
{
    temp_dir dir;
    storage::sqlite_store db{dir.path / "state.db"};
    for (auto const* key : {"sync/a%/1", "sync/a%/2", "sync/ab/1", "sync/a_/1", "other"})
        ASSERT_FALSE(db.store(key, bytes_of("x")));
    std::vector<std::string> keys;
    ASSERT_FALSE(db.keys("sync/a%/", keys));
    EXPECT_EQ(keys, (std::vector<std::string>{"sync/a%/1", "sync/a%/2"})) << "% is no wildcard";
    ASSERT_FALSE(db.keys("sync/a_", keys));
    EXPECT_EQ(keys, (std::vector<std::string>{"sync/a_/1"})) << "_ is no wildcard";
    ASSERT_FALSE(db.keys("", keys));
    EXPECT_EQ(keys.size(), 5u);
    ASSERT_FALSE(db.erase("sync/a%/1"));
    ASSERT_FALSE(db.keys("sync/", keys));
    EXPECT_EQ(keys.size(), 3u);
}

TEST(SqliteStore, AFileThatIsNoDatabaseIsAClearErrorNeverAFreshStore)
{
    temp_dir dir;
    auto const file = dir.path / "state.db";
    fs::create_directories(dir.path);
    {
        std::ofstream f(file, std::ios::binary);
        f << std::string(4096, 'x');
    }
    try {
        storage::sqlite_store db{file};
        FAIL() << "a file of junk opened as a store";
    } catch (std::system_error const& e) {
        EXPECT_EQ(e.code(), storage::errc::corrupt);
        EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << "the message names the file";
    }
    std::ifstream f(file, std::ios::binary);
    std::string const after((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(after, std::string(4096, 'x')) << "the file was left as it was";
}

TEST(SqliteStore, CreatesItsDirectoryAndAPathThatCannotBeOneIsAClearError)
{
    temp_dir dir;
    {
        storage::sqlite_store db{dir.path / "a" / "b" / "state.db"};
        ASSERT_FALSE(db.store("k", bytes_of("v")));
    }
    EXPECT_TRUE(fs::exists(dir.path / "a" / "b" / "state.db"));
    { std::ofstream f(dir.path / "plain-file"); }
    ASSERT_TRUE(fs::is_regular_file(dir.path / "plain-file"));
    EXPECT_THROW(storage::sqlite_store{dir.path / "plain-file" / "state.db"}, std::system_error);
}

// -- memory_store ---------------------------------------------------------------------

TEST(MemoryStore, CopiesShareOneMapAndAFreshStoreHasItsOwn)
{
    storage::memory_store a;
    storage::memory_store b = a;
    ASSERT_FALSE(b.store("k", bytes_of("written through the copy")));
    std::vector<std::byte> out;
    ASSERT_FALSE(a.load("k", out));
    EXPECT_EQ(text_of(out), "written through the copy");
    EXPECT_EQ(a.size(), 1u);
    ASSERT_FALSE(a.erase("k"));
    EXPECT_EQ(b.load("k", out), storage::errc::not_found);
    EXPECT_EQ(b.size(), 0u);

    storage::memory_store other;
    ASSERT_FALSE(a.store("k", bytes_of("v")));
    EXPECT_EQ(other.load("k", out), storage::errc::not_found);
    EXPECT_EQ(other.size(), 0u);
}

TEST(MemoryStore, SizeCountsKeysNotStores)
{
    storage::memory_store s;
    ASSERT_FALSE(s.store("a", bytes_of("1")));
    ASSERT_FALSE(s.store("a", bytes_of("2")));
    ASSERT_FALSE(s.store("b", bytes_of("3")));
    EXPECT_EQ(s.size(), 2u);
    ASSERT_FALSE(s.erase("missing"));
    EXPECT_EQ(s.size(), 2u);
}

// -- file_store -----------------------------------------------------------------------

TEST(FileStore, CreatesItsDirectoryWithParents)
{
    temp_dir root;
    fs::path const nested = root.path / "state" / "node-1";
    storage::file_store s{nested};
    EXPECT_TRUE(fs::is_directory(nested));
    EXPECT_EQ(s.directory(), nested);
    ASSERT_FALSE(s.store("k", bytes_of("v")));
    EXPECT_EQ(s.path_of("k").parent_path(), nested);
    EXPECT_TRUE(fs::exists(s.path_of("k")));
}

// Whatever the checksum algorithm, a file cut short at any length, or with
// any one byte changed (header or value), must be refused: load returns the
// last intact value, or storage::errc::corrupt when there is none, never the
// damaged bytes.
TEST(FileStore, EveryTruncationIsRefusedAndTheLastGoodValueIsUsed)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("two", bytes_of("the last good value")));
    ASSERT_FALSE(s.store("two", bytes_of("the newest value")));
    ASSERT_FALSE(s.store("one", bytes_of("the only value")));
    for (std::string const key : {"two", "one"}) {
        auto const good = read_bytes(s.path_of(key));
        ASSERT_GT(good.size(), 16u);
        for (std::size_t len = 0; len < good.size(); ++len) {
            write_bytes(s.path_of(key), std::vector<char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)));
            std::vector<std::byte> out = bytes_of("stale");
            std::error_code const ec = s.load(key, out);
            if (key == "two") {
                ASSERT_FALSE(ec) << "cut to " << len << " of " << good.size() << " bytes";
                EXPECT_EQ(text_of(out), "the last good value");
            } else {
                EXPECT_EQ(ec, storage::errc::corrupt) << "cut to " << len << " of " << good.size() << " bytes";
                EXPECT_TRUE(out.empty());
            }
        }
        write_bytes(s.path_of(key), good);
    }
    std::vector<std::byte> out;
    ASSERT_FALSE(s.load("two", out));
    EXPECT_EQ(text_of(out), "the newest value") << "the restored file is intact again";
}

TEST(FileStore, EveryChangedByteIsDetected)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("two", bytes_of("the last good value")));
    ASSERT_FALSE(s.store("two", bytes_of("the newest value")));
    ASSERT_FALSE(s.store("one", bytes_of("the only value")));
    for (std::string const key : {"two", "one"}) {
        auto const good = read_bytes(s.path_of(key));
        for (std::size_t at = 0; at < good.size(); ++at) {
            for (unsigned char const flip : {0x01, 0x80, 0xff}) {
                auto bad = good;
                bad[at] = static_cast<char>(static_cast<unsigned char>(bad[at]) ^ flip);
                write_bytes(s.path_of(key), bad);
                std::vector<std::byte> out = bytes_of("stale");
                std::error_code const ec = s.load(key, out);
                if (key == "two") {
                    ASSERT_FALSE(ec) << "byte " << at << " ^ " << unsigned{flip};
                    EXPECT_EQ(text_of(out), "the last good value") << "byte " << at << " ^ " << unsigned{flip};
                } else {
                    EXPECT_EQ(ec, storage::errc::corrupt) << "byte " << at << " ^ " << unsigned{flip};
                    EXPECT_TRUE(out.empty());
                }
            }
        }
        write_bytes(s.path_of(key), good);
    }
}

TEST(FileStore, AFailedStoreLeavesThePreviousValueAndEraseCleansUp)
{
    temp_dir dir;
    storage::file_store s{dir.path};
    ASSERT_FALSE(s.store("k", bytes_of("previous")));
    // A directory where KEY.tmp must go makes the first step of a store fail.
    fs::path const tmp = s.path_of("k").string() + ".tmp";
    fs::create_directory(tmp);
    std::error_code const ec = s.store("k", bytes_of("never written"));
    EXPECT_TRUE(ec) << "the write of KEY.tmp cannot succeed";
    std::vector<std::byte> out;
    ASSERT_FALSE(s.load("k", out));
    EXPECT_EQ(text_of(out), "previous");

    // erase removes KEY, KEY.prev and KEY.tmp: nothing of the key is left.
    ASSERT_FALSE(s.store("k2", bytes_of("a")));
    ASSERT_FALSE(s.store("k2", bytes_of("b"))); // k2 now has KEY and KEY.prev
    EXPECT_FALSE(s.erase("k"));
    EXPECT_FALSE(s.erase("k2"));
    EXPECT_TRUE(fs::is_empty(dir.path));
    ASSERT_FALSE(s.store("k", bytes_of("stored again")));
    ASSERT_FALSE(s.load("k", out));
    EXPECT_EQ(text_of(out), "stored again");
}

} // namespace
