"""A TCP proxy a test can cut: the database "becomes unreachable" between the app and PostgreSQL.

The app connects to the proxy's port; `cut()` closes every open connection at once (what a crashed
server, a failover or a dropped network looks like to the app) and refuses new ones until
`restore()`.
"""

import contextlib
import socket
import threading


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to (host, port) until cut."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.lock = threading.Lock()
        self.open_sockets = set()
        self.connections_made = 0
        self.closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def cut(self):
        """Close every forwarded connection now and refuse new ones."""
        with self.lock:
            self.up = False
            sockets, self.open_sockets = self.open_sockets, set()
        for sock in sockets:
            _close(sock)

    def restore(self):
        """Forward new connections again (connections cut earlier stay dead, as after a restart)."""
        with self.lock:
            self.up = True

    def close(self):
        self.closed = True
        self.cut()
        _close(self.listener)

    def _accept_loop(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                up = self.up
            if not up:
                _close(client)  # the app sees "server closed the connection unexpectedly"
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.open_sockets |= {client, server}
                self.connections_made += 1
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
