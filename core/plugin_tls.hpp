// host->tls_* (plugin.h): TLS on a plugin's own non-blocking sockets (the --https router), on
// the contexts and sessions of tls.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace core {

void *plugin_tls_server(const char *option, const char *value, char *error, size_t error_size);
void *plugin_tls_accept(void *ctx, int fd);
int64_t plugin_tls_recv(void *session, void *buf, size_t len);
int64_t plugin_tls_send(void *session, const void *buf, size_t len);
int plugin_tls_pending(void *session);
void plugin_tls_close(void *session);

}  // namespace core
