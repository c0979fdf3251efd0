#include <uwsgi/packet.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace uwsgi::packet;

static std::string encode(const std::map<std::string, std::string> &vars, uint8_t m1 = 0,
                          uint8_t m2 = 0) {
    std::string block;
    for (auto &[k, v] : vars) {
        REQUIRE(append_item(block, k));
        REQUIRE(append_item(block, v));
    }
    std::string out;
    append_header(out, {m1, uint16_t(block.size()), m2});
    return out + block;
}

TEST_CASE("uwsgi packets round-trip header and vars") {
    std::map<std::string, std::string> vars{{"REQUEST_METHOD", "GET"},
                                            {"PATH_INFO", "/a b"},
                                            {"EMPTY", ""},
                                            {"BIN", std::string("\0\xff\x01", 3)}};
    std::string pkt = encode(vars, 5, 7);
    Header h = decode_header(reinterpret_cast<const unsigned char *>(pkt.data()));
    CHECK(h.modifier1 == 5);
    CHECK(h.modifier2 == 7);
    CHECK(h.size == pkt.size() - kHeaderSize);
    std::map<std::string, std::string> back;
    bool ok = for_each_var(std::string_view(pkt).substr(kHeaderSize),
                           [&](std::string_view k, std::string_view v) {
                               back[std::string(k)] = std::string(v);
                               return true;
                           });
    CHECK(ok);
    CHECK(back == vars);
}

TEST_CASE("the 16-bit size is little-endian") {
    std::string out;
    append_header(out, {0, 0x1234, 0});
    CHECK(out == std::string("\x00\x34\x12\x00", 4));
}

TEST_CASE("truncated var blocks are rejected") {
    std::string pkt = encode({{"KEY", "VALUE"}}).substr(kHeaderSize);
    for (size_t cut = 1; cut < pkt.size(); ++cut) {
        bool ok = for_each_var(std::string_view(pkt).substr(0, cut),
                               [](std::string_view, std::string_view) { return true; });
        CHECK_FALSE(ok);
    }
}

TEST_CASE("a key without its value is malformed") {
    std::string block;
    append_item(block, "LONELY");
    CHECK_FALSE(for_each_var(block, [](std::string_view, std::string_view) { return true; }));
}

TEST_CASE("items over 64 KiB cannot be encoded") {
    std::string out;
    CHECK(append_item(out, std::string(65535, 'x')));
    CHECK_FALSE(append_item(out, std::string(65536, 'x')));
}
