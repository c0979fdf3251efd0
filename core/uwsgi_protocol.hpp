// The uwsgi binary protocol for --socket (nginx uwsgi_pass, uWSGI RPC clients).
#pragma once

#include <uwsgi/plugin.h>

namespace core {
const uwsgi_protocol &uwsgi_socket_protocol();
}
