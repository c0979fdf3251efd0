// One HTTP/1.x connection: reads request heads and bodies, frames responses, decides keep-alive.
// Created once per accepted connection (conn_open) and reused for all of its requests, so the
// steady state allocates nothing: the input buffer, header table and scratch strings keep their
// capacity and the Beast parser is re-constructed in place.
#pragma once

#include "config.hpp"
#include "request_parser.hpp"
#include "request_vars.hpp"
#include "response_head.hpp"

#include <uwsgi/plugin.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace uwsgi_http {

struct ProxyHeader;

class Connection {
public:
    Connection(const uwsgi_host &host, const Config &cfg, uwsgi_conn *conn);

    int read_request(uwsgi_request *req);
    int64_t read_body(uwsgi_request *req, void *buf, size_t len);
    int write_head(uwsgi_request *req, uwsgi_str status, const uwsgi_header *headers,
                   size_t nheaders);
    int write_body(uwsgi_request *req, const void *buf, size_t len);
    int finish(uwsgi_request *req);
    // The app failed after its response started: close without completing the response.
    void abort(uwsgi_request *req);
    // The file's bytes as body with sendfile(2) when the framing allows (Content-Length);
    // 1 declines (chunked), so the core falls back to write_body.
    int send_file(uwsgi_request *req, int fd, int64_t offset, int64_t count);
    int has_pending() const;

    // Responses up to this size (head included) leave in one conn_write.
    static constexpr size_t coalesce_limit = 16 * 1024;
    // An unread request body up to this size is read and dropped to keep the connection;
    // a larger one closes it.
    static constexpr uint64_t drain_limit = 64 * 1024;

private:
    static int add_var(void *ctx, const char *k, size_t kl, const char *v, size_t vl);
    int refuse(const Refusal &r);
    void log_refusal(const Refusal &r);
    int flush();
    int send_continue();
    int64_t read_chunked(char *out, size_t len);
    int64_t fail_body(int64_t rc);
    bool body_too_slow();
    bool drain_body();
    void linger();
    int read_proxy_header(int64_t deadline);
    int read_clear_proxy_header(int64_t deadline);
    void take_proxy_header(const ProxyHeader &h);
    int refuse_proxy_header();
    void compact();

    const uwsgi_host &host_;
    const Config &cfg_;
    uwsgi_conn *conn_;

    std::unique_ptr<char[]> buf_;
    size_t cap_;
    size_t begin_ = 0, end_ = 0;  // unparsed input is buf_[begin_, end_)
    std::vector<HeaderField> headers_;
    std::optional<RequestParser> parser_;
    VarsScratch scratch_;
    std::string out_;  // response bytes not yet written (head, chunk framing, small bodies)
    std::string remote_addr_, remote_port_, local_addr_, local_port_;

    bool proxy_header_due_;  // --enable-proxy-protocol, until the header was read

    uwsgi_request *req_ = nullptr;
    // per request
    RequestFacts facts_;
    bool chunked_in_ = false;
    uint64_t body_remaining_ = 0;  // Content-Length bodies
    bool expect_continue_ = false;
    bool continue_sent_ = false;
    bool body_failed_ = false;
    Refusal body_refusal_;
    int64_t body_deadline_ms_ = 0;  // 0: none
    ResponsePlan plan_;
    bool head_built_ = false;
    uint64_t body_sent_ = 0;
    bool must_close_ = false;
    bool overflow_logged_ = false;
    bool response_started_ = false;  // response bytes were written
    bool truncated_ = false;         // the body failed after the response started
};

}  // namespace uwsgi_http
