#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace core {

const Config::Entry *Config::find(const std::string &name) const {
    for (const auto &e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

void Config::add(const std::string &name, std::string value, std::string origin) {
    if (auto *e = const_cast<Entry *>(find(name))) {
        e->values.push_back(std::move(value));
        e->origins.push_back(std::move(origin));
        return;
    }
    entries_.push_back({name, {std::move(value)}, {std::move(origin)}});
}

void Config::set(const std::string &name, std::string value, std::string origin) {
    if (auto *e = const_cast<Entry *>(find(name))) {
        e->values.assign(1, std::move(value));
        e->origins.assign(1, std::move(origin));
        return;
    }
    entries_.push_back({name, {std::move(value)}, {std::move(origin)}});
}

std::string Config::origin_of(const std::string &name) const {
    const Entry *e = find(name);
    return e && !e->origins.empty() ? e->origins.back() : std::string();
}

const std::vector<std::string> &Config::origins(const std::string &name) const {
    static const std::vector<std::string> none;
    const Entry *e = find(name);
    return e ? e->origins : none;
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
    return v ? parse_bool(*v) : fallback;
}

int64_t Config::number(const std::string &name, int64_t fallback) const {
    const std::string *v = get(name);
    if (!v) return fallback;
    size_t i = v->find_first_not_of(" \t");
    if (i != std::string::npos && ((*v)[i] == '-' || (*v)[i] == '+')) ++i;
    if (i != std::string::npos && i < v->size() && std::isdigit(static_cast<unsigned char>((*v)[i]))) {
        errno = 0;
        int64_t n = std::strtoll(v->c_str(), nullptr, 10);
        if (errno != ERANGE) return n;
    }
    std::string origin = origin_of(name);
    throw ConfigError("option --" + name + (origin.empty() ? "" : " (" + origin + ")") +
                      " needs a whole number, got '" + *v + "'");
}

bool parse_bool(const std::string &value) {
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    return !(v == "false" || v == "off" || v == "no" || v == "0");
}

}  // namespace core
