#include "server.hpp"

int main(int argc, char **argv, char **envp) {
    return core::server_main(argc, argv, envp, {core::kBuiltinPlugins, false});
}
