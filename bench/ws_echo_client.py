#!/usr/bin/python3
"""The asyncio twin of ws_echo_client.cpp, with Debian's python3-websockets: CONNS connections,
one binary message of SIZE bytes in flight on each; round trips counted for SECS seconds after
WARMUP. Same output line. Kept to show that on this machine it, not the server, is the ceiling.

usage: ws_echo_client.py PORT PATH CONNS SIZE WARMUP SECS
"""
import asyncio
import resource
import sys

import websockets


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


async def main(port, path, conns, size, warmup, secs):
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, end = start + warmup, start + warmup + secs
    latencies = []
    msg = bytes(range(256)) * (size // 256) + bytes(size % 256)
    cpu_at = []

    async def one():
        async with websockets.connect("ws://127.0.0.1:%d%s" % (port, path),
                                      max_size=None, ping_interval=None) as ws:
            while True:
                sent = loop.time()
                if sent >= end:
                    return
                await ws.send(msg)
                echo = await ws.recv()
                assert echo == msg
                got = loop.time()
                if measure_from <= got < end:
                    if not cpu_at:
                        cpu_at.append(cpu_seconds())
                    latencies.append(got - sent)
    await asyncio.gather(*(one() for _ in range(conns)))
    latencies.sort()
    pct = lambda p: int(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1e6) \
        if latencies else 0
    print("messages=%d secs=%.3f p50_us=%d p99_us=%d client_cpu_s=%.3f"
          % (len(latencies), secs, pct(0.50), pct(0.99), cpu_seconds() - cpu_at[0]))


if __name__ == "__main__":
    port, path, conns, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    asyncio.run(main(port, path, conns, size, float(sys.argv[5]), float(sys.argv[6])))
