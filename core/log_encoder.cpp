#include "log_encoder.hpp"

#include "config.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace core {
namespace {

// uWSGI's escape_json does ", \, \n, \r, \t; other control bytes would break a JSON reader,
// so they are escaped too (\u00XX).
void append_json_escaped(std::string_view s, std::string &out) {
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", int(c));
            else
                out += c;
        }
    }
}

bool known_variable(const std::string &name) {
    return name == "msg" || name == "msgnl" || name == "unix" || name == "micros" ||
           name == "millis" || name.rfind("strftime:", 0) == 0;
}

int64_t since_epoch_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

LogEncoder LogEncoder::parse(const std::string &spec, const char *option) {
    LogEncoder e;
    size_t space = spec.find(' ');
    std::string head = spec.substr(0, space);
    if (space != std::string::npos) e.args_ = spec.substr(space + 1);
    if (size_t colon = head.find(':'); colon != std::string::npos) {
        e.use_for_ = head.substr(colon + 1);
        head.resize(colon);
    }
    if (head == "prefix") e.kind_ = Kind::Prefix;
    else if (head == "suffix") e.kind_ = Kind::Suffix;
    else if (head == "nl") e.kind_ = Kind::Nl;
    else if (head == "format") e.kind_ = Kind::Format;
    else if (head == "json") e.kind_ = Kind::Json;
    else
        throw ConfigError(fmt::format("--{} '{}': unknown log encoder '{}' (known: prefix, "
                                      "suffix, nl, format, json)",
                                      option, spec, head));
    if (e.kind_ != Kind::Format && e.kind_ != Kind::Json) return e;
    // the template: literal text and ${name}; a '$' not followed by '{' stays literal
    std::string text;
    for (size_t i = 0; i < e.args_.size();) {
        if (e.args_.compare(i, 2, "${") != 0) {
            text += e.args_[i++];
            continue;
        }
        size_t end = e.args_.find('}', i + 2);
        if (end == std::string::npos)
            throw ConfigError(fmt::format("--{} '{}': '${{' without its '}}'", option, spec));
        std::string name = e.args_.substr(i + 2, end - i - 2);
        if (!known_variable(name))
            throw ConfigError(fmt::format("--{} '{}': unknown variable ${{{}}} (known: msg, "
                                          "msgnl, unix, micros, millis, strftime:FORMAT)",
                                          option, spec, name));
        if (!text.empty()) e.parts_.push_back({false, std::move(text)});
        text.clear();
        e.parts_.push_back({true, std::move(name)});
        i = end + 1;
    }
    if (!text.empty()) e.parts_.push_back({false, std::move(text)});
    return e;
}

void LogEncoder::append_variable(const Part &p, std::string_view msg, std::string &out) const {
    const std::string &name = p.text;
    bool json = kind_ == Kind::Json;
    std::string_view value;
    char buf[96];
    if (name == "msg" || name == "msgnl") {
        value = msg;
        if (name == "msg" && !value.empty() && value.back() == '\n') value.remove_suffix(1);
    } else if (name == "unix" || name == "micros" || name == "millis") {
        int64_t us = since_epoch_us();
        int64_t n = name == "unix" ? us / 1000000 : name == "millis" ? us / 1000 : us;
        value = std::string_view(buf, fmt::format_to_n(buf, sizeof buf, "{}", n).size);
    } else {  // strftime:FORMAT, local time as uWSGI
        std::string pattern = name.substr(9);
        time_t now = time(nullptr);
        tm local{};
        localtime_r(&now, &local);
        value = std::string_view(buf, strftime(buf, sizeof buf, pattern.c_str(), &local));
    }
    if (json) append_json_escaped(value, out);
    else out.append(value);
}

void LogEncoder::encode(std::string_view msg, std::string &out) const {
    switch (kind_) {
    case Kind::Prefix: out += args_; out.append(msg); return;
    case Kind::Suffix: out.append(msg); out += args_; return;
    case Kind::Nl: out.append(msg); out += '\n'; return;
    case Kind::Format:
    case Kind::Json:
        for (const Part &p : parts_) {
            if (p.variable) append_variable(p, msg, out);
            else out += p.text;
        }
        return;
    }
}

}  // namespace core
