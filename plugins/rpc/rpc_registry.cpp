#include "rpc_registry.hpp"

#include <mutex>

namespace rpc {

namespace {

struct Collector {
    std::string *out;
    bool overflow = false;
};

// A C callback: nothing may escape it, so a failed allocation is remembered instead.
void collect(void *ctx, const char *data, size_t len) noexcept {
    auto *c = static_cast<Collector *>(ctx);
    if (c->overflow || len == 0) return;
    try {
        c->out->append(data, len);
    } catch (...) {
        c->overflow = true;
    }
}

}  // namespace

Registry &Registry::process() {
    static Registry r;
    return r;
}

int Registry::add(std::string_view name, uwsgi_rpc_function fn, void *fn_ctx, std::string *why) {
    if (name.empty() || name.size() > UWSGI_RPC_MAX_NAME) {
        if (why)
            *why = "a function name must have 1.." + std::to_string(UWSGI_RPC_MAX_NAME) +
                   " bytes, not " + std::to_string(name.size());
        return UWSGI_ELIMIT;
    }
    if (!fn) {
        if (why) *why = "no function given";
        return UWSGI_ERROR;
    }
    std::lock_guard lock(mu_);
    auto it = functions_.find(name);
    if (it != functions_.end()) {
        it->second = {fn, fn_ctx};
        return UWSGI_OK;
    }
    functions_.emplace(std::string(name), Entry{fn, fn_ctx});
    names_.emplace_back(name);
    return UWSGI_OK;
}

Registry::Outcome Registry::call(std::string_view name, uint8_t argc, const uwsgi_str *argv,
                                 std::string &result) const {
    Entry e{};
    {
        std::lock_guard lock(mu_);
        auto it = functions_.find(name);
        if (it == functions_.end()) return Outcome::unknown;
        e = it->second;
    }
    result.clear();
    Collector c{&result};
    int rc = UWSGI_ERROR;
    try {  // a C++ function may let an exception reach us; it is a failure, not a crash
        rc = e.fn(e.ctx, argc, argv, collect, &c);
    } catch (...) {
        rc = UWSGI_ERROR;
    }
    if (rc != UWSGI_OK || c.overflow) {
        result.clear();
        return Outcome::failed;
    }
    return Outcome::ok;
}

bool Registry::contains(std::string_view name) const {
    std::lock_guard lock(mu_);
    return functions_.find(name) != functions_.end();
}

const char *Registry::name_at(size_t index) const {
    std::lock_guard lock(mu_);
    return index < names_.size() ? names_[index].c_str() : nullptr;
}

size_t Registry::size() const {
    std::lock_guard lock(mu_);
    return names_.size();
}

}  // namespace rpc
