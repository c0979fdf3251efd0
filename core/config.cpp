#include "config.hpp"

#include <algorithm>
#include <cctype>

namespace core {

const Config::Entry *Config::find(const std::string &name) const {
    for (const auto &e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

void Config::add(const std::string &name, std::string value) {
    if (auto *e = const_cast<Entry *>(find(name))) {
        e->values.push_back(std::move(value));
        return;
    }
    entries_.push_back({name, {std::move(value)}});
}

void Config::set(const std::string &name, std::string value) {
    if (auto *e = const_cast<Entry *>(find(name))) {
        e->values.assign(1, std::move(value));
        return;
    }
    entries_.push_back({name, {std::move(value)}});
}

const std::string *Config::get(const std::string &name) const {
    const Entry *e = find(name);
    return e && !e->values.empty() ? &e->values.back() : nullptr;
}

const std::vector<std::string> &Config::all(const std::string &name) const {
    static const std::vector<std::string> none;
    const Entry *e = find(name);
    return e ? e->values : none;
}

std::string Config::value_or(const std::string &name, const std::string &fallback) const {
    const std::string *v = get(name);
    return v ? *v : fallback;
}

bool Config::flag(const std::string &name, bool fallback) const {
    const std::string *v = get(name);
    return v ? parse_bool(name, *v) : fallback;
}

int64_t Config::number(const std::string &name, int64_t fallback) const {
    const std::string *v = get(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        int64_t n = std::stoll(*v, &used, 10);
        if (used == v->size()) return n;
    } catch (const std::exception &) {
    }
    throw ConfigError("option --" + name + " needs a whole number, got '" + *v + "'");
}

bool parse_bool(const std::string &option, const std::string &value) {
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "true" || v == "on" || v == "yes" || v == "1" || v.empty()) return true;
    if (v == "false" || v == "off" || v == "no" || v == "0") return false;
    throw ConfigError("option --" + option + " takes true/false/on/off/yes/no/1/0, got '" + value +
                      "'");
}

}  // namespace core
