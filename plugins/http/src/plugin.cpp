// The http plugin's descriptor: options, init, and the uwsgi_protocol table for --http-socket.
// Every entry point is noexcept and turns a C++ failure into a status code.
#include "config.hpp"
#include "connection.hpp"
#include "router.hpp"

#include <uwsgi/plugin.hpp>

#include <cstddef>
#include <new>
#include <string>

namespace {

using uwsgi_http::Config;
using uwsgi_http::Connection;

const uwsgi_host *g_host = nullptr;

void log_error(const std::string &msg) {
    if (g_host) g_host->log(UWSGI_LOG_ERROR, "http", msg.data(), msg.size());
}

Config g_config;
uwsgi_http::RouterConfig g_router;
std::vector<int> g_router_fds;

// The router process (host->register_process): the workers' address is known only now, after
// the core bound its sockets.
int router_run(void *, int32_t index) noexcept {
    try {
        std::vector<std::string> backends = g_router.to;
        int64_t port = 0;
        if (backends.empty() && g_host->opt_count("socket") > 0)
            backends.push_back(g_host->opt_at("socket", 0));
        else if (backends.empty() && g_host->setting("router-socket-port", &port) == UWSGI_OK)
            backends.push_back("127.0.0.1:" + std::to_string(port));
        if (backends.empty()) {
            log_error("router: no worker socket to pass requests to");
            return 1;
        }
        return uwsgi_http::run_router(*g_host, g_router, g_router_fds, backends, index);
    } catch (const std::exception &e) {
        log_error(std::string("router failed: ") + e.what());
        return 1;
    }
}

void router_stop(void *) noexcept { uwsgi_http::stop_router(); }

// --http: binds the router's addresses now (a busy port stops start-up) and registers its
// processes with the master.
bool start_router(const uwsgi_host *host, std::string &error) {
    if (!uwsgi_http::load_router_config(*host, g_router, error)) return false;
    if (g_router.listen.empty()) return true;
    if (host->struct_size < offsetof(uwsgi_host, process_kind) + sizeof host->process_kind ||
        !host->register_process) {
        error = "--" + g_router.listen[0].option +
                ": this core cannot run a router process (it has no register_process)";
        return false;
    }
    if (!uwsgi_http::bind_router_sockets(*host, g_router, g_router_fds, error)) return false;
    static const uwsgi_process_kind kind = {
        .struct_size = sizeof(uwsgi_process_kind),
        .count = g_router.processes,
        .name = "http",
        .run = router_run,
        .stop = router_stop,
        .ctx = nullptr,
    };
    if (host->register_process(&kind) != UWSGI_OK) {
        error = "--" + g_router.listen[0].option +
                ": the router process could not be registered (it needs --master)";
        return false;
    }
    return true;
}

const uwsgi_option kOptions[] = {
    {.name = "http-socket",
     .kind = UWSGI_OPT_LIST,
     .metavar = "ADDR",
     .help = "serve HTTP/1.1 on ADDR (host:port, :port or a UNIX path)"},
    {.name = "http-socket-modifier1",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "N",
     .help = "modifier1 of requests from --http-socket (default 0)"},
    {.name = "http-socket-modifier2",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "N",
     .help = "modifier2 of requests from --http-socket (default 0)"},
    {.name = "http-body-timeout",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "SECS",
     .help = "the most a request body may take to arrive (default 120, 0: no limit); 408 past it"},
    {.name = "enable-proxy-protocol",
     .kind = UWSGI_OPT_FLAG,
     .help = "every --http-socket connection starts with a PROXY protocol v1 or v2 header "
             "(HAProxy, AWS ELB/NLB): its source address is the request's REMOTE_ADDR"},
    {.name = "http",
     .kind = UWSGI_OPT_LIST,
     .metavar = "ADDR",
     .help = "an HTTP router process on ADDR in front of the workers (uwsgi protocol to them); "
             "needs --master"},
    {.name = "https",
     .kind = UWSGI_OPT_LIST,
     .metavar = "ADDR,CERT,KEY[,CIPHERS,CA]",
     .help = "the router also serves HTTPS on ADDR (TLS ends in the router): PEM certificate and "
             "key, optional OpenSSL cipher list and client CA ('!CA': a client certificate is "
             "required); needs --master"},
    {.name = "http-to",
     .kind = UWSGI_OPT_LIST,
     .metavar = "ADDR",
     .help = "the router passes requests to these uwsgi sockets in turn (default: the workers' "
             "first --socket, else one on 127.0.0.1 bound for it)"},
    {.name = "http-processes",
     .aliases = "http-workers",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "N",
     .help = "router processes (default 1)"},
    {.name = "http-timeout",
     .kind = UWSGI_OPT_VALUE,
     .metavar = "SECS",
     .help = "the router closes a client or gives up on a worker silent this long (default 60)"},
    {.name = "http-keepalive",
     .kind = UWSGI_OPT_OPTIONAL,
     .metavar = "[N]",
     .help = "the router keeps HTTP/1.1 client connections open between requests"},
    {.name = "http-auto-chunked",
     .kind = UWSGI_OPT_FLAG,
     .help = "the router chunk-encodes answers without Content-Length, so keep-alive survives them"},
    {.name = "http-enable-proxy-protocol",
     .kind = UWSGI_OPT_OPTIONAL,
     .help = "router connections may start with a PROXY protocol v1 or v2 header (on --https "
             "addresses in clear, before TLS): its source address is REMOTE_ADDR"},
    {.name = "add-header",
     .kind = UWSGI_OPT_LIST,
     .metavar = "\"NAME: VALUE\"",
     .help = "add a header to every HTTP response"},
    {},
};


int http_init(const uwsgi_host *host) noexcept {
    g_host = host;
    uwsgi::Host::set(host);
    try {
        std::string error;
        if (!uwsgi_http::load_config(*host, g_config, error) || !start_router(host, error)) {
            log_error(error);
            return 1;
        }
    } catch (const std::exception &e) {
        log_error(std::string("init failed: ") + e.what());
        return 1;
    }
    return 0;
}

void *http_conn_open(uwsgi_conn *conn) noexcept {
    if (!g_host) return nullptr;
    try {
        return new Connection(*g_host, g_config, conn);
    } catch (...) {
        log_error("cannot allocate a connection");
        return nullptr;
    }
}

void http_conn_close(void *state) noexcept { delete static_cast<Connection *>(state); }

// The Connection methods do not throw (no allocation after conn_open); the guards are for the
// unexpected, so one bad request never takes a worker down.
int http_read_request(void *state, uwsgi_request *req) noexcept {
    if (!state) return UWSGI_ERROR;  // conn_open failed; the core then closes the connection
    try {
        return static_cast<Connection *>(state)->read_request(req);
    } catch (...) {
        return UWSGI_ERROR;
    }
}

int64_t http_read_body(void *state, uwsgi_request *req, void *buf, size_t len) noexcept {
    try {
        return static_cast<Connection *>(state)->read_body(req, buf, len);
    } catch (...) {
        return UWSGI_ERROR;
    }
}

int http_write_head(void *state, uwsgi_request *req, uwsgi_str status, const uwsgi_header *headers,
                    size_t nheaders) noexcept {
    try {
        return static_cast<Connection *>(state)->write_head(req, status, headers, nheaders);
    } catch (...) {
        return UWSGI_ERROR;
    }
}

int http_write_body(void *state, uwsgi_request *req, const void *buf, size_t len) noexcept {
    try {
        return static_cast<Connection *>(state)->write_body(req, buf, len);
    } catch (...) {
        return UWSGI_ERROR;
    }
}

int http_finish(void *state, uwsgi_request *req) noexcept {
    if (!state) return 0;
    try {
        return static_cast<Connection *>(state)->finish(req);
    } catch (...) {
        return 0;
    }
}

int http_has_pending(void *state) noexcept {
    if (!state) return 0;
    return static_cast<Connection *>(state)->has_pending();
}

void http_abort(void *state, uwsgi_request *req) noexcept {
    if (!state) return;
    try {
        static_cast<Connection *>(state)->abort(req);
    } catch (...) {
    }
}

int http_sendfile(void *state, uwsgi_request *req, int fd, int64_t offset,
                  int64_t count) noexcept {
    if (!state) return UWSGI_ERROR;
    try {
        return static_cast<Connection *>(state)->send_file(req, fd, offset, count);
    } catch (...) {
        return UWSGI_ERROR;
    }
}

const uwsgi_protocol kProtocol = {
    .struct_size = static_cast<uint32_t>(sizeof(uwsgi_protocol)),
    .name = "http",
    .socket_option = "http-socket",
    .conn_open = http_conn_open,
    .conn_close = http_conn_close,
    .read_request = http_read_request,
    .read_body = http_read_body,
    .write_head = http_write_head,
    .write_body = http_write_body,
    .finish = http_finish,
    .has_pending = http_has_pending,
    .abort = http_abort,
    .sendfile = http_sendfile,
};

const uwsgi_plugin kPlugin = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "http",
    .version = "0.1.0",
    .description = "HTTP/1.1 socket protocol (--http-socket) and router (--http)",
    .options = kOptions,
    .init = http_init,
    .modifier1 = -1,
    .protocol = &kProtocol,
};

}  // namespace

UWSGI_PLUGIN_EXPORT(http, kPlugin)
