// Option values after parsing: every option that was set, in the order first seen, with all of
// its values (the last one counts for single-valued options).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace core {

// A user-facing configuration mistake; main prints it and exits 1.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Config {
public:
    // `origin` (e.g. "site.ini:12") is named when the value is found to be bad
    void add(const std::string &name, std::string value, std::string origin = {});
    void set(const std::string &name, std::string value, std::string origin = {});  // replaces

    bool has(const std::string &name) const { return find(name) != nullptr; }
    const std::string *get(const std::string &name) const;  // last value or nullptr
    const std::vector<std::string> &all(const std::string &name) const;
    std::string value_or(const std::string &name, const std::string &fallback) const;
    bool flag(const std::string &name, bool fallback = false) const;
    // uWSGI reads numbers by their leading digits ("60 ; note" is 60, "512M" is 512); a value
    // with none is an error naming the option and where it was set.
    int64_t number(const std::string &name, int64_t fallback) const;
    std::string origin_of(const std::string &name) const;  // of the last value
    const std::vector<std::string> &origins(const std::string &name) const;  // one per value

    // Every key = value of every source in order, known options or not (--show-config).
    void add_entry(const std::string &key, const std::string &value) {
        entries_raw_.emplace_back(key, value);
    }
    const std::vector<std::pair<std::string, std::string>> &entries() const { return entries_raw_; }

    size_t size() const { return entries_.size(); }
    const std::string &name_at(size_t i) const { return entries_[i].name; }

private:
    struct Entry {
        std::string name;
        std::vector<std::string> values;
        std::vector<std::string> origins;
    };
    const Entry *find(const std::string &name) const;
    std::vector<Entry> entries_;
    std::vector<std::pair<std::string, std::string>> entries_raw_;
};

// As uWSGI: false only for false/off/no/0 (any case); anything else, empty included, is true.
bool parse_bool(const std::string &value);

}  // namespace core
