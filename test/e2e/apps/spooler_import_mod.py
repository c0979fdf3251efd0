"""--spooler-import module for test_spooler.py: imported in each spooler process only, it
replaces the app's uwsgi.spooler there."""
import os

import uwsgi


def imported_spooler(args):
    line = repr(("imported", os.getpid(), args.get(b"tag", b"").decode())) + "\n"
    fd = os.open(os.path.join(os.environ["MODULE_TEST_DIR"], "spooled"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, line.encode())
    os.close(fd)
    return uwsgi.SPOOL_OK


uwsgi.spooler = imported_spooler
