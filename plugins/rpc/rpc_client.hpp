// The client half: one call to a remote node over uWSGI's RPC wire format.
#pragma once

#include <uwsgi/plugin.h>

#include <string>
#include <string_view>

namespace rpc {

// Calls `name` on `node` ("host:port", "[v6]:port", ":port" for 127.0.0.1, or a UNIX socket path;
// "@name" is an abstract UNIX socket). Every wait (connect, each write, each read) is bounded by
// timeout_ms. UWSGI_OK with the whole result in `result`; UWSGI_ELIMIT when the request exceeds
// the wire limits (nothing was sent); UWSGI_ERROR otherwise. On failure `why` says what happened.
int call_remote(std::string_view node, std::string_view name, size_t argc, const uwsgi_str *argv,
                int timeout_ms, std::string &result, std::string &why);

}  // namespace rpc
