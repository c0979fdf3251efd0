#include "reexec.hpp"

namespace core {

ExecCommand reexec_command(const ReexecInput &in) {
    if (!in.library_mode) {
        std::string binary = !in.binary_path.empty() ? in.binary_path
                             : !in.self_exe.empty()  ? in.self_exe
                             : in.argv.empty()       ? std::string()
                                                     : in.argv[0];
        return {binary, in.argv};
    }
    std::vector<std::string> rest;
    if (in.argv.size() > 1) rest.assign(in.argv.begin() + 1, in.argv.end());
    if (!in.binary_path.empty()) {
        // The launcher gets the same arguments, with itself as argv[0] (what sys.argv[0] was).
        ExecCommand cmd{in.binary_path, {in.binary_path}};
        if (!in.binary_path_executable) cmd = {in.self_exe, {in.self_exe, in.binary_path}};
        cmd.argv.insert(cmd.argv.end(), rest.begin(), rest.end());
        return cmd;
    }
    if (!in.host_cmdline.empty()) return {in.self_exe, in.host_cmdline};
    return {in.self_exe, in.argv};
}

}  // namespace core
