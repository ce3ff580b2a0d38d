"""A Bolt TCP proxy that loses the answer to a COMMIT: the fault "the connection dropped during
COMMIT, so the outcome is unknown" (tests/resilience).

Loopback only. Bytes are relayed both ways unchanged; the client's side is parsed just enough to
find message boundaries (the 20-byte handshake, then chunks: a 2-byte big-endian size, a zero
size ending a message). When the client sends a COMMIT (a PackStream struct of no fields with
signature 0x12: bytes B0 12) and a cut is armed for that COMMIT, the proxy

  1. stops relaying the server's bytes to that client,
  2. forwards the COMMIT to the server (so the server commits, or fails, on its own),
  3. waits until the server has answered (or `answer_timeout_s` passed), drops the answer and
     closes both connections.

The client (the driver) is left with a COMMIT sent and no answer: neo4j raises IncompleteCommit.

    python ops/faults/bolt_proxy.py --upstream 127.0.0.1:7687 --cut 1 --cut 5
    # prints "listening on 127.0.0.1:<port>"; cuts the answer to the 1st and 5th COMMIT seen
"""

from __future__ import annotations

import argparse
import socket
import threading
from collections.abc import Iterable

COMMIT = b"\xb0\x12"
HANDSHAKE_BYTES = 20  # magic 0x6060B017 and four proposed versions


class _ClientStream:
    """Incremental parser of the client's byte stream into Bolt messages."""

    def __init__(self) -> None:
        self._handshake = HANDSHAKE_BYTES
        self._buf = bytearray()
        self._message = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Returns (end offset in `data`, message bytes) for each message completed by `data`."""
        done: list[tuple[int, bytes]] = []
        offset = 0
        if self._handshake:
            taken = min(self._handshake, len(data))
            self._handshake -= taken
            offset = taken
        start = len(self._buf)  # bytes of earlier blocks still waiting in the buffer
        self._buf += data[offset:]
        pos = 0
        while len(self._buf) - pos >= 2:
            size = int.from_bytes(self._buf[pos:pos + 2], "big")
            if len(self._buf) - pos - 2 < size:
                break
            self._message += self._buf[pos + 2:pos + 2 + size]
            pos += 2 + size
            if size == 0:
                if self._message:  # an empty message is a NOOP (keep-alive): nothing ends
                    done.append((offset + pos - start, bytes(self._message)))
                self._message.clear()
        del self._buf[:pos]
        return done


class BoltProxy:
    """Relays 127.0.0.1:<port> to `upstream`; cuts the answer of the COMMITs numbered in `cut`
    (1-based, counted over all connections). `cuts_done` counts the cuts made."""

    def __init__(self, upstream: tuple[str, int], *, cut: Iterable[int] = (1,),
                 answer_timeout_s: float = 5.0) -> None:
        self.upstream = upstream
        self.cut = set(cut)
        self.answer_timeout_s = answer_timeout_s
        self.commits = 0
        self.cuts_done = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="bolt-proxy", daemon=True)

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def __enter__(self) -> BoltProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for sock in (client, server):  # relay each message at once, as the peers sent it
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _Connection(self, client, server).start()

    def _should_cut(self) -> bool:
        with self._lock:
            self.commits += 1
            if self.commits in self.cut:
                self.cuts_done += 1
                return True
            return False


class _Connection:
    def __init__(self, proxy: BoltProxy, client: socket.socket, server: socket.socket) -> None:
        self.proxy, self.client, self.server = proxy, client, server
        self.relay_answers = True
        self.answered = threading.Event()  # the server sent something after the cut COMMIT

    def start(self) -> None:
        threading.Thread(target=self._client_to_server, daemon=True).start()
        threading.Thread(target=self._server_to_client, daemon=True).start()

    def _client_to_server(self) -> None:
        stream = _ClientStream()
        try:
            while data := self.client.recv(65536):
                for end, message in stream.feed(data):
                    if message[:2] == COMMIT and self.proxy._should_cut():
                        self.relay_answers = False  # before the server can see the COMMIT
                        self.server.sendall(data[:end])
                        self.answered.wait(self.proxy.answer_timeout_s)
                        return
                self.server.sendall(data)
        except OSError:
            pass
        finally:
            self._close()

    def _server_to_client(self) -> None:
        try:
            while data := self.server.recv(65536):
                if not self.relay_answers:
                    self.answered.set()
                    continue
                self.client.sendall(data)
        except OSError:
            pass
        finally:
            self.answered.set()
            self._close()

    def _close(self) -> None:
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", default="127.0.0.1:7687", help="host:port of Neo4j's Bolt")
    parser.add_argument("--cut", type=int, action="append", default=[],
                        help="cut the answer to the N-th COMMIT (repeatable; default 1)")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    proxy = BoltProxy((host, int(port)), cut=args.cut or [1])
    print(f"listening on 127.0.0.1:{proxy.port}", flush=True)
    proxy.start()
    try:
        proxy._thread.join()
    except KeyboardInterrupt:
        proxy.close()


if __name__ == "__main__":
    main()
