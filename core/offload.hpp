// --offload-threads N: each worker runs N offload threads that push static file bodies to the
// client with non-blocking sendfile(2) and epoll, so the request thread returns at once to
// serve the next request (uWSGI's offload engine for sendfile). An offloaded transfer owns a
// duplicate of the client socket and of the file; it ends the connection when it is done.
#pragma once

#include "connection.hpp"

#include <cstdint>

namespace core {

// In each worker after fork (nothing when --offload-threads is 0).
void start_offload_threads(int threads, int timeout_ms);
bool offload_available();
// The next conn_sendfile on `conn` goes to an offload thread instead of the request thread.
void offload_next_sendfile(uwsgi_conn *conn);
// Hands count bytes of file fd from offset to an offload thread for the socket; false when the
// queue is full (the caller sends inline). Both descriptors are duplicated.
bool offload_sendfile(int socket_fd, int file_fd, int64_t offset, int64_t count);

}  // namespace core
