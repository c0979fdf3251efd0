// YAML config files through libyaml's event parser (Debian's libyaml: the reference C
// implementation, maintained, and what uWSGI itself uses): unlike a document-tree library it
// keeps repeated keys and their order, which uWSGI configs rely on.
#include "config.hpp"
#include "config_formats.hpp"

#include <fmt/format.h>
#include <yaml.h>

namespace core {
namespace {

struct Parser {
    yaml_parser_t p;
    yaml_event_t e;
    bool has_event = false;
    std::string path;

    Parser(const std::string &text, std::string file) : path(std::move(file)) {
        yaml_parser_initialize(&p);
        yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char *>(text.data()),
                                     text.size());
    }
    ~Parser() {
        if (has_event) yaml_event_delete(&e);
        yaml_parser_delete(&p);
    }
    yaml_event_type_t next() {
        if (has_event) yaml_event_delete(&e);
        has_event = false;
        if (!yaml_parser_parse(&p, &e))
            throw ConfigError(fmt::format("{}:{}: malformed YAML: {}", path,
                                          p.problem_mark.line + 1,
                                          p.problem ? p.problem : "parse error"));
        has_event = true;
        return e.type;
    }
    std::string scalar() const {
        return std::string(reinterpret_cast<const char *>(e.data.scalar.value),
                           e.data.scalar.length);
    }
    int line() const { return int(e.start_mark.line) + 1; }
    // Skips the node whose start event is current (scalar, sequence or mapping).
    void skip() {
        int depth = 0;
        do {
            if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT) ++depth;
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) --depth;
            if (depth > 0) next();
        } while (depth > 0);
    }
};

// The section's mapping: the current event is its MAPPING_START.
void read_section(Parser &ps, std::vector<SectionLine> &out) {
    while (ps.next() != YAML_MAPPING_END_EVENT) {
        if (ps.e.type != YAML_SCALAR_EVENT)
            throw ConfigError(fmt::format("{}:{}: a key must be a plain name", ps.path, ps.line()));
        std::string key = ps.scalar();
        int line = ps.line();
        yaml_event_type_t t = ps.next();
        if (t == YAML_SCALAR_EVENT) {
            out.push_back({key, ps.scalar(), line});
        } else if (t == YAML_SEQUENCE_START_EVENT) {
            while (ps.next() != YAML_SEQUENCE_END_EVENT) {
                if (ps.e.type != YAML_SCALAR_EVENT)
                    throw ConfigError(fmt::format("{}:{}: key '{}': a list of plain values is "
                                                  "expected",
                                                  ps.path, ps.line(), key));
                out.push_back({key, ps.scalar(), ps.line()});
            }
        } else {
            throw ConfigError(fmt::format("{}:{}: key '{}': a value or a list of values is "
                                          "expected, not a mapping",
                                          ps.path, line, key));
        }
    }
}

}  // namespace

std::vector<SectionLine> parse_yaml_section(const std::string &text, const std::string &path,
                                            const std::string &section) {
    Parser ps(text, path);
    std::vector<SectionLine> out;
    bool found = false;
    while (ps.next() != YAML_STREAM_END_EVENT) {
        if (ps.e.type != YAML_MAPPING_START_EVENT) continue;  // the document's top mapping
        while (ps.next() != YAML_MAPPING_END_EVENT) {
            if (ps.e.type != YAML_SCALAR_EVENT) {
                ps.skip();
                continue;
            }
            std::string name = ps.scalar();
            yaml_event_type_t t = ps.next();
            if (name == section && t == YAML_MAPPING_START_EVENT && !found) {
                read_section(ps, out);
                found = true;
            } else {
                ps.skip();
            }
        }
    }
    if (!found) throw ConfigError(fmt::format("yaml file '{}' has no '{}:' mapping", path, section));
    return out;
}

}  // namespace core
