#include "zerg.hpp"

#include "systemd.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace core {
namespace {

constexpr char kMagic[] = "uwsgi-zerg";  // uWSGI's message: these 10 bytes, then an int count
constexpr size_t kMagicLen = sizeof kMagic - 1;
constexpr int kMaxSockets = 64;

// One zerg message: the header bytes and room for the sockets, wired into a msghdr.
struct Message {
    char head[kMagicLen + sizeof(int)] = {};
    iovec iov{head, sizeof head};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxSockets)] = {};
    msghdr msg{};
    Message() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    Message(const Message &) = delete;
    Message &operator=(const Message &) = delete;
};

int connect_unix(const std::string &path) {
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path.c_str(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    timeval tv{30, 0};  // a zerg server answers at its next master tick
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// The sockets of one zerg server, or an error message.
std::vector<int> receive_sockets(const std::string &path, std::string &error) {
    int fd = connect_unix(path);
    if (fd < 0) {
        error = strerror(errno);
        return {};
    }
    Message m;
    msghdr &msg = m.msg;
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    int err = errno;
    close(fd);
    std::vector<int> fds;
    for (cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : nullptr; c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int received;
            memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
            fds.push_back(received);
        }
    }
    if (n <= 0) {
        error = n == 0 ? "it closed the connection without a message" : strerror(err);
    } else if (size_t(n) < kMagicLen || memcmp(m.head, kMagic, kMagicLen) != 0) {
        error = "invalid data received from it (not a zerg server)";
    } else if (msg.msg_flags & MSG_CTRUNC) {
        error = fmt::format("it passes more than {} sockets", kMaxSockets);
    } else if (fds.empty()) {
        error = "it passed no socket";
    } else {
        return fds;
    }
    for (int f : fds) close(f);
    return {};
}

}  // namespace

void attach_zergs(const Config &config) {
    if (getenv("UWSGI_INHERITED_SOCKETS")) return;  // a reload: the sockets are inherited
    for (const std::string &path : config.all("zerg")) {
        std::string error;
        std::vector<int> fds = receive_sockets(path, error);
        if (fds.empty()) {
            std::string what = fmt::format("--zerg {}: cannot attach to the zerg server: {}",
                                           path, error);
            if (!config.flag("zerg-fallback"))
                throw ConfigError(what + " (is its --zerg-server running? --zerg-fallback "
                                         "starts on this instance's own sockets instead)");
            spdlog::warn("{}; --zerg-fallback: going on without it", what);
            continue;
        }
        for (int fd : fds) {
            activated_sockets().push_back({fd, bound_address(fd), false});
            spdlog::info("zerg socket {} (fd {}) from {}", activated_sockets().back().address,
                         fd, path);
        }
        spdlog::info("zerg sockets attached");  // uWSGI's words
    }
}

ZergServer::ZergServer(const Config &config, const std::vector<Listener> &listeners)
    : listeners_(listeners) {
    const std::string *path = config.get("zerg-server");
    if (!path) return;
    if (parse_address(*path).unix_path.empty())
        throw ConfigError(fmt::format("--zerg-server {}: give a UNIX socket path (sockets are "
                                      "passed over it)", *path));
    fd_ = listen_on("zerg-server", *path, 16);
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    path_ = *path;
    spdlog::info("*** Zerg server enabled on {} ***", path_);
}

ZergServer::~ZergServer() {
    if (fd_ < 0) return;
    close(fd_);
    unlink(path_.c_str());
}

void ZergServer::poll() {
    if (fd_ < 0) return;
    std::vector<int> fds;
    for (auto &l : listeners_)
        if (l.fd >= 0 && std::find(fds.begin(), fds.end(), l.fd) == fds.end()) fds.push_back(l.fd);
    if (fds.size() > size_t(kMaxSockets)) fds.resize(size_t(kMaxSockets));
    int client;
    while ((client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0) {
        Message m;
        memcpy(m.head, kMagic, kMagicLen);
        int count = int(fds.size());
        memcpy(m.head + kMagicLen, &count, sizeof count);
        msghdr &msg = m.msg;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
        if (sendmsg(client, &msg, MSG_NOSIGNAL) < 0)
            spdlog::warn("zerg server: cannot pass the sockets: {}", strerror(errno));
        else
            spdlog::info("zerg server: {} socket(s) passed to a new zerg", fds.size());
        close(client);
    }
}

}  // namespace core
