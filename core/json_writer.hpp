// The small JSON writer the stats documents use (the master's and the emperor's): values in the
// order written, as uWSGI writes its stats.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

namespace core::json {

// The length of the well-formed UTF-8 sequence at s[i] (1-4), or 0 when it is not one.
inline size_t utf8_sequence(const std::string &s, size_t i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;  // overlong, a surrogate or past U+10FFFF
    return n;
}

// A JSON string of IN. Bytes that are not UTF-8 (a client's header, a path) become the code
// point of the same number (\u00XX, as Latin-1 reads them), so the document stays valid JSON.
inline std::string quoted(const std::string &in) {
    std::string out = "\"";
    for (size_t i = 0; i < in.size();) {
        const unsigned char c = static_cast<unsigned char>(in[i]);
        size_t n = utf8_sequence(in, i);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20 || n == 0) {
            out += fmt::format("\\u{:04x}", c);
            n = 1;
        } else {
            out.append(in, i, n);
        }
        i += n;
    }
    return out + "\"";
}

// "key": value pairs joined by commas, as one object.
class Object {
public:
    Object &num(const char *key, uint64_t v) { return raw(key, std::to_string(v)); }
    Object &num(const char *key, int64_t v) { return raw(key, std::to_string(v)); }
    Object &str(const char *key, const std::string &v) { return raw(key, quoted(v)); }
    Object &raw(const std::string &key, const std::string &json) {
        body_ += (body_.empty() ? "" : ",") + quoted(key) + ":" + json;
        return *this;
    }
    std::string done() const { return "{" + body_ + "}"; }

private:
    std::string body_;
};

template <class T, class F> std::string list(const std::vector<T> &items, F render) {
    std::string out;
    for (auto &i : items) out += (out.empty() ? "" : ",") + render(i);
    return "[" + out + "]";
}

}  // namespace core::json
