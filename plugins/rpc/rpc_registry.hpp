// The table of RPC functions of this process. Plain process memory: what the master registers
// before fork is inherited by every worker; what a worker registers stays in that worker.
#pragma once

#include <uwsgi/rpc.h>

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace rpc {

class Registry {
public:
    enum class Outcome { ok, unknown, failed };

    // The process-wide table the plugin serves.
    static Registry &process();

    // Registers or replaces `name`. UWSGI_ELIMIT (reason in why) for an empty name or one over
    // 255 bytes, UWSGI_ERROR for a null function.
    int add(std::string_view name, uwsgi_rpc_function fn, void *fn_ctx, std::string *why);

    // Runs `name` and collects its result. The function runs without the lock held, so it may
    // itself call or register functions.
    Outcome call(std::string_view name, uint8_t argc, const uwsgi_str *argv,
                 std::string &result) const;

    bool contains(std::string_view name) const;

    // Registration order; the pointer stays valid for the life of the process.
    const char *name_at(size_t index) const;
    size_t size() const;

private:
    struct Entry {
        uwsgi_rpc_function fn;
        void *ctx;
    };
    // A plain mutex, not a shared one: glibc's rwlock prefers readers, so steady calls could
    // starve a register() for ever. Calls hold it only to look the function up.
    mutable std::mutex mu_;
    std::map<std::string, Entry, std::less<>> functions_;
    std::deque<std::string> names_;  // a deque never moves its strings, so name_at() is stable
};

}  // namespace rpc
