// The server side of uWSGI's remote cache protocol: modifier1 111, modifier2 17 ("magic"), as
// uWSGI's cache plugin serves it, so `cache_get(key, "name@host:port")` from another instance
// (ours or uWSGI) reaches these caches over a --socket.
//
// Request: a uwsgi packet whose vars are cmd (get, set, update, del, exists, clear), key,
// cache (empty: the default), expires, size; set/update carry `size` value bytes after it.
// Answer: [111, vars size, 17] + vars (status=ok, size) + the value for get. Any failure
// closes the connection without an answer, which the client takes for None (as uWSGI).
#pragma once

#include "cache_table.hpp"

#include <uwsgi/plugin.h>

#include <functional>

namespace cache {

constexpr uint8_t kRemoteModifier1 = 111;
constexpr uint8_t kRemoteMagic = 17;

// `find` gives the table of a cache name ("" the default), or nullptr.
int serve_remote(const uwsgi_host &host, uwsgi_request *req,
                 const std::function<Table *(std::string_view)> &find);

}  // namespace cache
