#include "cheaper.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace core;

namespace {

Config options(std::initializer_list<std::pair<const char *, const char *>> kv) {
    Config c;
    for (auto &[k, v] : kv) c.add(k, v);
    return c;
}

// N worker slots: the first `active` running (busy ones first), the rest cheaped.
std::vector<CheaperWorker> workers(int n, int active, int busy) {
    std::vector<CheaperWorker> w(size_t(n) + 1);
    for (int i = 1; i <= n; ++i) {
        w[size_t(i)].pid = i <= active ? 1000 + i : 0;
        w[size_t(i)].cheaped = i > active;
        w[size_t(i)].busy = i <= busy;
        w[size_t(i)].last_spawn = 100 + i;
    }
    return w;
}

}  // namespace

TEST_CASE("cheaper values are checked against --processes with uWSGI's words") {
    CHECK_FALSE(CheaperSettings::from(options({}), 4).enabled());
    CHECK_FALSE(CheaperSettings::from(options({{"cheaper", "0"}}), 4).enabled());
    CHECK_THROWS_WITH(CheaperSettings::from(options({{"cheaper", "4"}}), 4),
                      Catch::Contains("invalid cheaper value: must be lower than processes"));
    CHECK_THROWS_WITH(
        CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-overload", "0"}}), 4),
        Catch::Contains("invalid cheaper-overload value (0)"));
    CHECK_THROWS_WITH(
        CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-algo", "backlog2"}}), 4),
        Catch::Contains("unknown cheaper algorithm"));
    // --cheaper-initial out of range is clamped (uWSGI warns and goes on)
    CHECK(CheaperSettings::from(options({{"cheaper", "2"}}), 4).initial == 2);
    CHECK(CheaperSettings::from(options({{"cheaper", "2"}, {"cheaper-initial", "1"}}), 4).initial == 2);
    CHECK(CheaperSettings::from(options({{"cheaper", "2"}, {"cheaper-initial", "9"}}), 4).initial == 4);
    CHECK(CheaperSettings::from(options({{"cheaper", "2"}, {"cheaper-initial", "3"}}), 4).initial == 3);
}

TEST_CASE("spare: overload spawns up to --cheaper-step after --cheaper-overload busy ticks") {
    Cheaper c(CheaperSettings::from(
        options({{"cheaper", "1"}, {"cheaper-overload", "3"}, {"cheaper-step", "2"}}), 5));
    auto all_busy = workers(5, 1, 1);
    CHECK(c.decide(all_busy) == 0);
    CHECK(c.decide(all_busy) == 0);
    CHECK(c.decide(all_busy) == 2);  // third busy second: two of the four cheaped slots
    CHECK(c.decide(all_busy) == 0);  // the count starts again
}

TEST_CASE("spare: one spare worker is stable, more idle ones retire one per overload period") {
    Cheaper c(CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-overload", "2"}}), 4));
    auto one_spare = workers(4, 3, 2);
    for (int i = 0; i < 5; ++i) CHECK(c.decide(one_spare) == 0);
    auto idle = workers(4, 3, 0);
    CHECK(c.decide(idle) == 0);
    CHECK(c.decide(idle) == -1);
    CHECK(Cheaper::victim(idle) == 1);  // the oldest idle one
    auto at_minimum = workers(4, 1, 0);
    for (int i = 0; i < 4; ++i) CHECK(c.decide(at_minimum) == 0);  // never below --cheaper
}

TEST_CASE("the fifo's + and - replace one decision") {
    Cheaper c(CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-overload", "60"}}), 4));
    c.nudge(1);
    c.nudge(1);
    CHECK(c.decide(workers(4, 1, 0)) == 2);
    CHECK(c.decide(workers(4, 1, 0)) == 0);
    c.nudge(-1);
    CHECK(c.decide(workers(4, 3, 0)) == -1);
}

TEST_CASE("busyness: spawn above max, cheap below min after overload x multiplier") {
    Config c = options({{"cheaper", "1"}, {"cheaper-algo", "busyness"}, {"cheaper-overload", "1"},
                        {"cheaper-busyness-multiplier", "2"}});
    CheaperSettings s = CheaperSettings::from(c, 3);
    REQUIRE(s.algo == CheaperSettings::Algo::Busyness);
    Cheaper cheaper(s);
    auto w = workers(3, 1, 0);
    uint64_t t = 1000000000;  // monotonic µs, long after any cheap
    CHECK(cheaper.decide(w, 0, t) == 0);  // the first look only starts the clock
    w[1].running_us += 900000;            // 90% of the next second in requests
    CHECK(cheaper.decide(w, 0, t + 1000000) == 1);
    auto two = workers(3, 2, 0);
    two[1].running_us = w[1].running_us;
    // idle: not before overload x multiplier seconds after the spawn
    int cheaped = 0;
    uint64_t when = 0;
    for (uint64_t sec = 2; sec < 12 && !cheaped; ++sec) {
        cheaped = cheaper.decide(two, 0, t + sec * 1000000);
        when = sec;
    }
    CHECK(cheaped == -1);
    CHECK(when == 3);
}

TEST_CASE("busyness: a long listen queue spawns an emergency worker at once") {
    Cheaper cheaper(CheaperSettings::from(
        options({{"cheaper", "1"}, {"cheaper-algo", "busyness"}, {"cheaper-overload", "10"}}), 3));
    auto w = workers(3, 1, 1);
    CHECK(cheaper.decide(w, 0, 1000000) == 0);
    CHECK(cheaper.decide(w, 34, 2000000) == 1);  // over --cheaper-busyness-backlog-alert 33
}

TEST_CASE("busyness settings out of range are refused") {
    CHECK_THROWS_WITH(CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-algo", "busyness"},
                                                     {"cheaper-busyness-min", "60"}}), 3),
                      Catch::Contains("must be lower than --cheaper-busyness-max"));
    CHECK_THROWS_WITH(CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-algo", "busyness"},
                                                     {"cheaper-busyness-max", "150"}}), 3),
                      Catch::Contains("between 1 and 100"));
}

TEST_CASE("spare2: keeps --cheaper idle workers, spawning before all are busy") {
    Cheaper c(CheaperSettings::from(options({{"cheaper", "2"}, {"cheaper-algo", "spare2"},
                                             {"cheaper-step", "3"}, {"cheaper-idle", "3"}}), 6));
    // 3 running, 2 busy: one idle, one short of --cheaper 2
    CHECK(c.decide(workers(6, 3, 2)) == 1);
    // 4 running, all busy: two short, --cheaper-step 3 allows both
    CHECK(c.decide(workers(6, 4, 4)) == 2);
    // 5 running, all busy, one cheaped slot left: only that one
    CHECK(c.decide(workers(6, 5, 5)) == 1);
    // exactly --cheaper idle: stable, for as long as it lasts
    for (int i = 0; i < 5; ++i) CHECK(c.decide(workers(6, 4, 2)) == 0);
    // more idle than --cheaper: one retires after --cheaper-idle such seconds, then it counts anew
    auto surplus = workers(6, 5, 0);
    CHECK(c.decide(surplus) == 0);
    CHECK(c.decide(surplus) == 0);
    CHECK(c.decide(surplus) == -1);
    CHECK(c.decide(surplus) == 0);
    // a shortage in between starts the idle count again
    CHECK(c.decide(surplus) == 0);
    CHECK(c.decide(workers(6, 3, 2)) == 1);
    CHECK(c.decide(surplus) == 0);
    CHECK(c.decide(surplus) == 0);
    CHECK(c.decide(surplus) == -1);
}

TEST_CASE("backlog: the listen queue against --cheaper-overload") {
    Cheaper c(CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-algo", "backlog"},
                                             {"cheaper-overload", "4"}, {"cheaper-step", "2"}}), 4));
    CHECK(c.settings().reads_backlog());
    CHECK(c.decide(workers(4, 1, 1), 5) == 2);  // 5 waiting > 4: --cheaper-step workers
    CHECK(c.decide(workers(4, 3, 3), 9) == 1);  // only one cheaped slot left
    CHECK(c.decide(workers(4, 4, 4), 9) == 0);  // none left
    CHECK(c.decide(workers(4, 3, 0), 4) == 0);  // exactly at the limit: nothing changes
    CHECK(c.decide(workers(4, 3, 0), 0) == -1);  // below: one retires each second
    CHECK(c.decide(workers(4, 2, 2), 3) == -1);  // busy or not (uWSGI looks at the queue only)
    CHECK(c.decide(workers(4, 1, 0), 0) == 0);   // never below --cheaper
}

TEST_CASE("manual: the count moves only with the fifo's + and -") {
    Cheaper c(CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-algo", "manual"}}), 4));
    CHECK_FALSE(c.settings().reads_backlog());
    for (int i = 0; i < 10; ++i) {
        CHECK(c.decide(workers(4, 1, 1), 100) == 0);  // overloaded: stays
        CHECK(c.decide(workers(4, 3, 0), 0) == 0);    // idle: stays
    }
    c.nudge(1);
    CHECK(c.decide(workers(4, 1, 0)) == 1);
    c.nudge(-1);
    CHECK(c.decide(workers(4, 2, 0)) == -1);
}

TEST_CASE("--cheaper-idle below 1 is refused") {
    CHECK_THROWS_WITH(CheaperSettings::from(options({{"cheaper", "1"}, {"cheaper-algo", "spare2"},
                                                     {"cheaper-idle", "0"}}), 4),
                      Catch::Contains("invalid cheaper-idle value (0)"));
}
