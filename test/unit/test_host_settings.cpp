// host->setting(): the core's effective settings, in the units plugin.h documents, so plugins
// never parse core options themselves.
#include "host_table.hpp"
#include "settings.hpp"

#include <catch2/catch.hpp>

TEST_CASE("host->setting gives the core's effective settings") {
    core::Settings saved = core::settings();
    core::Settings s;
    s.buffer_size = 8192;
    s.max_vars = 100;
    s.limit_post = 1 << 20;
    s.socket_timeout_ms = 7000;
    s.processes = 3;
    s.threads = 5;
    s.harakiri = 30;
    s.max_requests = 5000;
    s.listen_backlog = 128;
    core::set_settings(s);

    const uwsgi_host &host = core::host_table();
    REQUIRE(host.struct_size >= offsetof(uwsgi_host, setting) + sizeof host.setting);
    auto get = [&](const char *name) {
        int64_t v = -1;
        REQUIRE(host.setting(name, &v) == UWSGI_OK);
        return v;
    };
    CHECK(get("buffer-size") == 8192);
    CHECK(get("max-vars") == 100);
    CHECK(get("limit-post") == 1 << 20);
    CHECK(get("socket-timeout") == 7);  // seconds, as the option is written
    CHECK(get("processes") == 3);
    CHECK(get("threads") == 5);
    CHECK(get("harakiri") == 30);
    CHECK(get("max-requests") == 5000);
    CHECK(get("listen") == 128);

    int64_t untouched = 42;
    CHECK(host.setting("no-such-setting", &untouched) == UWSGI_ERROR);
    CHECK(untouched == 42);
    CHECK(host.setting(nullptr, &untouched) == UWSGI_ERROR);
    core::set_settings(saved);
}
