# uwsgi pypy plugin setup script.
#
# The pypy plugin runs this file inside PyPy with pypy_execute_source_ptr(); `c_argument` is the
# address of the plugin's struct uwsgi_pypy_api (plugins/pypy/pypy_api.h). Through cffi in ABI
# mode (no C compiler at run time) it reads the core's host table, implements WSGI (PEP 3333) and
# the `uwsgi` module, and leaves its hooks (hook_request, hook_load_apps, ...) in the module
# _uwsgi_pypy, where the plugin finds them and calls them through cpyext (_set_hooks says why).
#
# The embedded copy prints with `uwsgi --print-sym uwsgi_pypy_setup`; run your own with
# `--pypy-setup FILE` (start from the printed copy). The cdef is generated from the C headers at
# build time; the handshake in _check_layout() still makes the plugin refuse a script whose cdef
# has drifted from the plugin it runs in.

import sys
import os
import re
import types
import threading
import traceback
import importlib
import socket
import time


# The C declarations (plugin.h, rpc.h, pypy_api.h), their integer constants (UWSGI_OK,
# UWSGI_PYPY_API_VERSION, ...) and the structs the layout handshake reports are generated from
# the headers at build time (gen_setup.py) and replace the marker below; the script the plugin
# embeds, and `--print-sym uwsgi_pypy_setup` prints, has them.
# @GENERATED_CDEF@
if "CDEF" not in globals():
    raise RuntimeError("this is the source of the setup script, without the cdef generated from "
                       "the headers; run the complete script: uwsgi --print-sym uwsgi_pypy_setup")

def _preparsed_tables_fit():
    import zlib
    return ("preparsed_ffi" in globals()
            and zlib.crc32(CDEF.encode()) == PREPARSED_CDEF_CRC32)  # noqa: F821 (generated)


if _preparsed_tables_fit():
    # cffi's out-of-line ABI tables made at build time (gen_setup.py says why: the C parser
    # cffi.FFI().cdef() imports would stay alive and slow every major GC collection).
    import _cffi_backend
    ffi = preparsed_ffi(_cffi_backend.FFI)  # noqa: F821 (generated)
    FFI_ORIGIN = "pre-parsed at build time"
else:
    import cffi
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    FFI_ORIGIN = ("cdef parsed at start-up (%s)"
                  % ("this script's CDEF differs from its pre-parsed tables"
                     if "preparsed_ffi" in globals()
                     else "the build had no cffi: install python3-cffi"))

API_VERSION = UWSGI_PYPY_API_VERSION  # noqa: F821 (generated)
LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = (UWSGI_LOG_DEBUG, UWSGI_LOG_INFO,  # noqa: F821
                                            UWSGI_LOG_WARN, UWSGI_LOG_ERROR)  # noqa: F821

api = ffi.cast("uwsgi_pypy_api *", c_argument)  # noqa: F821 (set by pypy_execute_source_ptr)
host = api.host
PLUGIN = b"pypy"

# Everything that must outlive this script's run (callbacks, the app list) hangs off a module
# in sys.modules: PyPy drops the namespace this source runs in once it returns.
state = types.ModuleType("_uwsgi_pypy")
state.ffi = ffi
state.api = api
state.apps = []  # (mountpoint, description, app); the first is the default app
state.app_slots = []  # per app: (its id in the core's app table or -1, its startup_time)
state.single_app = True
state.manage_script_name = state.no_default_app = False
state.apps_by_length = []
state.file_wrapper = True
state.write_exceptions = True
state.hub_capacity = 0  # --async N: the WebSocket hub's capacity (websocket_hub.py); 0 off
state.wsgi_multi = None  # (wsgi.multithread, wsgi.multiprocess), read at the first request
state.callbacks = []
state.rpc_functions = {}
sys.modules["_uwsgi_pypy"] = state


class LayoutMismatch(RuntimeError):
    """The plugin already logged every field that differs."""


def _check_layout():
    if api.version != API_VERSION:
        raise RuntimeError("the pypy plugin offers uwsgi_pypy_api version %d, this script "
                           "speaks version %d" % (api.version, API_VERSION))
    ok = True
    for name in LAYOUT_STRUCTS:
        t = ffi.typeof(name)
        ok = api.check_layout(("sizeof " + name).encode(), ffi.sizeof(t)) == 0 and ok
        for field, f in t.fields:
            ok = api.check_layout(("%s.%s" % (name, field)).encode(), f.offset) == 0 and ok
    if not ok:
        raise LayoutMismatch("struct layout mismatch between the plugin and this script's cdef")


def _b(s, what="value"):
    """str or bytes in, bytes out (utf-8), as uWSGI accepts either."""
    if isinstance(s, bytes):
        return s
    if isinstance(s, (bytearray, memoryview)):
        return bytes(s)
    if isinstance(s, str):
        return s.encode("utf-8")
    raise TypeError("%s must be str or bytes, not %s" % (what, type(s).__name__))


def log(msg, level=LOG_INFO):
    msg = _b(msg if isinstance(msg, (str, bytes)) else str(msg))
    host.log(level, PLUGIN, msg, len(msg))


def log_exception(context):
    text = context + "\n" + traceback.format_exc()
    log(text.rstrip("\n"), LOG_ERROR)


def _cstr(p):
    return None if p == ffi.NULL else ffi.string(p)


def opt_values(name):
    key = name.encode()
    return [os.fsdecode(ffi.string(host.opt_at(key, i))) for i in range(host.opt_count(key))]


def host_flag(name):
    """A flag option as the core reads it: false only for false/off/no/0."""
    v = opt_value(name)
    return v is not None and v.lower() not in ("false", "off", "no", "0")


def opt_value(name):
    v = _cstr(host.opt_get(name.encode()))
    return None if v is None else os.fsdecode(v)


def _threads_asked():
    """uWSGI's rule: Python threads are on with --enable-threads or --threads N > 1."""
    if host_flag("enable-threads"):
        return "--enable-threads"
    if state.hub_capacity:  # the hub is a thread of its own
        return "--async %d" % state.hub_capacity
    if host.num_threads() > 1:
        return "--threads %d" % host.num_threads()
    return None


def _thread_mode():
    """PyPy's threads (its GIL) follow uWSGI's rule: api.threads = 1 makes the plugin call
    pypy_init_threads() once this script ran. Off, JIT-compiled loops skip the thread-switch
    checks (about 1.12x faster on tight loops, docs/PERFORMANCE.md) and the plugin lets one
    thread into Python at a time. PyPy turns them on by itself when the app starts a thread or
    makes the `uwsgi` module create a cffi callback (_cffi_backend does, "in case the callback
    is invoked in some other non-Pythonic thread"), which is exactly when a second thread may
    come in: a signal handler runs on the worker's signal thread."""
    why = _threads_asked()
    api.threads = 1 if why else 0
    if why:
        log("PyPy threads: on (%s)" % why)
    else:
        log("PyPy threads: off (no --enable-threads, --threads 1); PyPy turns them on when the "
            "app starts a thread or registers a signal handler or RPC function; a thread the "
            "app starts also runs while the worker waits for requests, where uWSGI's CPython "
            "plugin stops it")


class _LazyCallback(object):
    """A cffi callback made at its first use (get()): making one turns PyPy's threads on in
    this process (see _thread_mode), so the `uwsgi` module makes them only for an app that uses
    them. The function itself runs on whichever thread the core calls it from."""

    def __init__(self, ctype, fn, **kw):
        self._args = (ctype, fn, kw)
        self._cdata = None
        state.callbacks.append(self)  # outlives this script's namespace, as the C side needs

    def get(self):
        if self._cdata is None:
            ctype, fn, kw = self._args
            self._cdata = ffi.callback(ctype, fn, **kw)
        return self._cdata


def lazy_callback(ctype, **kw):
    return lambda fn: _LazyCallback(ctype, fn, **kw)


def _setting(name):
    """The core's effective value of a setting (host->setting, ABI 1.1)."""
    out = ffi.new("int64_t *")
    if host.setting(name.encode(), out) != UWSGI_OK:
        raise KeyError("the core has no setting %r" % name)
    return out[0]


# ---------------------------------------------------------------------------------------------
# WSGI

_tls = threading.local()


def _scratch():
    s = getattr(_tls, "scratch", None)
    if s is None:
        s = _tls.scratch = (ffi.new("uwsgi_str *"), ffi.new("uwsgi_str *"),
                            ffi.new("char[]", 65536),
                            ffi.new("uint32_t[]", 2 * _FAST_HEADERS), ffi.new("int32_t *"),
                            ffi.new("size_t *"), [None], ffi.new("int32_t *"))
    return s


_FAST_HEADERS = 64  # the most headers api.respond takes (its stack array, request_fastpath.cpp)


class ClientGone(OSError):
    """The client went away; raised by write() so the app stops producing."""


class BodyRefused(IOError):
    """The protocol refused the request body (malformed, or over --limit-post)."""


class Input(object):
    """wsgi.input: the request body; the core already honours Content-Length and de-chunks."""

    def __init__(self, req):
        self._req = req
        self._buf = b""
        self._eof = False
        self.failure = None  # the req_read code that ended the body early, if any

    def _read_into(self, ptr, want):
        """Reads up to `want` body bytes to `ptr`; 0 at the end of the body."""
        if self._eof:
            return 0
        n = host.req_read(self._req, ptr, want)
        if n < 0:
            self._eof = True
            self.failure = n
            if n == UWSGI_EPEER:
                raise ClientGone("client disconnected while sending the request body")
            if n == UWSGI_ELIMIT:
                raise BodyRefused("the request body is larger than --limit-post")
            raise BodyRefused("the request body is malformed or could not be read")
        if n == 0:
            self._eof = True
        return n

    def _chunk(self, want):
        cbuf = _scratch()[2]
        n = self._read_into(cbuf, min(want, len(cbuf)))
        return ffi.unpack(cbuf, n) if n else b""

    def read(self, size=-1):
        if size is None or size < 0:
            parts = [self._buf]
            self._buf = b""
            while True:
                c = self._chunk(65536)
                if not c:
                    return b"".join(parts)
                parts.append(c)
        if size <= len(self._buf):
            data, self._buf = self._buf[:size], self._buf[size:]
            return data
        # Large reads go straight from the socket into one buffer: no per-chunk copies.
        out = bytearray(size)
        have = len(self._buf)
        out[:have] = self._buf
        self._buf = b""
        dest = ffi.from_buffer(out)
        while have < size:
            n = self._read_into(dest + have, size - have)
            if n == 0:
                break
            have += n
        return bytes(out) if have == size else bytes(out[:have])

    def readline(self, size=-1):
        if size is None:
            size = -1
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0 and (size < 0 or nl < size):
                line, self._buf = self._buf[:nl + 1], self._buf[nl + 1:]
                return line
            if size >= 0 and len(self._buf) >= size:
                line, self._buf = self._buf[:size], self._buf[size:]
                return line
            c = self._chunk(65536)
            if not c:
                line, self._buf = self._buf, b""
                return line
            self._buf += c

    def readlines(self, hint=-1):
        lines, total = [], 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class Errors(object):
    """wsgi.errors: a text stream whose lines go to the core's log."""

    def __init__(self):
        self._pending = ""

    def write(self, s):
        if isinstance(s, bytes):
            s = s.decode("utf-8", "replace")
        self._pending += s
        if "\n" in self._pending:
            done, _, self._pending = self._pending.rpartition("\n")
            log(done, LOG_ERROR)

    def writelines(self, seq):
        for s in seq:
            self.write(s)

    def flush(self):
        if self._pending:
            log(self._pending, LOG_ERROR)
            self._pending = ""


class FileWrapper(object):
    """wsgi.file_wrapper: sent with the core's sendfile from the file's current position when
    the object has a usable fileno(), else iterated in blocks."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


# One regex search each instead of a Python-level loop over every byte of every header (that
# loop was a third of a hello request's time in the plugin). Statuses and header names repeat
# from request to request, so the ones that passed are remembered (up to _SEEN_MAX each).
_BAD_TOKEN = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9a-zA-Z]")
_BAD_STATUS = re.compile(rb"[\x00-\x1f\x7f]")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_SEEN_MAX = 256
_statuses_seen = {}  # str -> its checked bytes
_names_seen = {}


def _remember(seen, key, checked):
    if len(seen) < _SEEN_MAX:
        seen[key] = checked
    return checked


def _latin1(s, what):
    if type(s) is not str:
        raise TypeError("%s must be a str, not %s" % (what, type(s).__name__))
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("%s is not latin-1: %r" % (what, s))


def _check_status(status):
    if type(status) is str:
        b = _statuses_seen.get(status)
        if b is not None:
            return b
    b = _latin1(status, "status")
    if len(b) < 3 or not b[:3].isdigit() or (len(b) > 3 and b[3:4] != b" "):
        raise ValueError("status must look like '200 OK', got %r" % status)
    if _BAD_STATUS.search(b):
        raise ValueError("status contains control characters: %r" % status)
    return _remember(_statuses_seen, status, b)


def _check_headers(headers):
    out = []
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise TypeError("each header must be a (name, value) tuple, got %r" % (item,))
        name = _names_seen.get(item[0]) if type(item[0]) is str else None
        if name is None:
            name = _latin1(item[0], "header name")
            if not name or _BAD_TOKEN.search(name):
                raise ValueError("invalid header name %r" % item[0])
            _remember(_names_seen, item[0], name)
        value = item[1]
        if type(value) is not str:
            _latin1(value, "header %r value" % item[0])  # raises the TypeError
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("header %r value is not latin-1: %r" % (item[0], value))
        if _BAD_VALUE.search(value):
            raise ValueError("header %r has a control character (CR/LF?) in its value"
                             % item[0])
        out.append((name, value))
    return out


class _HeaderSet(object):
    """A header list that passed the checks, ready for api.respond: the names and values joined
    (`blob`), their lengths packed as the uint32_t[] respond takes (`lens`), and whether it
    names a Content-Length. Apps send the same few header lists again and again (a new list of
    the same tuples per request), so one is built per distinct list (up to _SEEN_MAX) and a
    request that repeats one skips the checks, the join and the lengths loop."""
    __slots__ = ("pairs", "blob", "lens", "count", "has_length")

    def __init__(self, pairs):
        self.pairs = tuple(pairs)
        self.blob = b"".join(p for pair in pairs for p in pair)
        self.lens = ffi.buffer(ffi.new("uint32_t[]", [len(p) for pair in pairs
                                                      for p in pair] or [0]))[:]
        self.count = len(pairs)
        self.has_length = any(n.lower() == b"content-length" for n, _ in pairs)


_header_sets = {}  # tuple of the app's (name, value) pairs -> its _HeaderSet


def _header_set(headers):
    """The checked _HeaderSet of a start_response() header list; raises as _check_headers.
    The cache key is the list's items as a tuple: an item that is no hashable tuple (a list)
    takes the checks every time, which raise for it."""
    try:
        key = tuple(headers)
        hs = _header_sets.get(key)
    except TypeError:
        return _HeaderSet(_check_headers(headers))
    if hs is None:
        hs = _remember(_header_sets, key, _HeaderSet(_check_headers(headers)))
    return hs


def _body_bytes(chunk):
    if type(chunk) is bytes:
        return chunk
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return chunk
    raise TypeError("the response body must yield bytes, not %s (%r...)"
                    % (type(chunk).__name__, chunk[:20] if isinstance(chunk, str) else chunk))


class Response(object):
    def __init__(self, req):
        self.req = req
        self.status = None   # bytes, validated
        self.headers = None  # ((bytes, bytes), ...), validated
        self.hset = None     # the _HeaderSet of `headers` while nothing was added to them
        self.sent = False
        self.peer_gone = False

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called twice without exc_info")
        if not isinstance(headers, list):
            raise TypeError("headers must be a list, not %s" % type(headers).__name__)
        s = _check_status(status)
        hs = _header_set(headers)
        self.status, self.headers, self.hset = s, hs.pairs, hs
        return self.write if state.write_exceptions else self.write_quietly

    def write_quietly(self, data):
        """The write() callable under --disable-write-exception: once the client is gone the
        app's writes go nowhere instead of raising (the request still ends as a gone client)."""
        if self.peer_gone:
            return
        try:
            self.write(data)
        except ClientGone:
            pass

    def add_header(self, name, value):
        self.headers += ((name, value),)
        self.hset = None

    def has_header(self, lname):
        for n, _ in self.headers:
            if len(n) == len(lname) and n.lower() == lname:
                return True
        return False

    def send_headers(self):
        if self.sent:
            return
        if self.status is None:
            raise AssertionError("the app did not call start_response()")
        self.sent = True
        n = len(self.headers)
        if n:
            blob = b"".join(p for pair in self.headers for p in pair)
            cblob = ffi.from_buffer(blob)
            arr = ffi.new("uwsgi_header[]", n)
            pos = 0
            for i, (name, value) in enumerate(self.headers):
                h = arr[i]
                h.name.ptr = cblob + pos
                h.name.len = len(name)
                pos += len(name)
                h.value.ptr = cblob + pos
                h.value.len = len(value)
                pos += len(value)
        else:
            arr = ffi.NULL
        rc = host.resp_start(self.req, self.status, len(self.status), arr, n)
        self._check(rc, "sending the response headers")

    def respond_once(self, hs, body):
        """The head (headers `hs`, a _HeaderSet) and the whole body in one crossing into C
        (api.respond), where send_headers() then write() would build a header array and cross
        twice; the Content-Length the headers lack is appended here."""
        n = hs.count
        if n >= _FAST_HEADERS:
            if not hs.has_length:
                self.add_header(b"Content-Length", str(len(body)).encode())
            self.write(body)
            return
        self.sent = True
        scratch = _scratch()
        lens, failed_at = scratch[3], scratch[4]
        ffi.memmove(lens, hs.lens, 8 * n)
        blob = hs.blob
        if not hs.has_length:
            length = str(len(body)).encode()
            blob += b"Content-Length" + length
            lens[2 * n] = 14
            lens[2 * n + 1] = len(length)
            n += 1
        rc = api.respond(self.req, self.status, len(self.status), blob, lens, n, body,
                         len(body), failed_at)
        if rc != UWSGI_OK:
            self._check(rc, "writing the response" if failed_at[0] else
                        "sending the response headers")

    def _check(self, rc, what):
        if rc == UWSGI_OK:
            return
        if rc == UWSGI_EPEER:
            self.peer_gone = True
            raise ClientGone("client disconnected while %s" % what)
        raise IOError("error %d while %s" % (rc, what))

    def write(self, data):
        data = _body_bytes(data)
        if self.status is None:
            raise AssertionError("write() called before start_response()")
        self.send_headers()
        if len(data):
            cdata = ffi.from_buffer(data)
            self._check(host.resp_write(self.req, cdata, len(cdata)), "writing the response")

    def sendfile(self, wrapper):
        """True when the file went out with sendfile, False to fall back to iterating."""
        f = wrapper.filelike
        try:
            fd = f.fileno()
            st = os.fstat(fd)
        except Exception:
            return False
        import stat
        if not stat.S_ISREG(st.st_mode):
            return False
        try:
            pos = f.tell()
        except Exception:
            pos = os.lseek(fd, 0, os.SEEK_CUR)
        count = max(st.st_size - pos, 0)
        if not self.sent and not self.has_header(b"content-length"):
            self.add_header(b"Content-Length", str(count).encode())
        self.send_headers()
        if count:
            self._check(host.resp_sendfile(self.req, fd, pos, count), "sending a file")
            try:
                f.seek(pos + count)
            except Exception:
                pass
        return True

    def consume(self, result):
        if (type(result) is list and len(result) == 1 and type(result[0]) is bytes
                and self.hset is not None and not self.sent):
            self.respond_once(self.hset, result[0])  # the common answer, in one crossing
            return
        if type(result) is FileWrapper and self.status is not None and self.sendfile(result):
            return
        if isinstance(result, (str, bytes)):
            # a bare bytes body would be sent one byte at a time; a str is an error anyway
            raise TypeError("the app returned a %s, not an iterable of bytes"
                            % type(result).__name__)
        if type(result) in (list, tuple) and not self.sent and self.status is not None:
            chunks = [_body_bytes(c) for c in result]
            if len(chunks) == 1 and type(chunks[0]) is bytes:
                self.respond_once(self.hset or _HeaderSet(self.headers), chunks[0])
                return
            if not self.has_header(b"content-length"):
                total = sum(len(c) for c in chunks)
                self.add_header(b"Content-Length", str(total).encode())
            result = chunks
        for chunk in result:
            chunk = _body_bytes(chunk)
            if len(chunk):
                self.write(chunk)
        self.send_headers()


def _url_scheme(environ):
    scheme = environ.get("UWSGI_SCHEME")
    if scheme:
        return scheme
    if environ.get("HTTPS", "").lower() in ("on", "1", "yes", "true"):
        return "https"
    return "http"


_key_sets = {}  # packed keys (bytes) -> their _KeySet, up to _SEEN_MAX


def _wsgi_constants():
    """The environ entries that are the same for every request of this process."""
    multi = state.wsgi_multi
    if multi is None:  # fixed for the life of the process
        multi = state.wsgi_multi = (host.num_threads() > 1, host.num_processes() > 1)
    constants = {"wsgi.version": (1, 0), "wsgi.input_terminated": True,
                 "wsgi.multithread": multi[0], "wsgi.multiprocess": multi[1],
                 "wsgi.run_once": False}
    if state.file_wrapper:
        constants["wsgi.file_wrapper"] = FileWrapper
    return constants


class _KeySet(object):
    """What a request's packed var names give every request with the same names: `keys` (str
    objects, hashes computed), and when its environ is the same apart from the values, a
    `template` holding them (values None) with the CGI renames and defaults of _complete() done
    and the per-process constants: a copy of it plus the values is the request's environ."""
    __slots__ = ("keys", "names", "template", "scheme_varies")

    def __init__(self, keys):
        self.keys = keys
        self.names = None
        self.template = None
        self.scheme_varies = True
        if any(k.startswith("wsgi.") for k in keys):
            return  # a uwsgi-protocol client may send any name: the constants must win over it
        names = list(keys)
        for http_key, key in _CGI_FROM_HTTP:
            if http_key in keys:
                if key in keys:
                    return  # both sent: the CGI one wins, the HTTP_ one goes (_complete)
                names = [key if k == http_key else k for k in names]
        template = dict.fromkeys(names)
        for key in _CGI_DEFAULTS:
            template.setdefault(key, "")
        self.scheme_varies = "UWSGI_SCHEME" in keys or "HTTPS" in keys
        if not self.scheme_varies:
            template["wsgi.url_scheme"] = "http"
        template.update(_wsgi_constants())
        self.names, self.template = names, template


def _key_set(packed_keys):
    keys = packed_keys.decode("latin-1").split("\0")[:-1]
    return _remember(_key_sets, packed_keys, _KeySet(keys))


def _environ(req):
    """The request's environ. One crossing packs every var, values then keys (api.pack_vars);
    a key set seen before reuses its str objects and its template environ, so only the values
    are decoded and split: a quarter of the time of two crossings and four new objects per var.
    The keys come back only when they differ from this thread's request before (C compares
    them), so the common request makes no bytes object of them and no dict lookup.
    Vars that do not fit the scratch buffer or hold a NUL are read one by one."""
    scratch = _scratch()
    buf, keys_len, same_keys = scratch[2], scratch[5], scratch[7]
    n = api.pack_vars(req, buf, len(buf), keys_len, same_keys)
    if n >= 0:
        last = scratch[6]  # this thread's _KeySet of its last packed keys
        if same_keys[0]:  # the names of the request before: no bytes object, no lookup
            ks = last[0]
        else:
            packed_keys = ffi.unpack(buf + n, keys_len[0])
            ks = last[0] = _key_sets.get(packed_keys) or _key_set(packed_keys)
        values = ffi.unpack(buf, n).decode("latin-1").split("\0")
        template = ks.template
        if template is not None:
            env = template.copy()
            names = ks.names
            for i in range(len(names)):
                env[names[i]] = values[i]
            if ks.scheme_varies:
                env["wsgi.url_scheme"] = _url_scheme(env)
            env["wsgi.input"] = Input(req)
            env["wsgi.errors"] = Errors()
            return env
        keys = ks.keys
        env = {}
        for i in range(len(keys)):
            env[keys[i]] = values[i]
    else:
        env = {}
        k, v = scratch[:2]
        unpack = ffi.unpack
        for i in range(host.req_var_count(req)):
            if host.req_var_at(req, i, k, v) != UWSGI_OK:
                continue
            env[unpack(k.ptr, k.len).decode("latin-1")] = unpack(v.ptr, v.len).decode("latin-1")
    return _complete(env, req)


_CGI_FROM_HTTP = (("HTTP_CONTENT_TYPE", "CONTENT_TYPE"), ("HTTP_CONTENT_LENGTH", "CONTENT_LENGTH"))
_CGI_DEFAULTS = ("SCRIPT_NAME", "PATH_INFO", "QUERY_STRING")


def _complete(env, req):
    """The vars of a request made a WSGI environ (what a _KeySet template holds done)."""
    env.update(_wsgi_constants())
    for http_key, key in _CGI_FROM_HTTP:
        if http_key in env:
            env.setdefault(key, env.pop(http_key))
    for key in _CGI_DEFAULTS:
        env.setdefault(key, "")
    env["wsgi.url_scheme"] = _url_scheme(env)
    env["wsgi.input"] = Input(req)
    env["wsgi.errors"] = Errors()
    return env


def _body_failed(resp, failure, where):
    """Ends a request whose app stopped on a body read failure: a disconnect is logged as one;
    a body the protocol refused (malformed, over --limit-post, too slow) is its refusal to
    answer (http: 400/413/408 from its finish), so nothing is started here and no 500 is due."""
    if failure == UWSGI_EPEER:
        log("client disconnected while sending the request body of %r" % where, LOG_INFO)
        return UWSGI_EPEER
    log("request body of %r refused by the protocol (code %d); it answers the refusal"
        % (where, failure), LOG_INFO)
    return UWSGI_ERROR if resp.sent else UWSGI_OK


def _route(env):
    """uWSGI's app selection: with --manage-script-name the longest mountpoint that starts
    PATH_INFO becomes SCRIPT_NAME (and leaves PATH_INFO); the app mounted at SCRIPT_NAME serves,
    else the default app (the first loaded) unless --no-default-app. Unlike uWSGI's CPython
    plugin, mounted apps share one interpreter (PyPy has no sub-interpreters)."""
    if state.manage_script_name:
        path = env["PATH_INFO"]
        for mountpoint, _, _ in state.apps_by_length:
            # a whole path segment, as uWSGI: /shop matches /shop and /shop/x, not /shopping
            if mountpoint and (path == mountpoint or path.startswith(mountpoint + "/")):
                env["SCRIPT_NAME"] = mountpoint
                env["PATH_INFO"] = path[len(mountpoint):]
                break
    script_name = env["SCRIPT_NAME"]
    for i, (mountpoint, _, _) in enumerate(state.apps):
        if mountpoint == script_name:
            return i
    return None if state.no_default_app else 0


def _handle(req, env=None):
    """Runs the WSGI call of a request on its thread; with env given, on the WebSocket hub
    (websocket_hub.py), which got it from the request thread below."""
    _tls.req = req
    resp = Response(req)
    handed = False
    try:
        # UWSGI_ERROR before any response byte: the core answers 500 itself; after, it cuts the
        # response short (no last chunk) so the client sees it is incomplete.
        if not state.apps:
            log("no WSGI app loaded (see the startup log): answering 500", LOG_ERROR)
            return UWSGI_ERROR
        if env is None:
            env = _environ(req)
            # --async: a WebSocket upgrade runs on the worker's hub; this thread waits for it
            if _hub_on and _is_websocket_upgrade(env):
                rc = _hub_hand_over(req, env)
                if rc is not None:
                    handed = True
                    return rc
        i = 0 if state.single_app else _route(env)
        if i is not None:
            host.req_set_app(req, state.app_slots[i][0])  # uWSGI's per-app counters
        app = None if i is None else state.apps[i][2]
        if app is None:
            log("no app mounted at SCRIPT_NAME %r (PATH_INFO %r) and --no-default-app: "
                "answering 500" % (env["SCRIPT_NAME"], env["PATH_INFO"]), LOG_ERROR)
            return UWSGI_ERROR
        result = app(env, resp.start_response)
        try:
            if not getattr(_tls, "ws", False):  # an upgraded connection carries no HTTP body
                resp.consume(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except BaseException as e:
        if resp.peer_gone:
            log("client disconnected before the response was complete", LOG_INFO)
            return UWSGI_EPEER
        if getattr(_tls, "ws_refused", False):
            return UWSGI_ERROR  # the handshake was answered (400/426) and logged by the core
        if getattr(_tls, "ws", False) and isinstance(e, OSError):
            # the app's loop ended because the WebSocket did (the core logged why): not an app
            # error; uWSGI prints a traceback for every closed WebSocket
            log("websocket ended: %s" % e, LOG_INFO)
            return UWSGI_OK
        where = env.get("PATH_INFO", "") if env else ""
        failure = env["wsgi.input"].failure if env else None
        if failure is not None:
            # The app failed because the body did: the client's fault, not the app's, so no
            # traceback; the protocol already logged why.
            return _body_failed(resp, failure, where)
        log_exception("exception in the WSGI app serving %r:" % where)
        return UWSGI_ERROR
    finally:
        if not handed:  # else the hub did this, on its thread
            if env is not None:
                env["wsgi.errors"].flush()
            _call_hook("after_req_hook")
        _tls.req = None
        _tls.ws = _tls.ws_refused = False
    return UWSGI_EPEER if resp.peer_gone else UWSGI_OK


def _call_hook(name):
    """Calls uwsgi.<name> (post_fork_hook, after_req_hook, atexit) when the app set one."""
    hook = getattr(state.uwsgi, name, None)
    if hook is not None:
        try:
            hook()
        except BaseException:
            log_exception("uwsgi.%s failed:" % name)


# One C entry point for every Python signal handler: ctx is a handle to the callable.
@lazy_callback("void(void *, uint8_t)")
def _signal_trampoline(ctx, sig):
    try:
        ffi.from_handle(ctx)(sig)
    except BaseException:
        log_exception("the handler of uwsgi signal %d raised:" % sig)


state.signal_handlers = {}


def _start_autoreloader():
    """--py-autoreload SECS (uWSGI's python reloader): worker 1 checks every SECS whether the
    file of an imported module changed, and then reloads the whole server."""
    try:
        interval = int(opt_value("py-autoreload") or 0)
    except ValueError:
        interval = 0
    if interval <= 0 or host.worker_id() != 1:
        return

    def mtimes():
        out = {}
        for mod in list(sys.modules.values()):
            path = getattr(mod, "__file__", None)
            if path:
                try:
                    out[path] = os.stat(path).st_mtime
                except OSError:
                    pass
        return out

    def loop():
        known = mtimes()
        while True:
            time.sleep(interval)
            for path, mtime in mtimes().items():
                if known.setdefault(path, mtime) != mtime:
                    log("[uwsgi-python-reloader] module/file %s has been modified; reloading"
                        % path)
                    host.reload()
                    return
    threading.Thread(target=loop, name="uwsgi-py-autoreload", daemon=True).start()


# ---------------------------------------------------------------------------------------------
# apps, eval/exec, fork

def _main_namespace():
    main = sys.modules.get("__main__")
    if main is None:
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
    return main.__dict__


def run_code(code, origin):
    exec(compile(code, origin, "exec"), _main_namespace())


def run_file(path):
    with open(path, "rb") as f:
        code = f.read()
    ns = _main_namespace()
    saved = ns.get("__file__")
    ns["__file__"] = os.path.abspath(path)
    try:
        exec(compile(code, path, "exec"), ns)
    finally:
        if saved is None:
            ns.pop("__file__", None)
        else:
            ns["__file__"] = saved


def _default_callable():
    return opt_value("callable") or "application"


def load_wsgi_module(spec):
    """--pypy-wsgi / --module / --wsgi / -w, as uWSGI's CPython plugin reads them: MODULE,
    MODULE:CALLABLE, MODULE:OBJ() (the old Django form: OBJ is called and its result is the app),
    or a path to a .py file."""
    mod_name, _, name = spec.partition(":")
    if mod_name.endswith(".py") or "/" in mod_name:
        return load_wsgi_file(mod_name, name or None)
    name = name or _default_callable()
    call = name.endswith("()")
    attr = name[:-2] if call else name
    mod = importlib.import_module(mod_name)
    try:
        obj = getattr(mod, attr)
    except AttributeError:
        raise AttributeError("module %s (%s) has no callable %r"
                             % (mod_name, getattr(mod, "__file__", "?"), attr))
    return (obj() if call else obj), "%s:%s" % (mod_name, name)


def load_wsgi_file(path, name=None):
    name = name or _default_callable()
    abspath = os.path.abspath(path)
    mod_name = "uwsgi_file_" + "".join(c if c.isalnum() else "_" for c in abspath)
    mod = types.ModuleType(mod_name)
    mod.__file__ = abspath
    with open(abspath, "rb") as f:
        code = compile(f.read(), abspath, "exec")
    sys.modules[mod_name] = mod
    try:
        exec(code, mod.__dict__)
    except BaseException:
        del sys.modules[mod_name]
        raise
    if name not in mod.__dict__:
        raise AttributeError("%s defines no callable %r" % (abspath, name))
    return mod.__dict__[name], "%s:%s" % (abspath, name)


def load_paste(spec):
    """--pypy-paste / --pypy-ini-paste (options of the paste plugin): [config:]FILE[#name]."""
    if spec.startswith("config:"):
        spec = spec[len("config:"):]
    path, _, name = spec.partition("#")
    abspath = os.path.abspath(path)
    try:
        from paste.deploy import loadapp
    except ImportError as e:
        raise ImportError("paste.deploy cannot be imported by PyPy (%s): install Debian's "
                          "python3-pastedeploy and add --pypy-pp /usr/lib/python3/dist-packages"
                          % e)
    _configure_paste_logging(abspath)
    uri = "config:" + abspath + ("#" + name if name else "")
    return loadapp(uri), "paste %s" % uri


def _configure_paste_logging(path):
    """A paste .ini may carry logging sections; configure Python's logging from them. Not
    strict: the [uwsgi] section may repeat keys (list options)."""
    import configparser
    here = {"here": os.path.dirname(path), "__file__": path}
    parser = configparser.ConfigParser(defaults=here, strict=False)
    parser.read(path)
    if parser.has_section("loggers"):
        import logging.config
        logging.config.fileConfig(parser, disable_existing_loggers=False)


def _add_app(loader, arg, what, mountpoint=""):
    started = time.time()
    try:
        app, desc = loader(arg)
    except BaseException:
        log_exception("cannot load the WSGI app from %s %s:" % (what, arg))
        return
    if not callable(app):
        log("WSGI app %s (%s %s) is not callable" % (desc, what, arg), LOG_ERROR)
        return
    if mountpoint:
        desc = "%s mounted at %s" % (desc, mountpoint)
    state.apps.append((mountpoint, desc, app))
    host.register_app(PLUGIN, desc.encode("utf-8", "surrogateescape"))
    # uWSGI's per-app counters: the core keeps them (modifier1 0, as uWSGI's python plugin)
    startup_time = int(time.time() - started)
    state.app_slots.append((host.app_register(0, mountpoint.encode("utf-8", "surrogateescape"),
                                              b"", startup_time), startup_time))


def _mount_loader(target):
    """--mount MOUNTPOINT=APP: APP as uWSGI reads it, a paste config (config:FILE or FILE.ini),
    a file (.py/.wsgi or a path), else MODULE[:CALLABLE]."""
    if target.startswith("config:") or target.endswith(".ini"):
        return load_paste
    if target.endswith((".py", ".wsgi")) or "/" in target.partition(":")[0]:
        return lambda t: load_wsgi_file(*t.partition(":")[::2])
    return load_wsgi_module


def _routing_setup():
    state.manage_script_name = host_flag("manage-script-name")
    state.no_default_app = host_flag("no-default-app")
    # one app at "" and nothing to rewrite: requests skip the routing
    state.single_app = (len(state.apps) == 1 and not state.apps[0][0]
                        and not state.manage_script_name and not state.no_default_app)
    state.apps_by_length = sorted(state.apps, key=lambda a: -len(a[0]))
    state.file_wrapper = not host_flag("wsgi-disable-file-wrapper")
    state.write_exceptions = not host_flag("disable-write-exception")


def _use_virtualenv(venv):
    """--virtualenv / --home / --venv / --pyhome: a PyPy virtualenv's site-packages go first on
    sys.path, and (unless its pyvenv.cfg includes system site-packages) the system ones go, as
    for the virtualenv's own interpreter. A CPython virtualenv holds packages built for CPython:
    refused, saying why."""
    import glob
    import site
    venv = os.path.abspath(venv)
    if not os.path.isdir(venv):
        raise ValueError("--virtualenv %s: no such directory" % venv)
    mine = "pypy%d.%d" % sys.version_info[:2]
    site_dir = os.path.join(venv, "lib", mine, "site-packages")
    if not os.path.isdir(site_dir):
        others = sorted(glob.glob(os.path.join(venv, "lib", "python*", "site-packages")))
        if others:
            raise ValueError(
                "--virtualenv %s was made by CPython (%s): its packages are built for CPython, "
                "not PyPy; make a PyPy one with `pypy3 -m venv %s` and install the app's "
                "packages there" % (venv, os.path.relpath(others[0], venv), venv))
        raise ValueError("--virtualenv %s: no lib/%s/site-packages there; make one with "
                         "`pypy3 -m venv %s`" % (venv, mine, venv))
    include_system = False
    try:
        with open(os.path.join(venv, "pyvenv.cfg")) as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() == "include-system-site-packages":
                    include_system = value.strip().lower() == "true"
    except OSError:
        pass
    if not include_system:
        system = set(site.getsitepackages()) | {site.getusersitepackages()}
        sys.path[:] = [p for p in sys.path if p not in system]
    before = list(sys.path)
    site.addsitedir(site_dir)
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + before
    sys.prefix = sys.exec_prefix = venv
    log("virtualenv %s: %s on sys.path%s" % (venv, site_dir,
        "" if include_system else " (system site-packages left out, as pyvenv.cfg says)"))


def _log_accepted_options():
    notes = {
        "single-interpreter": "PyPy runs one interpreter per process: always so here",
        "optimize": "PyPy has no optimisation level: asserts stay on",
    }
    for name, note in notes.items():
        if opt_value(name) is not None:
            log("--%s: %s" % (name, note))


def _load_apps():
    _log_accepted_options()
    venv = opt_value("virtualenv")
    if venv:
        try:
            _use_virtualenv(venv)
        except ValueError as e:
            log(str(e), LOG_ERROR)
            return -1
    for i, path in enumerate(opt_values("pypy-pp")):
        sys.path.insert(i, path)
    for code in opt_values("pypy-eval"):
        try:
            run_code(code, "<pypy-eval>")
        except BaseException:
            log_exception("--pypy-eval %r failed:" % code)
            return -1
    for path in opt_values("pypy-exec"):
        try:
            run_file(path)
        except BaseException:
            log_exception("--pypy-exec %s failed:" % path)
            return -1
    before = len(state.apps)
    spec = opt_value("pypy-wsgi")
    if spec:
        _add_app(load_wsgi_module, spec, "--pypy-wsgi")
    path = opt_value("pypy-wsgi-file")
    if path:
        _add_app(load_wsgi_file, path, "--pypy-wsgi-file")
    for option in ("pypy-paste", "pypy-ini-paste"):
        path = opt_value(option)
        if path:
            _add_app(load_paste, path, "--" + option)
    for spec in opt_values("mount"):
        mountpoint, eq, target = spec.partition("=")
        if not eq or not target:
            log("--mount %r: give MOUNTPOINT=APP (e.g. /blog=blog.wsgi)" % spec, LOG_ERROR)
            return -1
        _add_app(_mount_loader(target), target, "--mount " + mountpoint,
                 mountpoint.rstrip("/"))
    _routing_setup()
    return len(state.apps) - before


def _post_fork():
    for code in opt_values("pypy-eval-post-fork"):
        try:
            run_code(code, "<pypy-eval-post-fork>")
        except BaseException:
            log_exception("--pypy-eval-post-fork %r failed:" % code)
    for path in opt_values("pypy-exec-post-fork"):
        try:
            run_file(path)
        except BaseException:
            log_exception("--pypy-exec-post-fork %s failed:" % path)
    _call_hook("post_fork_hook")
    _start_autoreloader()


# ---------------------------------------------------------------------------------------------
# the uwsgi module

RPC_MAX_ARGS = UWSGI_RPC_MAX_ARGS  # noqa: F821 (generated from rpc.h)
RPC_MAX_NAME = UWSGI_RPC_MAX_NAME  # noqa: F821
RPC_MAX_ITEM = 0xffff


def _rpc_api():
    # Asked for once at start-up (_setup), in the master: the core activates the plugin that
    # provides the extension then, so every worker has RPC, as under uWSGI where it is built in.
    p = state.rpc_ext
    if p == ffi.NULL:
        p = state.rpc_ext = host.get_extension(b"uwsgi.rpc/1")
    if p == ffi.NULL:
        raise RuntimeError("uwsgi RPC is not available: no plugin offers the uwsgi.rpc/1 "
                           "extension (load the rpc plugin, e.g. --plugin rpc)")
    api_ = ffi.cast("uwsgi_rpc_api *", p)
    if api_.struct_size < ffi.sizeof("uwsgi_rpc_api"):
        raise RuntimeError("the uwsgi.rpc/1 extension is too small (%d bytes, this script needs "
                           "%d)" % (api_.struct_size, ffi.sizeof("uwsgi_rpc_api")))
    return api_


# One C entry point for every Python RPC function: fn_ctx is a handle to (name, function).
@lazy_callback("int(void *, uint8_t, const uwsgi_str *, uwsgi_rpc_sink, void *)", error=-1)
def _rpc_trampoline(fn_ctx, argc, argv, sink, sink_ctx):
    name, func = ffi.from_handle(fn_ctx)
    try:
        res = func(*[ffi.unpack(argv[i].ptr, argv[i].len) for i in range(argc)])
        if res is None:
            res = b""
        elif isinstance(res, str):
            res = res.encode("utf-8")
        res = bytes(res)
        sink(sink_ctx, ffi.from_buffer(res), len(res))
        return UWSGI_OK
    except BaseException:
        log_exception("rpc function %r raised:" % name)
        return UWSGI_ERROR


# Collects a call's result into the list behind sink_ctx.
@lazy_callback("void(void *, const char *, size_t)")
def _rpc_collect(sink_ctx, data, length):
    ffi.from_handle(sink_ctx).append(ffi.unpack(data, length))


def _rpc_args(func, args):
    """Checks the wire limits before anything is sent (ValueError), like uWSGI does."""
    bfunc = _b(func, "rpc function name")
    blobs = [_b(a, "rpc argument") for a in args]
    if not bfunc or len(bfunc) > RPC_MAX_NAME:
        raise ValueError("rpc function name must be 1 to %d bytes" % RPC_MAX_NAME)
    if len(blobs) > RPC_MAX_ARGS:
        raise ValueError("rpc calls take at most %d arguments, got %d" % (RPC_MAX_ARGS, len(blobs)))
    if any(len(b) > RPC_MAX_ITEM for b in blobs):
        raise ValueError("each rpc argument must be at most %d bytes" % RPC_MAX_ITEM)
    if 2 + len(bfunc) + sum(2 + len(b) for b in blobs) > RPC_MAX_ITEM:
        raise ValueError("an rpc request must fit in %d bytes" % RPC_MAX_ITEM)
    argv = ffi.new("uwsgi_str[]", max(1, len(blobs)))
    keep = []
    for i, b in enumerate(blobs):
        c = ffi.from_buffer(b)
        keep.append(c)
        argv[i].ptr = c
        argv[i].len = len(b)
    return bfunc, argv, len(blobs), keep


UWSGI_OPT_FLAG = 1


def _build_opt():
    """uwsgi.opt as uWSGI's CPython plugin builds it: only the options the user set, str keys,
    bytes values, True for a flag given without a value, a list for a repeated option."""
    opts = {}
    i = 0
    while True:
        p = host.opt_name_at(i)
        if p == ffi.NULL:
            return opts
        i += 1
        key = os.fsdecode(ffi.string(p))
        if key in opts:
            continue
        bkey = key.encode()
        flag = host.opt_kind(bkey) == UWSGI_OPT_FLAG
        vals = []
        for j in range(host.opt_count(bkey)):
            v = ffi.string(host.opt_at(bkey, j))
            vals.append(True if flag and v == b"true" else v)
        opts[key] = vals if len(vals) > 1 else (vals[0] if vals else True)


def _current_request(what):
    req = getattr(_tls, "req", None)
    if req is None:
        raise SystemError("uwsgi.%s() can only be called while serving a request" % what)
    return req


def _proc_memory(pid="self"):
    """(rss, vsz) in bytes from /proc, as uWSGI's get_memusage() reports them."""
    try:
        with open("/proc/%s/statm" % pid) as f:
            size, resident = f.read().split()[:2]
    except (OSError, ValueError):
        return 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    return int(resident) * page, int(size) * page


def _worker_status(st):
    """uWSGI's order: cheap, pause (paused and not busy), sigN (in a signal handler), busy."""
    if st.cheaped:
        return b"cheap"
    if st.paused and not st.busy:
        return b"pause"
    if st.running_signal >= 0:
        return b"sig%d" % st.running_signal
    return b"busy" if st.busy else b"idle"


def _workers():
    out = []
    st = ffi.new("uwsgi_worker_stats *")
    for wid in range(1, host.num_processes() + 1):
        st.struct_size = ffi.sizeof("uwsgi_worker_stats")
        if host.worker_stats(wid, st) != UWSGI_OK:
            continue
        rss, vsz = _proc_memory(st.pid) if st.pid else (0, 0)
        out.append({
            "id": st.id, "pid": st.pid, "requests": st.requests, "delta_requests": 0,
            "signals": st.signals, "exceptions": st.exceptions,
            "status": _worker_status(st),
            "rss": rss, "vsz": vsz, "running_time": st.running_time,
            "last_spawn": st.last_spawn, "respawn_count": st.respawn_count, "tx": st.tx,
            "avg_rt": st.avg_rt, "apps": _app_stats(wid),
        })
    return tuple(out)


def _magic_table(m):
    """uWSGI's magic variables (%h, %v...) as its CPython plugin exports them: one-byte keys."""
    import pwd
    import grp
    now = time.time()
    uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    table = {"%": "%", "(": "%(", "[": "\x1b", "U": user, "G": group, "u": str(uid),
             "g": str(gid), "h": m.hostname.decode(), "k": str(os.cpu_count() or 1),
             "t": str(int(now)), "T": str(int(now * 1000000)), "V": m.version.decode(),
             "v": os.getcwd()}
    return {k.encode(): v.encode() for k, v in table.items()}


def _app_stats(wid):
    """Worker wid's apps as uWSGI's CPython plugin lists them, with the core's counters."""
    counts = ffi.new("uint64_t[2]")
    out = []
    for i, (mountpoint, _, app) in enumerate(state.apps):
        slot, startup_time = state.app_slots[i]
        if slot < 0 or host.app_counters(wid, slot, counts, counts + 1) != UWSGI_OK:
            counts[0] = counts[1] = 0
        out.append({"id": i, "modifier1": 0, "mountpoint": mountpoint.encode(),
                    "startup_time": startup_time, "interpreter": 0, "callable": id(app),
                    "requests": counts[0], "exceptions": counts[1], "chdir": b""})
    return tuple(out)


def _make_module():
    m = types.ModuleType("uwsgi")
    # facts, as uWSGI's CPython plugin sets them: strings are bytes
    m.version = _cstr(host.server_version) or b""
    parts = [int(x) if x.isdigit() else 0 for x in m.version.decode().split(".")[:4]]
    m.version_info = tuple(parts + [0] * (4 - len(parts))) + (b"",)
    m.hostname = socket.gethostname().encode()
    m.numproc = host.num_processes()
    m.cores = host.num_threads()
    m.opt = _build_opt()
    m.has_threads = 1 if _threads_asked() else 0
    m.buffer_size = _setting("buffer-size")
    m.started_on = host.started_on()
    m.is_a_reload = bool(host.is_a_reload())
    m.loop = None
    m.magic_table = _magic_table(m)
    m.SPOOL_RETRY, m.SPOOL_OK, m.SPOOL_IGNORE = -1, -2, 0
    m.unbit = None
    m.applications = None
    # hooks the app may set
    m.post_fork_hook = None
    m.after_req_hook = None
    m.atexit = None
    has_master = bool(m.opt.get("master")) or m.numproc > 1

    m.worker_id = lambda: host.worker_id()
    # like uWSGI: 0 without a master process (uwsgidecorators refuses to load then)
    m.masterpid = lambda: host.master_pid() if has_master else 0
    m.workers = _workers
    m.total_requests = lambda: host.total_requests()
    m.mem = _proc_memory
    m.micros = lambda: int(time.time() * 1000000)

    def reload():
        host.reload()
        return True
    m.reload = reload

    def stop():
        host.stop()
        return True
    m.stop = stop

    def _log(msg):
        log(msg)
        return True
    m.log = _log

    def setprocname(name):
        host.set_proc_name(_b(name, "process name"))
    m.setprocname = setprocname

    def request_id():
        # uWSGI counts the requests served before this one
        req = getattr(_tls, "req", None)
        return host.req_id(req) - 1 if req is not None else 0
    m.request_id = request_id

    def log_this_request():
        host.req_log_this(_current_request("log_this_request"))
    m.log_this_request = log_this_request

    def set_logvar(key, value):
        req = _current_request("set_logvar")
        k, v = _b(key, "logvar name"), _b(value, "logvar value")
        host.req_set_logvar(req, k, len(k), v, len(v))
    m.set_logvar = set_logvar

    def get_logvar(key):
        req = _current_request("get_logvar")
        k = _b(key, "logvar name")
        out = _scratch()[1]
        if host.req_get_logvar(req, k, len(k), out) != UWSGI_OK:
            return None
        return ffi.unpack(out.ptr, out.len)
    m.get_logvar = get_logvar

    def connection_fd():
        return host.conn_fd(host.req_conn(_current_request("connection_fd")))
    m.connection_fd = connection_fd

    def set_user_harakiri(secs):
        host.set_user_harakiri(int(secs))
    m.set_user_harakiri = set_user_harakiri

    def _lock_id(n, what):
        n = int(n)
        if n < 0 or n >= host.lock_count():
            raise ValueError("Invalid lock number %d for uwsgi.%s(): ids are 0..%d (raise --locks)"
                             % (n, what, host.lock_count() - 1))
        return n

    def lock(n=0):
        # cffi calls release PyPy's GIL: other threads run while this one waits
        host.lock(_lock_id(n, "lock"))
    m.lock = lock

    def unlock(n=0):
        host.unlock(_lock_id(n, "unlock"))
    m.unlock = unlock

    def is_locked(n=0):
        return host.is_locked(_lock_id(n, "is_locked")) == 1
    m.is_locked = is_locked

    # uWSGI signals (the core's table, routed by the master; handlers run on the worker's
    # signal thread)
    def _signum(n):
        n = int(n)
        # uWSGI's "B" argument format wraps 256 to 0 silently; a wrong number is an error here
        if not 0 <= n <= 255:
            raise ValueError("uwsgi signal numbers are 0..255, got %d" % n)
        return n

    def register_signal(num, target, handler):
        n = _signum(num)
        if not callable(handler):
            raise TypeError("the signal handler must be callable")
        handle = ffi.new_handle(handler)
        if host.register_signal(n, _b(target, "signal target"), _signal_trampoline.get(),
                                handle) != UWSGI_OK:
            raise ValueError("unable to register signal %d with target %r (the reason is "
                             "logged)" % (n, target))
        state.signal_handlers[n] = handle  # keeps the handle alive
    m.register_signal = register_signal

    def signal(num, remote=None):
        if remote:
            raise ValueError("remote uwsgi signals are not supported by this server")
        if host.raise_signal(_signum(num)) != UWSGI_OK:
            raise ValueError("unable to raise signal %d (the reason is logged)" % num)
    m.signal = signal

    def signal_registered(num):
        return True if host.signal_registered(_signum(num)) else None
    m.signal_registered = signal_registered

    def signal_wait(num=None):
        # the cffi call releases PyPy's GIL while this thread waits
        got = host.signal_wait(-1 if num is None else _signum(num), -1)
        if got < 0:
            raise SystemError("error waiting for signal")
        _tls.signal_received = got
        return b""
    m.signal_wait = signal_wait
    m.signal_received = lambda: getattr(_tls, "signal_received", -1)

    def _check(rc, what):
        if rc != UWSGI_OK:
            raise ValueError("unable to add %s (the reason is logged)" % what)

    def add_timer(num, secs):
        _check(host.add_timer(_signum(num), int(secs) * 1000, 0), "timer")
    m.add_timer = add_timer

    def add_ms_timer(num, msecs):
        _check(host.add_timer(_signum(num), int(msecs), 0), "timer")
    m.add_ms_timer = add_ms_timer

    def add_rb_timer(num, secs, iterations=0):
        _check(host.add_timer(_signum(num), int(secs) * 1000, int(iterations)), "rb_timer")
    m.add_rb_timer = add_rb_timer

    def add_cron(num, minute, hour, day, month, weekday):
        _check(host.add_cron(_signum(num), minute, hour, day, month, weekday), "cron")
        return True
    m.add_cron = add_cron

    def add_file_monitor(num, path):
        _check(host.add_file_monitor(_signum(num), _b(path, "path")), "file monitor")
    m.add_file_monitor = add_file_monitor

    def accepting(value=1):
        host.set_accepting(1 if value else 0)
    m.accepting = accepting

    def register_rpc(name, func, argc=0):
        rpc_api = _rpc_api()
        bname = _b(name, "rpc name")
        if not bname or len(bname) > RPC_MAX_NAME:
            raise ValueError("rpc function name must be 1 to %d bytes" % RPC_MAX_NAME)
        handle = ffi.new_handle((bname, func))
        if rpc_api.register_function(bname, _rpc_trampoline.get(), handle) != UWSGI_OK:
            raise RuntimeError("cannot register rpc function %r (see the log)" % bname)
        state.rpc_functions[bname] = handle  # keeps the handle alive
        return True
    m.register_rpc = register_rpc

    def rpc(node, func, *args):
        """Calls func on node ("host:port", a UNIX path; None or "" = locally). Returns the
        result as bytes, or None when the call failed (the reason is logged)."""
        rpc_api = _rpc_api()
        bfunc, argv, argc, keep = _rpc_args(func, args)
        chunks = []
        sink_ctx = ffi.new_handle(chunks)
        if node:
            rc = rpc_api.call_remote(_b(node, "rpc node"), bfunc, argc, argv, _rpc_collect.get(),
                                     sink_ctx)
        else:
            rc = rpc_api.call_local(bfunc, argc, argv, _rpc_collect.get(), sink_ctx)
        return b"".join(chunks) if rc == UWSGI_OK else None
    m.rpc = rpc

    def call(func, *args):
        """call('func', ...) locally, call('func@host:port', ...) on another node."""
        bfunc = _b(func, "rpc function name")
        name, sep, node = bfunc.partition(b"@")
        return rpc(node if sep else None, name, *args)
    m.call = call

    def rpc_list():
        rpc_api = _rpc_api()
        names, i = [], 0
        while True:
            p = rpc_api.function_at(i)
            if p == ffi.NULL:
                return tuple(names)
            names.append(ffi.string(p))
            i += 1
    m.rpc_list = rpc_list

    _add_websocket_api(m)
    return m


# ---------------------------------------------------------------------------------------------
# the caching framework (uwsgi.cache/1, the cache plugin): uWSGI's cache_* functions with its
# return conventions (plugins/python/uwsgi_pymodule.c): True or None, bytes or None.

CACHE_MATH = {"inc": (UWSGI_CACHE_INC, 1), "dec": (UWSGI_CACHE_DEC, 1),  # noqa: F821
              "mul": (UWSGI_CACHE_MUL, 2), "div": (UWSGI_CACHE_DIV, 2)}  # noqa: F821


def _remote_cache(node, name, cmd, key=b"", value=None, expires=0):
    """One request of uWSGI's remote cache protocol (modifier1 111, modifier2 17) to
    node "host:port": (True, value) when the node answered status ok, else (False, None)."""
    pairs = [(b"cmd", cmd), (b"key", key)]
    if value is not None:
        pairs.append((b"size", b"%d" % len(value)))
    if expires > 0:
        pairs.append((b"expires", b"%d" % expires))
    pairs.append((b"cache", name))
    if any(len(k) > 0xffff or len(v) > 0xffff for k, v in pairs):
        return False, None
    block = b"".join(len(k).to_bytes(2, "little") + k + len(v).to_bytes(2, "little") + v
                     for k, v in pairs)
    if len(block) > 0xffff:
        return False, None
    address, _, port = node.rpartition(b":")
    try:
        with socket.create_connection((address.strip(b"[]").decode(), int(port)),
                                      timeout=max(_setting("socket-timeout"), 1)) as sock:
            sock.sendall(bytes([111]) + len(block).to_bytes(2, "little") + bytes([17]) + block +
                         (value or b""))
            data = b""

            def need(n):
                nonlocal data
                while len(data) < n:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return False
                    data += chunk
                return True
            if not need(4):
                return False, None  # closed without an answer: uWSGI's "no"
            size = int.from_bytes(data[1:3], "little")
            if not need(4 + size):
                return False, None
            answer, i = {}, 4
            while i + 2 <= 4 + size:
                kl = int.from_bytes(data[i:i + 2], "little")
                k = data[i + 2:i + 2 + kl]
                i += 2 + kl
                vl = int.from_bytes(data[i:i + 2], "little")
                answer[k] = data[i + 2:i + 2 + vl]
                i += 2 + vl
            if answer.get(b"status") != b"ok":
                return False, None
            if cmd != b"get":
                return True, None
            length = int(answer.get(b"size", b"0"))
            if not need(4 + size + length):
                return False, None
            return True, data[4 + size:4 + size + length]
    except (OSError, ValueError) as e:
        log("remote cache %s: %s failed: %s" % (node.decode("latin-1"), cmd.decode(), e),
            LOG_WARN)
        return False, None


def _add_cache_functions(m):
    p = state.cache_ext
    api_ = ffi.cast("uwsgi_cache_api *", p) if p != ffi.NULL else None
    if api_ is not None and api_.struct_size < ffi.sizeof("uwsgi_cache_api"):
        log("the uwsgi.cache/1 extension is too small; the cache functions are off", LOG_ERROR)
        api_ = None
    ids = {}
    local = threading.local()

    def cache_id(cache):
        """The id of a local cache, (name, node) for name@host:port, or None (uWSGI answers None
        for an unknown cache)."""
        name = b"" if cache is None else _b(cache, "cache name")
        found = ids.get(name)
        if found is None:
            if b"@" in name:
                cache_name, _, node = name.partition(b"@")
                return cache_name, node
            if api_ is None:
                return None
            n = api_.lookup(name)
            if n < 0:
                return None
            found = ids[name] = n
        return found

    def buffer(size):
        buf = getattr(local, "buf", None)
        if buf is None or len(buf) < size:
            buf = local.buf = ffi.new("char[]", max(size, 65536))
        return buf

    def remote(c, cmd, key=b"", value=None, expires=0):
        ok, value = _remote_cache(c[1], c[0], cmd, key, value, expires)
        return value if cmd == b"get" else (True if ok else None)

    def cache_get(key, cache=None):
        c = cache_id(cache)
        if c is None:
            return None
        k = _b(key, "cache key")
        if isinstance(c, tuple):
            return remote(c, b"get", k)
        buf = buffer(0)
        n = api_.get(c, k, len(k), buf, len(buf))
        while n > len(buf):  # a value larger than the buffer: read it again with room for it
            buf = buffer(n)
            n = api_.get(c, k, len(k), buf, len(buf))
        return ffi.buffer(buf, n)[:] if n >= 0 else None
    m.cache_get = cache_get

    def store(key, value, expires, cache, flags):
        c = cache_id(cache)
        if c is None:
            return None
        k, v = _b(key, "cache key"), _b(value, "cache value")
        if isinstance(c, tuple):
            return remote(c, b"update" if flags else b"set", k, v, max(int(expires), 0))
        ok = api_.set(c, k, len(k), v, len(v), max(int(expires), 0), flags) == UWSGI_OK
        return True if ok else None

    def cache_set(key, value, expires=0, cache=None):
        """Stores only when the key is absent: True, or None (present, too large, full)."""
        return store(key, value, expires, cache, 0)
    m.cache_set = cache_set

    def cache_update(key, value, expires=0, cache=None):
        return store(key, value, expires, cache, UWSGI_CACHE_UPDATE)  # noqa: F821
    m.cache_update = cache_update

    def key_query(key, cache, command, local):
        """True or None for a question about one key: `command` on a remote cache, else
        local(cache id, key) on this server's."""
        c = cache_id(cache)
        if c is None:
            return None
        k = _b(key, "cache key")
        if isinstance(c, tuple):
            return remote(c, command, k)
        return True if local(c, k) else None

    def cache_del(key, cache=None):
        return key_query(key, cache, b"del", lambda c, k: api_.remove(c, k, len(k)) == UWSGI_OK)
    m.cache_del = cache_del

    def cache_exists(key, cache=None):
        return key_query(key, cache, b"exists", lambda c, k: api_.exists(c, k, len(k)) == 1)
    m.cache_exists = cache_exists

    def cache_clear(cache=None):
        c = cache_id(cache)
        if c is None:
            return None
        if isinstance(c, tuple):
            return remote(c, b"clear")
        return True if api_.clear(c) == UWSGI_OK else None
    m.cache_clear = cache_clear

    def cache_keys(cache=None):
        c = cache_id(cache)
        if c is None or isinstance(c, tuple):
            raise ValueError("no local uWSGI cache available")
        keys, pos, buf = [], ffi.new("uint64_t *", 0), buffer(0)
        while True:
            n = api_.key_at(c, pos, buf, len(buf))
            if n < 0:
                return keys
            if n > len(buf):
                buf = buffer(n)
                continue
            keys.append(ffi.buffer(buf, n)[:])
    m.cache_keys = cache_keys

    def math_function(name, op, default):
        def fn(key, value=default, expires=0, cache=None):
            c = cache_id(cache)
            if c is None:
                return None
            k = _b(key, "cache key")
            if isinstance(c, tuple):
                # uWSGI sends the raw 8-byte operand as a plain set/update (no arithmetic on
                # the node); refused here rather than storing the operand as the result.
                log("cache_%s on a remote cache is not supported" % name, LOG_WARN)
                return None
            rc = api_.math(c, k, len(k), op, int(value), max(int(expires), 0), ffi.NULL)
            return True if rc == UWSGI_OK else None
        fn.__name__ = "cache_" + name
        return fn
    for name, (op, default) in CACHE_MATH.items():
        setattr(m, "cache_" + name, math_function(name, op, default))

    def cache_num(key, cache=None):
        """The 64-bit number a cache_inc/dec/mul/div left; 0 when absent or not a number."""
        v = cache_get(key, cache)
        if v is None or len(v) != 8:
            return 0
        return int.from_bytes(v, sys.byteorder, signed=True)
    m.cache_num = cache_num


# ---------------------------------------------------------------------------------------------
# the spooler (--spooler DIR; the core writes, scans and locks the task files): uWSGI's
# spool()/send_to_spooler(), the uwsgi.spooler hook and spooler_* functions, with the CPython
# plugin's types (plugins/python/uwsgi_pymodule.c): keys and values bytes, task names bytes.

SPOOLER_TASK_MAX = 4096  # bytes of a task file's path returned by spool()


def _spool_pairs(d):
    """uWSGI's CPython plugin on Python 3 takes only bytes keys and turns other values into
    bytes with bytes(v), so 5 becomes five NUL bytes and a str value fails. Here str keys and
    values are utf-8 encoded and other values spooled as str(v), which uwsgidecorators and
    uWSGI's documentation examples (str values) expect."""
    keys, values = [], []
    for k, v in d.items():
        if not isinstance(k, (bytes, str)):
            raise ValueError("spooler callable dictionary must contains only bytes (or str) "
                             "keys, got %r" % (k,))
        if not isinstance(v, (bytes, bytearray, memoryview, str)):
            v = str(v)
        keys.append(_b(k))
        values.append(_b(v))
    return keys, values


def _spool(*args, **kw):
    if args:
        if len(args) > 1 or not isinstance(args[0], dict):
            raise ValueError("The argument of spooler callable must be a dictionary")
        d = dict(args[0])
    elif kw:
        d = dict(kw)
    else:
        raise ValueError("The argument of spooler callable must be a dictionary")
    body = b""
    for name in ("body", b"body"):
        if name in d and isinstance(d[name], (bytes, bytearray, str)):
            body = _b(d.pop(name))
    keys, values = _spool_pairs(d)
    ckeys = ffi.new("uwsgi_str[]", max(len(keys), 1))
    cvalues = ffi.new("uwsgi_str[]", max(len(keys), 1))
    keep = []
    for i, (k, v) in enumerate(zip(keys, values)):
        kb, vb = ffi.from_buffer(k), ffi.from_buffer(v)
        keep += [kb, vb]
        ckeys[i].ptr, ckeys[i].len = kb, len(k)
        cvalues[i].ptr, cvalues[i].len = vb, len(v)
    out = ffi.new("char[]", SPOOLER_TASK_MAX)
    # the cffi call releases PyPy's GIL while the core writes and fsyncs the file
    rc = host.spool(ckeys, cvalues, len(keys), body, len(body), out, SPOOLER_TASK_MAX)
    if rc == UWSGI_ELIMIT:
        raise ValueError("unable to spool job: the arguments exceed 64 KiB (use 'body' for big "
                         "values)")
    if rc != UWSGI_OK:
        raise ValueError("unable to spool job (the reason is logged)")
    return ffi.string(out)


def _spool_dict(task_name, keys, values, count, body, body_len):
    """The dict uWSGI hands the spooler function: bytes keys and values, plus the str keys
    'spooler_task_name' (bytes) and 'body' (when the task has one)."""
    d = {"spooler_task_name": task_name}
    for i in range(count):
        d[ffi.unpack(keys[i].ptr, keys[i].len)] = ffi.unpack(values[i].ptr, values[i].len)
    if body_len:
        d["body"] = ffi.unpack(ffi.cast("const char *", body), body_len)
    return d


_SPOOLER_HANDLER = ("int(void *, const char *, const uwsgi_str *, const uwsgi_str *, size_t, "
                    "const void *, size_t)")


def _spooler_task(c):
    """A task in the spooler process: the plugin's spooler_handler (registered before fork, a C
    function: a cffi callback would turn PyPy's threads on everywhere) calls this through
    hook_spooler with the task in the thread's uwsgi_pypy_call."""
    task, keys, values, count, body, body_len = c.spec, c.keys, c.values, c.count, c.data, c.len
    fn = getattr(state.uwsgi, "spooler", None)
    if fn is None:
        return UWSGI_SPOOL_IGNORE  # noqa: F821 (the core logs that nobody took the task)
    # uWSGI names the task by its file name: the spooler runs in the task's directory
    d = _spool_dict(os.path.basename(ffi.string(task)), keys, values, count, body, body_len)
    try:
        ret = fn(d)
    except BaseException:
        # as uWSGI: an exception keeps the task for the next scan (SPOOL_RETRY), logged
        log_exception("the spooler function raised on %s; the task is kept and retried:"
                      % ffi.string(task).decode("utf-8", "replace"))
        return UWSGI_SPOOL_RETRY  # noqa: F821
    if isinstance(ret, bool) or not isinstance(ret, int):
        return UWSGI_SPOOL_RETRY  # noqa: F821 (uWSGI: anything but an int retries)
    return int(ret)


@lazy_callback(_SPOOLER_HANDLER, error=-1)
def _spooler_collect(ctx, task, keys, values, count, body, body_len):
    ffi.from_handle(ctx).append(_spool_dict(ffi.string(task), keys, values, count, body,
                                            body_len))
    return 0


def _spooler_init(c):
    """In each spooler process before its first task: --spooler-import modules or files."""
    for name in opt_values("spooler-import"):
        try:
            if "/" in name or name.endswith(".py"):
                run_file(name)
            else:
                __import__(name)
        except BaseException:
            log_exception("--spooler-import %s failed:" % name)


def _add_spooler_api(m):
    count = host.spooler_count()
    dirs = [_cstr(host.spooler_dir(i)) for i in range(count)]
    m.i_am_the_spooler = lambda: True if host.spooler_index() >= 0 else None

    def spooler_dir():
        i = host.spooler_index()
        if i < 0:
            raise ValueError("This process is not a spooler")
        return dirs[i]
    m.spooler_dir = spooler_dir
    # as uWSGI: the spooler functions exist only when there is a spooler to spool to
    if not count and not opt_values("spooler-external"):
        return
    if count:
        m.spoolers = tuple(dirs)  # uWSGI lists each directory once per process
        host.register_spooler(api.spooler_handler, api.spooler_init, ffi.NULL)
    m.spool = m.send_to_spooler = _spool

    def spooler_pid():
        return host.spooler_pid(0) if count else 0
    m.spooler_pid = spooler_pid
    m.spooler_pids = lambda: [host.spooler_pid(i) for i in range(count)]

    def set_spooler_frequency(secs):
        host.set_spooler_frequency(int(secs))
        return True
    m.set_spooler_frequency = set_spooler_frequency

    def spooler_jobs():
        """The task files waiting in the first spooler's directory (not its priority
        sub-directories, as uWSGI), as absolute bytes paths."""
        import stat
        if not count:
            return []
        jobs = []
        for name in os.listdir(dirs[0]):
            if not name.startswith(b"uwsgi_spoolfile_on_"):
                continue
            path = dirs[0] + b"/" + name
            try:
                if stat.S_ISREG(os.lstat(path).st_mode) and os.access(path, os.R_OK | os.W_OK):
                    jobs.append(path)
            except OSError:
                pass
        return jobs
    m.spooler_jobs = spooler_jobs

    def spooler_get_task(path):
        got = []
        handle = ffi.new_handle(got)
        rc = host.spooler_read_task(_b(path, "task path"), _spooler_collect.get(), handle)
        if rc != UWSGI_OK:
            return None
        return got[0] if got else None
    m.spooler_get_task = spooler_get_task


def _log_gc_choice():
    """One start-up line with what PyPy's GC runs with here. The library's GC reads the same
    PYPY_GC_* variables as the pypy3 binary (inside rpython_startup_code); when the user set no
    PYPY_GC_NURSERY the plugin gave it 4M for that call (api.default_nursery), not the size
    PyPy picks from the CPU's cache. The line is for the reader, not a setting: it names the
    nursery, where it came from, any PYPY_GC_* the user set, and the live heap the
    setup left."""
    import gc
    stats = gc.get_stats()
    # PYPYLOG is not among them: PyPy removed it from the environment (the plugin logged it)
    user = ["%s=%s" % (k, v) for k, v in sorted(os.environ.items()) if k.startswith("PYPY_GC_")]
    if "PYPY_GC_NURSERY" in os.environ:
        origin = "PYPY_GC_NURSERY=%s" % os.environ["PYPY_GC_NURSERY"]
    elif api.default_nursery != ffi.NULL:
        origin = ("the server's default, as PYPY_GC_NURSERY=%s: PyPy's size from the CPU's "
                  "cache is small for web apps; set PYPY_GC_NURSERY to choose"
                  % ffi.string(api.default_nursery).decode())
    else:
        origin = "sized by PyPy from the CPU's cache"
    log("GC incminimark: nursery %s (%s); environment: %s; live heap after setup %s; cffi %s"
        % (stats.nursery_size, origin, " ".join(user) or "no PYPY_GC_*",
           stats.total_gc_memory, FFI_ORIGIN))


_WS_TEXT, _WS_BINARY = 1, 2


def _ws_request(what):
    req = _current_request(what)
    if not getattr(_tls, "ws", False):
        raise OSError("uwsgi.%s(): call uwsgi.websocket_handshake() first" % what)
    return req


def _ws_recv(nonblocking, what):
    if _hub_on:
        hub = getattr(_tls, "hub", None)
        if hub is not None:  # a task of this worker's hub (websocket_hub.py)
            return hub.recv(nonblocking, what)
    req = _ws_request(what)
    msg, opcode = _tls.ws_out  # made once per thread: no allocation per message
    # the core answers pings and closes, and waits with PyPy's GIL released (cffi)
    return _ws_result(host.ws_recv(req, 1 if nonblocking else 0, msg, opcode), msg)


def _ws_result(rc, msg):
    if rc == 1:
        return bytes(ffi.buffer(msg.ptr, msg.len)) if msg.len else b""
    if rc == 0:
        return b""  # nonblocking, nothing whole pending: uWSGI's websocket_recv_nb
    if rc == UWSGI_EPEER:
        raise OSError("websocket closed by the peer")
    if rc == UWSGI_ELIMIT:
        raise OSError("websocket message over --websocket-max-size (closed with 1009)")
    raise OSError("unable to receive websocket message (protocol error; see the log)")


def _add_websocket_api(m):
    """uWSGI's websocket_* functions over the core's RFC 6455 (host->ws_*). str or bytes are
    accepted everywhere: uWSGI's own PyPy plugin took only bytes on Python 3."""

    def websocket_handshake(key=None, origin=None, proto=None):
        req = _current_request("websocket_handshake")
        k = _b(key, "key") if key else ffi.NULL
        o = _b(origin, "origin") if origin else ffi.NULL
        p = _b(proto, "proto") if proto else ffi.NULL
        rc = host.ws_handshake(req, k, len(key and k or b""), o, len(origin and o or b""),
                               p, len(proto and p or b""))
        if rc != UWSGI_OK:
            _tls.ws_refused = True  # the core answered 400/426; nothing more to send
            raise OSError("unable to complete websocket handshake")
        _tls.ws = True
        if getattr(_tls, "ws_out", None) is None:
            _tls.ws_out = ffi.new("uwsgi_str *"), ffi.new("uint8_t *")
    m.websocket_handshake = websocket_handshake

    def _send(msg, opcode, what):
        req = _ws_request(what)
        data = _b(msg, "message")
        rc = host.ws_send(req, opcode, data, len(data))
        if rc != UWSGI_OK:
            raise OSError("unable to send websocket message (the connection is closed)")

    m.websocket_send = lambda msg, request_context=None: _send(msg, _WS_TEXT, "websocket_send")
    m.websocket_send_binary = (
        lambda msg, request_context=None: _send(msg, _WS_BINARY, "websocket_send_binary"))
    m.websocket_recv = lambda request_context=None: _ws_recv(False, "websocket_recv")
    m.websocket_recv_nb = lambda request_context=None: _ws_recv(True, "websocket_recv_nb")


_hub_on = False  # --async N / --ugreen / --greenlet (websocket_hub.py); set by _setup

# @INCLUDE websocket_hub.py@


# ---------------------------------------------------------------------------------------------
# mules and farms (the core's "mule" kind of extra process: core/mules.cpp): uWSGI's mule_*
# and farm_* functions with its conventions (plugins/python/uwsgi_pymodule.c), and the plugin's
# mule hooks: a programmed mule's --mule=SPEC, and messages for a signal-only mule.


def _mule_id():
    """uwsgi.mule_id(): this mule's id 1..N, 0 in workers and the master (as uWSGI)."""
    index = ffi.new("int32_t *")
    kind = host.process_kind(index)
    return index[0] if kind != ffi.NULL and ffi.string(kind) == b"mule" else 0


def _mule_count():
    """The number of mules: fixed for the life of the server, so asked once."""
    if state.mule_count is None:
        state.mule_count = _setting("mules")
    return state.mule_count


def _mule_msg(message, mule=None):
    """uwsgi.mule_msg(msg[, mule_id | farm]): True when queued, False when the queue is full or
    the message is over --mule-msg-size (the core logs which), as uWSGI."""
    message = _b(message, "message")
    count = _mule_count()
    if count < 1:
        raise ValueError("no mule configured (add --mule or --mules N)")
    if mule is None:
        rc = host.mule_msg(message, len(message), 0, ffi.NULL)
    elif isinstance(mule, (str, bytes)):
        rc = host.mule_msg(message, len(message), 0, _b(mule, "farm"))
        if rc == UWSGI_ERROR:
            raise ValueError("unknown farm %r (add it with --farm NAME:MULE[,MULE...])" % mule)
    elif isinstance(mule, int) and not isinstance(mule, bool):
        # uWSGI 2.0 checks `id < 0 && id > count`, never true: a wrong id there writes past
        # its table of mules. Here it is refused.
        if mule < 0 or mule > count:
            raise ValueError("invalid mule number %d: this server has mules 1..%d (0: any)"
                             % (mule, count))
        rc = host.mule_msg(message, len(message), mule, ffi.NULL)
    else:
        raise ValueError("invalid mule: give a mule id (int) or a farm name (str)")
    return rc == UWSGI_OK


def _receive(flags, buffer_size, timeout, what):
    if buffer_size < 1:
        raise ValueError("buffer_size must be positive")
    # one buffer per thread and size: ffi.new zeroes it, 64 KiB per message otherwise
    buffers = _mule_tls.__dict__.setdefault("buffers", {})
    buf = buffers.get(buffer_size)
    if buf is None:
        buf = buffers[buffer_size] = ffi.new("char[]", buffer_size)
    ms = -1 if timeout is None or timeout < 0 else int(timeout * 1000)
    n = host.mule_get_msg(buf, buffer_size, flags, ms)
    # not a mule: the core refuses (asked only then, not per message)
    if n == UWSGI_ERROR and _mule_id() == 0:  # noqa: F821
        raise ValueError("you can receive %s messages only in a mule" % what)
    if n == UWSGI_ELIMIT:
        raise ValueError("the next %s message is over buffer_size=%d bytes (it stays queued; "
                         "the log says its size): pass a larger buffer_size" % (what, buffer_size))
    if n < 0:
        return None  # timed out
    return ffi.buffer(buf, n)[:]


def _mule_get_msg(signals=True, farms=True, buffer_size=65536, timeout=-1):
    """uwsgi.mule_get_msg(): the next message for this mule (its own queue, the shared one and,
    with farms, its farms'), None after `timeout` seconds. Signals are handled by the mule's
    signal thread whatever `signals` says (uWSGI handles them only inside this call); with
    `signals` (the default), as in uWSGI, the call returns None once per signal handled."""
    # uWSGI: None and False turn an option off, anything else leaves it on
    flags = UWSGI_MULE_FARMS if farms not in (None, False) else 0  # noqa: F821
    if signals not in (None, False):
        flags |= UWSGI_MULE_SIGNALS  # noqa: F821
    return _receive(flags, buffer_size, timeout, "mule")


def _farm_get_msg():
    """uwsgi.farm_get_msg(): the next message for one of this mule's farms."""
    return _receive(UWSGI_MULE_FARMS_ONLY, 65536, -1, "farm")  # noqa: F821


def _farm_msg(farm, message):
    """uwsgi.farm_msg(farm, msg): queues msg for the first free mule of the farm. uWSGI says
    nothing of an unknown farm; here it is a ValueError."""
    message = _b(message, "message")
    rc = host.mule_msg(message, len(message), 0, _b(farm, "farm"))
    if rc == UWSGI_ERROR:
        raise ValueError("unknown farm %r (add it with --farm NAME:MULE[,MULE...])" % farm)
    return None


def _in_farm(name=None):
    """uwsgi.in_farm([name]): True when this mule belongs to farm `name` (any farm without
    one), else None (as uWSGI)."""
    return True if host.in_farm(_b(name, "farm") if name else ffi.NULL) == 1 else None


def _mule_file(mule_id=None):
    """uwsgi.mule_file([mule_id]): what mule `mule_id` (this mule without one) runs: its --mule
    SCRIPT or MODULE:FUNC, None for a signal-only mule. uWSGI raises SystemError (a NULL return
    without an exception) when called outside a mule without an id, or with id 0; here it is a
    ValueError naming the fix. A negative id is refused too (uWSGI answers None)."""
    if mule_id is None:
        mule_id = _mule_id()
        if mule_id == 0:
            raise ValueError("mule_file() without a mule id works only in a mule: pass one")
    elif not isinstance(mule_id, int) or isinstance(mule_id, bool):
        raise TypeError("mule_file() takes a mule id (int)")
    count = _mule_count()
    if mule_id < 1 or mule_id > count:
        raise ValueError("The id you provided doesn't correspond to any mule (this server has "
                         "mules 1..%d)" % count)
    spec = host.mule_file(mule_id)
    return None if spec == ffi.NULL else os.fsdecode(ffi.string(spec))


def _install_mule_msg_hook(func):
    state.mule_msg_extra_hooks.append(func)


def _mule_program(spec):
    """--mule=SPEC in this mule: a .py file runs as __main__, MODULE:FUNCTION is imported and
    called (as uWSGI's CPython plugin); 1 when SPEC was ours, 0 for a signal-only mule."""
    spec = ffi.string(spec).decode("utf-8", "surrogateescape")
    if spec.endswith(".py"):
        run_file(spec)
        return 1
    if ":" in spec:
        mod_name, _, fn = spec.partition(":")
        getattr(importlib.import_module(mod_name), fn)()
        return 1
    return 0


def _mule_message(msg, length):
    """A message for a signal-only mule: uwsgi.mule_msg_hook, then every hook installed with
    install_mule_msg_hook; 0 (not handled: the core logs it) when there is none."""
    hooks = [h for h in [getattr(state.uwsgi, "mule_msg_hook", None)] if h is not None]
    hooks += state.mule_msg_extra_hooks
    if not hooks:
        return 0
    message = ffi.buffer(msg, length)[:]
    for hook in hooks:
        try:
            hook(message)
        except BaseException:
            log_exception("mule %d: the message hook %r raised:" % (_mule_id(), hook))
    return 1


state.mule_msg_extra_hooks = []
state.mule_count = None
_mule_tls = threading.local()


def _add_mule_functions(m):
    m.mule_id = _mule_id
    m.mule_msg = _mule_msg
    m.mule_get_msg = _mule_get_msg
    m.farm_msg = _farm_msg
    m.farm_get_msg = _farm_get_msg
    m.in_farm = _in_farm
    m.install_mule_msg_hook = _install_mule_msg_hook
    m.mule_file = _mule_file
    m.mule_msg_hook = None


def _setup():
    _check_layout()
    _log_gc_choice()
    if not sys.argv:
        sys.argv[:] = ["uwsgi"]
    if "." not in sys.path:
        sys.path.insert(0, ".")
    global uwsgi, _hub_on
    state.hub_capacity = _hub_capacity()
    _hub_on = state.hub_capacity > 0
    _thread_mode()
    if _hub_on:
        log("WebSocket hub: on (--async %d), one per worker: WebSocket upgrades run there, "
            "each in a continulet; an app that blocks in anything but websocket_recv stalls "
            "its hub's other WebSockets" % state.hub_capacity)
    state.rpc_ext = host.get_extension(b"uwsgi.rpc/1")
    # In the master before fork, so the core activates the cache plugin for every worker.
    state.cache_ext = host.get_extension(b"uwsgi.cache/1")
    uwsgi = _make_module()
    _add_cache_functions(uwsgi)
    _add_mule_functions(uwsgi)
    _add_spooler_api(uwsgi)
    sys.modules["uwsgi"] = uwsgi
    state.uwsgi = uwsgi
    _set_hooks()


def _hook(fn, what):
    """A hook the plugin calls with no arguments: fn reads them from the thread's
    uwsgi_pypy_call and returns its int result (None: keep the failure value the plugin
    preset there, as when fn raises)."""
    def hook():
        c = api.current_call()
        try:
            rc = fn(c)
        except BaseException:
            log_exception("%s failed:" % what)
            return
        if rc is not None:
            c.result = rc
    return hook


def _set_hooks():
    """The plugin enters Python through cpyext (PyGILState_Ensure, PyObject_CallNoArgs,
    PyGILState_Release, about 84 ns) and not through cffi callbacks, so that PyPy's threads can
    stay off (_thread_mode). It finds these in this module once the script ran. Importing
    cpyext sets up PyPy's C-API state (0.6 MB more RSS in a hello server)."""
    import cpyext  # noqa: F401
    state.hook_load_apps = _hook(lambda c: _load_apps(), "loading apps")
    state.hook_post_fork = _hook(lambda c: _post_fork(), "post_fork")
    state.hook_request = _hook(lambda c: _handle(c.req), "request")
    state.hook_atexit = _hook(lambda c: _call_hook("atexit"), "atexit")
    state.hook_mule = _hook(lambda c: _mule_program(c.spec), "the mule's program")
    state.hook_mule_msg = _hook(lambda c: _mule_message(c.data, c.len), "the mule message hook")
    state.hook_spooler = _hook(_spooler_task, "the spooler function")
    state.hook_spooler_init = _hook(_spooler_init, "--spooler-import")


try:
    _setup()
except LayoutMismatch:
    raise
except BaseException:
    log_exception("pypy setup script (%s) failed:"
                  % ffi.string(api.setup_origin).decode("utf-8", "replace"))
    raise
