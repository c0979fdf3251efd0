// One-crossing helpers for the setup script's request path (uwsgi_pypy_api.pack_vars and
// .respond): a hello request used to cross from PyPy into C once per request var and twice per
// response, each crossing with its own cdata objects; these do the loop on the C side.
#pragma once

#include <uwsgi/plugin.h>

namespace uwsgi_pypy {

// Every request var in one pass: the values into buf ("VALUE\0" each, in the vars' order), the
// keys ("KEY\0" each) into a buffer of the calling thread. *keys_len is the keys' length. When
// they are the same as this thread's last successful call's, *same_keys is 1 and buf holds the
// values only; else *same_keys is 0 and the keys follow the values in buf. Returns the values'
// length, or -1 when the vars do not fit (cap, or 16 KiB of keys) or one holds a NUL byte (the
// script then reads them one by one). Keys repeat from request to request: the script keeps the
// str objects of the key sets it has seen and only decodes the values, and for the common case
// (the same names as the request before on this thread) it gets no bytes object of the keys.
int64_t pack_vars(const uwsgi_request *req, char *buf, size_t cap, size_t *keys_len,
                  int32_t *same_keys);

// resp_start with the headers given as one blob of name,value,name,value... bytes cut by
// lens[2 * nheaders], then resp_write of the body when body_len > 0. UWSGI_OK, or the failing
// call's code; *failed_at is 0 when the head failed, 1 when the body did.
int respond(uwsgi_request *req, const char *status, size_t status_len, const char *blob,
            const uint32_t *lens, size_t nheaders, const void *body, size_t body_len,
            int32_t *failed_at);

}  // namespace uwsgi_pypy
