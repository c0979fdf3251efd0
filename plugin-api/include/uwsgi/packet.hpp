// The uwsgi binary protocol's packet format, header-only, for the core and for plugins that
// speak it (rpc, or an out-of-tree router). Not part of the C ABI: it compiles into each user.
//
// A packet is a 4-byte header (modifier1, little-endian 16-bit size, modifier2) followed by
// `size` bytes. For requests the block holds vars: each key and value a little-endian 16-bit
// length and its bytes. RPC packets hold a list of such items instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace uwsgi::packet {

struct Header {
    uint8_t modifier1 = 0;
    uint16_t size = 0;
    uint8_t modifier2 = 0;
};

constexpr size_t kHeaderSize = 4;
constexpr size_t kMaxItem = 0xffff;  // a 16-bit length

inline Header decode_header(const unsigned char *p) {
    return {p[0], uint16_t(p[1] | (p[2] << 8)), p[3]};
}

inline void append_header(std::string &out, Header h) {
    out += char(h.modifier1);
    out += char(h.size & 0xff);
    out += char(h.size >> 8);
    out += char(h.modifier2);
}

// Appends one length-prefixed item; false (nothing appended) when it exceeds 65535 bytes.
inline bool append_item(std::string &out, std::string_view s) {
    if (s.size() > kMaxItem) return false;
    out += char(s.size() & 0xff);
    out += char(s.size() >> 8);
    out += s;
    return true;
}

// Calls fn(key, value) for each var of a block; fn returns false to stop early. Returns false
// when the block (up to where it stopped) is truncated or a key has no value.
template <typename Fn>
bool for_each_var(std::string_view block, Fn &&fn) {
    size_t i = 0;
    auto item = [&](std::string_view &out) {
        if (block.size() - i < 2) return false;
        size_t len = size_t((unsigned char)block[i]) | (size_t((unsigned char)block[i + 1]) << 8);
        i += 2;
        if (block.size() - i < len) return false;
        out = block.substr(i, len);
        i += len;
        return true;
    };
    while (i < block.size()) {
        std::string_view k, v;
        if (!item(k) || !item(v)) return false;
        if (!fn(k, v)) return true;
    }
    return true;
}

}  // namespace uwsgi::packet
