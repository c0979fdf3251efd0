#include "request_vars.hpp"

#include "path.hpp"
#include "text.hpp"

#include <uwsgi/plugin.h>

namespace uwsgi_http {
namespace {

// Headers never passed to the app:
//  - a name with '_' would alias a '-' name once mapped (X_Forwarded_For -> HTTP_X_FORWARDED_FOR
//    spoofing the proxy's header); nginx drops them by default for the same reason;
//  - "Proxy" would become HTTP_PROXY, which CGI-style apps read as their outgoing proxy (httpoxy).
bool dropped_header(std::string_view name) {
    return name.find('_') != std::string_view::npos || iequals(name, "proxy");
}

struct Emitter {
    AddVarFn fn;
    void *ctx;
    size_t count = 0;
    size_t max;
    Refusal refusal;
    bool add(std::string_view k, std::string_view v) {
        if (refusal) return false;
        if (max && ++count > max) {
            refusal = {431, "more request vars than max-vars"};
            return false;
        }
        int rc = fn(ctx, k.data(), k.size(), v.data(), v.size());
        if (rc == UWSGI_ELIMIT) {
            refusal = {431, "request vars exceed what buffer-size/max-vars allow"};
            return false;
        }
        if (rc != UWSGI_OK) {
            refusal = {500, "the core refused a request var"};
            return false;
        }
        return true;
    }
};

}  // namespace

void header_var_name(std::string_view header, std::string &out) {
    out.clear();
    if (iequals(header, "content-length")) {
        out = "CONTENT_LENGTH";
        return;
    }
    if (iequals(header, "content-type")) {
        out = "CONTENT_TYPE";
        return;
    }
    out.append("HTTP_");
    for (char c : header) {
        if (c == '-')
            c = '_';
        else if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 32);
        out.push_back(c);
    }
}

std::string_view host_without_port(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    auto colon = host.find(':');
    return colon == std::string_view::npos ? host : host.substr(0, colon);
}

Refusal build_vars(const RequestHead &head, const ConnAddrs &addrs, size_t max_vars,
                   VarsScratch &scratch, AddVarFn add_var, void *ctx) {
    Emitter e{add_var, ctx, 0, max_vars, {}};

    // request-target: origin-form "/p?q", absolute-form "http://h/p?q", or "*" for OPTIONS
    std::string_view target = head.target;
    // A #fragment is the client's business (RFC 9110 4.2.5): it reaches neither PATH_INFO nor
    // QUERY_STRING, as nginx strips it from $uri and $args (REQUEST_URI keeps the line as sent,
    // as nginx's $request_uri does).
    target = target.substr(0, target.find('#'));
    std::string_view authority;
    if (target.size() > 7 && (iequals(target.substr(0, 7), "http://") ||
                              (target.size() > 8 && iequals(target.substr(0, 8), "https://")))) {
        auto rest = target.substr(target.find("//") + 2);
        auto slash = rest.find_first_of("/?");
        authority = rest.substr(0, slash);
        target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
        if (target.front() == '?') return {400, "absolute-form target without a path"};
    }
    std::string_view raw_path = target, query;
    auto qmark = target.find('?');
    if (qmark != std::string_view::npos) {
        raw_path = target.substr(0, qmark);
        query = target.substr(qmark + 1);
    }

    std::string_view path_info;
    if (raw_path == "*" && iequals(head.method, "OPTIONS")) {
        path_info = raw_path;
    } else {
        switch (normalize_path(raw_path, scratch.path)) {
        case PathResult::ok:
            path_info = scratch.path;
            break;
        case PathResult::bad_escape_nul:
            return {400, "NUL byte (%00) in the path"};
        case PathResult::not_origin_form:
            return {400, "request-target is not a path"};
        }
    }

    scratch.protocol.assign("HTTP/");
    scratch.protocol.push_back(static_cast<char>('0' + head.version / 10));
    scratch.protocol.push_back('.');
    scratch.protocol.push_back(static_cast<char>('0' + head.version % 10));

    std::string_view host = authority;
    if (host.empty()) {
        for (const auto &h : *head.headers)
            if (iequals(h.name, "host")) {
                host = h.value;
                break;
            }
    }
    std::string_view server_name = host.empty() ? addrs.local_addr : host_without_port(host);

    e.add("REQUEST_METHOD", head.method) && e.add("REQUEST_URI", head.target) &&
        e.add("PATH_INFO", path_info) && e.add("QUERY_STRING", query) &&
        e.add("SCRIPT_NAME", {}) && e.add("SERVER_PROTOCOL", scratch.protocol) &&
        e.add("SERVER_NAME", server_name) && e.add("SERVER_PORT", addrs.local_port) &&
        e.add("REMOTE_ADDR", addrs.remote_addr) && e.add("REMOTE_PORT", addrs.remote_port);
    if (e.refusal) return e.refusal;

    // Headers in arrival order; a repeated name is emitted once, at its first position, with its
    // values joined by ", " (RFC 9110 5.3) -- "; " for Cookie, the separator cookies use.
    const auto &hs = *head.headers;
    for (size_t i = 0; i < hs.size(); ++i) {
        const auto &h = hs[i];
        if (dropped_header(h.name)) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; ++j) seen = iequals(hs[j].name, h.name);
        if (seen) continue;
        std::string_view value = h.value;
        for (size_t j = i + 1; j < hs.size(); ++j) {
            if (!iequals(hs[j].name, h.name)) continue;
            if (value.data() != scratch.value.data()) scratch.value.assign(h.value);
            scratch.value.append(iequals(h.name, "cookie") ? "; " : ", ");
            scratch.value.append(hs[j].value);
            value = scratch.value;
        }
        header_var_name(h.name, scratch.key);
        char digits[24];
        if (scratch.key == "CONTENT_LENGTH") {
            // Beast accepted it only if every copy agrees ("5, 5"): pass the one number
            char *end = digits + sizeof digits, *p = end;
            uint64_t n = head.content_length;
            do *--p = static_cast<char>('0' + n % 10);
            while (n /= 10);
            value = std::string_view(p, static_cast<size_t>(end - p));
        }
        if (!e.add(scratch.key, value)) return e.refusal;
    }
    return {};
}

}  // namespace uwsgi_http
