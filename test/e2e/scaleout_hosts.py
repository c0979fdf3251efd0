"""Hosts for the scale-out test and bench: network namespaces joined to this one by veth pairs,
each with a private address that exists only inside it, or, where namespaces cannot be made
(no root, no CAP_NET_ADMIN), loopback aliases 127.0.0.x. `kind` says which was used."""
import os
import subprocess


def _ip(*args):
    return subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=20, universal_newlines=True)


class Hosts:
    def __init__(self, count):
        self.count = count
        self.tag = "%x" % (os.getpid() & 0xffff)
        self.kind = None
        self.addresses = []      # where each host's server listens (and nginx connects)
        self.namespaces = []
        self._links = []
        try:
            self._make_namespaces()
            self.kind = "netns"
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self.delete()
            self.kind = "loopback"
            self.addresses = ["127.0.0.%d" % (11 + i) for i in range(count)]
            self.namespaces = [None] * count

    def _make_namespaces(self):
        # 10.213.X.0/30 per host: .1 on this side of the veth, .2 inside the namespace
        base = 10 + (os.getpid() % 200)
        for i in range(self.count):
            ns = "uwsgi-so-%s-%d" % (self.tag, i)
            outer, inner = "vso%s%do" % (self.tag, i), "vso%s%di" % (self.tag, i)
            steps = [
                ("netns", "add", ns),
                ("link", "add", outer, "type", "veth", "peer", "name", inner),
                ("link", "set", inner, "netns", ns),
                ("addr", "add", "10.213.%d.1/30" % (base + i), "dev", outer),
                ("link", "set", outer, "up"),
                ("-n", ns, "addr", "add", "10.213.%d.2/30" % (base + i), "dev", inner),
                ("-n", ns, "link", "set", inner, "up"),
                ("-n", ns, "link", "set", "lo", "up"),
            ]
            for n, step in enumerate(steps):
                r = _ip(*step)
                if r.returncode != 0:
                    raise RuntimeError("ip %s: %s" % (" ".join(step), r.stdout))
                if n == 0:
                    self.namespaces.append(ns)
                if n == 1:
                    self._links.append(outer)
            self.addresses.append("10.213.%d.2" % (base + i))

    def command(self, i, argv):
        """argv run on host i."""
        if self.namespaces[i] is None:
            return list(argv)
        return ["ip", "netns", "exec", self.namespaces[i]] + list(argv)

    def delete(self):
        for link in self._links:
            _ip("link", "del", link)  # takes its peer inside the namespace with it
        for ns in self.namespaces:
            if ns:
                _ip("netns", "del", ns)
        self._links, self.namespaces = [], []
