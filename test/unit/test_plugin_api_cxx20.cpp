// The plugin API as a C++20 plugin sees it: plugin.h and plugin.hpp compile under -std=c++20
// (the 1.0 descriptor field `requires` is a C++20 keyword, now `depends`), a descriptor reads as
// designated initialisers, and the small-response helper counts Content-Length itself.
#include <uwsgi/plugin.hpp>
#include <uwsgi/rpc.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

static_assert(__cplusplus >= 202002L, "this translation unit must be built as C++20");

namespace {

int init(const uwsgi_host *) { return 0; }

const uwsgi_option options[] = {
    {.name = "cxx20-dir", .kind = UWSGI_OPT_VALUE, .metavar = "DIR", .help = "a directory"},
    {},
};

const uwsgi_plugin descriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "cxx20",
    .version = "1.0.0",
    .depends = "rpc",
    .options = options,
    .init = init,
    .modifier1 = -1,
};

// A host that records what a response writer sends.
struct Sent {
    std::string status;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};
Sent g_sent;

int record_start(uwsgi_request *, const char *status, size_t len, const uwsgi_header *h, size_t n) {
    g_sent.status.assign(status, len);
    for (size_t i = 0; i < n; ++i)
        g_sent.headers.emplace_back(uwsgi::view(h[i].name), uwsgi::view(h[i].value));
    return UWSGI_OK;
}
int record_write(uwsgi_request *, const void *buf, size_t len) {
    g_sent.body.append(static_cast<const char *>(buf), len);
    return UWSGI_OK;
}
int no_setting(const char *, int64_t *) { return UWSGI_ERROR; }

uwsgi_host recording_host() {
    uwsgi_host h{};
    h.struct_size = sizeof h;
    h.resp_start = record_start;
    h.resp_write = record_write;
    h.setting = no_setting;
    return h;
}

}  // namespace

TEST_CASE("a C++20 descriptor with designated initialisers") {
    CHECK(descriptor.magic == UWSGI_PLUGIN_MAGIC);
    CHECK(descriptor.abi_minor == UWSGI_ABI_MINOR);
    CHECK(descriptor.struct_size == sizeof(uwsgi_plugin));
    CHECK(std::string(descriptor.depends) == "rpc");
    CHECK(descriptor.request == nullptr);
    CHECK(std::string(descriptor.options[0].name) == "cxx20-dir");
    CHECK(descriptor.options[1].name == nullptr);
}

TEST_CASE("uwsgi::respond sends status, type, the counted length and the body") {
    uwsgi_host host = recording_host();
    g_sent = {};
    std::string body(12345, 'x');
    REQUIRE(uwsgi::respond(host, nullptr, "404 Not Found", body) == UWSGI_OK);
    CHECK(g_sent.status == "404 Not Found");
    REQUIRE(g_sent.headers.size() == 2);
    CHECK(g_sent.headers[0] == std::pair<std::string, std::string>{"Content-Type", "text/plain"});
    CHECK(g_sent.headers[1] == std::pair<std::string, std::string>{"Content-Length", "12345"});
    CHECK(g_sent.body == body);

    g_sent = {};
    REQUIRE(uwsgi::respond(host, nullptr, "204 No Content", "", "application/json") == UWSGI_OK);
    CHECK(g_sent.headers[0].second == "application/json");
    CHECK(g_sent.headers[1].second == "0");
    CHECK(g_sent.body.empty());
}

TEST_CASE("uwsgi::setting is 0 for a name the core does not know") {
    uwsgi_host host = recording_host();
    CHECK(uwsgi::setting(host, "no-such-setting") == 0);
}
