// The small JSON writer the stats documents use (the master's and the emperor's): values in the
// order written, as uWSGI writes its stats.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

namespace core::json {

inline std::string quoted(const std::string &in) {
    std::string out = "\"";
    for (unsigned char c : in) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += char(c);
        }
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
