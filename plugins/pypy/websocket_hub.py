# WebSocket hub (--async N; --ugreen and --greenlet are uWSGI's spellings of the same thing).
#
# Part of the pypy plugin's setup script: gen_setup.py takes this file in where pypy_setup.py
# says "# @INCLUDE websocket_hub.py@", so it runs in the script's namespace (host, ffi, _tls,
# _handle, _ws_request, _ws_result, log).
#
# Why: with a thread per WebSocket every message costs a context switch (the thread sleeps in
# recv between two messages; docs/PERFORMANCE.md, "WebSocket echo: where the time goes"). Here a
# WebSocket upgrade request is handed to one hub thread per worker, which runs each one's whole
# WSGI call in a continulet (PyPy's built-in coroutine, what its greenlet module is made of, and
# cheaper to switch) and waits for all their sockets in one epoll set: an echo then costs its
# share of one epoll_wait, one recv and one sendmsg, and no context switch while messages keep
# coming. The request thread that read the request stays parked on a lock (the core still owns
# the connection and the uwsgi_request, counts the WebSocket against --websocket-max-connections
# and closes it when the hook returns, as without a hub). It is opt-in, as uWSGI's async mode:
# an app that waits in anything but websocket_recv (time.sleep, a queue, a blocking send to a
# slow client) stops every WebSocket of its hub meanwhile.

import _continuation
import collections
import select

_HUB_TICK = 0.5  # seconds: each parked WebSocket's ws_recv runs its ping timers this often


def _hub_capacity():
    """N of --async N (the most WebSockets one hub runs at once); --ugreen or --greenlet alone:
    --threads (more than the WebSockets the core lets a worker hold). 0: no hub."""
    value = opt_value("async")
    if value is not None:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError("--async %s: give the most WebSockets one hub runs, N >= 1" % value)
        return n
    if host_flag("ugreen") or host_flag("greenlet"):
        return max(1, host.num_threads())
    return 0


class _HubTask(object):
    """One handed-over request: its WSGI call's continulet, its socket once it waits for it,
    and the lock its request thread waits on until the call is over."""
    __slots__ = ("req", "env", "rc", "cont", "fd", "waiting", "done")

    def __init__(self, req, env):
        self.req = req
        self.env = env
        self.rc = UWSGI_ERROR
        self.cont = None
        self.fd = -1
        self.waiting = False
        self.done = threading.Lock()
        self.done.acquire()


def _hub_task_main(cont, task):
    # the hub thread's _tls is shared by its tasks: each sets it whenever it runs again
    _tls.ws = _tls.ws_refused = False
    task.rc = _handle(task.req, task.env)


class _Hub(object):
    def __init__(self, capacity):
        self.capacity = capacity
        self.pid = os.getpid()
        self.count = 0  # tasks handed over and not finished
        self.count_lock = threading.Lock()
        self.inbox = collections.deque()  # appended by request threads, taken by the hub
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        self.epoll = select.epoll()
        self.epoll.register(self.wake_r, select.EPOLLIN)
        self.parked = {}  # fd -> task: registered once per WebSocket, level-triggered
        self.current = None
        # websocket_recv's out-parameters, shared by the tasks: read before any switch
        self.ws_out = ffi.new("uwsgi_str *"), ffi.new("uint8_t *")
        self.thread = threading.Thread(target=self._loop, name="uwsgi-ws-hub", daemon=True)
        self.thread.start()

    # --- on a request thread
    def hand_over(self, req, env):
        """Runs the request on the hub and waits (GIL released) until it is over: its result
        code, or None when the hub already runs --async N WebSockets (the caller runs it)."""
        with self.count_lock:
            if self.count >= self.capacity:
                return None
            self.count += 1
        task = _HubTask(req, env)
        self.inbox.append(task)
        os.write(self.wake_w, b"\0")
        task.done.acquire()
        return task.rc

    # --- on the hub thread
    def _loop(self):
        _tls.hub = self
        poll, parked, wake_r = self.epoll.poll, self.parked, self.wake_r
        monotonic = time.monotonic
        next_tick = monotonic() + _HUB_TICK
        while True:
            try:
                timeout = max(0.0, next_tick - monotonic()) if parked else -1
                for fd, _ in poll(timeout):
                    if fd == wake_r:
                        self._take_new()
                        continue
                    task = parked.get(fd)
                    if task is not None and task.waiting:
                        self._run(task)
                now = monotonic()
                if now >= next_tick:
                    next_tick = now + _HUB_TICK
                    # a tick for every parked WebSocket: its ws_recv sends a due ping and
                    # checks the pong tolerance (the core's timers run inside ws_recv)
                    for task in list(parked.values()):
                        if task.waiting:
                            self._run(task)
            except BaseException:
                log_exception("websocket hub:")

    def _take_new(self):
        try:
            os.read(self.wake_r, 4096)
        except BlockingIOError:
            pass
        while self.inbox:
            task = self.inbox.popleft()
            task.cont = _continuation.continulet(_hub_task_main, task)
            self._run(task)

    def _run(self, task):
        task.waiting = False
        self.current = task
        try:
            task.cont.switch()
        except BaseException:  # _handle catches the app's; this is the hub's own failure
            log_exception("websocket hub: a task failed:")
        self.current = None
        if not task.cont.is_pending():
            self._end(task)

    def _end(self, task):
        # out of the epoll set before the request thread goes on: the core closes the fd then
        if task.fd >= 0:
            self.parked.pop(task.fd, None)
            try:
                self.epoll.unregister(task.fd)
            except OSError:
                pass
        with self.count_lock:
            self.count -= 1
        task.cont = task.env = None
        task.done.release()

    # --- in a task (a continulet on the hub thread)
    def recv(self, nonblocking, what):
        """websocket_recv / websocket_recv_nb of the running task: a whole message already
        buffered, else the task waits for its socket in the hub's epoll and reads once per
        readiness (never a blocking recv: the hub thread serves the other WebSockets)."""
        task = self.current
        if not _tls.ws:
            _ws_request(what)  # raises: no handshake in this request
        req = task.req
        msg, opcode = self.ws_out
        ws_recv = host.ws_recv
        if nonblocking:
            return _ws_result(ws_recv(req, 1, msg, opcode), msg)
        rc = ws_recv(req, UWSGI_WS_RECV_BUFFERED, msg, opcode)
        while rc == 0:
            if task.fd < 0:
                task.fd = host.conn_fd(host.req_conn(req))
                self.epoll.register(task.fd, select.EPOLLIN)
                self.parked[task.fd] = task
            task.waiting = True
            task.cont.switch()  # to the hub, until the socket is readable or a tick
            # back from the hub: the thread's _tls is this task's again
            _tls.req = req
            _tls.ws = True
            _tls.ws_refused = False
            rc = ws_recv(req, 1, msg, opcode)
        return _ws_result(rc, msg)


_hub = None
_hub_lock = threading.Lock()


def _hub_hand_over(req, env):
    """The worker's hub (started at its first WebSocket; a forked child starts its own)."""
    global _hub
    hub = _hub
    if hub is None or hub.pid != os.getpid():
        with _hub_lock:
            hub = _hub
            if hub is None or hub.pid != os.getpid():
                hub = _hub = _Hub(state.hub_capacity)
    return hub.hand_over(req, env)


def _is_websocket_upgrade(env):
    return env.get("HTTP_UPGRADE", "").lower() == "websocket"
