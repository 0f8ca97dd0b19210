"""Wire-level helpers of the Swift provider: header and ETag translation,
streaming bodies, the connection pool."""
import hashlib
import re
import threading
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit, urlunsplit

from swift_s3_sync.providers.base import (
    ETAG_KEY, META_PREFIX, RESERVED_METADATA, TIMESTAMP_KEY)


TIMESTAMP_HEADER = META_PREFIX + TIMESTAMP_KEY
ETAG_HEADER = META_PREFIX + ETAG_KEY
# Hidden when read and refused when written: the two we use and the S3
# provider's large-object kind, so that every remote reserves the same names.
RESERVED_HEADERS = RESERVED_METADATA
SEGMENTS_SUFFIX = '_segments'
SEGMENT_EXPIRY_GRACE = 86400

# Swift's default constraints ([swift-constraints] in swift.conf).
MAX_OBJECT_NAME_BYTES = 1024
MAX_CONTAINER_NAME_BYTES = 256
MAX_META_COUNT = 90
MAX_META_NAME_BYTES = 128
MAX_META_VALUE_BYTES = 256
MAX_META_OVERALL_BYTES = 4096
MAX_FILE_SIZE = 5 * 1024 ** 3 + 2
MAX_MANIFEST_SEGMENTS = 1000

TIMEOUT = 60
CHUNK = 65536
PASS_THROUGH = ('range', 'if-match', 'if-none-match', 'if-modified-since',
                'if-unmodified-since')
GET_STATUSES = (304, 404, 412, 416)
TRANSIENT_STATUSES = (401, 403, 404, 408, 409, 422, 429, 498, 499)

_TIMESTAMP = r'\d{1,10}(?:\.\d{1,5})?(?:_[0-9a-f]{16})?'
_TIMESTAMP_RE = re.compile('^%s$' % _TIMESTAMP)
_SEGMENT_RE = re.compile(r'^(%s)/\d{8}$' % _TIMESTAMP)   # after "<name>/"
_MD5_HEX = re.compile(r'^[0-9a-f]{32}$')
# HTTP token characters; "_" is left out because WSGI turns it into "-".
_META_KEY = re.compile(r"^[-!#$%&'*+.^`|~0-9a-z]+$")
_BAD_VALUE = re.compile('[\x00-\x08\x0a-\x1f\x7f]')


def _unquote_etag(etag):
    return (etag or '').strip().strip('"').lower()


def _utf8_len(text):
    return len(text.encode('utf-8', 'surrogateescape'))


def _from_wire(value):
    """A raw header value (Latin-1 decoded by http.client) as UTF-8."""
    try:
        return value.encode('latin-1').decode('utf-8', 'surrogateescape')
    except UnicodeEncodeError:
        return value


def _sendable(value):
    """Whether a header value travels over HTTP and reads back the same:
    valid UTF-8, no control characters but tab, no surrounding blanks."""
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return not _BAD_VALUE.search(value) and value == value.strip(' \t')


def _epoch(listing_time):
    try:
        return datetime.fromisoformat(listing_time).replace(
            tzinfo=timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def _shape(headers):
    if str(headers.get('x-static-large-object', '')).lower() in (
            'true', '1', 'yes'):
        return 'slo'
    if 'x-object-manifest' in headers:
        return 'dlo'
    return None


def _swift_headers(raw):
    """(headers without reserved metadata, recorded timestamp, recorded
    etag) from lower-case response headers.  The ETag is unquoted and, for
    large objects we wrote, the recorded local one."""
    headers = {}
    for name, value in raw.items():
        if name not in RESERVED_HEADERS:
            headers[name] = value
    timestamp = raw.get(TIMESTAMP_HEADER)
    if timestamp is not None and not _TIMESTAMP_RE.match(timestamp):
        timestamp = None
    etag = raw.get(ETAG_HEADER)
    if 'etag' in headers:
        headers['etag'] = _unquote_etag(headers['etag'])
    if etag:
        headers['etag'] = _unquote_etag(etag)
    return headers, timestamp, etag


def _account_url(storage_url, account):
    """``storage_url`` with its last path element replaced by ``account``
    (any path before ``/v1`` is kept)."""
    parts = urlsplit(storage_url)
    path = parts.path.rstrip('/').rsplit('/', 1)[0]
    return urlunsplit(parts._replace(path='%s/%s' % (path, quote(account))))


class _Reply(object):
    __slots__ = ('result', 'status', 'headers', 'conn')

    def __init__(self, result, status, headers, conn=None):
        self.result = result
        self.status = status
        self.headers = headers
        self.conn = conn


class _Part(object):
    """One remote segment: one or more consecutive local pieces."""
    __slots__ = ('index', 'segments', 'size', 'etag')

    def __init__(self, index, segments):
        self.index = index
        self.segments = segments
        self.size = sum(s.size for s in segments)
        # Known in advance only for one whole segment object.
        one = segments[0]
        self.etag = _unquote_etag(one.etag) if (
            len(segments) == 1 and one.range is None and
            _MD5_HEX.match(_unquote_etag(one.etag))) else None


class _Source(object):
    """A request body read from a series of files opened on demand.
    ``reset()`` (called by swiftclient before a retry, and by us before
    PUTting again into a new container) starts over from fresh files;
    ``md5`` covers the bytes read since."""

    def __init__(self, openers):
        self._openers = list(openers)
        self._current = None
        self._next = 0
        self.md5 = hashlib.md5()

    def read(self, size=-1):
        while True:
            if self._current is None:
                if self._next == len(self._openers):
                    return b''
                self._current = self._openers[self._next]()
                self._next += 1
            chunk = self._current.read(size if size and size > 0 else CHUNK)
            if chunk:
                self.md5.update(chunk)
                return chunk
            self._close_current()

    def _close_current(self):
        current, self._current = self._current, None
        close = getattr(current, 'close', None)
        if close:
            close()

    def reset(self, *args, **kwargs):
        self._close_current()
        self._next = 0
        self.md5 = hashlib.md5()

    close = reset


class _Body(object):
    """Iterator over a GET body; the connection goes back to the pool when
    the body is exhausted or closed."""

    def __init__(self, chunks, release):
        self._chunks = chunks
        self._release = release

    def __iter__(self):
        return self

    def __next__(self):
        if self._chunks is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except Exception:
            self.close()
            raise

    def close(self):
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            close = getattr(chunks, 'close', None)
            if close:
                close()
            self._release()


class _Pool(object):
    """Connections made on demand; up to ``size`` idle ones are kept.
    Never blocks (a body left unread must not starve other callers)."""

    def __init__(self, factory, size):
        self._factory = factory
        self._size = max(1, size)
        self._idle = []
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._factory()

    def put(self, conn):
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

def _http_epoch(http_date):
    try:
        return parsedate_to_datetime(http_date).timestamp()
    except (TypeError, ValueError):
        return None


def _preload_keystone():
    """Import keystoneclient now: a lazy import inside a green thread can
    deadlock.  Without it auth fails with swiftclient's own message."""
    try:
        __import__('keystoneclient.v3.client')
    except ImportError:
        pass
