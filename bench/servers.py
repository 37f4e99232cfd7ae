"""What every benchmark script needs to run servers of its own on this machine's loopback."""

import os
import re
import socket
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent


def procfile(name):
    """The command of a Procfile process type, as deployed."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line[len(name) + 1 :].strip()
    raise SystemExit(f"Procfile has no {name} process")


def expand(command, env):
    """`command` with each ${NAME:-default} replaced as the shell would with `env` (for reports)."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), command)


def web_shape(env):
    """(processes, threads per process) that the Procfile's web command runs with under `env`."""
    command = expand(procfile("web"), env)
    return tuple(int(re.search(rf"--{flag} (\d+)", command).group(1)) for flag in ("workers", "threads"))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_url(url, seconds=60):
    """Return once `url` answers; exit the script if it does not within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server did not start: {url}")


class CpuMeter:
    """CPU seconds used so far by groups of processes, read from /proc (Linux), to see where a run's
    CPU went: process groups by name (`add`), processes by command-line prefix (`add_command`), and
    the PostgreSQL backends serving one database."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, database):
        self.groups = {}  # name -> process group ids
        self.commands = {}  # name -> command-line prefix
        self.database = database
        self.own = None

    def add(self, name, pgid):
        self.groups.setdefault(name, set()).add(pgid)

    def add_command(self, name, prefix):
        self.commands[name] = prefix

    def add_self(self, name):
        """This process and the children it has waited for (a load generator's worker processes)."""
        self.own = name

    def sample(self):
        used = dict.fromkeys((*self.groups, *self.commands, "postgres"), 0.0)
        if self.own:
            times = os.times()
            used[self.own] = times.user + times.system + times.children_user + times.children_system
        backend = f" {self.database} ".encode()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read()
            except OSError:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / self.TICK
            group = int(fields[2])
            for name, groups in self.groups.items():
                if group in groups:
                    used[name] += seconds
            for name, prefix in self.commands.items():
                if command.startswith(prefix):
                    used[name] += seconds
            if command.startswith(b"postgres: ") and backend in command:
                used["postgres"] += seconds
        return used

    @staticmethod
    def per_request(before, after, requests):
        """Milliseconds of CPU per request by group, between two samples."""
        return {name: (after[name] - before[name]) * 1000 / max(requests, 1) for name in after}
