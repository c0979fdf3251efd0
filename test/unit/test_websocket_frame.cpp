// The RFC 6455 frame codec (core/websocket_frame.cpp) on the RFC's own examples and the rules a
// server enforces on client frames.
#include "websocket_frame.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace core::ws;

namespace {

std::vector<uint8_t> masked(uint8_t b0, std::string payload) {
    std::vector<uint8_t> f{b0};
    if (payload.size() < 126) {
        f.push_back(uint8_t(0x80 | payload.size()));
    } else {
        f.push_back(0x80 | 126);
        f.push_back(uint8_t(payload.size() >> 8));
        f.push_back(uint8_t(payload.size()));
    }
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 5.7
    f.insert(f.end(), key, key + 4);
    for (size_t i = 0; i < payload.size(); ++i) f.push_back(uint8_t(payload[i]) ^ key[i % 4]);
    return f;
}

Event one(Decoder &d, const std::vector<uint8_t> &bytes) {
    const uint8_t *p = bytes.data();
    return d.next(p, bytes.data() + bytes.size());
}

}  // namespace

TEST_CASE("a masked text frame from RFC 6455 5.7") {
    Decoder d;
    d.reset(1024);
    std::vector<uint8_t> f = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    Event e = one(d, f);
    CHECK(e.kind == Event::kMessage);
    CHECK(e.opcode == kText);
    CHECK(e.payload == "Hello");
}

TEST_CASE("fragments with a ping between them, one byte at a time") {
    Decoder d;
    d.reset(1024);
    std::vector<uint8_t> all = masked(0x01, "Hel");
    for (auto part : {masked(0x89, "hi"), masked(0x80, "lo")}) all.insert(all.end(), part.begin(), part.end());
    std::vector<std::string> seen;
    for (uint8_t b : all) {
        const uint8_t *p = &b;
        Event e = d.next(p, &b + 1);
        if (e.kind == Event::kPing) seen.push_back("ping:" + std::string(e.payload));
        if (e.kind == Event::kMessage) seen.push_back("msg:" + std::string(e.payload));
    }
    CHECK(seen == std::vector<std::string>{"ping:hi", "msg:Hello"});
}

TEST_CASE("payloads of every length unmask right, whatever the read sizes") {
    for (size_t len : {0, 1, 3, 7, 8, 9, 15, 16, 17, 125, 126, 1000, 4099}) {
        std::string payload;
        for (size_t i = 0; i < len; ++i) payload += char('A' + i * 7 % 53);
        std::vector<uint8_t> f = masked(0x82, payload);
        for (size_t chunk : {1, 3, 5, 8, 13, 4096}) {
            Decoder d;
            d.reset(1 << 20);
            std::string got;
            bool done = false;
            for (size_t at = 0; at < f.size() && !done; at += chunk) {
                const uint8_t *p = f.data() + at, *end = f.data() + std::min(f.size(), at + chunk);
                Event e = d.next(p, end);
                if (e.kind == Event::kMessage) got = std::string(e.payload), done = true;
            }
            INFO("length " << len << ", reads of " << chunk);
            CHECK(done);
            CHECK(got == payload);
        }
    }
}

TEST_CASE("client frames that break the rules get the RFC close code") {
    Decoder d;
    d.reset(4);
    CHECK(one(d, {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}).code == kProtocolError);  // unmasked
    d.reset(4);
    CHECK(one(d, masked(0x83, "x")).code == kProtocolError);  // opcode 3
    d.reset(4);
    CHECK(one(d, masked(0x09, "x")).code == kProtocolError);  // fragmented ping
    d.reset(4);
    CHECK(one(d, masked(0x80, "x")).code == kProtocolError);  // continuation first
    d.reset(4);
    CHECK(one(d, masked(0x81, "\xc3\x28")).code == kInvalidPayload);
    d.reset(4);
    CHECK(one(d, masked(0x82, "12345")).code == kTooBig);
    d.reset(4);
    CHECK(one(d, masked(0x88, std::string("\x03\xed", 2))).code == kProtocolError);  // 1005
}

TEST_CASE("close frames and server headers") {
    Decoder d;
    d.reset(4);
    Event e = one(d, masked(0x88, std::string("\x03\xe8" "bye", 5)));
    CHECK(e.kind == Event::kClose);
    CHECK(e.code == 1000);
    CHECK(e.payload == "bye");
    uint8_t h[10];
    CHECK(encode_header(h, kText, 5) == 2);
    CHECK(encode_header(h, kBinary, 300) == 4);
    CHECK(encode_header(h, kBinary, 70000) == 10);
    CHECK(h[0] == 0x82);
    CHECK(h[1] == 127);
}

TEST_CASE("UTF-8 validation") {
    auto ok = [](std::string s) { return utf8_valid(reinterpret_cast<const uint8_t *>(s.data()), s.size()); };
    CHECK(ok("h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80"));
    CHECK_FALSE(ok("\xc0\xaf"));          // overlong
    CHECK_FALSE(ok("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(ok("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(ok("\xe2\x98"));          // cut short
}
