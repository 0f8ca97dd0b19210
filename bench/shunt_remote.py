"""Scenario 6, second part: local GETs while the remote is silent.

A copy of the source proxy's config with cloud-shunt maps the benchmark
container (merge_namespaces) to moto through a forwarder this scenario
controls.  Two clients keep HEADing names that exist nowhere (what clients
do before each upload: every one makes the shunt ask the remote) while
local 4 KiB objects are read through the same proxy:

* remote up: the forwarder passes bytes to moto;
* remote silent: the forwarder accepts connections and never answers (the
  worst kind of dead remote: nothing is refused, everything waits).

The figure is the local GET latency with the remote silent against the
same with the remote up, measured in the same run.
"""
import http.client
import socket
import threading
import time
import uuid


class SwitchableRemote(object):
    """A TCP forwarder to ``upstream`` (host, port) that can go silent:
    then it accepts connections and holds them without a byte."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.silent = False
        self.held = []
        self.closed = False
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(128)
        self.url = 'http://127.0.0.1:%d' % self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.silent:
                self.held.append(client)
                continue
            threading.Thread(target=self._pipe_both, args=(client,),
                             daemon=True).start()

    def _pipe_both(self, client):
        try:
            server = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        threading.Thread(target=_pipe, args=(server, client),
                         daemon=True).start()
        _pipe(client, server)

    def close(self):
        self.closed = True
        self.sock.close()
        for sock in self.held:
            sock.close()


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class NewNameHeads(object):
    """Clients HEADing names that exist nowhere, until stopped; counts
    answers by status."""

    def __init__(self, port, path, token, clients=2):
        self.port = port
        self.path = path
        self.token = token
        self.running = True
        self.statuses = {}
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(clients)]
        for thread in self.threads:
            thread.start()

    def _run(self):
        while self.running:
            conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                              timeout=60)
            try:
                conn.request('HEAD', self.path + 'new-' + uuid.uuid4().hex,
                             headers={'X-Auth-Token': self.token})
                status = conn.getresponse().status
            except (OSError, http.client.HTTPException):
                status = 'error'
            finally:
                conn.close()
            self.statuses[status] = self.statuses.get(status, 0) + 1
            time.sleep(0.01)

    def stop(self):
        self.running = False
        for thread in self.threads:
            thread.join(70)
        return dict(self.statuses)
