// The handshake that proves the setup script's cffi cdef matches the C structs it reads.
#pragma once

#include <cstddef>
#include <string>

namespace uwsgi_pypy {

// uwsgi_pypy_api.check_layout: the script reports "sizeof STRUCT" or "STRUCT.FIELD" with its
// size or offset; 0 when the plugin agrees, -1 (and a logged reason) otherwise.
extern "C" int check_layout(const char *what, size_t value);

void layout_reset();
// After the script ran: empty when every report agreed and every uwsgi_pypy_api field was
// reported; else what was wrong, for the startup error.
std::string layout_verdict();
// Whether some report disagreed (as opposed to reports missing).
bool layout_has_errors();

}  // namespace uwsgi_pypy
