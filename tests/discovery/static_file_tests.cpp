// Static discovery from a file (TOML): every peer read, every mistake an
// error that names the file, the line and the key.

#include <meshkit/discovery/static_file.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <string>

namespace {

using namespace meshkit;

std::string error_of(std::string const& text)
{
    try {
        (void)discovery::parse_static_seeds(text, "peers.toml");
    } catch (discovery::static_file_error const& e) {
        return e.what();
    }
    return "no error";
}

TEST(StaticFile, ReadsEveryPeerInOrder)
{
    auto seeds = discovery::parse_static_seeds("# the command post and a relay\n"
                                               "[[peer]]\n"
                                               "address = \"udp://10.0.0.2:7946\"\n"
                                               "name = \"company-hq\"\n"
                                               "\n"
                                               "[[peer]]\n"
                                               "address = \"10.0.0.3:7000\"\n");
    ASSERT_EQ(seeds.seeds().size(), 2u);
    EXPECT_EQ(seeds.seeds()[0], *endpoint::parse("10.0.0.2:7946"));
    EXPECT_EQ(seeds.seeds()[1], *endpoint::parse("10.0.0.3:7000"));
    EXPECT_TRUE(discovery::parse_static_seeds("").seeds().empty()); // an empty list is a list
}

TEST(StaticFile, EveryMistakeNamesTheLineAndTheKey)
{
    EXPECT_EQ(error_of("[[peer]]\nadress = \"10.0.0.2:7946\"\n"),
              "peers.toml:2: unknown key 'peer.adress' (expected address, name)");
    EXPECT_EQ(error_of("[[peer]]\nname = \"hq\"\n"), "peers.toml:1: a [[peer]] without 'address'");
    EXPECT_EQ(error_of("[[peer]]\naddress = 7946\n"), "peers.toml:2: peer.address must be a string");
    EXPECT_EQ(error_of("[[peer]]\naddress = \"hq.example\"\n"),
              "peers.toml:2: peer.address 'hq.example' is not HOST:PORT, udp://HOST:PORT or tcp://HOST:PORT");
    EXPECT_EQ(error_of("\n\npeers = []\n"), "peers.toml:3: unknown key 'peers' (expected [[peer]] tables)");
    EXPECT_EQ(error_of("peer = 1\n"), "peers.toml:1: 'peer' must be an array of tables ([[peer]])");
    EXPECT_EQ(error_of("[[peer]]\nname = 5\naddress = \"10.0.0.2:1\"\n"), "peers.toml:2: peer.name must be a string");
    EXPECT_NE(error_of("[[peer]\n").find("peers.toml:1: "), std::string::npos); // TOML syntax, with its line
}

TEST(StaticFile, LoadsAFileAndNamesItInErrors)
{
    auto const dir = std::filesystem::temp_directory_path() / ("meshkit-static-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto const good = dir / "peers.toml";
    std::ofstream(good) << "[[peer]]\naddress = \"tcp://127.0.0.1:7000\"\n";
    auto seeds = discovery::load_static_seeds(good);
    ASSERT_EQ(seeds.seeds().size(), 1u);
    EXPECT_EQ(seeds.seeds()[0].to_string(), "tcp://127.0.0.1:7000");
    auto const bad = dir / "bad.toml";
    std::ofstream(bad) << "[[peer]]\n\naddress = \"x\"\n";
    try {
        (void)discovery::load_static_seeds(bad);
        ADD_FAILURE() << "no error";
    } catch (discovery::static_file_error const& e) {
        EXPECT_EQ(std::string(e.what()).rfind(bad.string() + ":3: peer.address 'x'", 0), 0u) << e.what();
    }
    EXPECT_THROW((void)discovery::load_static_seeds(dir / "missing.toml"), discovery::static_file_error);
    std::filesystem::remove_all(dir);
}

} // namespace
