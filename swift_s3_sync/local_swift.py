"""Reads and deletes local Swift objects through an in-process proxy.

The sync daemon runs on container nodes beside the Swift servers; it talks
to them with Swift's own InternalClient (a proxy app in this process, no
auth), so it sees objects exactly as a client would.
"""
import hashlib
import tempfile

from swift.common.internal_client import InternalClient, UnexpectedResponse
from swift.common.swob import wsgi_to_str
from swift.common.utils import Timestamp
from swift.common.wsgi import ConfigString

# Objects up to this size are copied through memory, larger ones through a
# temporary file: uploads need a seekable body (SigV4 hashes the payload
# over plain HTTP, and a retried request starts over).
SPOOL_IN_MEMORY = 8 * 1024 * 1024
READ_CHUNK = 64 * 1024

BUILTIN_CONF = """
[DEFAULT]
swift_dir = %(swift_dir)s

[pipeline:main]
pipeline = catch_errors cache %(filters)sproxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:cache]
use = egg:swift#memcache

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:symlink]
use = egg:swift#symlink
"""


class LocalError(Exception):
    """Local Swift answered unexpectedly; ``transient`` if a retry helps."""

    def __init__(self, reason, transient=True):
        super().__init__(reason)
        self.transient = transient


class ChangedWhileReading(LocalError):
    """The bytes read did not match the ETag: the object was overwritten."""


class _WithEnviron(object):
    """Sets ``environ`` items on every request before the pipeline sees
    it (the migrator's: ``swift_owner``, so that the proxy keeps ACL
    headers on a container PUT or POST and shows them on a HEAD, which it
    does for the account's owner only; ``swift.symlink_override``, so that
    a static symlink is written with the target ETag and size it had at
    the source, even before its target is copied)."""

    def __init__(self, app, environ):
        self.app = app
        self.environ = environ

    def __call__(self, env, start_response):
        env.update(self.environ)
        return self.app(env, start_response)


def make_internal_client(swift_dir, conf_path=None, user_agent='swift-s3-sync',
                         environ=None, symlinks=False):
    """An InternalClient (an in-process proxy: catch_errors, cache, and
    Swift's symlink middleware with ``symlinks``, unless ``conf_path``
    names another pipeline); ``environ``: items every request gets."""
    conf = conf_path or ConfigString(BUILTIN_CONF % {
        'swift_dir': swift_dir, 'filters': 'symlink ' if symlinks else ''})
    client = InternalClient(conf, user_agent, request_tries=3)
    if environ:
        client.app = _WithEnviron(client.app, environ)
    return client


def has_middleware(client, cls):
    """Whether ``client``'s pipeline holds a ``cls`` middleware."""
    app, depth = getattr(client, 'app', None), 0
    while app is not None and depth < 50:
        if isinstance(app, cls):
            return True
        app, depth = getattr(app, 'app', None), depth + 1
    return False


def object_timestamp(headers):
    """The newest timestamp (data or metadata) of an object's headers."""
    return Timestamp(headers.get('x-backend-timestamp') or
                     headers['x-timestamp'])


def _plain(headers):
    """Neither a large object manifest nor a symlink: the bytes a GET
    without middlewares returns are the object's."""
    return not (headers.get('x-static-large-object') or
                'x-object-manifest' in headers or
                'x-object-sysmeta-symlink-target' in headers)


def _headers(swob_headers):
    return {wsgi_to_str(k).lower(): wsgi_to_str(v)
            for k, v in swob_headers.items()}


class LocalSwift(object):

    def __init__(self, client):
        self.client = client

    def head(self, account, container, name):
        """Lower-case str headers of the object, or None if absent."""
        try:
            # A symlink's own headers, where the symlink middleware is.
            resp = self.client.make_request(
                'HEAD', self.client.make_path(account, container, name),
                {}, (2, 404), params={'symlink': 'get'})
        except UnexpectedResponse as err:
            raise LocalError('HEAD %s/%s: %s' % (container, name, err))
        if resp.status_int == 404:
            return None
        return _headers(resp.headers)

    def get_if_small(self, account, container, name, limit):
        """(headers, bytes) of an object in one GET when it is a plain
        object of at most ``limit`` bytes, (headers, None) otherwise (its
        body is not read), (None, None) when it is absent.  For a row the
        remote does not hold: it will be read anyway, so no HEAD first."""
        try:
            status, swob_headers, body = self.client.get_object(
                account, container, name, acceptable_statuses=(2, 404))
        except UnexpectedResponse as err:
            raise LocalError('GET %s/%s: %s' % (container, name, err))
        try:
            headers = _headers(swob_headers)
            if status == 404:
                return None, None
            if not _plain(headers) or \
                    int(headers.get('content-length', limit + 1)) > limit:
                return headers, None
            data = b''.join(body)
        finally:
            if hasattr(body, 'close'):
                body.close()
        if hashlib.md5(data).hexdigest() != headers.get('etag'):
            raise ChangedWhileReading(
                '%s/%s changed while it was read' % (container, name))
        return headers, data

    def read_to_spool(self, account, container, name, expected_etag,
                      headers=None):
        """A seekable copy of the object's bytes, verified against
        ``expected_etag`` unless that is None (a Range read)."""
        try:
            status, _, body = self.client.get_object(
                account, container, name, headers=headers)
        except UnexpectedResponse as err:
            raise LocalError('GET %s/%s: %s' % (container, name, err))
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        md5 = hashlib.md5()
        try:
            for chunk in body:
                md5.update(chunk)
                spool.write(chunk)
        finally:
            if hasattr(body, 'close'):
                body.close()
        if expected_etag is not None and md5.hexdigest() != expected_etag:
            spool.close()
            raise ChangedWhileReading(
                '%s/%s changed while it was read' % (container, name))
        spool.seek(0)
        return spool

    def open_stream(self, account, container, name, expected_etag,
                    headers=None):
        """A file-like over the object's bytes as they arrive (nothing
        spooled), MD5-checked against ``expected_etag`` at the end unless
        that is None (a Range read)."""
        try:
            _, _, body = self.client.get_object(
                account, container, name, headers=headers)
        except UnexpectedResponse as err:
            raise LocalError('GET %s/%s: %s' % (container, name, err))
        return VerifiedStream(body, expected_etag, '%s/%s' % (container,
                                                              name))

    def delete_version(self, account, container, name, timestamp):
        """Delete the version written at ``timestamp`` and nothing newer.

        The DELETE carries a timestamp just after it (same time, offset + 1):
        object servers refuse it (409) when newer data exists.  They compare
        against the data timestamp only, so a newer POST is checked for
        first: its metadata has not been copied yet.

        False when the object is gone or newer (its own row follows).  A
        HEAD that answers with an *older* version came from a replica that
        is behind (a node back from an outage): LocalError (transient), so
        the row is tried again instead of leaving the object local for good.
        """
        ts = Timestamp(timestamp)
        current = self.head(account, container, name)
        if current is None:
            return False
        current_ts = object_timestamp(current)
        if current_ts < ts:
            raise LocalError('%s/%s not archived yet: a replica answered with '
                             'version %s, older than the %s copied' % (
                                 container, name, current_ts.internal,
                                 ts.internal))
        if current_ts != ts:
            return False
        delete_ts = Timestamp(ts, offset=ts.offset + 1)
        try:
            resp = self.client.make_request(
                'DELETE', self.client.make_path(account, container, name),
                {'X-Timestamp': delete_ts.internal}, (2, 404, 409))
        except UnexpectedResponse as err:
            raise LocalError('DELETE %s/%s: %s' % (container, name, err))
        return resp.status_int // 100 == 2

    def iter_containers(self, account):
        try:
            for item in self.client.iter_containers(account):
                yield item['name']
        except UnexpectedResponse as err:
            raise LocalError('listing containers of %s: %s' % (account, err))


class VerifiedStream(object):
    """``read()`` over a GET body; at its end the bytes' MD5 must be the
    expected ETag, else ChangedWhileReading: an upload reading from it
    fails instead of finishing with other bytes."""

    def __init__(self, body, expected_etag, label):
        self._chunks = iter(body)
        self._body = body
        self._pending = bytearray()
        self._md5 = hashlib.md5()
        self._expected = expected_etag
        self._label = label
        self._done = False

    def read(self, size=-1):
        if size is None or size < 0:
            return self._read_all()
        while not self._done and len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._finish()
                break
            self._md5.update(chunk)
            self._pending += chunk
        if size >= len(self._pending):
            data, self._pending = bytes(self._pending), bytearray()
            return data
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def readinto(self, buffer):
        """Fill ``buffer`` as far as the body goes; the bytes filled.  Each
        chunk is copied in and dropped at once, so reading a part costs its
        buffer and a chunk, not a buffer's worth of chunks."""
        view = memoryview(buffer).cast('B')
        filled = min(len(self._pending), len(view))
        view[:filled] = self._pending[:filled]
        del self._pending[:filled]
        while filled < len(view) and not self._done:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._finish()
                break
            self._md5.update(chunk)
            taken = min(len(chunk), len(view) - filled)
            view[filled:filled + taken] = memoryview(chunk)[:taken]
            filled += taken
            self._pending += memoryview(chunk)[taken:]
        return filled

    def _read_all(self):
        """The rest at once: chunks joined once (no growing buffer)."""
        pieces = [bytes(self._pending)] if self._pending else []
        self._pending = bytearray()
        if not self._done:
            for chunk in self._chunks:
                self._md5.update(chunk)
                pieces.append(chunk)
            self._finish()
        return b''.join(pieces)

    def _finish(self):
        self._done = True
        self.close()
        if self._expected is not None and \
                self._md5.hexdigest() != self._expected:
            raise ChangedWhileReading('%s changed while it was read' %
                                      self._label)

    def close(self):
        close = getattr(self._body, 'close', None)
        if close:
            close()
