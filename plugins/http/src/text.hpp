// Small ASCII helpers for HTTP tokens, shared by the parser, the vars builder and the framing.
#pragma once

#include <cstddef>
#include <string_view>

namespace uwsgi_http {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Case-insensitive ASCII comparison (header names, tokens such as "chunked").
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

// Without leading and trailing spaces and tabs (optional whitespace, RFC 9110 5.6.3).
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace uwsgi_http
