// PCRE2, the regex library uWSGI uses, for the options that take a regex (static file rules,
// log routes): the same patterns mean the same here.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>
#include <string_view>

namespace core {

// Throws ConfigError naming --option, the pattern and the offset of the mistake.
pcre2_code *compile_regex(const std::string &option, const std::string &pattern);
// Whether the regex matches anywhere in s (one match block per thread: no allocation after).
bool regex_matches(pcre2_code *re, std::string_view s);

}  // namespace core
