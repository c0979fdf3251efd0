#include "pcre_regex.hpp"

#include "config.hpp"

#include <fmt/format.h>

namespace core {

pcre2_code *compile_regex(const std::string &option, const std::string &pattern) {
    int err = 0;
    PCRE2_SIZE at = 0;
    pcre2_code *re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   0, &err, &at, nullptr);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        throw ConfigError(fmt::format("--{} {}: bad regular expression at offset {}: {}", option,
                                      pattern, at, reinterpret_cast<char *>(msg)));
    }
    return re;
}

bool regex_matches(pcre2_code *re, std::string_view s) {
    thread_local pcre2_match_data *md = pcre2_match_data_create(1, nullptr);
    return pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md,
                       nullptr) >= 0;
}

}  // namespace core
