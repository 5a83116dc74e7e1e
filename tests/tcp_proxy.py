"""A TCP proxy that tests can cut and restore, to stage a broker outage without a broker restart.

The embedded broker is memory-only and its clients never recover from a restart (broker notes), so
an outage is staged by cutting the network: the broker advertises this proxy's address, every
client connects through it, and ``cut()`` drops all connections and refuses new ones.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; loopback only."""

    def __init__(self, listen_port: int, target: tuple[str, int]) -> None:
        self.port = listen_port
        self._target = target
        self._open = True
        self._stopping = False
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", listen_port), reuse_port=False)
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def cut(self) -> None:
        """Drop every connection and refuse new ones until ``restore``."""
        with self._lock:
            self._open = False
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by the other side
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._connections.clear()

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def stop(self) -> None:
        self._stopping = True
        self.cut()
        self._thread.join(timeout=5)
        self._server.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if not self._open:
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(self._target, timeout=2)
                except OSError:
                    client.close()
                    continue
                self._connections += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        try:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _ in selector.select(timeout=0.5):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            client.close()
            upstream.close()
