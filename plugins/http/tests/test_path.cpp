#include "path.hpp"

#include <catch2/catch.hpp>

using uwsgi_http::normalize_path;
using uwsgi_http::PathResult;

namespace {
std::string norm(std::string_view raw) {
    std::string out;
    REQUIRE(normalize_path(raw, out) == PathResult::ok);
    return out;
}
}  // namespace

TEST_CASE("PATH_INFO normalisation table", "[path]") {
    struct Row {
        const char *raw, *expected;
    };
    const Row rows[] = {
        {"/", "/"},
        {"/a/b", "/a/b"},
        {"/a/./b", "/a/b"},
        {"/a/../b", "/b"},
        {"/../../x", "/x"},
        {"/..", "/"},
        {"/.", "/"},
        {"/a/..", "/"},
        {"/a/b/..", "/a/"},
        {"/a/b/.", "/a/b/"},
        {"/a/b/", "/a/b/"},
        {"/%2e%2e/x", "/x"},
        {"/a/%2E%2E/%2e/b", "/b"},
        {"/a%2f..%2fb", "/b"},
        {"//x", "//x"},
        {"/a//b", "/a//b"},
        {"/a%20b", "/a b"},
        {"/%zz", "/%zz"},
        {"/%4", "/%4"},
        {"/%", "/%"},
        {"/caf%C3%A9", "/caf\xC3\xA9"},
        {"/...", "/..."},
        {"/a/.b", "/a/.b"},
        {"/a/..b/", "/a/..b/"},
        {"/../a/../../b/./c/..", "/b/"},
    };
    for (const auto &row : rows) {
        INFO("raw path: " << row.raw);
        CHECK(norm(row.raw) == row.expected);
    }
}

TEST_CASE("PATH_INFO refusals", "[path]") {
    std::string out;
    CHECK(normalize_path("/a%00b", out) == PathResult::bad_escape_nul);
    CHECK(normalize_path("a/b", out) == PathResult::not_origin_form);
    CHECK(normalize_path("", out) == PathResult::not_origin_form);
}

TEST_CASE("normalisation reuses the output buffer", "[path]") {
    std::string out;
    out.reserve(256);
    auto cap = out.capacity();
    for (int i = 0; i < 100; ++i) REQUIRE(normalize_path("/a/b/../c/%41", out) == PathResult::ok);
    CHECK(out == "/a/c/A");
    CHECK(out.capacity() == cap);
}
