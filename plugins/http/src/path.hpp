// PATH_INFO from a request-target's path: percent-decoding and dot-segment removal.
#pragma once

#include <string>
#include <string_view>

namespace uwsgi_http {

enum class PathResult { ok, bad_escape_nul, not_origin_form };

// Decodes %XX escapes of `raw` (the path part of an origin-form target, query already cut off)
// and removes "." and ".." segments (RFC 3986 5.2.4) so the result never climbs above "/".
// Decoding comes first, so "%2e%2e" and "%2f" cannot smuggle a ".." past the resolver.
// Empty segments are kept: "//x" stays "//x", as uWSGI passes it.
// A malformed escape ("%zz", "%4") is kept literally, as uWSGI does; "%00" is refused, because a
// NUL in PATH_INFO turns into a truncated path in every C API the app may hand it to.
// `out` is cleared and reused; it never grows beyond raw.size(), so a reserved buffer is enough.
PathResult normalize_path(std::string_view raw, std::string &out);

}  // namespace uwsgi_http
