// HTTP dates (RFC 9110 5.6.7, the IMF-fixdate form "Sun, 06 Nov 1994 08:49:37 GMT") for
// Last-Modified, Expires, If-Modified-Since and If-Range. No allocation.
#pragma once

#include <cstddef>
#include <ctime>
#include <string_view>

namespace core {

constexpr size_t kHttpDateLen = 29;

// Writes the 29 characters (no NUL) into out; returns the length written.
size_t format_http_date(time_t t, char out[kHttpDateLen + 1]);

// The time of an IMF-fixdate, or -1 for anything else (obsolete RFC 850 and asctime forms
// included: a conditional request with a date we cannot read is served unconditionally).
time_t parse_http_date(std::string_view s);

}  // namespace core
