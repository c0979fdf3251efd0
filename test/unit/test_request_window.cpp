// The request window (core/request_window.cpp): the vars of a request in flight as the stats
// server reads them from another process, the seqlock that drops a copy the worker overwrote
// meanwhile, and the JSON strings they end up in (core/json_writer.hpp).
#include "json_writer.hpp"
#include "request_window.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using core::RequestWindow;

namespace {

constexpr size_t kBufferSize = 4096, kMaxVars = 16;

struct Window {
    std::vector<uwsgi_request::Var> vars = std::vector<uwsgi_request::Var>(kMaxVars);
    std::vector<char> arena = std::vector<char>(uwsgi_request::arena_size_for(kBufferSize));
    RequestWindow window{vars.data(), kMaxVars, arena.data(), arena.size()};
    uwsgi_request req;
    Window() { req.configure(kBufferSize, kMaxVars, window.storage()); }
};

}  // namespace

TEST_CASE("the vars of a published request, none before or after it") {
    Window w;
    RequestWindow::InFlight seen;
    w.req.reset(nullptr, 1);
    w.req.add_copy("REQUEST_METHOD", "GET");
    w.req.add_copy("PATH_INFO", "/slow");
    CHECK_FALSE(w.window.read(seen));  // parsed, not published yet
    w.req.start_ms = 12345;
    w.window.publish(w.req);
    REQUIRE(w.window.read(seen));
    CHECK(seen.vars == std::vector<std::string>{"REQUEST_METHOD=GET", "PATH_INFO=/slow"});
    CHECK(seen.start_ms == 12345);
    w.window.withdraw();
    CHECK_FALSE(w.window.read(seen));
}

TEST_CASE("a view outside the window's arena is not followed") {
    Window w;
    w.req.reset(nullptr, 1);
    w.req.add_copy("A", "1");
    w.req.add_view("B", "a literal, not in the arena");
    w.window.publish(w.req);
    RequestWindow::InFlight seen;
    REQUIRE(w.window.read(seen));
    CHECK(seen.vars == std::vector<std::string>{"A=1"});
}

TEST_CASE("a reader racing the worker only ever keeps one request's vars") {
    Window w;
    std::atomic<bool> done{false};
    std::atomic<int> kept{0};
    // The worker runs until the reader kept enough copies, or for 30 s at most: each request is
    // published for a moment only and the next one written over the same bytes at once. The
    // moments vary from about nothing to a few microseconds, so some copies are dropped (the
    // worker withdrew meanwhile) and some kept on any machine: a fixed short window kept too
    // few copies under ASan on a loaded machine (the sanitized CI run failed the count).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::thread worker([&] {
        for (int i = 0; kept < 2000 && (i % 1024 || std::chrono::steady_clock::now() < deadline);
             ++i) {
            w.req.reset(nullptr, uint64_t(i));
            std::string n = std::to_string(i);
            w.req.add_copy("N", n);
            w.req.add_copy("PAD", std::string(size_t(i % 50), 'x'));
            w.req.add_copy("AGAIN", n);
            w.req.start_ms = i;
            w.window.publish(w.req);
            for (volatile int spin = 0; spin < (i % 16) * 200; spin = spin + 1) {
            }
            w.window.withdraw();
        }
        done = true;
    });
    int tries = 0;
    while (!done) {
        RequestWindow::InFlight seen;
        ++tries;
        if (!w.window.read(seen)) continue;
        ++kept;
        REQUIRE(seen.vars.size() == 3);
        const std::string n = seen.vars[0].substr(2);
        CHECK(seen.vars[0] == "N=" + n);
        CHECK(seen.vars[1] == "PAD=" + std::string(size_t(std::stoi(n) % 50), 'x'));
        CHECK(seen.vars[2] == "AGAIN=" + n);
        CHECK(seen.start_ms == std::stoi(n));
    }
    worker.join();
    INFO("kept " << kept << " copies of " << tries << " reads");
    CHECK(kept >= 100);
}

TEST_CASE("JSON strings escape quotes, backslashes, control characters and non-UTF-8 bytes") {
    using core::json::quoted;
    CHECK(quoted("a\"b\\c") == R"("a\"b\\c")");
    CHECK(quoted(std::string("t\tn\nz\0e\x1f", 8)) == R"("t\u0009n\u000az\u0000e\u001f")");
    CHECK(quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK(quoted("\xff\xc3") == R"("\u00ff\u00c3")");         // stray and truncated bytes
    CHECK(quoted("\xc0\xaf") == R"("\u00c0\u00af")");         // an overlong '/'
    CHECK(quoted("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")");  // a UTF-16 surrogate
}
