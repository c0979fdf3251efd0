"""Programmed mules for test_mule_messages.py. As a script (--mule=mule_prog.py): mule 3 reads
its messages with a small buffer (64 bytes) and records each; a bigger one is read again with a
large buffer. As module:function (--mule=mule_prog:main): a farm mule that records what
farm_get_msg gives it."""
import os

import uwsgi
from app_events import event


def script():
    event("start", uwsgi.mule_id(), os.getpid(), uwsgi.in_farm("pair"), uwsgi.in_farm(),
          uwsgi.in_farm("nope"))
    while True:
        try:
            message = uwsgi.mule_get_msg(buffer_size=64)
        except ValueError:  # ours: over the buffer, still queued
            message = uwsgi.mule_get_msg(buffer_size=1 << 20)
            event("big", len(message), uwsgi.mule_id())
            continue
        if message is not None:
            if message.startswith(b"BBBB"):
                event("big", len(message), uwsgi.mule_id())
            else:
                event("script", message.decode(), uwsgi.mule_id())


def main():
    event("start", uwsgi.mule_id(), os.getpid(), uwsgi.in_farm("pair"), uwsgi.in_farm(),
          uwsgi.in_farm("nope"))
    while True:
        message = uwsgi.farm_get_msg()
        if message is not None:
            event("farmfn", message.decode(), uwsgi.mule_id())


if __name__ == "__main__":
    script()
