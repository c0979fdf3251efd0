// The pure parts of the static file server: PATH_INFO -> file path, the Range header, HTTP
// dates, MIME types by extension.
#include "byte_range.hpp"
#include "http_date.hpp"
#include "mime_types.hpp"
#include "static_path.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace core;

namespace {

std::string candidate(const StaticMapping &m, std::string_view path, StaticLookup want) {
    char out[128];
    size_t len = 0;
    REQUIRE(static_candidate(m, path, out, sizeof out, len) == want);
    return {out, len};
}

}  // namespace

TEST_CASE("static-map appends the rest of the path, static-map2 the whole path") {
    std::string error;
    auto m = parse_static_map("/static=/srv/www/", false, error);
    REQUIRE(m);
    CHECK(candidate(*m, "/static/css/a.css", StaticLookup::candidate) == "/srv/www/css/a.css");
    CHECK(candidate(*m, "/static", StaticLookup::candidate) == "/srv/www");
    CHECK(candidate(*m, "/other/a.css", StaticLookup::no_match).empty());
    auto m2 = parse_static_map("/css=/srv/www", true, error);
    REQUIRE(m2);
    CHECK(candidate(*m2, "/css/a.css", StaticLookup::candidate) == "/srv/www/css/a.css");
    StaticMapping file{"/favicon.ico", "/srv/icon.ico", false, true};
    CHECK(candidate(file, "/favicon.ico", StaticLookup::candidate) == "/srv/icon.ico");
    CHECK_FALSE(parse_static_map("/static", false, error));
    CHECK_FALSE(parse_static_map("=/srv", false, error));
    CHECK_FALSE(parse_static_map("/s=", false, error));
}

TEST_CASE("a .. segment, a NUL or an overlong path is refused before any lookup") {
    StaticMapping m{"/s", "/srv/www", false, false};
    candidate(m, "/s/../etc/passwd", StaticLookup::refused);
    candidate(m, "/s/a/..", StaticLookup::refused);
    candidate(m, "/s..", StaticLookup::refused);  // "/s" + ".." would climb out of the root
    candidate(m, std::string_view("/s/a\0b", 6), StaticLookup::refused);
    candidate(m, "/s/" + std::string(200, 'a'), StaticLookup::refused);
    CHECK(candidate(m, "/s/..a/b..", StaticLookup::candidate) == "/srv/www/..a/b..");
}

TEST_CASE("path_within compares whole segments") {
    CHECK(path_within("/srv/www/a", "/srv/www"));
    CHECK(path_within("/srv/www", "/srv/www/"));
    CHECK_FALSE(path_within("/srv/www2/a", "/srv/www"));
    CHECK_FALSE(path_within("/srv", "/srv/www"));
    CHECK(path_within("/anything", "/"));
}

TEST_CASE("Range: one byte range, clamped; 416 past the end; anything else ignored") {
    auto r = parse_byte_range("bytes=10-19", 100);
    CHECK((r.kind == ByteRange::satisfiable && r.first == 10 && r.last == 19));
    r = parse_byte_range("bytes=90-200", 100);
    CHECK((r.kind == ByteRange::satisfiable && r.first == 90 && r.last == 99));
    r = parse_byte_range("bytes=-10", 100);
    CHECK((r.kind == ByteRange::satisfiable && r.first == 90 && r.last == 99));
    r = parse_byte_range("bytes=-1000", 100);
    CHECK((r.kind == ByteRange::satisfiable && r.first == 0));
    r = parse_byte_range("bytes=50-", 100);
    CHECK((r.kind == ByteRange::satisfiable && r.first == 50 && r.last == 99));
    CHECK(parse_byte_range("bytes=100-", 100).kind == ByteRange::unsatisfiable);
    CHECK(parse_byte_range("bytes=-0", 100).kind == ByteRange::unsatisfiable);
    CHECK(parse_byte_range("bytes=0-1,5-6", 100).kind == ByteRange::none);
    CHECK(parse_byte_range("bytes=5-1", 100).kind == ByteRange::none);
    CHECK(parse_byte_range("items=0-1", 100).kind == ByteRange::none);
    CHECK(parse_byte_range("bytes=a-b", 100).kind == ByteRange::none);
    CHECK(parse_byte_range("bytes=99999999999999999999-", 100).kind == ByteRange::none);
}

TEST_CASE("HTTP dates: IMF-fixdate both ways, other forms refused") {
    char buf[kHttpDateLen + 1];
    CHECK(std::string_view(buf, format_http_date(784111777, buf)) ==
          "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == -1);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == -1);
    CHECK(parse_http_date("Sun, 06 Xyz 1994 08:49:37 GMT") == -1);
    CHECK(parse_http_date("") == -1);
}

TEST_CASE("MIME types from /etc/mime.types by the last extension") {
    MimeTypes m;
    REQUIRE(m.load("/etc/mime.types"));
    CHECK(m.lookup("/srv/a.css") == "text/css");
    CHECK(m.lookup("/srv/a.tar.gz") == "application/gzip");
    CHECK(m.lookup("/srv/README").empty());
    CHECK(m.lookup("/srv.d/README").empty());
    CHECK_FALSE(m.load("/nonexistent/mime.types"));
}
