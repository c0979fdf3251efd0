// One accepted client connection: non-blocking socket I/O bounded by --socket-timeout.
#pragma once

#include "clock.hpp"

#include <uwsgi/plugin.h>

#include <atomic>
#include <cstdint>
#include <string>

struct ssl_st;

struct uwsgi_conn {
    int fd = -1;
    int timeout_ms = 4000;
    const uwsgi_protocol *protocol = nullptr;
    void *state = nullptr;  // the protocol's per-connection state
    std::string peer_addr, local_addr;
    uint16_t peer_port = 0, local_port = 0;
    int64_t parked_since_ms = 0;  // when it went idle between requests
    bool in_epoll = false;
    bool parked = false;
    bool offload_sendfile = false;  // the next conn_sendfile may be left to an offload thread
    // --offload-threads: a body conn_sendfile left for later (a duplicate of the file, -1:
    // none). The worker hands it to an offload thread once the request is done, or any later
    // output on the connection sends it first (conn_write, conn_sendfile, conn_fd).
    int pending_file = -1;
    int64_t pending_offset = 0, pending_count = 0;
    uwsgi_conn *park_prev = nullptr, *park_next = nullptr;  // the worker's idle list
    ssl_st *tls = nullptr;    // --https-socket: the TLS session (tls.cpp), else plain
    bool tls_failed = false;  // the session broke: no more I/O, no close_notify
};

namespace core {

// Fills the address fields from the socket (once per connection).
void describe_peers(uwsgi_conn &conn);

int64_t conn_read(uwsgi_conn *conn, void *buf, size_t len);
int conn_write(uwsgi_conn *conn, const void *buf, size_t len);
int conn_sendfile(uwsgi_conn *conn, int fd, int64_t offset, int64_t count);
// Sends the body left pending for an offload thread on this thread now (bounded by
// --socket-timeout), so output keeps its order; UWSGI_OK when there is none.
int flush_pending_body(uwsgi_conn *conn);
// Closes the pending body's file unsent (the connection is being closed).
void drop_pending_body(uwsgi_conn *conn);

// Waits until fd is ready for EVENTS (poll's); false on timeout or error.
bool wait_ready(int fd, short events, int timeout_ms);

}  // namespace core
