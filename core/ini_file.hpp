// uWSGI config files (ini, and XML / YAML through config_formats.hpp), read as uWSGI 2.0 reads
// them: "FILE[:section]" (section "uwsgi" by
// default, ":section" alone means the file being read), magic variables substituted in the text
// (magic_vars.hpp), `if-*`/`else`/`endif` blocks, `for*`/`endfor` loops, and include keys
// (`ini = other.ini[:section]`) read in place. Every key is kept, known option or not: unknown keys serve as placeholders.
#pragma once

#include "config_entry.hpp"

#include <functional>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace core {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

class IniReader {
public:
    // `is_include(key)`: the key names another config file to read at that point (`ini`,
    // `inherit`, an option of kind UWSGI_OPT_CONFIG). Read entries are appended to `out`, which
    // may already hold earlier ones (`if-opt` and include paths see them).
    IniReader(ConfigEntries &out, std::function<bool(const std::string &)> is_include);

    // Throws ConfigError (file, line and key named) on unreadable files, missing sections, include
    // loops, `if-*` without `endif`, malformed placeholders in include paths.
    // `format`: "ini", "xml" or "yaml"; empty: by the file's extension (.xml, .yaml/.yml, else
    // ini). An empty section means the default one (uwsgi), and %x is then empty, as in uWSGI.
    void read(const std::string &spec, const std::string &format = "");
    void read(std::istream &in, const std::string &path, const std::string &section,
              const std::string &format);

private:
    struct Line {
        std::string key, value, where;
    };
    struct Block {
        bool active = false;
        std::string data;    // what %(_) means inside the block
        std::string origin;  // where the if-* / for was, for "no endif" errors
        // A for-block (`for`, `for-times`, `for-glob`, `for-readline`) collects its lines until
        // its endfor, then replays them once per item with %(_) as the item.
        bool is_loop = false;
        std::vector<std::string> items;
        std::vector<Line> body;
        int depth = 0;  // blocks opened inside the body and not closed yet
    };
    // One key = value of the section: logic, %(_), includes, else an entry.
    void apply(const std::string &key, std::string value, const std::string &where,
               const std::string &path, std::vector<Block> &blocks);
    // uWSGI lists the logic keys it took (if-*, for*, else, end*) in its exported options
    void export_logic(const std::string &key, const std::string &value, const std::string &where) {
        out_.push_back({key, value, where, true, true});
    }
    bool condition(const std::string &key, const std::string &arg, std::string &data) const;
    // Collects a line into the innermost for-block; at its endfor, replays the body per item.
    void collect(const std::string &key, const std::string &value, const std::string &where,
                 const std::string &path, std::vector<Block> &blocks);

    ConfigEntries &out_;
    std::function<bool(const std::string &)> is_include_;
    std::vector<std::string> reading_;  // "path:section" being read, for loop detection
    std::string last_file_;
};

// Reads the keys of one section in file order (repeated keys kept), following `ini`/`inherit`
// includes. Throws ConfigError when the file cannot be read or the section is missing.
KeyValues read_ini(const std::string &spec);

// The same from ini text already read (`path` only names errors and feeds the magic
// variables), without includes. Lets tests and the fuzzer skip the file system.
KeyValues parse_ini(std::istream &in, const std::string &path, const std::string &section);

// "xml", "yaml" or "ini", by the file's extension.
std::string format_of(const std::string &path);
// The format an include key forces (--xml, --yaml/--yml, --ini); "" for the others (by
// extension: --inherit, UWSGI_OPT_CONFIG options, a bare file argument).
std::string format_for_key(const std::string &key);

// Splits "file.ini:section" (a ':' after the last '/') into its parts; the section is empty
// when none is given (read() then reads [uwsgi]).
std::pair<std::string, std::string> split_ini_spec(const std::string &spec);

}  // namespace core
