// The whole server run: configuration, plugins, sockets, then master or single process.
#pragma once

namespace core {
int server_main(int argc, char **argv, char **envp);
}
