"""A forwarding HTTP proxy that counts the requests a remote receives.

Clients are pointed at the proxy instead of the server; the Host header is
passed through unchanged so SigV4 signatures stay valid.  Used to prove
request counts (one PUT per object, no writes on an unchanged pass).
"""
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'te',
              'trailer', 'upgrade', 'proxy-connection'}


class CountingProxy(object):

    def __init__(self, upstream, part_delay=0.0, get_delay=0.0):
        parts = urlsplit(upstream)
        # Seconds each multipart part upload is held: makes "in the middle of
        # an upload" a state a test can reach.
        self.part_delay = part_delay
        # Seconds each object GET is held (a copy in the middle of a pass).
        self.get_delay = get_delay
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port
        self.lock = threading.Lock()
        self.requests = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                kind = proxy._record(self.command, self.path, self.headers)
                if proxy.part_delay and kind == 'PART':
                    time.sleep(proxy.part_delay)
                if proxy.get_delay and kind == 'GET':
                    time.sleep(proxy.get_delay)
                conn = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body,
                             headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                # A HEAD's Content-Length describes the object: keep it.
                skip = HOP_BY_HOP if self.command == 'HEAD' else \
                    HOP_BY_HOP | {'content-length'}
                for key, value in resp.getheaders():
                    if key.lower() not in skip:
                        self.send_header(key, value)
                if self.command != 'HEAD':
                    self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                try:
                    if self.command != 'HEAD':
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-request (a test's aim)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = _QuietServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def _record(self, method, path, headers):
        kind = method
        if method == 'PUT' and 'x-amz-copy-source' in {
                k.lower() for k in headers.keys()}:
            kind = 'COPY'
        elif method == 'PUT' and 'partNumber=' in path:
            kind = 'PART'
        elif method == 'GET' and ('list-type=' in path or
                                  path.rstrip('/').count('/') <= 1):
            kind = 'LIST'
        with self.lock:
            self.requests.append((kind, path))
        return kind

    def counts(self):
        with self.lock:
            result = {}
            for kind, _ in self.requests:
                result[kind] = result.get(kind, 0) + 1
            return result

    def reset(self):
        with self.lock:
            self.requests = []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _QuietServer(ThreadingHTTPServer):
    """Clients killed mid-request (tests SIGKILL them) are no error."""

    def handle_error(self, request, client_address):
        import sys
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
