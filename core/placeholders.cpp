#include "placeholders.hpp"

#include "config.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace core {
namespace {

constexpr int kMaxExpansions = 256;  // per value: beyond this it is a loop (a = x%(a))

std::optional<std::string> env_value(const std::string &ref) {
    // uWSGI's uwsgi_getenv_with_default: VAR:-DEFAULT (unset or empty), VAR-DEFAULT (unset)
    if (size_t at = ref.find(":-"); at != std::string::npos) {
        const char *v = getenv(ref.substr(0, at).c_str());
        return v && *v ? std::string(v) : ref.substr(at + 2);
    }
    if (size_t at = ref.find('-'); at != std::string::npos) {
        const char *v = getenv(ref.substr(0, at).c_str());
        return v ? std::string(v) : ref.substr(at + 1);
    }
    const char *v = getenv(ref.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
}

std::optional<std::string> file_value(const std::string &path, const std::string &where) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(fmt::format("{}: @({}) cannot be read", where, path));
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

const std::string *first_value(const ConfigEntries &entries, const std::string &key) {
    for (auto &e : entries)
        if (e.key == key) return &e.value;
    return nullptr;
}

bool is_number(const std::string &s) {
    size_t i = s[0] == '-' && s.size() > 1 ? 1 : 0;
    return !s.empty() && s.find_first_not_of("0123456789", i) == std::string::npos;
}

// uWSGI's uwsgi_manage_placeholder: space-separated tokens; operators switch how the next
// value combines with the result so far.
std::optional<std::string> reference(const std::string &ref, const ConfigEntries &entries) {
    if (ref.find(' ') == std::string::npos) {
        const std::string *v = first_value(entries, ref);
        if (!v) return std::nullopt;
        return *v;
    }
    enum { concat, sum, sub, mul, div } state = concat;
    std::optional<std::string> current;
    std::istringstream tokens(ref);
    std::string t;
    auto num = [](const std::optional<std::string> &s) {
        return s ? std::strtoll(s->c_str(), nullptr, 10) : 0LL;
    };
    while (tokens >> t) {
        if (t == "+") { state = sum; continue; }
        if (t == "-") { state = sub; continue; }
        if (t == "*") { state = mul; continue; }
        if (t == "/") { state = div; continue; }
        if (t == "++" || t == "--") {
            if (current) current = std::to_string(num(current) + (t == "++" ? 1 : -1));
            state = concat;
            continue;
        }
        std::string value = is_number(t) ? t : [&] {
            const std::string *v = first_value(entries, t);
            return v ? *v : std::string();
        }();
        long long a = num(current), b = num(value);
        switch (state) {
            case concat: current = current.value_or("") + value; break;
            case sum: current = std::to_string(a + b); break;
            case sub: current = std::to_string(a - b); break;
            case mul: current = std::to_string(a * b); break;
            case div: current = std::to_string(b == 0 ? 0 : a / b); break;
        }
    }
    return current;
}

// One pass over `value` for references introduced by `symbol`.
template <typename Lookup>
std::string pass(std::string value, char symbol, Lookup lookup, const std::string &where) {
    int expansions = 0;
    size_t from = 0;
    while (true) {
        size_t start = value.find(std::string{symbol, '('}, from);
        if (start == std::string::npos) return value;
        int depth = 0;
        size_t end = std::string::npos;
        for (size_t i = start + 2; i < value.size(); ++i) {
            if (value[i] == '(') ++depth;
            if (value[i] == ')' && depth-- == 0) {
                end = i;
                break;
            }
        }
        if (end == std::string::npos)
            throw ConfigError(fmt::format("{}: malformed placeholder: '{}(' without its ')' in "
                                          "'{}'",
                                          where, symbol, value));
        std::optional<std::string> got = lookup(value.substr(start + 2, end - start - 2));
        if (!got) {
            from = end + 1;  // left as written
            continue;
        }
        if (++expansions > kMaxExpansions)
            throw ConfigError(fmt::format("{}: placeholders keep expanding (more than {}); does a "
                                          "key refer to itself?",
                                          where, kMaxExpansions));
        value = value.substr(0, start) + *got + value.substr(end + 1);
        from = start;  // the result may hold references too
    }
}

std::string where_of(const std::string &origin, const std::string &key) {
    return fmt::format("{}: key '{}'", origin, key);
}

}  // namespace

std::string resolve_value(const std::string &value, const ConfigEntries &entries,
                          const std::string &origin, const std::string &key) {
    std::string where = where_of(origin, key);
    std::string v = pass(value, '$', env_value, where);
    v = pass(v, '@', [&](const std::string &p) { return file_value(p, where); }, where);
    return pass(v, '%', [&](const std::string &r) { return reference(r, entries); }, where);
}

void resolve_placeholders(ConfigEntries &entries) {
    // pass by pass over all entries, as uWSGI does: a %(key) sees $() and @() already done
    for (auto &e : entries) e.value = pass(e.value, '$', env_value, where_of(e.origin, e.key));
    for (auto &e : entries) {
        std::string where = where_of(e.origin, e.key);
        e.value = pass(e.value, '@', [&](const std::string &p) { return file_value(p, where); },
                       where);
    }
    for (auto &e : entries)
        e.value = pass(e.value, '%', [&](const std::string &r) { return reference(r, entries); },
                       where_of(e.origin, e.key));
}

}  // namespace core
