// A native request handler, and the model to copy for a plugin written in C++: it answers
// "Hello World" on any path, the request vars as text on /vars, echoes the body on /echo, and
// on /sleep?MS waits MS milliseconds first (for timeout, reload and harakiri tests); /crash
// raises SIGSEGV, as a crashing native handler would (for the reliability tests).
#include <uwsgi/plugin.hpp>

#include <csignal>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

const uwsgi_host *host = nullptr;

int init(const uwsgi_host *h) {
    host = h;
    uwsgi::Host::set(h);
    return 0;
}

int load_apps() {
    host->register_app("example", "native hello/vars/echo handler");
    return 1;
}

int echo(uwsgi_request *req) {
    // Stream the body back without buffering it: the length is the request's own.
    std::string_view length = uwsgi::var(req, "CONTENT_LENGTH");
    uwsgi_header headers[2] = {{uwsgi::str("Content-Type"), uwsgi::str("application/octet-stream")},
                               {uwsgi::str("Content-Length"), uwsgi::str(length)}};
    size_t n = length.empty() ? 1 : 2;  // chunked request bodies are echoed chunked
    if (int r = host->resp_start(req, "200 OK", 6, headers, n); r != UWSGI_OK) return r;
    char buf[65536];
    for (;;) {
        int64_t got = host->req_read(req, buf, sizeof buf);
        if (got < 0) return UWSGI_EPEER;
        if (got == 0) return UWSGI_OK;
        if (int r = host->resp_write(req, buf, size_t(got)); r != UWSGI_OK) return r;
    }
}

int request(uwsgi_request *req) {
    std::string_view path = uwsgi::var(req, "PATH_INFO");
    if (path == "/echo") return echo(req);
    if (path == "/crash") raise(SIGSEGV);
    if (path == "/sleep") {
        std::string ms(uwsgi::var(req, "QUERY_STRING"));
        usleep(useconds_t(std::strtoul(ms.c_str(), nullptr, 10) % 600000) * 1000);
    }
    if (path == "/vars") {
        std::string text;
        size_t n = host->req_var_count(req);
        for (size_t i = 0; i < n; ++i) {
            uwsgi_str k, v;
            host->req_var_at(req, i, &k, &v);
            text.append(k.ptr, k.len).append("=").append(v.ptr, v.len).append("\n");
        }
        return uwsgi::respond(*host, req, "200 OK", text);
    }
    return uwsgi::respond(*host, req, "200 OK", "Hello World");
}

const uwsgi_plugin descriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "example",
    .version = "1.0.0",
    .description = "native example handler (modifier1 0): hello, /vars, /echo",
    .init = init,
    .load_apps = load_apps,
    .modifier1 = 0,
    .request = request,
};

}  // namespace

UWSGI_PLUGIN_EXPORT(example, descriptor)
