#include "systemd.hpp"

#include "sockets.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace core {

void systemd_notify(const std::string &state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return;
    sockaddr_un sa{};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path) {
        spdlog::warn("NOTIFY_SOCKET is too long for a UNIX address; systemd not notified");
        return;
    }
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = 0;  // an abstract socket
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    socklen_t salen = socklen_t(offsetof(sockaddr_un, sun_path) + len);
    if (sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr *>(&sa),
               salen) < 0) {
        static bool warned = false;
        if (!warned) spdlog::warn("cannot notify systemd on {}: {}", path, strerror(errno));
        warned = true;
    }
    close(fd);
}

std::string bound_address(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0) return "";
    if (ss.ss_family == AF_UNIX) {
        auto *sun = reinterpret_cast<sockaddr_un *>(&ss);
        return len > offsetof(sockaddr_un, sun_path) && sun->sun_path[0] ? sun->sun_path : "";
    }
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<sockaddr *>(&ss), len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "";
    return ss.ss_family == AF_INET6 ? fmt::format("[{}]:{}", host, port)
                                    : fmt::format("{}:{}", host, port);
}

std::vector<ActivatedSocket> &activated_sockets() {
    static std::vector<ActivatedSocket> fds = [] {
        std::vector<ActivatedSocket> out;
        const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
        if (!pid || !count || atol(pid) != long(getpid())) return out;
        int n = atoi(count);
        if (n > 0) spdlog::info("- SystemD socket activation detected -");  // uWSGI's line
        for (int fd = 3; fd < 3 + n; ++fd) {
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            out.push_back({fd, bound_address(fd), false});
        }
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        return out;
    }();
    return fds;
}

// The numeric forms ADDRESS stands for: ":8000" is "0.0.0.0:8000", a name is what it resolves to.
static std::vector<std::string> numeric_forms(const std::string &address) {
    Endpoint e = parse_address(address);
    if (!e.unix_path.empty()) return {e.unix_path};
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    std::string port = std::to_string(e.port);
    if (getaddrinfo(e.host.empty() ? "0.0.0.0" : e.host.c_str(), port.c_str(), &hints, &res) != 0)
        return {};
    std::vector<std::string> out;
    for (addrinfo *a = res; a; a = a->ai_next) {
        char host[NI_MAXHOST];
        if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST))
            continue;
        out.push_back(a->ai_family == AF_INET6 ? fmt::format("[{}]:{}", host, e.port)
                                               : fmt::format("{}:{}", host, e.port));
    }
    freeaddrinfo(res);
    return out;
}

int claim_activated_socket(const std::string &address) {
    auto &fds = activated_sockets();
    if (fds.empty()) return -1;
    for (const std::string &form : numeric_forms(address))
        for (auto &a : fds)
            if (!a.claimed && a.address == form) {
                a.claimed = true;
                return a.fd;
            }
    return -1;
}

}  // namespace core
