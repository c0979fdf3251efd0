#include "core_options.hpp"

namespace core {

#define FLAG(n, a, h) {n, a, UWSGI_OPT_FLAG, 0, nullptr, h}
#define VALUE(n, a, m, h) {n, a, UWSGI_OPT_VALUE, 0, m, h}
#define LIST(n, a, m, h) {n, a, UWSGI_OPT_LIST, 0, m, h}
#define OPTIONAL(n, a, m, h) {n, a, UWSGI_OPT_OPTIONAL, 0, m, h}

const uwsgi_option kCoreOptions[] = {
    LIST("socket", "s,uwsgi-socket", "ADDR", "bind ADDR (host:port, :port, [::1]:port or a UNIX path) speaking the uwsgi protocol"),
    FLAG("master", "M", "run a master process that supervises the workers"),
    VALUE("processes", "workers,p", "N", "number of worker processes (default 1)"),
    VALUE("threads", nullptr, "N", "request threads per worker (default 1)"),
    FLAG("enable-threads", "T", "accepted for uWSGI compatibility: threads are always enabled"),
    VALUE("locks", nullptr, "N", "user locks 0..N for uwsgi.lock(n) (default 0: lock 0 only)"),
    VALUE("harakiri", nullptr, "SECS", "kill a worker whose request runs longer than SECS (needs --master)"),
    VALUE("max-requests", nullptr, "N", "recycle a worker after N requests"),
    VALUE("reload-mercy", "worker-reload-mercy", "SECS", "how long a reload or shutdown waits for busy workers (default 30)"),
    FLAG("need-app", nullptr, "exit 22 when no app could be loaded (default on; --need-app=false serves anyway)"),
    FLAG("lazy-apps", "lazy", "load apps in each worker after fork instead of in the master"),
    FLAG("honour-stdin", nullptr, "keep stdin (otherwise it is /dev/null)"),
    VALUE("uid", nullptr, "USER", "switch to USER (name or id) after binding sockets"),
    VALUE("gid", nullptr, "GROUP", "switch to GROUP (name or id) after binding sockets"),
    VALUE("pidfile", nullptr, "FILE", "write the master's pid to FILE"),
    FLAG("disable-logging", "L", "no request log lines"),
    VALUE("buffer-size", "b", "BYTES", "largest request head accepted (default 4096)"),
    VALUE("max-vars", "v", "N", "most request vars accepted (default 64)"),
    VALUE("listen", "l", "N", "socket listen backlog (default 100)"),
    OPTIONAL("chmod-socket", nullptr, "MODE", "chmod UNIX sockets to MODE (octal; alone: 666)"),
    VALUE("socket-timeout", "z", "SECS", "socket I/O and keep-alive idle timeout (default 4)"),
    VALUE("limit-post", nullptr, "BYTES", "largest request body accepted (default unlimited)"),
    VALUE("binary-path", nullptr, "PATH", "binary to re-execute on reload"),
    VALUE("callable", nullptr, "NAME", "name of the app callable (default application)"),
    LIST("plugin", "plugins", "NAMES", "activate plugins by name or path (comma list)"),
    LIST("plugin-dir", nullptr, "DIR", "search DIR for NAME_plugin.so files"),
    LIST("ini", nullptr, "FILE[:SECTION]", "read options from an ini file (section uwsgi by default)"),
    LIST("xml", nullptr, "FILE[:ID]", "read options from an XML file (<uwsgi>, or <uwsgi id=\"ID\">)"),
    LIST("yaml", "yml", "FILE[:SECTION]", "read options from a YAML file (the uwsgi: mapping by default)"),
    LIST("inherit", nullptr, "FILE[:SECTION]", "read a template ini file where this option stands (as --ini)"),
    FLAG("strict", nullptr, "make keys of config files that are no option fatal (by default a warning)"),
    FLAG("show-config", nullptr, "print the effective configuration (every key = value, placeholders resolved) at start-up"),
    // The config-file options of uWSGI's core that real deployments use most.
    VALUE("chdir", nullptr, "DIR", "chdir to DIR before binding sockets and loading apps"),
    LIST("env", nullptr, "KEY=VALUE", "set an environment variable before apps load (KEY alone unsets it)"),
    FLAG("vacuum", nullptr, "remove UNIX sockets and the pidfile at exit (always done here)"),
    FLAG("die-on-term", nullptr, "SIGTERM shuts the server down (always so here; uWSGI 2.0 reloads without it)"),
    VALUE("umask", nullptr, "MODE", "set the umask (octal) before sockets and files are created"),
    VALUE("max-fd", nullptr, "N", "set the open file limit (RLIMIT_NOFILE) to N"),
    VALUE("logto", nullptr, "FILE", "log (and the apps' stdout/stderr) to FILE, appending"),
    VALUE("logto2", nullptr, "FILE", "as --logto, opened after privileges are dropped"),
    VALUE("daemonize", "d", "LOGFILE", "detach from the terminal at start-up, logging to LOGFILE"),
    VALUE("daemonize2", nullptr, "LOGFILE", "detach after the apps are loaded, logging to LOGFILE"),
    FLAG("log-4xx", nullptr, "log requests answered 4xx even with --disable-logging"),
    FLAG("log-5xx", nullptr, "log requests answered 5xx even with --disable-logging"),
    VALUE("chown-socket", nullptr, "USER[:GROUP]", "chown UNIX sockets to USER (and GROUP)"),
    VALUE("protocol", nullptr, "NAME", "protocol of --socket listeners: uwsgi (default) or http"),
    FLAG("auto-procname", nullptr, "name the processes \"uWSGI master\" and \"uWSGI worker N\""),
    VALUE("procname-prefix", nullptr, "PREFIX", "prefix process names with PREFIX"),
    VALUE("procname-prefix-spaced", nullptr, "PREFIX", "prefix process names with PREFIX and a space"),
    VALUE("procname-master", nullptr, "NAME", "the master's process name"),
    // Accepted: this server already behaves so, or has no such machinery (compat_notes.cpp
    // logs what each one means here).
    FLAG("thunder-lock", nullptr, "accepted: accepts are already serialised (one-shot epoll)"),
    FLAG("harakiri-verbose", nullptr, "accepted: harakiri kills are always logged in detail"),
    FLAG("ignore-sigpipe", nullptr, "accepted: SIGPIPE is always ignored"),
    FLAG("ignore-write-errors", nullptr, "accepted: a client gone mid-response is an info line"),
    FLAG("reaper", nullptr, "accepted: the master always reaps its children"),
    FLAG("master-as-root", nullptr, "accepted: the master keeps the starting user until --uid/--gid"),
    FLAG("close-on-exec", nullptr, "accepted: sockets and files are always close-on-exec"),
    FLAG("log-date", "logdate", "accepted: log lines always carry the date"),
    FLAG("log-master", nullptr, "accepted: each process writes its lines to the same log"),
    VALUE("post-buffering", nullptr, "BYTES", "accepted: bodies are read as the app reads wsgi.input"),
    FLAG("help", "h", "show the options of the core and of every installed plugin"),
    FLAG("version", nullptr, "print the version and exit"),
    FLAG("list-plugins", nullptr, "list the installed plugins and exit"),
    VALUE("check-plugin", nullptr, "FILE", "check that FILE is a loadable plugin and exit"),
    VALUE("build-plugin", nullptr, "DIR", "build NAME_plugin.so from the plugin folder DIR into the current directory with this binary's headers (runs uwsgiconfig) and exit"),
    VALUE("print-sym", nullptr, "NAME", "print the string symbol NAME from the binary or a plugin and exit"),
    {nullptr, nullptr, 0, 0, nullptr, nullptr},
};

}  // namespace core
