"""Keep-alive must not starve anyone: idle and busy keep-alive connections wait in the worker's
epoll set, not in a thread, so with one process and one thread a fresh client is still answered
at once while 32 keep-alive clients keep the server busy (upstream's --http11-socket parks a
blocking thread per kept-alive connection: a fresh request waited 5 s there)."""
import http.client
import threading
import time


def keepalive_client(port, stop, counts, idle=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    n = 0
    while not stop.is_set():
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.read() == b"Hello World"
        n += 1
        if idle:
            stop.wait(0.5)  # a keep-alive client that mostly sits idle
    counts.append(n)
    conn.close()


def fresh_request_ms(port):
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/", headers={"Connection": "close"})
    body = conn.getresponse().read()
    conn.close()
    assert body == b"Hello World"
    return (time.perf_counter() - t0) * 1000


def test_fresh_client_is_answered_at_once_beside_32_keepalive_clients(server):
    s = server("--plugin", "example", "--http-socket", "127.0.0.1:{port}", "--processes", "1",
               "--threads", "1", "--disable-logging")
    stop, counts = threading.Event(), []
    clients = [threading.Thread(target=keepalive_client, args=(s.port, stop, counts, i % 2 == 1))
               for i in range(32)]
    for c in clients:
        c.start()
    try:
        time.sleep(0.5)
        latencies = [fresh_request_ms(s.port) for _ in range(20)]
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=20)
    assert len(counts) == 32 and min(counts) > 0  # every keep-alive client was served
    latencies.sort()
    # milliseconds, not seconds: the median fresh request, and even the slowest one
    assert latencies[len(latencies) // 2] < 50, latencies
    assert latencies[-1] < 500, latencies
