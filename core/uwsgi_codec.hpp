// The uwsgi binary protocol: a 4-byte header (modifier1, little-endian 16-bit size, modifier2)
// followed by `size` bytes of vars, each as little-endian 16-bit length + bytes, key then value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace core::uwsgi_codec {

struct Header {
    uint8_t modifier1 = 0;
    uint16_t size = 0;
    uint8_t modifier2 = 0;
};

constexpr size_t kHeaderSize = 4;

inline Header decode_header(const unsigned char *p) {
    return {p[0], uint16_t(p[1] | (p[2] << 8)), p[3]};
}

inline void encode_header(std::string &out, Header h) {
    out += char(h.modifier1);
    out += char(h.size & 0xff);
    out += char(h.size >> 8);
    out += char(h.modifier2);
}

// Calls fn(key, value) for each var; false when the block is truncated or malformed.
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
        if (!fn(k, v)) return false;
    }
    return true;
}

// Appends one length-prefixed item; false when it exceeds 65535 bytes.
inline bool append_item(std::string &out, std::string_view s) {
    if (s.size() > 0xffff) return false;
    out += char(s.size() & 0xff);
    out += char(s.size() >> 8);
    out += s;
    return true;
}

}  // namespace core::uwsgi_codec
