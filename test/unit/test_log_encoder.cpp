#include "config.hpp"
#include "log_encoder.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace core;

static std::string encode(const std::string &spec, const std::string &msg) {
    std::string out;
    LogEncoder::parse(spec, "log-encoder").encode(msg, out);
    return out;
}

TEST_CASE("prefix, suffix and nl as uWSGI's encoders") {
    CHECK(encode("prefix [app] ", "line\n") == "[app] line\n");
    CHECK(encode("suffix  !", "line") == "line !");
    CHECK(encode("nl", "line") == "line\n");
}

TEST_CASE("json escapes the message and drops its newline for ${msg}") {
    CHECK(encode("json {\"msg\":\"${msg}\"}", "a \"q\" \\ b\tc\x01\n") ==
          "{\"msg\":\"a \\\"q\\\" \\\\ b\\tc\\u0001\"}");
    CHECK(encode("json {\"m\":\"${msgnl}\"}", "x\n") == "{\"m\":\"x\\n\"}");
}

TEST_CASE("format keeps text and a lone $ as they are; times are numbers") {
    CHECK(encode("format [${msg}] $5", "hi\n") == "[hi] $5");
    std::string t = encode("format ${unix} ${millis} ${micros}", "");
    long long unix_s = 0, millis = 0, micros = 0;
    REQUIRE(sscanf(t.c_str(), "%lld %lld %lld", &unix_s, &millis, &micros) == 3);
    CHECK(unix_s > 1600000000);
    CHECK(millis / 1000 - unix_s <= 1);
    CHECK(micros / 1000 - millis <= 1000);
    CHECK(encode("format ${strftime:%Y}", "").size() == 4);
}

TEST_CASE("an encoder with :NAME applies to that named logger only") {
    LogEncoder e = LogEncoder::parse("prefix:errs E ", "log-encoder");
    CHECK(e.applies_to("errs"));
    CHECK_FALSE(e.applies_to(""));
    CHECK_FALSE(e.applies_to("other"));
    CHECK(LogEncoder::parse("nl", "log-encoder").applies_to(""));
}

TEST_CASE("unknown encoders, variables and unclosed ${ are start-up errors") {
    CHECK_THROWS_WITH(LogEncoder::parse("gzipp", "log-encoder"),
                      Catch::Contains("unknown log encoder 'gzipp'"));
    CHECK_THROWS_WITH(LogEncoder::parse("json {${nope}}", "log-encoder"),
                      Catch::Contains("unknown variable ${nope}"));
    CHECK_THROWS_WITH(LogEncoder::parse("format ${msg", "log-req-encoder"),
                      Catch::Contains("--log-req-encoder"));
}
