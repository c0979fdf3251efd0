// rpcdemo: a native plugin that uses the "uwsgi.rpc/1" extension the way any plugin would, so the
// tests (and a curious user) can drive local and remote RPC calls with any RPC client.
//
// Functions registered in the master (so every worker has them):
//   hello A B...        "Hello from C++ A B..."
//   reverse A           A's bytes reversed
//   args A B...         "N:A|B|..." (how many arguments arrived, and which)
//   big N               N bytes: byte i is i % 256
//   empty               an empty result
//   fail                fails
//   whoami              "worker W pid P"
//   functions           the names this process has registered, comma-separated
//   register NAME       registers NAME (same as hello) in the calling worker only
//   local FUNC A...     calls FUNC through call_local
//   call NODE FUNC A... calls FUNC on NODE through call_remote
//   call_gen NODE FUNC NARGS SIZE   calls FUNC on NODE with NARGS arguments of SIZE bytes each
//   raise SIG           raises uwsgi signal SIG through the host (a Python handler may run it)
// The call* functions answer "ERROR <code>" when the call fails, so a test can see the code.
// Each worker also registers only_worker_W after fork.
// With a master, uwsgi signal 200 gets a native handler (target: every worker) that logs
// "rpcdemo: signal 200 in worker W", so a Python app's uwsgi.signal(200) reaches C++.
#include <unistd.h>
#include <uwsgi/rpc.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <uwsgi/plugin.hpp>
#include <vector>

namespace {

const uwsgi_host *host = nullptr;
const uwsgi_rpc_api *rpc = nullptr;

using Args = std::vector<std::string_view>;

Args args_of(uint8_t argc, const uwsgi_str *argv) {
    Args a;
    for (uint8_t i = 0; i < argc; ++i) a.push_back(uwsgi::view(argv[i]));
    return a;
}

void put(uwsgi_rpc_sink sink, void *ctx, std::string_view s) {
    if (!s.empty()) sink(ctx, s.data(), s.size());
}

std::string joined(const Args &a, std::string_view sep, size_t from = 0) {
    std::string out;
    for (size_t i = from; i < a.size(); ++i) {
        if (i > from) out += sep;
        out += a[i];
    }
    return out;
}

size_t number(std::string_view s) {
    return size_t(std::strtoull(std::string(s).c_str(), nullptr, 10));
}

void append_to_string(void *ctx, const char *data, size_t len) {
    static_cast<std::string *>(ctx)->append(data, len);
}

int hello(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    put(sink, ctx, "Hello from C++ " + joined(args_of(argc, argv), " "));
    return UWSGI_OK;
}

int reverse(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    std::string s = joined(args_of(argc, argv), " ");
    std::reverse(s.begin(), s.end());
    put(sink, ctx, s);
    return UWSGI_OK;
}

int args(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    put(sink, ctx, std::to_string(argc) + ":" + joined(args_of(argc, argv), "|"));
    return UWSGI_OK;
}

int big(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    if (argc < 1) return UWSGI_ERROR;
    size_t n = number(uwsgi::view(argv[0]));
    std::string chunk(65536, '\0');
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = char(i % 256);
    // Several sink calls on purpose: the pieces must concatenate.
    while (n > 0) {
        size_t k = std::min(n, chunk.size());
        sink(ctx, chunk.data(), k);
        n -= k;
    }
    return UWSGI_OK;
}

int empty(void *, uint8_t, const uwsgi_str *, uwsgi_rpc_sink, void *) { return UWSGI_OK; }

int fail(void *, uint8_t, const uwsgi_str *, uwsgi_rpc_sink sink, void *ctx) {
    put(sink, ctx, "partial output that must not reach the client");
    static const char msg[] = "rpcdemo: 'fail' fails on purpose";
    host->log(UWSGI_LOG_ERROR, "rpcdemo", msg, sizeof msg - 1);
    return UWSGI_ERROR;
}

int whoami(void *, uint8_t, const uwsgi_str *, uwsgi_rpc_sink sink, void *ctx) {
    put(sink, ctx,
        "worker " + std::to_string(host->worker_id()) + " pid " + std::to_string(getpid()));
    return UWSGI_OK;
}

int functions(void *, uint8_t, const uwsgi_str *, uwsgi_rpc_sink sink, void *ctx) {
    std::string out;
    for (size_t i = 0; const char *name = rpc->function_at(i); ++i) {
        if (i) out += ',';
        out += name;
    }
    put(sink, ctx, out);
    return UWSGI_OK;
}

int register_here(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    if (argc < 1) return UWSGI_ERROR;
    std::string name(uwsgi::view(argv[0]));
    int rc = rpc->register_function(name.c_str(), hello, nullptr);
    if (rc != UWSGI_OK) return rc;
    put(sink, ctx, "registered " + name + " in worker " + std::to_string(host->worker_id()));
    return UWSGI_OK;
}

// Result or "ERROR <code>".
void report(int rc, const std::string &result, uwsgi_rpc_sink sink, void *ctx) {
    put(sink, ctx, rc == UWSGI_OK ? result : "ERROR " + std::to_string(rc));
}

int local(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    if (argc < 1) return UWSGI_ERROR;
    std::string name(uwsgi::view(argv[0])), result;
    int rc = rpc->call_local(name.c_str(), uint8_t(argc - 1), argv + 1, append_to_string, &result);
    report(rc, result, sink, ctx);
    return UWSGI_OK;
}

int call(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    if (argc < 2) return UWSGI_ERROR;
    std::string node(uwsgi::view(argv[0])), name(uwsgi::view(argv[1])), result;
    int rc = rpc->call_remote(node.c_str(), name.c_str(), uint8_t(argc - 2), argv + 2,
                              append_to_string, &result);
    report(rc, result, sink, ctx);
    return UWSGI_OK;
}

int call_gen(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    if (argc < 4) return UWSGI_ERROR;
    std::string node(uwsgi::view(argv[0])), name(uwsgi::view(argv[1])), result;
    size_t nargs = number(uwsgi::view(argv[2])), size = number(uwsgi::view(argv[3]));
    if (nargs > 255) nargs = 255;  // the API's argc is 8 bits: 255 is one over the limit
    std::string arg(size, 'x');
    std::vector<uwsgi_str> gen(nargs, uwsgi::str(arg));
    int rc = rpc->call_remote(node.c_str(), name.c_str(), uint8_t(nargs), gen.data(),
                              append_to_string, &result);
    report(rc, result, sink, ctx);
    return UWSGI_OK;
}

int raise_signal(void *, uint8_t argc, const uwsgi_str *argv, uwsgi_rpc_sink sink, void *ctx) {
    if (argc < 1) return UWSGI_ERROR;
    int rc = host->raise_signal(uint8_t(number(uwsgi::view(argv[0]))));
    put(sink, ctx, rc == UWSGI_OK ? "ok" : "ERROR " + std::to_string(rc));
    return UWSGI_OK;
}

constexpr uint8_t kNativeSignal = 200;

void on_signal(void *, uint8_t sig) {
    std::string line = "rpcdemo: signal " + std::to_string(sig) + " in worker " +
                       std::to_string(host->worker_id());
    host->log(UWSGI_LOG_INFO, "rpcdemo", line.data(), line.size());
}

int init(const uwsgi_host *h) {
    host = h;
    uwsgi::Host::set(h);
    rpc = static_cast<const uwsgi_rpc_api *>(h->get_extension(UWSGI_RPC_EXTENSION));
    if (!rpc || rpc->struct_size < sizeof(uwsgi_rpc_api)) {
        static const char msg[] = "the uwsgi.rpc/1 extension is missing: activate --plugin rpc";
        h->log(UWSGI_LOG_ERROR, "rpcdemo", msg, sizeof msg - 1);
        return 1;
    }
    return 0;
}

int load_apps() {
    struct {
        const char *name;
        uwsgi_rpc_function fn;
    } table[] = {
        {"hello", hello},   {"reverse", reverse},     {"args", args},
        {"big", big},       {"empty", empty},         {"fail", fail},
        {"whoami", whoami}, {"functions", functions}, {"register", register_here},
        {"local", local},   {"call", call},           {"call_gen", call_gen},
        {"raise", raise_signal},
    };
    for (auto &f : table)
        if (rpc->register_function(f.name, f.fn, nullptr) != UWSGI_OK) return -1;
    if (host->opt_get("master") && host->register_signal(kNativeSignal, "workers", on_signal,
                                                          nullptr) != UWSGI_OK)
        return -1;
    // The functions are this plugin's app: a server that only serves them needs no other.
    host->register_app("rpcdemo", "native RPC functions hello, reverse, call...");
    return 1;
}

void post_fork() {
    std::string name = "only_worker_" + std::to_string(host->worker_id());
    rpc->register_function(name.c_str(), whoami, nullptr);
}

const uwsgi_plugin descriptor = {
    UWSGI_PLUGIN_HEADER_FIELDS,
    .name = "rpcdemo",
    .version = "1.0.0",
    .description =
        "native RPC functions (hello, reverse, call...) that exercise the uwsgi.rpc/1 extension",
    .depends = "rpc",
    .init = init,
    .load_apps = load_apps,
    .post_fork = post_fork,
    .modifier1 = -1,  // none: it only registers functions
};

}  // namespace

UWSGI_PLUGIN_EXPORT(rpcdemo, descriptor)
