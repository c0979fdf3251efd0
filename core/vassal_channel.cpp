#include "vassal_channel.hpp"

#include "clock.hpp"
#include "emperor_protocol.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace core {
namespace {

int channel_fd() {
    static int fd = [] {
        const char *v = getenv(emperor_msg::kFdEnv);
        if (!v || !*v) return -1;
        char *end = nullptr;
        long n = strtol(v, &end, 10);
        if (*end || n < 0 || fcntl(int(n), F_GETFD) < 0) {
            spdlog::warn("{}={} names no open descriptor: not running under an emperor",
                         emperor_msg::kFdEnv, v);
            return -1;
        }
        return int(n);
    }();
    return fd;
}

int g_fd = -2;  // -2: not looked up yet; -1: none (or closed)

int fd() {
    if (g_fd == -2) g_fd = channel_fd();
    return g_fd;
}

}  // namespace

bool has_emperor() { return fd() >= 0; }

void vassal_announce() {
    if (fd() < 0) return;
    spdlog::info("announcing my loyalty to the Emperor...");
    for (char byte : {emperor_msg::kLoyal, emperor_msg::kSpawned, emperor_msg::kAccepting})
        if (send(g_fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
            spdlog::warn("cannot write to the emperor: {}", strerror(errno));
            break;
        }
}

int vassal_poll_emperor() {
    if (fd() < 0) return 0;
    char byte;
    ssize_t n = recv(g_fd, &byte, 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    if (n == 1) {
        spdlog::info("received message {} from the emperor", int(byte));
        if (byte == emperor_msg::kReload) return SIGHUP;
        // uWSGI kills the workers at once on kStop; here they finish their requests first
        // (bounded by --reload-mercy), as on SIGINT, and the emperor still kills a vassal that
        // takes longer than its curse tolerance.
        if (byte == emperor_msg::kStop || byte == emperor_msg::kGracefulStop) return SIGINT;
        return 0;
    }
    spdlog::warn("lost the connection with my emperor: shutting down");
    close(g_fd);
    g_fd = -1;
    return SIGINT;
}

void vassal_heartbeat(int every_s, bool healthy) {
    static int64_t next_ms = 0;
    if (fd() < 0 || every_s <= 0 || !healthy) return;
    const int64_t now = monotonic_ms();
    if (now < next_ms) return;
    next_ms = now + int64_t(every_s) * 1000;
    char byte = emperor_msg::kHeartbeat;
    if (send(g_fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
        spdlog::warn("cannot send a heartbeat to the emperor: {}", strerror(errno));
}

void vassal_close_in_worker() {
    if (g_fd >= 0) close(g_fd);
    g_fd = -1;
}

}  // namespace core
