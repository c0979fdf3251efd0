// Option values after parsing: every option that was set, in the order first seen, with all of
// its values (the last one counts for single-valued options).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace core {

// A user-facing configuration mistake; main prints it and exits 1.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Config {
public:
    void add(const std::string &name, std::string value);
    void set(const std::string &name, std::string value);  // replaces all values

    bool has(const std::string &name) const { return find(name) != nullptr; }
    const std::string *get(const std::string &name) const;  // last value or nullptr
    const std::vector<std::string> &all(const std::string &name) const;
    std::string value_or(const std::string &name, const std::string &fallback) const;
    bool flag(const std::string &name, bool fallback = false) const;
    int64_t number(const std::string &name, int64_t fallback) const;

    size_t size() const { return entries_.size(); }
    const std::string &name_at(size_t i) const { return entries_[i].name; }

private:
    struct Entry {
        std::string name;
        std::vector<std::string> values;
    };
    const Entry *find(const std::string &name) const;
    std::vector<Entry> entries_;
};

// true/false/on/off/yes/no/1/0; throws ConfigError naming the option otherwise.
bool parse_bool(const std::string &option, const std::string &value);

}  // namespace core
