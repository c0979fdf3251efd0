"""Runs Debian's nginx (nginx-light) in the foreground with a config made for one test."""
import os
import shutil
import subprocess

from conftest import free_port, read, wait_for_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx:
    def __init__(self, tmp_path, location_block, port=None, http_block=""):
        self.port = port or free_port()
        prefix = tmp_path / "nginx"
        prefix.mkdir(exist_ok=True)
        self.log_path = str(prefix / "error.log")
        conf = prefix / "nginx.conf"
        user = "user root;" if os.getuid() == 0 else ""
        conf.write_text("""
%(user)s
worker_processes 1;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(prefix)s/body;
    proxy_temp_path %(prefix)s/proxy;
    uwsgi_temp_path %(prefix)s/uwsgi;
    fastcgi_temp_path %(prefix)s/fastcgi;
    scgi_temp_path %(prefix)s/scgi;
    client_max_body_size 64m;
    %(http_block)s
    server {
        listen 127.0.0.1:%(port)d;
        location / { %(location)s }
    }
}
""" % {"user": user, "prefix": prefix, "port": self.port, "location": location_block,
       "http_block": http_block})
        self.proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc, self.log_path)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def errors(self):
        return read(self.log_path)
