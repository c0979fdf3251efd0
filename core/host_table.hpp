// The uwsgi_host table handed to every plugin.
#pragma once

#include <uwsgi/plugin.h>

namespace core {
const uwsgi_host &host_table();
}
