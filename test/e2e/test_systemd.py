"""systemd integration, on ours (PyPy) and Debian's uWSGI (CPython): sd_notify datagrams on
$NOTIFY_SOCKET (a UNIX datagram socket the test binds, as systemd does), and socket activation
(LISTEN_FDS/LISTEN_PID: a listening socket the test made is served, never bound again)."""
import os
import signal
import socket
import subprocess
import urllib.request

import pytest

from conftest import Flavour, plugin_available, read, uwsgi_request, wait_for
from workers_helpers import APP, get, start_workers_app


def notifications(sock):
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_sd_notify_ready_and_status(server, flavour, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    got = []
    try:
        s = start_workers_app(server, flavour, "--processes", "2", env={"NOTIFY_SOCKET": path})
        assert wait_for(lambda: got.extend(notifications(sock)) or
                        any("READY=1" in m for m in got), timeout=20), got
        text = "".join(got)
        assert "STATUS=uWSGI is ready" in text
        assert "STATUS=initializing uWSGI" in text  # sent first, before READY
        assert text.index("initializing") < text.index("READY=1")
        assert get(s)
    finally:
        sock.close()


def activated(flavour, tmp_path, listener, *extra):
    """Starts the server as systemd would: the listening socket as fd 3, LISTEN_FDS=1 and
    LISTEN_PID the server's own pid (the shell's, which exec keeps)."""
    fd = listener.fileno()
    args = [flavour.binary, "--master", "--processes", "2"] + flavour.app_args(APP) + list(extra)
    script = "LISTEN_PID=$$ LISTEN_FDS=1 exec " + " ".join("'%s'" % a for a in args)

    def as_fd_3():  # in the child, before exec; fd 3 is then kept open (pass_fds)
        os.dup2(fd, 3)
        os.set_inheritable(3, True)

    log = tmp_path / "activated.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["/bin/sh", "-c", script], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=as_fd_3, pass_fds=[3])
    return proc, str(log)


def pid_over_uwsgi(port):
    status, _, body = uwsgi_request(port, {"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                                           "REQUEST_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1"},
                                    timeout=5)
    return status == 200 and int(body) > 0


def pid_over_http(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as r:
        return int(r.read()) > 0


def serve_and_stop(flavour, tmp_path, listener, probe, *extra):
    port = listener.getsockname()[1]
    proc, log = activated(flavour, tmp_path, listener, *extra)
    try:
        def answered():
            try:
                return probe(port)
            except (OSError, ValueError):
                return proc.poll() is not None  # ends the wait; asserted below
        assert wait_for(answered, timeout=30), read(log)
        assert proc.poll() is None, read(log)
        assert "SystemD socket activation detected" in read(log)
    finally:
        proc.send_signal(signal.SIGINT)  # stops both servers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            # seen: Debian's uWSGI 2.0.21 serving only a passed socket buries one worker on
            # SIGINT and waits for the other for ever; ours must stop
            assert flavour.upstream, read(log)
    log_text = read(log)
    assert "Address already in use" not in log_text
    # systemd's socket outlives the server: connections queue for its next start
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    return log_text


def listening_socket():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


def test_socket_activation_serves_the_passed_socket(flavour, tmp_path):
    # no socket option: the passed socket is served with the uwsgi protocol, as uWSGI does
    with listening_socket() as listener:
        serve_and_stop(flavour, tmp_path, listener, pid_over_uwsgi)


def test_socket_activation_with_the_same_address_configured(flavour, tmp_path):
    with listening_socket() as listener:
        port = listener.getsockname()[1]
        # --socket on the passed address: taken from systemd, not bound again (binding a
        # listening port a second time would fail)
        serve_and_stop(flavour, tmp_path, listener, pid_over_uwsgi,
                       "--socket", "127.0.0.1:%d" % port)


def test_socket_activation_keeps_the_protocol_of_the_option(tmp_path):
    """--http-socket on the passed address speaks HTTP on it. Debian's uWSGI 2.0.21 serves every
    passed socket with the uwsgi protocol whatever option names its address (an HTTP client
    gets "invalid request block size" in its log): this server does better."""
    if not plugin_available("pypy"):
        pytest.skip("plugin pypy is not built here")
    with listening_socket() as listener:
        port = listener.getsockname()[1]
        serve_and_stop(Flavour("pypy"), tmp_path, listener, pid_over_http,
                       "--http-socket", "127.0.0.1:%d" % port)
