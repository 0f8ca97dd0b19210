"""The contract every remote store implements.

A provider knows one mapping's remote (an S3 bucket, a Swift container) and
answers in Swift's terms: object names are the local Swift names, headers
are Swift-style (``content-type``, ``x-object-meta-*``), ETags are unquoted.
Key layout, metadata encoding and ETag rules live in the provider and
nowhere else, so the sync engine, the shunt and proxymc never see them.

Errors are raised as :class:`RemoteError`; ``permanent`` tells the engine
whether retrying can help (a 5xx, a timeout or a refused connection can; a
metadata set the remote cannot store cannot).

Names and metadata the providers keep for themselves
----------------------------------------------------
* Reserved user metadata (:data:`RESERVED_METADATA`): every provider records
  the Swift timestamp of a copy, the Swift ETag of large (and SSE-KMS)
  objects and the large-object kind in user metadata, and reads them back as
  the object's timestamp, ETag and ``X-Static-Large-Object``.  No client and
  no local object may set them: ``check()`` and ``check_metadata()`` refuse
  them, so the daemon records a FAILED row with the reason, and proxymc
  and cloud-shunt answer 400 (:func:`reserved_metadata` names the header).
* Names the remote cannot hold (``name_problem()``): a key longer than the
  store allows, or a name inside the provider's own namespace (the S3
  provider's saved SLO manifests under a ``custom_prefix``).  Reads of such
  a name find nothing and make no request; writes are refused.
"""

# Result of Provider.compare()
EQUAL = 'equal'          # the remote copy is current
METADATA = 'metadata'    # same bytes, metadata differs: update in place
DATA = 'data'            # bytes differ (or no remote copy): upload

# Headers copied to the remote besides user metadata.
CONTENT_HEADERS = ('content-type', 'content-encoding', 'content-disposition',
                   'content-language', 'cache-control', 'expires')

# User metadata every provider keeps for itself (see the module docstring),
# as S3 user-metadata keys; as Swift headers they are X-Object-Meta-<key>.
TIMESTAMP_KEY = 'swift-s3-sync-timestamp'
ETAG_KEY = 'swift-s3-sync-etag'
LARGE_KEY = 'swift-s3-sync-large'
RESERVED_KEYS = (TIMESTAMP_KEY, ETAG_KEY, LARGE_KEY)
META_PREFIX = 'x-object-meta-'
RESERVED_METADATA = tuple(META_PREFIX + key for key in RESERVED_KEYS)


# Pieces of one large object read and sent at once (S3 parts, Swift
# segments).
PART_CONCURRENCY = 4


class RemoteError(Exception):
    """A remote request failed; ``status`` is the HTTP status or None."""

    def __init__(self, reason, status=None, permanent=False):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.permanent = permanent

    def __str__(self):
        if self.status:
            return '%s %s' % (self.status, self.reason)
        return self.reason


def reserved_metadata(headers):
    """Why ``headers`` (any case) cannot be stored because one of them is
    reserved metadata, naming it the way clients write it
    (``X-Object-Meta-Swift-S3-Sync-Etag is reserved ...``); else None."""
    for name in headers:
        if name.lower() in RESERVED_METADATA:
            shown = '-'.join(part.capitalize()
                             for part in name.lower().split('-'))
            return '%s is reserved for swift-s3-sync' % shown
    return None


def refuse_reserved(headers):
    """Raise a permanent RemoteError when ``headers`` set reserved
    metadata."""
    reason = reserved_metadata(headers)
    if reason:
        raise RemoteError(reason, permanent=True)


class RemoteObject(object):
    """What the remote says about one object.

    ``headers`` is None when the object came from a listing (listings carry
    no metadata); ``timestamp`` is the Swift timestamp (internal format) the
    object was copied from, when the remote recorded it; ``content_type``
    is set from a listing that carries it (a Swift remote's, not S3's).
    """
    __slots__ = ('name', 'etag', 'size', 'last_modified', 'timestamp',
                 'headers', 'content_type')

    def __init__(self, name, etag, size, last_modified=None, timestamp=None,
                 headers=None, content_type=None):
        self.name = name
        self.etag = etag
        self.size = size
        self.last_modified = last_modified
        self.timestamp = timestamp
        self.headers = headers
        self.content_type = content_type

    def __repr__(self):
        return 'RemoteObject(%r, etag=%r, size=%r, timestamp=%r)' % (
            self.name, self.etag, self.size, self.timestamp)


class Segment(object):
    """One piece of a large object, in order.

    ``range`` is None for the whole segment object, or ``(first, last)``
    inclusive byte offsets within it (SLO ranged segments); ``size`` is the
    number of bytes this piece contributes.  An SLO may inline small pieces
    in its manifest: those have ``data`` (bytes) and no container or name.
    """
    __slots__ = ('container', 'name', 'etag', 'size', 'range', 'data')

    def __init__(self, container, name, etag, size, range=None, data=None):
        self.container = container
        self.name = name
        self.etag = etag
        self.size = size
        self.range = range
        self.data = data

    def __repr__(self):
        if self.data is not None:
            return 'Segment(inline, %d bytes)' % self.size
        return 'Segment(%s/%s, %d bytes%s)' % (
            self.container, self.name, self.size,
            ', range %d-%d' % self.range if self.range else '')


class LocalObject(object):
    """A local Swift object as the engine hands it to a provider.

    ``headers`` are the object's Swift headers (lower-case keys, str);
    ``open_body()`` returns a fresh readable file-like of the whole object's
    bytes each call (so a retried upload can start over); ``timestamp`` is
    its X-Timestamp in internal format.

    Large objects: ``large`` is None, ``'slo'`` or ``'dlo'``.  For them
    ``segments`` lists the pieces in order (nested SLOs already expanded, a
    DLO's listing snapshotted when the row was handled), ``size`` is the
    total and ``etag`` the large object's own ETag as Swift reports it;
    ``open_segment(segment)`` returns a file-like of that piece's bytes, and
    ``manifest`` is the SLO manifest as Swift stores it (JSON text) or None.
    """
    __slots__ = ('container', 'name', 'headers', 'size', 'etag', 'timestamp',
                 'open_body', 'large', 'segments', 'open_segment',
                 'manifest')

    def __init__(self, container, name, headers, size, etag, timestamp,
                 open_body, large=None, segments=None, open_segment=None,
                 manifest=None):
        self.container = container
        self.name = name
        self.headers = headers
        self.size = size
        self.etag = etag
        self.timestamp = timestamp
        self.open_body = open_body
        self.large = large
        self.segments = segments or []
        self.open_segment = open_segment
        self.manifest = manifest

    def user_metadata(self):
        return {k: v for k, v in self.headers.items()
                if k.startswith('x-object-meta-')}


class Provider(object):
    """One mapping's remote store. Subclasses implement every method."""

    def __init__(self, mapping, logger=None):
        self.mapping = mapping
        self.logger = logger

    def check(self, local):
        """Raise a permanent RemoteError when the remote cannot take
        ``local`` (name too long, metadata too large, ...); includes
        ``name_problem()`` and ``check_metadata()``."""
        raise NotImplementedError

    def check_metadata(self, local):
        """Raise a permanent RemoteError when the remote cannot take
        ``local``'s metadata (reserved or invalid keys, too much of it).
        A POST checks only this: it changes nothing else."""
        refuse_reserved(local.headers)

    def name_problem(self, container, name):
        """Why the remote can never hold an object called ``name`` (its key
        would be too long; the name lies in the provider's own namespace),
        or None.  head(), get() and delete() of such a name find nothing
        without asking the remote; put() and check() refuse it."""
        return None

    def head(self, container, name):
        """RemoteObject with headers, or None when absent."""
        raise NotImplementedError

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        """RemoteObjects (without headers) in name order, after ``marker``
        and before ``end_marker``, at most ``limit`` of them."""
        raise NotImplementedError

    def compare(self, local, remote):
        """EQUAL, METADATA or DATA for a local object and a HEADed remote."""
        raise NotImplementedError

    def put(self, local):
        """Upload bytes and metadata; record ``local.timestamp``."""
        raise NotImplementedError

    def update_metadata(self, local, remote):
        """Replace the remote's metadata without sending the bytes again."""
        raise NotImplementedError

    def delete(self, container, name, remote=None):
        """Delete; True if it existed, False if it was already gone.
        ``remote``: the object's head() when the caller has it, so that the
        provider need not ask again what kind of object it is."""
        raise NotImplementedError

    def get(self, container, name, headers=None):
        """(status, swift-style headers, body iterator) for a GET with
        optional Range/conditional ``headers``."""
        raise NotImplementedError

    def close(self):
        """Release connections."""
