#include "../rpc_codec.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace rpc::codec;

namespace {

std::vector<uwsgi_str> strs(const std::vector<std::string> &v) {
    std::vector<uwsgi_str> out;
    for (auto &s : v) out.push_back({s.data(), s.size()});
    return out;
}

Header header_of(const std::string &packet) {
    return decode_header(reinterpret_cast<const unsigned char *>(packet.data()));
}

}  // namespace

TEST_CASE("a request round-trips through encode and decode, binary-safe") {
    std::vector<std::string> args = {"x", std::string("a\0b", 3), "", "\xff\xfe"};
    auto a = strs(args);
    std::string packet, why;
    REQUIRE(encode_request(packet, "hello", a.size(), a.data(), &why) == UWSGI_OK);
    Header h = header_of(packet);
    CHECK(h.modifier1 == 173);
    CHECK(h.modifier2 == 0);
    CHECK(h.size == packet.size() - 4);
    CHECK(packet.substr(4, 7) == std::string("\x05\x00hello", 7));

    std::vector<std::string_view> items;
    REQUIRE(decode_items(std::string_view(packet).substr(4), items, &why));
    REQUIRE(items.size() == 5);
    CHECK(items[0] == "hello");
    for (size_t i = 0; i < args.size(); ++i) CHECK(items[i + 1] == args[i]);
}

TEST_CASE("the raw modifier2 goes into the request header") {
    std::string packet;
    REQUIRE(encode_request(packet, "f", 0, nullptr, nullptr, kModifier2Raw) == UWSGI_OK);
    CHECK(packet == std::string("\xad\x03\x00\x01\x01\x00" "f", 7));
}

TEST_CASE("254 arguments are allowed, 255 are not") {
    std::vector<std::string> args(254, "a");
    auto a = strs(args);
    std::string packet, why;
    REQUIRE(encode_request(packet, "args", a.size(), a.data(), &why) == UWSGI_OK);
    std::vector<std::string_view> items;
    REQUIRE(decode_items(std::string_view(packet).substr(4), items, &why));
    CHECK(items.size() == 255);

    args.push_back("a");
    a = strs(args);
    CHECK(encode_request(packet, "args", a.size(), a.data(), &why) == UWSGI_ELIMIT);
    CHECK(why.find("255 arguments") != std::string::npos);

    // A hand-made block with 256 items is refused by the decoder.
    std::string block;
    for (int i = 0; i < 256; ++i) block += std::string("\x01\x00" "a", 3);
    CHECK_FALSE(decode_items(block, items, &why));
    CHECK(why.find("more than 254 arguments") != std::string::npos);
}

TEST_CASE("function names must have 1..255 bytes") {
    std::string packet, why;
    CHECK(encode_request(packet, std::string(255, 'n'), 0, nullptr, &why) == UWSGI_OK);
    CHECK(encode_request(packet, std::string(256, 'n'), 0, nullptr, &why) == UWSGI_ELIMIT);
    CHECK(why.find("256 bytes") != std::string::npos);
    CHECK(encode_request(packet, "", 0, nullptr, &why) == UWSGI_ELIMIT);
}

TEST_CASE("arguments and the whole block must fit the 16-bit size") {
    std::string packet, why;
    // name item "f" takes 3 bytes, the argument's length 2: 65530 bytes of argument fill 65535.
    std::string fits(65530, 'x');
    uwsgi_str a{fits.data(), fits.size()};
    REQUIRE(encode_request(packet, "f", 1, &a, &why) == UWSGI_OK);
    CHECK(header_of(packet).size == 65535);
    CHECK(packet.size() == 65539);

    std::string over(65531, 'x');
    a = {over.data(), over.size()};
    CHECK(encode_request(packet, "f", 1, &a, &why) == UWSGI_ELIMIT);
    CHECK(why.find("65536 bytes") != std::string::npos);

    std::string huge(65536, 'x');
    a = {huge.data(), huge.size()};
    CHECK(encode_request(packet, "f", 1, &a, &why) == UWSGI_ELIMIT);
    CHECK(why.find("argument 1 of 65536 bytes") != std::string::npos);

    // Many arguments that are each small but too many bytes together.
    std::vector<std::string> many(200, std::string(400, 'y'));
    auto m = strs(many);
    CHECK(encode_request(packet, "f", m.size(), m.data(), &why) == UWSGI_ELIMIT);
}

TEST_CASE("truncated request blocks are refused") {
    std::vector<std::string> args = {"first", "second"};
    auto a = strs(args);
    std::string packet, why;
    REQUIRE(encode_request(packet, "fn", a.size(), a.data(), &why) == UWSGI_OK);
    std::string block = packet.substr(4);
    // Item boundaries: after "fn" (4), after "first" (11), after "second" (19).
    std::vector<size_t> boundaries = {0, 4, 11, 19};
    std::vector<std::string_view> items;
    for (size_t cut = 1; cut < block.size(); ++cut) {
        bool on_boundary =
            std::find(boundaries.begin(), boundaries.end(), cut) != boundaries.end();
        INFO("cut at " << cut);
        CHECK(decode_items(std::string_view(block).substr(0, cut), items, &why) == on_boundary);
    }
    CHECK_FALSE(decode_items(std::string("\x09\x00" "ab", 4), items, &why));
    CHECK(why.find("runs past the end") != std::string::npos);
    CHECK_FALSE(decode_items(std::string("\x01", 1), items, &why));
    CHECK(why.find("truncated item length") != std::string::npos);
}

TEST_CASE("answers up to 65535 bytes get a plain header") {
    CHECK(answer_prefix(3) == std::string("\xad\x03\x00\x00", 4));
    CHECK(answer_prefix(65535) == std::string("\xad\xff\xff\x00", 4));
}

TEST_CASE("larger answers use modifier2 5 with a CONTENT_LENGTH vars block") {
    std::string p = answer_prefix(1048576);
    std::string vars = std::string("\x0e\x00" "CONTENT_LENGTH" "\x07\x00" "1048576", 25);
    CHECK(p == std::string("\xad\x19\x00\x05", 4) + vars);
    Header h = header_of(p);
    CHECK(h.modifier2 == 5);
    CHECK(h.size == vars.size());
    uint64_t len = 0;
    std::string why;
    REQUIRE(big_answer_length(p.substr(4), len, &why));
    CHECK(len == 1048576);
    CHECK(answer_prefix(65536).substr(4) ==
          std::string("\x0e\x00" "CONTENT_LENGTH" "\x05\x00" "65536", 23));
}

TEST_CASE("bad modifier2-5 vars blocks are reported") {
    uint64_t len = 0;
    std::string why;
    CHECK_FALSE(big_answer_length(std::string("\x01\x00" "A" "\x01\x00" "1", 6), len, &why));
    CHECK(why.find("without CONTENT_LENGTH") != std::string::npos);
    CHECK_FALSE(big_answer_length(std::string("\x0e\x00" "CONTENT_LENGTH" "\x02\x00" "1x", 20),
                                  len, &why));
    CHECK(why.find("bad CONTENT_LENGTH") != std::string::npos);
    CHECK_FALSE(big_answer_length(std::string("\x0e\x00" "CONTENT_LEN", 13), len, &why));
    CHECK(why.find("malformed") != std::string::npos);
    // Other vars may come first.
    REQUIRE(big_answer_length(
        std::string("\x01\x00" "A" "\x01\x00" "1" "\x0e\x00" "CONTENT_LENGTH" "\x01\x00" "7", 25),
        len, &why));
    CHECK(len == 7);
}
