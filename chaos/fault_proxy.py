"""A forwarding HTTP proxy between the sync daemons and one remote, which
breaks a share of the requests on purpose.

Per request, while ``plan.active``, one of these (drawn from the proxy's own
seeded generator, by the shares of :class:`Plan`):

* ``503``: answered 503 with an S3-style error body; the remote never sees
  the request;
* ``reset``: the request is read, then the connection is reset (RST);
* ``cut``: cut mid-transfer: an upload reaches the remote with only half its
  body before both connections are dropped; any other request is forwarded
  and only half of the answer reaches the client before a reset;
* ``delay``: forwarded, but the answer is held for ``plan.delay`` seconds.

While ``plan.outage`` is set every connection is reset as soon as it is
accepted: the remote is unreachable.  The Host header is passed through
unchanged so SigV4 signatures stay valid.

Data uploads (PUTs and multipart part uploads, not copies) are counted by
object key, part number and content hash (``x-amz-content-sha256``, or the
MD5 of the body): ``uploads()`` gives (requests, distinct contents), whose
ratio is the uploads per object of the report.
"""
import hashlib
import http.client
import random
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'te',
              'trailer', 'upgrade', 'proxy-connection'}
SHA256 = re.compile(r'^[0-9a-f]{64}$')
ERROR_BODY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
              b'ServiceUnavailable</Code><Message>injected by the chaos '
              b'proxy</Message></Error>')


class Plan(object):
    """What the proxies do to requests; shared by every proxy of a run and
    changed by the fault scheduler while they serve."""

    def __init__(self, seed, share_503=0.0, share_reset=0.0, share_cut=0.0,
                 share_delay=0.0, delay=(1.0, 4.0)):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.shares = (('503', share_503), ('reset', share_reset),
                       ('cut', share_cut), ('delay', share_delay))
        self.delay = delay
        self.active = False
        self.outage = False
        self.injected = {}

    def draw(self):
        """(fault or None, delay seconds) for one request."""
        with self.lock:
            if not self.active:
                return None, 0
            roll = self.rng.random()
            for kind, share in self.shares:
                if roll < share:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return kind, self.rng.uniform(*self.delay)
                roll -= share
            return None, 0

    def count(self, kind):
        with self.lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1


def _reset(sock):
    """Close with RST instead of FIN: the peer sees a connection reset."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack('ii', 1, 0))
        sock.close()
    except OSError:
        pass


class Uploads(object):
    """Data uploads seen, by (key, part, content hash)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.forwarded = 0   # sent on to the remote (not failed here)
        self.stored = 0      # answered 2xx by the remote and passed on
        self.contents = {}   # (path, part, hash) -> requests

    def add(self, path, headers, body):
        query = parse_qs(urlsplit(path).query)
        part = query.get('partNumber', ['0'])[0]
        digest = headers.get('x-amz-content-sha256', '')
        if not SHA256.match(digest):
            digest = hashlib.md5(body or b'').hexdigest()
        key = (urlsplit(path).path, part, digest)
        with self.lock:
            self.requests += 1
            self.contents[key] = self.contents.get(key, 0) + 1

    def add_stored(self):
        with self.lock:
            self.stored += 1

    def add_forwarded(self):
        with self.lock:
            self.forwarded += 1

    def figures(self):
        """(upload requests, distinct contents, stored uploads, uploads
        forwarded to the remote)."""
        with self.lock:
            return (self.requests, len(self.contents), self.stored,
                    self.forwarded)

    def repeated(self):
        with self.lock:
            return {k: n for k, n in self.contents.items() if n > 1}


class FaultProxy(object):

    def __init__(self, upstream, plan):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.plan = plan
        self.uploads = Uploads()
        self.server = ThreadingHTTPServer(('127.0.0.1', 0),
                                          self._handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def handle_one_request(self):
                if proxy.plan.outage:
                    proxy.plan.count('outage-reset')
                    self.close_connection = True
                    _reset(self.connection)
                    return
                try:
                    super().handle_one_request()
                except (ConnectionError, socket.timeout, OSError):
                    self.close_connection = True

            def _serve(self):
                proxy.serve(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve
        return Handler

    # -- one request ----------------------------------------------------------
    @staticmethod
    def _read_body(handler):
        length = handler.headers.get('Content-Length')
        if length is not None:
            return handler.rfile.read(int(length)) if int(length) else b''
        if 'chunked' in handler.headers.get('Transfer-Encoding', ''):
            return _read_chunked(handler.rfile)
        return None

    def serve(self, handler):
        body = self._read_body(handler)
        method = handler.command
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() not in HOP_BY_HOP}
        if body is not None:
            headers['Content-Length'] = str(len(body))
        lower = {k.lower(): v for k, v in headers.items()}
        is_upload = method == 'PUT' and 'x-amz-copy-source' not in lower \
            and body is not None and not handler.path.split('?')[0].rstrip(
                '/').count('/') <= 1
        if is_upload:
            self.uploads.add(handler.path, lower, body)
        fault, delay = self.plan.draw()
        if fault == '503':
            return self._answer_503(handler)
        if fault == 'reset':
            handler.close_connection = True
            return _reset(handler.connection)
        if is_upload:
            self.uploads.add_forwarded()
        if fault == 'cut' and body:
            return self._cut_upload(handler, method, headers, body)
        status, reason, resp_headers, data = self._forward(
            method, handler.path, headers, body)
        if fault == 'delay':
            time.sleep(delay)
        if fault == 'cut':
            return self._cut_answer(handler, status, reason, resp_headers,
                                    data)
        if is_upload and 200 <= status < 300:
            self.uploads.add_stored()
        self._answer(handler, method, status, reason, resp_headers, data)

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()

    @staticmethod
    def _answer(handler, method, status, reason, headers, data):
        handler.send_response(status, reason)
        # A HEAD's Content-Length describes the object: keep it.
        skip = HOP_BY_HOP if method == 'HEAD' else \
            HOP_BY_HOP | {'content-length'}
        for key, value in headers:
            if key.lower() not in skip:
                handler.send_header(key, value)
        if method != 'HEAD':
            handler.send_header('Content-Length', str(len(data)))
        handler.end_headers()
        if method != 'HEAD':
            handler.wfile.write(data)

    @staticmethod
    def _answer_503(handler):
        handler.send_response(503, 'Service Unavailable')
        handler.send_header('Content-Type', 'application/xml')
        handler.send_header('Content-Length', str(len(ERROR_BODY)))
        handler.end_headers()
        if handler.command != 'HEAD':
            handler.wfile.write(ERROR_BODY)

    def _cut_upload(self, handler, method, headers, body):
        """Half the body reaches the remote, then both sides are dropped."""
        try:
            sock = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            sock = None
        if sock is not None:
            head = '%s %s HTTP/1.1\r\n%s\r\n' % (method, handler.path, ''.join(
                '%s: %s\r\n' % kv for kv in headers.items()))
            try:
                sock.sendall(head.encode('latin-1') + body[:len(body) // 2])
            except OSError:
                pass
            _reset(sock)
        handler.close_connection = True
        _reset(handler.connection)

    @staticmethod
    def _cut_answer(handler, status, reason, headers, data):
        """The status line and half the answer, then a reset."""
        handler.close_connection = True
        try:
            handler.send_response(status, reason)
            for key, value in headers:
                if key.lower() not in HOP_BY_HOP | {'content-length'}:
                    handler.send_header(key, value)
            handler.send_header('Content-Length', str(len(data) or 1))
            handler.end_headers()
            handler.wfile.write(data[:len(data) // 2])
            handler.wfile.flush()
        except OSError:
            pass
        _reset(handler.connection)


def _read_chunked(rfile):
    """The decoded body of a chunked request (trailers dropped)."""
    data = []
    while True:
        size = int(rfile.readline().split(b';')[0].strip() or b'0', 16)
        if not size:
            while rfile.readline() not in (b'\r\n', b'\n', b''):
                pass
            return b''.join(data)
        data.append(rfile.read(size))
        rfile.readline()
