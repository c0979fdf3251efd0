// The options the core itself owns, as the same kind of table a plugin hands in.
#pragma once

#include <uwsgi/plugin.h>

namespace core {
extern const uwsgi_option kCoreOptions[];
}
