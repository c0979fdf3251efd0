# A thin layer over meson for the build commands of uWSGI's PyPy plugin documentation:
#
#   UWSGI_PROFILE=pypy make                            ./uwsgi with pypy, http, rpc and cache linked in
#   UWSGI_PROFILE=pypy UWSGI_AS_LIB=libuwsgi.so make   ./libuwsgi.so, the same as a library
#   make                                               the default profile: every plugin a .so
#
# Each profile builds in its own meson build dir, build-PROFILE/ (re-runs are incremental), and
# ./uwsgi or ./$(UWSGI_AS_LIB) is a symlink into it, so the core still finds the plugins built
# beside it. Packagers use meson directly: -Dprofile=pypy or -Dbuiltin_plugins=pypy,http,rpc,
# -Das_lib=true, and install tags (see README "Packaging"). tools/install copies a build out.

UWSGI_PROFILE ?= default
UWSGI_AS_LIB ?=
BUILD_DIR ?= build-$(UWSGI_PROFILE)
MESON_FLAGS ?=

OPTIONS = -Dprofile=$(UWSGI_PROFILE) -Das_lib=$(if $(UWSGI_AS_LIB),true,false) -Dtests=false \
          $(MESON_FLAGS)
# The default profile has no built-ins, so it builds every plugin; a profile builds its one
# binary (its plugins are inside it).
ifeq ($(UWSGI_PROFILE),default)
TARGET =
else
TARGET = $(if $(UWSGI_AS_LIB),core/libuwsgi:shared_library,core/uwsgi:executable)
endif
BUILT = $(BUILD_DIR)/core/$(if $(UWSGI_AS_LIB),libuwsgi.so,uwsgi)
LINK = $(if $(UWSGI_AS_LIB),$(UWSGI_AS_LIB),uwsgi)

.PHONY: all build clean

all: build
	ln -sfn $(BUILT) $(LINK)
	@echo "built $(LINK) -> $(BUILT) (profile $(UWSGI_PROFILE))"

build:
	meson setup $(if $(wildcard $(BUILD_DIR)/build.ninja),--reconfigure) $(BUILD_DIR) $(OPTIONS)
	meson compile -C $(BUILD_DIR) $(TARGET)

clean:
	rm -rf $(BUILD_DIR)
	@for f in uwsgi $(UWSGI_AS_LIB); do [ -L $$f ] && rm -f $$f || true; done
