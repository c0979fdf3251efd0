// The client against tiny in-process servers that answer with canned bytes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <thread>

#include "../rpc_client.hpp"
#include "../rpc_codec.hpp"

namespace {

// Listens on a loopback port (or a UNIX path), accepts one connection, reads one request and
// hands it to `answer`, which writes whatever it likes.
class OneShotServer {
public:
    using Answer = std::function<void(int fd, const std::string &request)>;

    explicit OneShotServer(Answer answer, const std::string &unix_path = "") {
        if (unix_path.empty()) {
            fd_ = socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in sa{};
            sa.sin_family = AF_INET;
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            REQUIRE(bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0);
            socklen_t len = sizeof sa;
            getsockname(fd_, reinterpret_cast<sockaddr *>(&sa), &len);
            node_ = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
        } else {
            fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un sa{};
            sa.sun_family = AF_UNIX;
            unlink(unix_path.c_str());
            std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", unix_path.c_str());
            REQUIRE(bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0);
            node_ = unix_path;
        }
        REQUIRE(listen(fd_, 4) == 0);
        thread_ = std::thread([this, answer] {
            int c = accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string req;
            char buf[65536];
            // Read the header, then the announced block.
            while (req.size() < 4) {
                ssize_t n = read(c, buf, sizeof buf);
                if (n <= 0) break;
                req.append(buf, size_t(n));
            }
            if (req.size() >= 4) {
                size_t want =
                    4 + (size_t((unsigned char)req[1]) | size_t((unsigned char)req[2]) << 8);
                while (req.size() < want) {
                    ssize_t n = read(c, buf, sizeof buf);
                    if (n <= 0) break;
                    req.append(buf, size_t(n));
                }
            }
            request_ = req;
            answer(c, req);
            close(c);
        });
    }
    ~OneShotServer() {
        shutdown(fd_, SHUT_RDWR);
        thread_.join();
        close(fd_);
    }
    const std::string &node() const { return node_; }
    std::string request() {
        thread_.join();
        thread_ = std::thread([] {});
        return request_;
    }

private:
    int fd_ = -1;
    std::string node_;
    std::string request_;
    std::thread thread_;
};

void write_all(int fd, const std::string &s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = write(fd, s.data() + off, s.size() - off);
        if (n <= 0) return;
        off += size_t(n);
    }
}

}  // namespace

TEST_CASE("a framed answer is returned and the request is upstream's format") {
    OneShotServer srv(
        [](int fd, const std::string &) { write_all(fd, rpc::codec::answer_prefix(5) + "hello"); });
    uwsgi_str arg{"x", 1};
    std::string result, why;
    REQUIRE(rpc::call_remote(srv.node(), "hi", 1, &arg, 2000, result, why) == UWSGI_OK);
    CHECK(result == "hello");
    CHECK(srv.request() == std::string("\xad\x07\x00\x00\x02\x00hi\x01\x00x", 11));
}

TEST_CASE("a modifier2-5 answer of 1 MiB is read whole") {
    std::string big(1 << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = char(i % 251);
    OneShotServer srv([&](int fd, const std::string &) {
        write_all(fd, rpc::codec::answer_prefix(big.size()) + big);
    });
    std::string result, why;
    REQUIRE(rpc::call_remote(srv.node(), "big", 0, nullptr, 2000, result, why) == UWSGI_OK);
    CHECK(result == big);
}

TEST_CASE("over a UNIX socket") {
    std::string path = "/tmp/rpc-unit-" + std::to_string(getpid()) + ".sock";
    {
        OneShotServer srv(
            [](int fd, const std::string &) { write_all(fd, rpc::codec::answer_prefix(2) + "ok"); },
            path);
        std::string result, why;
        REQUIRE(rpc::call_remote(path, "f", 0, nullptr, 2000, result, why) == UWSGI_OK);
        CHECK(result == "ok");
    }
    unlink(path.c_str());
}

TEST_CASE("a close without an answer is an error that says so") {
    OneShotServer srv([](int, const std::string &) {});
    std::string result, why;
    CHECK(rpc::call_remote(srv.node(), "f", 0, nullptr, 2000, result, why) == UWSGI_ERROR);
    CHECK(why.find("without an answer") != std::string::npos);
}

TEST_CASE("a truncated answer is an error") {
    OneShotServer srv([](int fd, const std::string &) {
        write_all(fd, rpc::codec::answer_prefix(10) + "short");
    });
    std::string result, why;
    CHECK(rpc::call_remote(srv.node(), "f", 0, nullptr, 2000, result, why) == UWSGI_ERROR);
    CHECK(why.find("5 of 10 bytes") != std::string::npos);
    CHECK(result.empty() == false);  // what arrived is there, but the call failed
}

TEST_CASE("a truncated modifier2-5 answer is an error") {
    OneShotServer srv([](int fd, const std::string &) {
        write_all(fd, rpc::codec::answer_prefix(100000) + std::string(1000, 'z'));
    });
    std::string result, why;
    CHECK(rpc::call_remote(srv.node(), "f", 0, nullptr, 2000, result, why) == UWSGI_ERROR);
    CHECK(why.find("1000 of 100000 bytes") != std::string::npos);
}

TEST_CASE("an empty answer is an error, as in uWSGI") {
    OneShotServer srv(
        [](int fd, const std::string &) { write_all(fd, rpc::codec::answer_prefix(0)); });
    std::string result, why;
    CHECK(rpc::call_remote(srv.node(), "f", 0, nullptr, 2000, result, why) == UWSGI_ERROR);
    CHECK(why.find("empty answer") != std::string::npos);
}

TEST_CASE("a non-RPC answer is an error") {
    OneShotServer srv(
        [](int fd, const std::string &) { write_all(fd, "HTTP/1.1 501 Nope\r\n\r\n"); });
    std::string result, why;
    CHECK(rpc::call_remote(srv.node(), "f", 0, nullptr, 2000, result, why) == UWSGI_ERROR);
    CHECK(why.find("not an RPC answer") != std::string::npos);
}

TEST_CASE("a silent node times out") {
    OneShotServer srv([](int, const std::string &) { usleep(1500 * 1000); });
    std::string result, why;
    CHECK(rpc::call_remote(srv.node(), "f", 0, nullptr, 300, result, why) == UWSGI_ERROR);
    INFO(why);
    CHECK(why.find("timed out after 300 ms") != std::string::npos);
}

TEST_CASE("limits are checked before connecting") {
    std::string result, why;
    std::string name(256, 'n');
    // Port 1 on loopback refuses; an ELIMIT proves nothing was attempted.
    CHECK(rpc::call_remote("127.0.0.1:1", name, 0, nullptr, 500, result, why) == UWSGI_ELIMIT);
    std::string huge(70000, 'x');
    uwsgi_str a{huge.data(), huge.size()};
    CHECK(rpc::call_remote("127.0.0.1:1", "f", 1, &a, 500, result, why) == UWSGI_ELIMIT);
}

TEST_CASE("bad nodes and refused connections are errors that say why") {
    std::string result, why;
    CHECK(rpc::call_remote("127.0.0.1:1", "f", 0, nullptr, 500, result, why) == UWSGI_ERROR);
    CHECK(why.find("refused") != std::string::npos);
    CHECK(rpc::call_remote("127.0.0.1:notaport", "f", 0, nullptr, 500, result, why) == UWSGI_ERROR);
    CHECK(why.find("bad port") != std::string::npos);
    CHECK(rpc::call_remote("[::1", "f", 0, nullptr, 500, result, why) == UWSGI_ERROR);
    CHECK(rpc::call_remote("/nonexistent/rpc.sock", "f", 0, nullptr, 500, result, why) ==
          UWSGI_ERROR);
    CHECK(why.find("No such file") != std::string::npos);
}
