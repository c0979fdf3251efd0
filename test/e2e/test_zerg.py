"""uWSGI's zergs: an instance with --zerg-server PATH passes its listening sockets to every
instance started with --zerg PATH, whose workers then take requests from the same listen queue.
Runs on ours (PyPy) and on Debian's uWSGI (CPython); the requests speak the uwsgi protocol, the
protocol uWSGI gives zerg sockets."""
import os

from conftest import uwsgi_request, wait_for
from workers_helpers import APP, live_children


def request_pid(port):
    status, _, body = uwsgi_request(port, {"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                                           "QUERY_STRING": "", "SERVER_NAME": "test",
                                           "SERVER_PORT": str(port), "SERVER_PROTOCOL": "HTTP/1.1"})
    assert status == 200, (status, body)
    return int(body)


def start_zerg_server(server, flavour, tmp_path):
    path = str(tmp_path / "zerg.sock")
    s = server("--socket", "127.0.0.1:{port}", "--master", "--processes", "1",
               "--zerg-server", path, *flavour.app_args(APP), binary=flavour.binary)
    assert s.wait_log("Zerg server enabled on %s" % path), s.output()[-2000:]
    return s, path


def test_a_zerg_serves_the_zerg_servers_socket(server, flavour, tmp_path):
    main, path = start_zerg_server(server, flavour, tmp_path)
    zerg = server("--master", "--processes", "1", "--zerg", path, *flavour.app_args(APP),
                  binary=flavour.binary, wait=False)
    assert zerg.wait_log("zerg sockets attached"), zerg.output()[-2000:]
    assert wait_for(lambda: len(live_children(zerg.pid)) == 1), zerg.output()[-2000:]
    main_workers, zerg_workers = set(live_children(main.pid)), set(live_children(zerg.pid))
    seen = set()

    def both_served():
        seen.add(request_pid(main.port))
        return seen & main_workers and seen & zerg_workers
    # one listen queue, two instances' workers: each takes some of the requests
    assert wait_for(both_served, 60), (seen, main_workers, zerg_workers, zerg.output()[-2000:])
    assert seen <= main_workers | zerg_workers

    # the zerg leaves; the socket stays the zerg server's, and it goes on serving
    zerg.stop()
    assert zerg.proc.returncode == 0, zerg.output()[-2000:]
    for _ in range(5):
        assert request_pid(main.port) in main_workers


def test_a_zerg_without_its_server_is_a_startup_error(server, flavour, tmp_path):
    missing = str(tmp_path / "none.sock")
    zerg = server("--master", "--processes", "1", "--zerg", missing, *flavour.app_args(APP),
                  binary=flavour.binary, wait=False)
    assert zerg.proc.wait(timeout=60) != 0
    assert "unable to connect to zerg server" in zerg.output() or \
        "cannot attach to the zerg server" in zerg.output(), zerg.output()[-2000:]
    assert not os.path.exists(missing)
