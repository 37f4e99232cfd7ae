"""Run the deploy kit's nginx site in front of a real gunicorn on this machine's loopback.

Shared by tests/deploy/test_nginx.py and bench/bench_slow_clients.py. The site is the file in
deploy/nginx/, rendered the way an operator edits it (domain, certificate, upstream, directories)
plus free local ports instead of 80/443; nginx runs as a foreground child with its own prefix,
temporary directories and pid file. Every address used is on 127.0.0.0/8.
"""

import datetime
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "school-points.conf"
NGINX = Path("/usr/sbin/nginx")
SERVER_NAME = "points.school.test"
# What the site file says, as shipped, for each thing an operator replaces.
SHIPPED = {
    "domain": "points.example-school.cn",
    "certificate": "/etc/letsencrypt/live/points.example-school.cn/fullchain.pem",
    "key": "/etc/letsencrypt/live/points.example-school.cn/privkey.pem",
    "upstream": "server 127.0.0.1:8000;",
    "verify_dir": "/srv/school-points/wechat-verify",
    "acme_dir": "/var/www/letsencrypt",
    "log_dir": "/var/log/nginx/",
    "http_listen": "listen 80",
    "https_listen": "listen 443",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process=None, seconds=60.0, log=None):
    """Return once 127.0.0.1:`port` accepts connections; raise (with the log's tail) otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    tail = Path(log).read_text(errors="replace")[-3000:] if log and Path(log).exists() else ""
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port}\n{tail}")


def make_certificate(directory, name=SERVER_NAME):
    """A self-signed certificate for `name` (cert.pem, key.pem in `directory`); returns their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def render_site(*, http_port, https_port, upstream_port, cert, key, verify_dir, acme_dir, log_dir) -> str:
    """deploy/nginx/school-points.conf with what an operator replaces replaced; IPv6 listens dropped.

    Raises if the shipped file no longer holds one of the strings replaced, so the test never runs
    a site that silently kept a production path.
    """
    text = SITE.read_text()
    missing = [label for label, shipped in SHIPPED.items() if shipped not in text]
    if missing:
        raise AssertionError(f"{SITE} no longer contains the shipped values for {missing}: update {__file__}")
    for label, value in (
        ("certificate", str(cert)),
        ("key", str(key)),
        ("domain", SERVER_NAME),
        ("upstream", f"server 127.0.0.1:{upstream_port};"),
        ("verify_dir", str(verify_dir)),
        ("acme_dir", str(acme_dir)),
        ("log_dir", f"{log_dir}/"),
        ("http_listen", f"listen 127.0.0.1:{http_port}"),
        ("https_listen", f"listen 127.0.0.1:{https_port}"),
    ):
        text = text.replace(SHIPPED[label], value)
    return "\n".join(line for line in text.splitlines() if "listen [::]" not in line) + "\n"


MAIN_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/site.conf;
}}
"""


class Nginx:
    """Debian's nginx serving the rendered site on free ports of 127.0.0.1, as a child process."""

    def __init__(self, prefix, upstream_port):
        self.prefix = Path(prefix)
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        self.verify_dir = self.prefix / "wechat-verify"
        self.verify_dir.mkdir(exist_ok=True)
        (self.prefix / "acme").mkdir(exist_ok=True)
        self.cert, self.key = make_certificate(self.prefix)
        self.http_port, self.https_port = free_port(), free_port()
        site = render_site(
            http_port=self.http_port,
            https_port=self.https_port,
            upstream_port=upstream_port,
            cert=self.cert,
            key=self.key,
            verify_dir=self.verify_dir,
            acme_dir=self.prefix / "acme",
            log_dir=self.prefix,
        )
        (self.prefix / "site.conf").write_text(site)
        # As root, nginx's workers would run as `nobody`, who cannot enter pytest's private tmp dirs.
        user = "user root;" if os.geteuid() == 0 else ""
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(MAIN_CONF.format(user=user, prefix=self.prefix))
        self.process = None

    def command(self, *extra):
        return [str(NGINX), "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.prefix / "error.log"), *extra]

    def check(self):
        """`nginx -t` on the rendered site: its output when the configuration is refused."""
        result = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise AssertionError(f"nginx refused the site:\n{result.stderr}")
        return result.stderr

    def start(self):
        self.check()
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=open(self.prefix / "stderr.log", "w"),  # noqa: SIM115
        )
        wait_for_port(self.https_port, self.process, 20, self.prefix / "error.log")
        wait_for_port(self.http_port, self.process, 20, self.prefix / "error.log")
        return self

    def stop(self):
        stop_process(self.process)

    def tls_context(self):
        return ssl.create_default_context(cafile=str(self.cert))

    def https(self, *, source="127.0.0.1", timeout=60.0):
        """An HTTPS connection to the site (SNI and Host: the server name) from `source`."""
        return LoopbackHTTPS(self.https_port, self.tls_context(), source=source, timeout=timeout)

    def http(self, *, source="127.0.0.1", timeout=60.0):
        return LoopbackHTTP(self.http_port, source=source, timeout=timeout)


class LoopbackHTTP(http.client.HTTPConnection):
    """A connection to 127.0.0.1:`port` sent from `source` (any 127.x address), for SERVER_NAME."""

    def __init__(self, port, *, source="127.0.0.1", timeout=60.0, host=SERVER_NAME):
        super().__init__(host, port, timeout=timeout, source_address=(source, 0))

    def connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), self.timeout, self.source_address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class LoopbackHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to 127.0.0.1:`port` from `source`, verifying the certificate of SERVER_NAME."""

    def __init__(self, port, context, *, source="127.0.0.1", timeout=60.0, host=SERVER_NAME):
        super().__init__(host, port, timeout=timeout, source_address=(source, 0), context=context)

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def start_gunicorn(port, env, log, *, workers, threads):
    """The project's gunicorn (gunicorn.conf.py) on 127.0.0.1:`port`, as the systemd unit runs it."""
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        "gunicorn.conf.py",
        "wsgi:create_app()",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        # Not $HOME/.gunicorn/gunicorn.ctl, which every gunicorn on the machine would share.
        "--no-control-socket",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=open(log, "w"),  # noqa: SIM115 - the server writes to it until it is stopped
        stderr=subprocess.STDOUT,
        process_group=0,
    )
    wait_for_port(port, process, 60, log)
    return process


def wait_until_serving(factory, in_a_row=8, seconds=90.0):
    """Return once /healthz answered `in_a_row` times running: every gunicorn worker has booted
    (the arbiter listens before its workers have loaded the app)."""
    deadline, streak = time.monotonic() + seconds, 0
    while streak < in_a_row:
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not start serving")
        streak = streak + 1 if healthz_seconds(factory, 2) is not None else 0


def sockets_per_worker(arbiter_pid) -> list[int]:
    """Open sockets of each worker process of a gunicorn arbiter (Linux /proc)."""
    children = Path(f"/proc/{arbiter_pid}/task/{arbiter_pid}/children").read_text().split()
    counts = []
    for pid in children:
        fds = Path(f"/proc/{pid}/fd")
        try:
            counts.append(sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")))
        except OSError:
            continue
    return sorted(counts, reverse=True)


def stop_process(process, seconds=15):
    """Stop a child we started (its process group when it leads one), waiting for it."""
    if process is None or process.poll() is not None:
        return
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
    except ProcessLookupError:
        return
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class SlowClients:
    """`count` connections that send a request a byte at a time, every `interval` seconds, until
    stopped: half dribble their headers, half send complete headers (a JSON login with a 4 KiB
    body) and then dribble the body. Each has sent its first byte when `start` returns."""

    def __init__(self, count, connect, interval=0.5):
        self.count, self.connect, self.interval = count, connect, interval
        self.stopping = threading.Event()
        self.ready = threading.Semaphore(0)
        self.threads = []
        self.errors = []

    def start(self, seconds=30.0):
        for number in range(self.count):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self.threads.append(thread)
        deadline = time.monotonic() + seconds
        for _ in range(self.count):
            if not self.ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise RuntimeError(f"slow clients did not connect in {seconds}s: {self.errors[:3]}")
        return self

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(10)

    def _run(self, number):
        head = (
            f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
            "Content-Type: application/json\r\nContent-Length: 4096\r\n"
            "User-Agent: slow-client\r\n\r\n"
        ).encode()
        body = b'{"code": "' + b"x" * 4000
        sock = None
        try:
            sock = self.connect()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if number % 2:  # slow body: the headers at once, then the body a byte at a time
                sock.sendall(head)
                pending = body
            else:  # slow headers
                pending = head + body
            sock.sendall(pending[:1])
            pending = pending[1:]
            self.ready.release()
            while pending and not self.stopping.wait(self.interval):
                sock.sendall(pending[:1])
                pending = pending[1:]
        except OSError as exc:
            self.errors.append(exc)
            self.ready.release()
        finally:
            if sock is not None:
                sock.close()


def healthz_seconds(connection_factory, timeout) -> float | None:
    """Seconds /healthz took to answer 200 on a new connection, or None if no answer in `timeout`."""
    started = time.monotonic()
    connection = connection_factory(timeout)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise AssertionError(f"/healthz answered {response.status}")
        return time.monotonic() - started
    except TimeoutError:
        return None
    finally:
        connection.close()
