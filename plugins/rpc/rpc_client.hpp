// The client half: one call to a remote node over uWSGI's RPC wire format.
#pragma once

#include <uwsgi/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace rpc {

// What a remote node is trusted with: the remote's announced answer size and its pace.
struct CallBounds {
    int deadline_ms = 30000;            // the whole call (--rpc-timeout)
    uint64_t max_answer = 16u << 20;   // bytes (--rpc-max-answer)
};

// Calls `name` on `node` ("host:port", "[v6]:port", ":port" for 127.0.0.1, or a UNIX socket path;
// "@name" is an abstract UNIX socket). Every wait (connect, each write, each read) is bounded by
// timeout_ms, and the whole call by bounds.deadline_ms, so a node that drips its answer cannot
// hold the caller; an answer announced larger than bounds.max_answer is refused before a byte of
// it is read. UWSGI_OK with the whole result in `result`; UWSGI_ELIMIT when the request exceeds
// the wire limits (nothing was sent) or the answer exceeds max_answer; UWSGI_ERROR otherwise.
// On failure `why` says what happened.
int call_remote(std::string_view node, std::string_view name, size_t argc, const uwsgi_str *argv,
                int timeout_ms, std::string &result, std::string &why,
                const CallBounds &bounds = {});

}  // namespace rpc
