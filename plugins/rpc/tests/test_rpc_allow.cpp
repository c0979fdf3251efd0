#include "rpc_allow.hpp"

#include <catch2/catch.hpp>

TEST_CASE("--rpc-allow: addresses and prefixes, IPv4 and IPv6", "[rpc]") {
    rpc::AllowList list;
    std::string why;
    CHECK(list.allows("203.0.113.9"));  // empty: everyone, as uWSGI
    REQUIRE(list.add("127.0.0.1", why));
    REQUIRE(list.add("10.1.0.0/16", why));
    REQUIRE(list.add("fd00::/8", why));
    CHECK(list.allows("127.0.0.1"));
    CHECK(list.allows("::ffff:127.0.0.1"));
    CHECK_FALSE(list.allows("127.0.0.2"));
    CHECK(list.allows("10.1.255.3"));
    CHECK_FALSE(list.allows("10.2.0.1"));
    CHECK(list.allows("fd12::1"));
    CHECK_FALSE(list.allows("::1"));
    CHECK(list.allows(""));  // a UNIX-socket peer
    CHECK_FALSE(list.allows("garbage"));
}

TEST_CASE("--rpc-allow refuses what is not an address or prefix", "[rpc]") {
    rpc::AllowList list;
    std::string why;
    for (const char *bad : {"localhost", "10.0.0.0/33", "::/129", "1.2.3.4/", "1.2.3.4/x", ""}) {
        INFO(bad);
        CHECK_FALSE(list.add(bad, why));
        CHECK(why.find("--rpc-allow") != std::string::npos);
    }
}
