#include "reexec.hpp"

#include <catch2/catch.hpp>

using namespace core;
using Args = std::vector<std::string>;

static ReexecInput input(bool library_mode) {
    ReexecInput in;
    in.library_mode = library_mode;
    in.self_exe = library_mode ? "/usr/bin/pypy3.9" : "/opt/uwsgi/bin/uwsgi";
    in.argv = library_mode ? Args{"./fakeuwsgi.py", "--http-socket", ":9090"}
                           : Args{"uwsgi", "--http-socket", ":9090"};
    if (library_mode) in.host_cmdline = {"pypy3", "./fakeuwsgi.py", "--http-socket", ":9090"};
    return in;
}

TEST_CASE("a binary re-executes itself, or --binary-path, with the same argv") {
    ReexecInput in = input(false);
    ExecCommand cmd = reexec_command(in);
    CHECK(cmd.binary == "/opt/uwsgi/bin/uwsgi");
    CHECK(cmd.argv == in.argv);
    in.binary_path = "/opt/new/uwsgi";
    in.binary_path_executable = true;
    CHECK(reexec_command(in).binary == "/opt/new/uwsgi");
    CHECK(reexec_command(in).argv == in.argv);
}

TEST_CASE("library mode re-executes the host's command line, not the interpreter with argv") {
    ExecCommand cmd = reexec_command(input(true));
    CHECK(cmd.binary == "/usr/bin/pypy3.9");
    CHECK(cmd.argv == Args{"pypy3", "./fakeuwsgi.py", "--http-socket", ":9090"});
}

TEST_CASE("library mode runs --binary-path as the launcher, through the interpreter if needed") {
    ReexecInput in = input(true);
    in.binary_path = "./launcher.py";
    in.binary_path_executable = true;
    ExecCommand cmd = reexec_command(in);
    CHECK(cmd.binary == "./launcher.py");
    CHECK(cmd.argv == Args{"./launcher.py", "--http-socket", ":9090"});

    in.binary_path_executable = false;  // no exec bit: pypy3 ./launcher.py ...
    cmd = reexec_command(in);
    CHECK(cmd.binary == "/usr/bin/pypy3.9");
    CHECK(cmd.argv == Args{"/usr/bin/pypy3.9", "./launcher.py", "--http-socket", ":9090"});
}
