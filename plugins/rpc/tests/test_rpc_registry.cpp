#include "../rpc_registry.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using rpc::Registry;

namespace {

int echo(void *ctx, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *sink_ctx) {
    const char *prefix = static_cast<const char *>(ctx);
    if (prefix) sink(sink_ctx, prefix, std::strlen(prefix));
    for (uint8_t i = 0; i < argc; ++i) sink(sink_ctx, argv[i].ptr, argv[i].len);
    return UWSGI_OK;
}

int failing(void *, uint8_t, const uwsgi_str *, uwsgi_rpc_sink sink, void *sink_ctx) {
    sink(sink_ctx, "partial", 7);
    return UWSGI_ERROR;
}

int throwing(void *, uint8_t, const uwsgi_str *, uwsgi_rpc_sink, void *) {
    throw std::runtime_error("boom");
}

}  // namespace

TEST_CASE("register, call, replace") {
    Registry r;
    std::string why, out;
    REQUIRE(r.add("echo", echo, nullptr, &why) == UWSGI_OK);
    uwsgi_str args[] = {{"a", 1}, {"bc", 2}};
    REQUIRE(r.call("echo", 2, args, out) == Registry::Outcome::ok);
    CHECK(out == "abc");

    static char prefix[] = ">";
    REQUIRE(r.add("echo", echo, prefix, &why) == UWSGI_OK);
    REQUIRE(r.call("echo", 2, args, out) == Registry::Outcome::ok);
    CHECK(out == ">abc");
    CHECK(r.size() == 1);  // replaced, not added twice
}

TEST_CASE("unknown and failing functions are told apart, with no partial result") {
    Registry r;
    std::string why, out = "stale";
    CHECK(r.call("nope", 0, nullptr, out) == Registry::Outcome::unknown);
    REQUIRE(r.add("fail", failing, nullptr, &why) == UWSGI_OK);
    CHECK(r.call("fail", 0, nullptr, out) == Registry::Outcome::failed);
    CHECK(out.empty());
    REQUIRE(r.add("throw", throwing, nullptr, &why) == UWSGI_OK);
    CHECK(r.call("throw", 0, nullptr, out) == Registry::Outcome::failed);
}

TEST_CASE("names are checked") {
    Registry r;
    std::string why;
    CHECK(r.add("", echo, nullptr, &why) == UWSGI_ELIMIT);
    CHECK(r.add(std::string(256, 'n'), echo, nullptr, &why) == UWSGI_ELIMIT);
    CHECK(r.add(std::string(255, 'n'), echo, nullptr, &why) == UWSGI_OK);
    CHECK(r.add("null", nullptr, nullptr, &why) == UWSGI_ERROR);
}

TEST_CASE("name_at lists in registration order and its pointers stay valid") {
    Registry r;
    REQUIRE(r.add("first", echo, nullptr, nullptr) == UWSGI_OK);
    const char *first = r.name_at(0);
    for (int i = 0; i < 1000; ++i) r.add("f" + std::to_string(i), echo, nullptr, nullptr);
    CHECK(r.name_at(0) == first);
    CHECK(std::string(first) == "first");
    CHECK(std::string(r.name_at(1000)) == "f999");
    CHECK(r.name_at(1001) == nullptr);
}

TEST_CASE("calls from many threads while another thread registers") {
    Registry r;
    REQUIRE(r.add("echo", echo, nullptr, nullptr) == UWSGI_OK);
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t)
        callers.emplace_back([&] {
            std::string out;
            uwsgi_str arg{"x", 1};
            while (!stop.load()) {
                if (r.call("echo", 1, &arg, out) != Registry::Outcome::ok || out != "x") ++bad;
                r.name_at(r.size() ? r.size() - 1 : 0);
            }
        });
    for (int i = 0; i < 5000; ++i) r.add("n" + std::to_string(i), echo, nullptr, nullptr);
    stop = true;
    for (auto &t : callers) t.join();
    CHECK(bad.load() == 0);
    CHECK(r.size() == 5001);
}
