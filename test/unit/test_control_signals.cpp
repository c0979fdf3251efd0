#include "control_signals.hpp"

#include <catch2/catch.hpp>

using namespace core;

TEST_CASE("signals during a reload coalesce, turn it into a shutdown or make it brutal") {
    CHECK(next_step(Phase::Serving, SIGHUP).phase == Phase::Reload);
    SignalStep again = next_step(Phase::Reload, SIGHUP);
    CHECK((again.phase == Phase::Reload && !again.changed && !again.hurry));
    CHECK(next_step(Phase::Reload, SIGTERM).phase == Phase::Shutdown);
    CHECK(next_step(Phase::Reload, SIGINT).phase == Phase::Shutdown);
    SignalStep brutal = next_step(Phase::Reload, SIGQUIT);
    CHECK((brutal.phase == Phase::BrutalReload && brutal.hurry));
    CHECK(!next_step(Phase::BrutalReload, SIGHUP).changed);
    CHECK(next_step(Phase::BrutalReload, SIGTERM).phase == Phase::Shutdown);
}

TEST_CASE("during a shutdown HUP is ignored and a second TERM/INT hurries it") {
    SignalStep hup = next_step(Phase::Shutdown, SIGHUP);
    CHECK((hup.phase == Phase::Shutdown && !hup.changed && !hup.hurry));
    for (int sig : {SIGTERM, SIGINT, SIGQUIT}) {
        SignalStep s = next_step(Phase::Shutdown, sig);
        CHECK((s.phase == Phase::Shutdown && s.hurry));
    }
    // a supervised worker leaves hurrying to its master (Ctrl-C reaches both)
    CHECK(!next_step(Phase::Shutdown, SIGINT, true).hurry);
    CHECK(next_step(Phase::Shutdown, SIGQUIT, true).hurry);
}
