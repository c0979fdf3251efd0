// What a reload executes. A binary re-executes itself (/proc/self/exe, or --binary-path) with
// the same argv. In library mode the process is a host program (pypy3 running a launcher script
// that called uwsgi_init): /proc/self/exe is the interpreter and argv is the launcher's
// (argv[0] is the script), so the host's own command line is re-executed instead, or the
// launcher given by --binary-path, run through the interpreter when it is not executable.
#pragma once

#include <string>
#include <vector>

namespace core {

struct ReexecInput {
    bool library_mode = false;
    std::string binary_path;                // --binary-path, empty when not given
    bool binary_path_executable = false;    // access(binary_path, X_OK) == 0
    std::string self_exe;                   // /proc/self/exe
    std::vector<std::string> argv;          // as given to the core (argv[0] included)
    std::vector<std::string> host_cmdline;  // library mode: /proc/self/cmdline at start
};

struct ExecCommand {
    std::string binary;
    std::vector<std::string> argv;
};

ExecCommand reexec_command(const ReexecInput &in);

}  // namespace core
