// The rpc plugin: the process's table of RPC functions, offered to other plugins as the
// "uwsgi.rpc/1" extension; the modifier1 173 handler that serves them to uWSGI-compatible
// clients; and the HTTP bridge (modifier2 2: GET /func/arg1/arg2).
//
// Failures on the binary protocol are logged and the connection is closed without an answer,
// as uWSGI does; the handler then reports success so the core does not write an HTTP 500 onto a
// socket that speaks RPC.
#include "rpc_allow.hpp"
#include "rpc_client.hpp"
#include "rpc_codec.hpp"
#include "rpc_registry.hpp"

#include <uwsgi/plugin.hpp>
#include <uwsgi/rpc.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

const uwsgi_host *host = nullptr;

void log(int level, const std::string &msg) {
    if (host)
        host->log(level, "rpc", msg.data(), msg.size());
    else
        std::fprintf(stderr, "[rpc] %s\n", msg.c_str());
}

std::string quoted(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\'') {
            out += c;
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", unsigned((unsigned char)c));
            out += hex;
        }
    }
    return out + "'";
}

int timeout_ms() { return int(uwsgi::setting("socket-timeout")) * 1000; }

// --rpc-max-answer, --rpc-timeout and --rpc-allow, read once by init.
rpc::CallBounds g_bounds;
rpc::AllowList g_allow;

const uwsgi_option kOptions[] = {
    {.name = "rpc-max-answer",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "BYTES",
     .help = "largest answer a remote RPC node may send (default 16777216); larger is refused unread"},
    {.name = "rpc-timeout",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "SECS",
     .help = "longest a whole remote RPC call may take (default 30)"},
    {.name = "rpc-allow",
     .kind = UWSGI_OPT_LIST,
     .metavar = "ADDR[/BITS]",
     .help = "only peers in these networks may call this node's RPC functions (default: any)"},
    {},
};

// A positive integer option, or `fallback` when absent; false with why when malformed.
bool positive_option(const char *name, uint64_t max, uint64_t &out, std::string &why) {
    const char *v = host->opt_get(name);
    if (!v) return true;
    char *end = nullptr;
    unsigned long long n = std::strtoull(v, &end, 10);
    if (!*v || *end || *v == '-' || n == 0 || n > max) {
        why = std::string("--") + name + " must be a whole number from 1 to " +
              std::to_string(max) + ", got '" + v + "'";
        return false;
    }
    out = n;
    return true;
}

bool load_options(std::string &why) {
    uint64_t secs = uint64_t(g_bounds.deadline_ms / 1000);
    if (!positive_option("rpc-max-answer", UINT64_MAX, g_bounds.max_answer, why) ||
        !positive_option("rpc-timeout", 86400, secs, why))
        return false;
    g_bounds.deadline_ms = int(secs * 1000);
    for (size_t i = 0; const char *spec = host->opt_at("rpc-allow", i); ++i)
        if (!g_allow.add(spec, why)) return false;
    return true;
}

// The peer's numeric address ("" for a UNIX socket), for --rpc-allow.
std::string peer_of(uwsgi_request *req) {
    uwsgi_str addr{nullptr, 0};
    uint16_t port = 0;
    uwsgi_conn *conn = host->req_conn ? host->req_conn(req) : nullptr;
    if (!conn || host->conn_peer(conn, &addr, &port) != UWSGI_OK) return "?";
    return std::string(uwsgi::view(addr));
}

// ---- the extension --------------------------------------------------------------------------

int api_register(const char *name, uwsgi_rpc_function fn, void *fn_ctx) noexcept {
    try {
        std::string why;
        std::string_view n = name ? std::string_view(name) : std::string_view();
        int rc = rpc::Registry::process().add(n, fn, fn_ctx, &why);
        if (rc != UWSGI_OK) {
            log(UWSGI_LOG_ERROR, "cannot register RPC function " + quoted(n) + ": " + why);
            return rc;
        }
        int32_t worker = host ? host->worker_id() : 0;
        if (worker == 0)
            log(UWSGI_LOG_INFO, "registered shared RPC function " + quoted(n) +
                                    " (every worker forked from now on inherits it)");
        else
            log(UWSGI_LOG_INFO, "registered RPC function " + quoted(n) + " in worker " +
                                    std::to_string(worker) + " only");
        return UWSGI_OK;
    } catch (...) {
        return UWSGI_ERROR;
    }
}

int api_call_local(const char *name, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink,
                   void *sink_ctx) noexcept {
    try {
        std::string_view n = name ? std::string_view(name) : std::string_view();
        std::string result;
        switch (rpc::Registry::process().call(n, argc, argv, result)) {
            case rpc::Registry::Outcome::unknown:
                log(UWSGI_LOG_ERROR, "RPC function " + quoted(n) + " is not registered");
                return UWSGI_ERROR;
            case rpc::Registry::Outcome::failed:
                log(UWSGI_LOG_ERROR, "RPC function " + quoted(n) + " failed");
                return UWSGI_ERROR;
            case rpc::Registry::Outcome::ok:
                break;
        }
        if (sink && !result.empty()) sink(sink_ctx, result.data(), result.size());
        return UWSGI_OK;
    } catch (...) {
        log(UWSGI_LOG_ERROR, "RPC call failed: out of memory");
        return UWSGI_ERROR;
    }
}

int api_call_remote(const char *node, const char *name, uint8_t argc, const uwsgi_str *argv,
                    uwsgi_rpc_sink sink, void *sink_ctx) noexcept {
    if (!node || !*node) return api_call_local(name, argc, argv, sink, sink_ctx);
    try {
        std::string_view n = name ? std::string_view(name) : std::string_view();
        std::string result, why;
        int rc = rpc::call_remote(node, n, argc, argv, timeout_ms(), result, why, g_bounds);
        if (rc != UWSGI_OK) {
            log(UWSGI_LOG_ERROR, "RPC call of " + quoted(n) + " on " + node + " failed: " + why);
            return rc == UWSGI_ELIMIT ? UWSGI_ELIMIT : UWSGI_ERROR;
        }
        if (sink) sink(sink_ctx, result.data(), result.size());
        return UWSGI_OK;
    } catch (...) {
        log(UWSGI_LOG_ERROR, "RPC call failed: out of memory");
        return UWSGI_ERROR;
    }
}

const char *api_function_at(size_t index) noexcept {
    return rpc::Registry::process().name_at(index);
}

const uwsgi_rpc_api kApi = {
    sizeof(uwsgi_rpc_api), 0, api_register, api_call_local, api_call_remote, api_function_at,
};

// ---- the modifier1 173 handler --------------------------------------------------------------

// The whole request body; false when it is larger than an RPC block can be.
bool read_body(uwsgi_request *req, std::string &body) {
    char buf[16384];
    for (;;) {
        int64_t n = host->req_read(req, buf, sizeof buf);
        if (n < 0) return false;
        if (n == 0) return true;
        body.append(buf, size_t(n));
        if (body.size() > rpc::codec::kMaxBlock) return false;
    }
}

std::vector<uwsgi_str> args_of(const std::vector<std::string_view> &items) {
    std::vector<uwsgi_str> args;
    args.reserve(items.size());
    for (size_t i = 1; i < items.size(); ++i) args.push_back(uwsgi::str(items[i]));
    return args;
}

int http_answer(uwsgi_request *req, std::string_view status, std::string_view type,
                std::string_view body) {
    return uwsgi::respond(*host, req, status, body, type);
}

// The result's Content-Type: as uWSGI, the client's Accept when it names one concrete type,
// application/binary otherwise.
std::string_view result_type(std::string_view accept) {
    if (accept.empty() || accept.size() > 100) return "application/binary";
    for (char c : accept)  // one token like text/plain: no lists, wildcards or control bytes
        if (c <= ' ' || c >= 0x7f || c == ',' || c == ';' || c == '*') return "application/binary";
    return accept;
}

// modifier2 2: GET /func/arg1/arg2. The http plugin gives the request vars; through --socket
// (nginx uwsgi_modifier1 173, uwsgi_modifier2 2) the core hands the vars block over as the body.
int http_bridge(uwsgi_request *req) {
    uwsgi_str v{nullptr, 0};
    std::string body;
    std::string_view path, accept;
    if (host->req_var(req, "PATH_INFO", 9, &v) == UWSGI_OK) {
        path = uwsgi::view(v);
        accept = uwsgi::var(req, "HTTP_ACCEPT");
    } else {
        bool ok = read_body(req, body) &&
                  rpc::codec::for_each_var(body, [&](std::string_view k, std::string_view val) {
                      if (k == "PATH_INFO") path = val;
                      if (k == "HTTP_ACCEPT") accept = val;
                      return true;
                  });
        if (!ok) {
            log(UWSGI_LOG_WARN, "RPC over HTTP: malformed request vars");
            return http_answer(req, "400 Bad Request", "text/plain", "malformed request\n");
        }
    }
    std::vector<std::string_view> items;
    size_t i = 0;
    while (i < path.size()) {
        size_t end = path.find('/', i);
        if (end == std::string_view::npos) end = path.size();
        if (end > i) items.push_back(path.substr(i, end - i));
        i = end + 1;
    }
    if (items.empty())
        return http_answer(req, "404 Not Found", "text/plain",
                           "no RPC function named: use /function/arg1/arg2...\n");
    if (items.size() > rpc::codec::kMaxItems)
        return http_answer(req, "400 Bad Request", "text/plain", "more than 254 arguments\n");
    std::vector<uwsgi_str> args = args_of(items);
    std::string result;
    switch (rpc::Registry::process().call(items[0], uint8_t(args.size()), args.data(), result)) {
        case rpc::Registry::Outcome::unknown:
            log(UWSGI_LOG_WARN, "RPC over HTTP: function " + quoted(items[0]) +
                                    " is not registered; answering 404");
            return http_answer(req, "404 Not Found", "text/plain", "unknown RPC function\n");
        case rpc::Registry::Outcome::failed:
            log(UWSGI_LOG_ERROR,
                "RPC over HTTP: function " + quoted(items[0]) + " failed; answering 500");
            return http_answer(req, "500 Internal Server Error", "text/plain",
                               "RPC function failed\n");
        case rpc::Registry::Outcome::ok:
            break;
    }
    return http_answer(req, "200 OK", result_type(accept), result);
}

int request(uwsgi_request *req) {
    uint8_t modifier2 = host->req_modifier2(req);
    if (!g_allow.empty()) {
        std::string peer = peer_of(req);
        if (!g_allow.allows(peer)) {
            log(UWSGI_LOG_WARN, "RPC request from " + peer + " refused: not in --rpc-allow");
            if (modifier2 == rpc::codec::kModifier2Http)
                return http_answer(req, "403 Forbidden", "text/plain", "RPC not allowed\n");
            return UWSGI_OK;  // as any refused RPC: closed without an answer
        }
    }
    if (modifier2 == rpc::codec::kModifier2Http) return http_bridge(req);
    if (modifier2 != rpc::codec::kModifier2Framed && modifier2 != rpc::codec::kModifier2Raw) {
        log(UWSGI_LOG_WARN, "RPC request with modifier2 " + std::to_string(modifier2) +
                                " is not supported (0 framed, 1 raw, 2 HTTP); connection closed");
        return UWSGI_OK;
    }
    std::string body;
    if (!read_body(req, body)) {
        log(UWSGI_LOG_WARN, "RPC request body could not be read or is over 65535 bytes; "
                            "connection closed");
        return UWSGI_OK;
    }
    if (body.empty()) {
        log(UWSGI_LOG_WARN, "empty RPC request; connection closed");
        return UWSGI_OK;
    }
    std::vector<std::string_view> items;
    std::string why;
    if (!rpc::codec::decode_items(body, items, &why)) {
        log(UWSGI_LOG_WARN, "malformed RPC request: " + why + "; connection closed");
        return UWSGI_OK;
    }
    if (items[0].empty()) {
        log(UWSGI_LOG_WARN, "malformed RPC request: empty function name; connection closed");
        return UWSGI_OK;
    }
    std::vector<uwsgi_str> args = args_of(items);
    std::string result;
    switch (rpc::Registry::process().call(items[0], uint8_t(args.size()), args.data(), result)) {
        case rpc::Registry::Outcome::unknown:
            log(UWSGI_LOG_WARN, "RPC function " + quoted(items[0]) +
                                    " is not registered; connection closed");
            return UWSGI_OK;
        case rpc::Registry::Outcome::failed:
            log(UWSGI_LOG_ERROR, "RPC function " + quoted(items[0]) + " failed; connection closed");
            return UWSGI_OK;
        case rpc::Registry::Outcome::ok:
            break;
    }
    if (result.empty()) {
        // uWSGI clients take an empty answer for a failure, so none is sent.
        log(UWSGI_LOG_WARN, "RPC function " + quoted(items[0]) +
                                " returned an empty result; connection closed");
        return UWSGI_OK;
    }
    int r = UWSGI_OK;
    if (modifier2 == rpc::codec::kModifier2Framed) {
        std::string prefix = rpc::codec::answer_prefix(result.size());
        r = host->resp_write(req, prefix.data(), prefix.size());
    }
    if (r == UWSGI_OK) r = host->resp_write(req, result.data(), result.size());
    if (r != UWSGI_OK)  // the peer is gone; nothing more (no HTTP 500) may go to it
        log(UWSGI_LOG_WARN, "could not send the answer of RPC function " + quoted(items[0]) +
                                ": the client went away or timed out");
    return UWSGI_OK;
}

// ---- the descriptor -------------------------------------------------------------------------

int init(const uwsgi_host *h) {
    host = h;
    uwsgi::Host::set(h);
    std::string why;
    if (!load_options(why)) {
        log(UWSGI_LOG_ERROR, why);
        return 1;
    }
    return 0;
}

const void *get_extension(const char *id) {
    if (id && std::string_view(id) == UWSGI_RPC_EXTENSION) return &kApi;
    return nullptr;
}

const uwsgi_plugin descriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "rpc",
    .version = "1.0.0",
    .description =
        "RPC registry (uwsgi.rpc/1), modifier1 173 server and client, HTTP bridge (modifier2 2)",
    .options = kOptions,
    .init = init,
    .modifier1 = rpc::codec::kModifier1,
    .request = request,
    .get_extension = get_extension,
    .provides = UWSGI_RPC_EXTENSION,  // activated when a plugin asks for it (e.g. pypy)
};

}  // namespace

UWSGI_PLUGIN_EXPORT(rpc, descriptor)
