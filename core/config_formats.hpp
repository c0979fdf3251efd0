// The key = value lines of one section of a config file in uWSGI's formats, from the file's
// text (magic variables already substituted). Each parser throws ConfigError naming the file
// and line on malformed input and when the section is missing.
#pragma once

#include <string>
#include <vector>

namespace core {

struct SectionLine {
    std::string key;
    std::string value;
    int line;
};

// [section] of an ini file; a key without '=' is a flag ("true").
std::vector<SectionLine> parse_ini_section(const std::string &text, const std::string &path,
                                           const std::string &section);

// <uwsgi> (or <uwsgi id="ID"> when `id` is given; several may follow each other) of an XML file,
// with expat: each child element is a key, its text the value ("1" when empty, as uWSGI).
std::vector<SectionLine> parse_xml_section(const std::string &text, const std::string &path,
                                           const std::string &id);

// The `section:` mapping of a YAML file, with libyaml: scalars are values, a sequence repeats
// its key once per item (as uWSGI's YAML reader), repeated keys are kept in order.
std::vector<SectionLine> parse_yaml_section(const std::string &text, const std::string &path,
                                            const std::string &section);

}  // namespace core
