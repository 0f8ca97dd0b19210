"""Swift (another Swift cluster, through python-swiftclient).

Remote layout
-------------
* Objects keep their local names.  The remote container is ``aws_bucket``;
  for a per-account mapping (container "/*") ``aws_bucket`` is a prefix and
  local container ``c`` goes to ``aws_bucket + c``.  A remote container is
  created (with ``X-Storage-Policy`` when ``storage_policy`` is set) when
  a PUT into it answers 404; containers known to exist are remembered, so
  there is no HEAD per object.
* Large objects stay large.  Their segments go to ``<remote container>
  _segments`` as ``<object name>/<local timestamp>/<index:08d>``; an SLO
  becomes an SLO whose manifest lists those segments, a DLO a zero-byte
  manifest with ``X-Object-Manifest: <segments container>/<name>/<ts>/``
  (or an SLO when ``convert_dlo``; with ``min_segment_size`` consecutive
  small segments are joined into one remote segment).  Segments are uploaded
  first and the manifest last, so a failed upload never leaves a manifest
  pointing at missing segments; segments already uploaded for the same
  timestamp are not sent again; once a new manifest is in place the
  segments of older versions of that name are deleted.  A plain object
  written over a large one leaves the old segments behind.
  Segments expire one day after their manifest when the manifest expires.
* Reserved user metadata (a client cannot set sysmeta through a proxy, and
  the gatekeeper drops ``X-Timestamp``): ``X-Object-Meta-Swift-S3-Sync-
  Timestamp`` holds the Swift timestamp (internal format) the copy was made
  from, and for large objects ``X-Object-Meta-Swift-S3-Sync-Etag`` the local
  ETag (a remote SLO's own ETag differs when segments were joined or ranged).
  The names are the reserved keys of every provider (``providers.base``,
  ``X-Object-Meta-Swift-S3-Sync-Large`` included though only S3 uses it);
  they are hidden from headers, compare() and listings, and check() and
  check_metadata() refuse local metadata that uses them.  ETags are
  unquoted everywhere; a large object's ETag is the recorded local one
  when present.
* Names over Swift's default limits (1024 bytes for the object, 256 for the
  remote container) cannot be objects: head, get and delete answer "not
  there" without a request, check and the writes refuse them.

Metadata values travel as UTF-8 and are read back from the raw response
(swiftclient URL-unquotes header values, which would turn ``100%25`` into
``100%``), so every value round-trips exactly, case included.

Requests: head, put of a plain object, update_metadata and get make one
request each, and so does delete of an object the caller HEADed as plain
(``remote=``); otherwise delete HEADs first (SLO manifests are deleted with
their segments, DLO segments are listed and deleted, then the manifest); list
makes one per ``page_size`` names.  swiftclient retries once
(re-authenticating on 401, re-reading the body from the start); the engine
retries the rest.

Errors are RemoteError, ``permanent`` only for a 4xx about the object itself
(400, 411, 413, ...): 5xx, 408, 429, 498/499, connection errors and timeouts
are transient, and so are 401/403 (credentials are the mapping's problem),
404/409 (container or object changed under us) and 422 (the bytes read did
not match their ETag: read them again).  The key and tokens never appear in
messages, and swiftclient is told to redact them completely in its logs.
"""
import logging
import threading
from urllib.parse import unquote, urlsplit

import requests.exceptions
import swiftclient.client
from swiftclient.exceptions import ClientException

from swift_s3_sync.providers.base import (
    CONTENT_HEADERS,
    DATA,
    EQUAL,
    METADATA,
    Provider,
    RemoteError,
    RemoteObject,
    refuse_reserved)
from swift_s3_sync.providers.s3_metadata import strip_swift_bytes
from swift_s3_sync.providers.swift_large import SwiftLargeObjects
from swift_s3_sync.providers.swift_wire import (
    META_PREFIX,
    TIMESTAMP_HEADER,
    ETAG_HEADER,
    RESERVED_HEADERS,
    MAX_OBJECT_NAME_BYTES,
    MAX_CONTAINER_NAME_BYTES,
    MAX_META_COUNT,
    MAX_META_NAME_BYTES,
    MAX_META_VALUE_BYTES,
    MAX_META_OVERALL_BYTES,
    MAX_FILE_SIZE,
    MAX_MANIFEST_SEGMENTS,
    TIMEOUT,
    CHUNK,
    PASS_THROUGH,
    GET_STATUSES,
    TRANSIENT_STATUSES,
    _MD5_HEX,
    _META_KEY,
    _unquote_etag,
    _utf8_len,
    _from_wire,
    _sendable,
    _epoch,
    _shape,
    _swift_headers,
    _account_url,
    _Reply,
    _Source,
    _Body,
    _Pool,
    _http_epoch,
    _preload_keystone)

# swiftclient logs the first characters of X-Auth-Key/X-Auth-Token at INFO;
# show none of them.
swiftclient.client.logger_settings['reveal_sensitive_prefix'] = 0



class SwiftProvider(SwiftLargeObjects, Provider):
    page_size = 1000   # names per listing request

    def __init__(self, mapping, logger=None, max_connections=10):
        super().__init__(mapping, logger or logging.getLogger(__name__))
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._auth = None          # (storage url, token) shared by the pool
        self._containers = set()   # remote containers known to exist
        self._pool = _Pool(self._connect, max_connections)
        if mapping.auth_type == 'keystone_v3':
            _preload_keystone()

    # -- connections and errors ---------------------------------------------

    def _connect(self):
        m = self.mapping
        kwargs = dict(authurl=m.aws_endpoint, user=m.aws_identity,
                      key=m.aws_secret, retries=1, timeout=TIMEOUT,
                      starting_backoff=1, max_backoff=4)
        if m.auth_type == 'keystone_v3':
            kwargs.update(auth_version='3', os_options={
                'project_name': m.project_name,
                'project_domain_name': m.project_domain_name,
                'user_domain_name': m.user_domain_name})
        else:
            kwargs.update(auth_version='1', os_options={})
        with self._lock:
            auth = self._auth
        if auth:
            kwargs.update(preauthurl=auth[0], preauthtoken=auth[1])
        return swiftclient.client.Connection(**kwargs)

    def _ready(self, conn):
        """Authenticate ``conn`` when needed to point it at
        ``remote_account``."""
        account = self.mapping.remote_account
        if account and not conn.os_options.get('object_storage_url'):
            url, token = conn.get_auth()
            url = _account_url(url, account)
            conn.os_options['object_storage_url'] = conn.url = url
            with self._lock:
                self._auth = (url, token)

    def account_name(self):
        """The account requests go to: the last element of the storage
        URL (one HEAD of the account to learn it, if nothing was asked
        yet)."""
        if self.mapping.remote_account:
            return self.mapping.remote_account
        with self._lock:
            auth = self._auth
        if auth is None:
            self._call('head_account')
            with self._lock:
                auth = self._auth
        return unquote(urlsplit(auth[0]).path.rstrip('/').rsplit('/', 1)[-1])

    def _remember_auth(self, conn):
        if conn.url and conn.token:
            with self._lock:
                if self._auth != (conn.url, conn.token):
                    self._auth = (conn.url, conn.token)

    def close(self):
        self._pool.close()

    def _scrub(self, text, conn=None):
        with self._lock:
            auth = self._auth
        for secret in (self.mapping.aws_secret, auth and auth[1],
                       getattr(conn, 'token', None)):
            if secret:
                text = text.replace(secret, '***')
        return text

    def _error(self, op, err, conn=None):
        if isinstance(err, ClientException):
            status = err.http_status
            transient = (status is None or status >= 500 or
                         status in TRANSIENT_STATUSES)
        else:
            status = None
            transient = not isinstance(
                err, requests.exceptions.InvalidHeader)
        reason = '%s: %s (%s)' % (type(err).__name__, err, op)
        return RemoteError(self._scrub(reason, conn), status,
                           permanent=not transient)

    def _call(self, op, *args, expect=(), keep=False, **kwargs):
        """swiftclient ``op``; returns a _Reply with the raw status and
        decoded headers.  A ClientException whose status is in ``expect``
        comes back as a reply with result None, anything else as
        RemoteError.  With ``keep`` the caller gets ``reply.conn`` and must
        hand it back with ``self._pool.put``."""
        conn = self._pool.get()
        held = False
        try:
            try:
                self._ready(conn)
                result = getattr(conn, op)(*args, **kwargs)
            except ClientException as err:
                if err.http_status in expect:
                    return _Reply(None, err.http_status,
                                  self._headers(conn, err))
                raise self._error(op, err, conn) from err
            except (requests.exceptions.RequestException, OSError) as err:
                raise self._error(op, err, conn) from err
            self._remember_auth(conn)
            reply = _Reply(result, self._status(conn), self._headers(conn))
            if keep:
                reply.conn = held = conn
            return reply
        finally:
            if not held:
                self._pool.put(conn)

    @staticmethod
    def _response(conn):
        http_conn = getattr(conn, 'http_conn', None)
        return getattr(http_conn[1], 'resp', None) if http_conn else None

    def _status(self, conn):
        resp = self._response(conn)
        return getattr(resp, 'status_code', None) or 200

    def _headers(self, conn, err=None):
        """Lower-case response headers with UTF-8 values, read from the raw
        response (swiftclient's parsed dicts URL-unquote values)."""
        raw = getattr(err, 'http_response_headers', None)
        if raw is None:
            raw = getattr(self._response(conn), 'headers', None)
        return {k.lower(): _from_wire(v) for k, v in (raw or {}).items()}

    # -- layout -------------------------------------------------------------

    def remote_container(self, container):
        if self.mapping.per_account:
            return self.mapping.aws_bucket + container
        return self.mapping.aws_bucket

    def _object_headers(self, local):
        """User metadata, content headers and reserved metadata as they are
        sent (and read back)."""
        headers = {}
        for name, value in local.headers.items():
            name = name.lower()
            if name.startswith(META_PREFIX) and value:
                headers[name] = value
        for name in CONTENT_HEADERS:
            value = local.headers.get(name)
            if name == 'content-type' and value:
                value = strip_swift_bytes(value)
            if value:
                headers[name] = value
        headers[TIMESTAMP_HEADER] = self._timestamp(local)
        if local.large:
            headers[ETAG_HEADER] = _unquote_etag(local.etag)
        return headers

    def _delete_at(self, local):
        """The X-Delete-At the copy should have when expiration is
        propagated, else None."""
        if not self.mapping.propagate_expiration:
            return None
        value = str(local.headers.get('x-delete-at') or '').strip()
        if not value.isdigit():
            return None
        return str(int(value) + self.mapping.propagate_expiration_offset)

    def _expiry_headers(self, local, remote_headers=None, grace=0):
        delete_at = self._delete_at(local)
        if delete_at:
            return {'x-delete-at': str(int(delete_at) + grace)}
        if self.mapping.remote_delete_after:
            kept = (remote_headers or {}).get('x-delete-at')
            if kept and not grace:
                return {'x-delete-at': kept}   # a POST must not extend it
            return {'x-delete-after':
                    str(self.mapping.remote_delete_after + grace)}
        return {}

    # -- checking -----------------------------------------------------------

    def name_problem(self, container, name):
        """A name or remote container name over Swift's default limits."""
        size = _utf8_len(name)
        if size > MAX_OBJECT_NAME_BYTES:
            return 'object name is %d bytes, Swift allows %d' % (
                size, MAX_OBJECT_NAME_BYTES)
        remote = self.remote_container(container)
        if _utf8_len(remote) > MAX_CONTAINER_NAME_BYTES:
            return 'remote container name %r is longer than %d bytes' % (
                remote, MAX_CONTAINER_NAME_BYTES)
        return None

    def _refuse_name(self, container, name):
        problem = self.name_problem(container, name)
        if problem:
            raise RemoteError(problem, permanent=True)

    def check(self, local):
        def refuse(reason):
            raise RemoteError(reason, permanent=True)

        self._refuse_name(local.container, local.name)
        containers = []
        if local.large:
            containers.append(self.segments_container(local.container))
            size = _utf8_len(self.segment_prefix(local) + '%08d' % 0)
            if size > MAX_OBJECT_NAME_BYTES:
                refuse('segment names would be %d bytes, Swift allows %d' % (
                    size, MAX_OBJECT_NAME_BYTES))
            count = len(self._plan(local))
            if self._target_shape(local) == 'slo' and \
                    count > MAX_MANIFEST_SEGMENTS:
                refuse('%d segments, a Swift manifest allows %d' % (
                    count, MAX_MANIFEST_SEGMENTS))
        elif int(local.size) > MAX_FILE_SIZE:
            refuse('object is %d bytes, Swift allows %d' % (
                local.size, MAX_FILE_SIZE))
        for container in containers:
            if _utf8_len(container) > MAX_CONTAINER_NAME_BYTES:
                refuse('remote container name %r is longer than %d bytes' % (
                    container, MAX_CONTAINER_NAME_BYTES))
        self.check_metadata(local)

    def check_metadata(self, local):
        refuse_reserved(local.headers)
        for name in local.headers:
            name = name.lower()
            if name.startswith(META_PREFIX) and \
                    not _META_KEY.match(name[len(META_PREFIX):]):
                raise RemoteError('metadata key %r cannot be stored in '
                                  'Swift' % name, permanent=True)
        self._check_metadata(self._object_headers(local))

    def _check_metadata(self, headers):
        count = total = 0
        for name, value in headers.items():
            if not _sendable(value):
                raise RemoteError('%s value %r cannot travel in an HTTP '
                                  'header as it is' % (name, value),
                                  permanent=True)
            if not name.startswith(META_PREFIX):
                continue
            key = name[len(META_PREFIX):]
            key_bytes, value_bytes = _utf8_len(key), _utf8_len(value)
            if key_bytes > MAX_META_NAME_BYTES:
                raise RemoteError('metadata key %r is %d bytes, Swift allows '
                                  '%d' % (key, key_bytes,
                                          MAX_META_NAME_BYTES),
                                  permanent=True)
            if value_bytes > MAX_META_VALUE_BYTES:
                raise RemoteError('metadata value of %r is %d bytes, Swift '
                                  'allows %d' % (key, value_bytes,
                                                 MAX_META_VALUE_BYTES),
                                  permanent=True)
            count += 1
            total += key_bytes + value_bytes
        if count > MAX_META_COUNT:
            raise RemoteError('%d metadata keys (with ours), Swift allows %d'
                              % (count, MAX_META_COUNT), permanent=True)
        if total > MAX_META_OVERALL_BYTES:
            raise RemoteError('user metadata is %d bytes (with ours), Swift '
                              'allows %d' % (total, MAX_META_OVERALL_BYTES),
                              permanent=True)

    # -- reading ------------------------------------------------------------

    def _remote(self, name, raw):
        headers, timestamp, _ = _swift_headers(raw)
        return RemoteObject(
            name, headers.get('etag'), int(headers.get('content-length', 0)),
            last_modified=_http_epoch(headers.get('last-modified')),
            timestamp=timestamp, headers=headers)

    def head(self, container, name, query_string=None):
        """RemoteObject with the response's lower-case headers (reserved
        metadata removed), or None on 404 (and without a request for a
        name that cannot exist).  ``query_string`` goes with the request
        as given (e.g. ``symlink=get`` for a symlink's own headers)."""
        if self.name_problem(container, name):
            return None
        extra = {'query_string': query_string} if query_string else {}
        reply = self._call('head_object', self.remote_container(container),
                           name, expect=(404,), **extra)
        if reply.status == 404:
            return None
        return self._remote(name, reply.headers)

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        """A generator over the remote container's listing; a missing
        container lists nothing.  ``etag`` is the listing's ``slo_etag`` for
        SLOs (the ``hash`` of an SLO is its manifest's MD5, of a DLO the
        empty string's), ``last_modified`` an epoch float."""
        remote = self.remote_container(container)
        while limit > 0:
            reply = self._call(
                'get_container', remote, marker=marker or None,
                end_marker=end_marker or None, prefix=prefix or None,
                limit=min(limit, self.page_size), expect=(404,))
            if reply.status == 404:
                return
            items = reply.result[1]
            for item in items:
                etag = item.get('slo_etag') or item.get('hash', '')
                yield RemoteObject(
                    item['name'], _unquote_etag(etag.split(';')[0]),
                    int(item.get('bytes', 0)),
                    last_modified=_epoch(item.get('last_modified')),
                    content_type=item.get('content_type'))
            if len(items) < min(limit, self.page_size):
                return
            limit -= len(items)
            marker = items[-1]['name']

    def get(self, container, name, headers=None, query_string=None):
        """(status, headers, body iterator); Range and the If-* headers
        are passed through, 304/404/412/416 come back as statuses with an
        empty body.  Read the body to the end or close it.
        ``query_string`` goes with the request as given (e.g.
        ``multipart-manifest=get`` for a large object's own manifest)."""
        if self.name_problem(container, name):
            return 404, {}, iter(())
        raw = {k: v for k, v in (headers or {}).items()
               if k.lower() in PASS_THROUGH}
        extra = {'query_string': query_string} if query_string else {}
        reply = self._call('get_object', self.remote_container(container),
                           name, headers=raw, resp_chunk_size=CHUNK,
                           expect=GET_STATUSES, keep=True, **extra)
        swift, _, _ = _swift_headers(reply.headers)
        if reply.conn is None:
            return reply.status, swift, iter(())
        conn = reply.conn
        return reply.status, swift, _Body(
            iter(reply.result[1]), lambda: self._pool.put(conn))

    def compare(self, local, remote):
        """DATA when the remote is missing, the ETags (unquoted, any case;
        for large objects the SLO/DLO ETag or the recorded local one) or
        sizes differ, or the large-object kind is not the one put() would
        make; METADATA when user metadata (exact values), a content header
        or the expected X-Delete-At differs; EQUAL otherwise.  Empty values
        count as absent."""
        if remote is None:
            return DATA
        if remote.headers is None:
            raise ValueError('compare() needs a RemoteObject from head()')
        if (_unquote_etag(local.etag) != _unquote_etag(remote.etag) or
                int(local.size) != int(remote.size) or
                self._target_shape(local) != _shape(remote.headers)):
            return DATA
        wanted = self._object_headers(local)
        for name in RESERVED_HEADERS:
            wanted.pop(name, None)
        have = {}
        for name, value in remote.headers.items():
            if value and (name.startswith(META_PREFIX) or
                          name in CONTENT_HEADERS):
                have[name] = value
        if 'content-type' in have:
            have['content-type'] = strip_swift_bytes(have['content-type'])
        if 'content-type' not in wanted:
            have.pop('content-type', None)
        if wanted != have:
            return METADATA
        remote_delete_at = remote.headers.get('x-delete-at')
        if self.mapping.propagate_expiration and \
                self._delete_at(local) != remote_delete_at:
            return METADATA
        if self.mapping.remote_delete_after and not remote_delete_at:
            return METADATA
        return EQUAL

    # -- writing ------------------------------------------------------------

    def _create_container(self, container):
        headers = {}
        if self.mapping.storage_policy:
            headers['X-Storage-Policy'] = self.mapping.storage_policy
        self._call('put_container', container, headers=headers)
        self.logger.info('created remote container %r', container)
        self._containers.add(container)

    def _put(self, container, name, contents, **kwargs):
        """PUT, creating the container and trying once more on a 404 (also
        for a container we thought was there: it may have been deleted) or
        on a broken connection when a HEAD says the container is missing
        (a proxy may hang up on a big body it answered 404 to)."""
        try:
            reply = self._call('put_object', container, name, contents,
                               **kwargs)
        except RemoteError as err:
            if not self._container_missing(container, err):
                raise
            self._create_container(container)
            if hasattr(contents, 'reset'):
                contents.reset()
            reply = self._call('put_object', container, name, contents,
                               **kwargs)
        self._containers.add(container)
        return reply

    def _container_missing(self, container, err):
        if err.status == 404:
            return True
        if err.status is None and container not in self._containers:
            return self._call('head_container', container,
                              expect=(404,)).status == 404
        return False

    def _written(self, local, headers):
        wire = dict(headers)
        wire.pop('x-delete-after', None)
        wire.update({'etag': local.etag, 'content-length': str(local.size)})
        shown, timestamp, _ = _swift_headers(wire)
        return RemoteObject(local.name, shown['etag'], int(local.size),
                            timestamp=timestamp, headers=shown)

    def put(self, local):
        """Upload ``local`` (see the module docstring for large objects);
        returns the RemoteObject as written."""
        self._refuse_name(local.container, local.name)
        if local.large:
            return self._put_large(local)
        headers = self._object_headers(local)
        headers.update(self._expiry_headers(local))
        content_type = headers.pop('content-type', None)
        etag = _unquote_etag(local.etag)
        body = _Source([local.open_body])
        try:
            self._put(self.remote_container(local.container), local.name,
                      body, content_length=int(local.size),
                      etag=etag if _MD5_HEX.match(etag) else None,
                      content_type=content_type, headers=headers)
        finally:
            body.close()
        if content_type:
            headers['content-type'] = content_type
        return self._written(local, headers)

    def update_metadata(self, local, remote):
        """POST the full metadata set (Swift replaces all of it), the
        content headers, X-Delete-At and, for a DLO, its X-Object-Manifest
        (a POST without it would make the manifest a plain object)."""
        self._refuse_name(local.container, local.name)
        remote_headers = (remote.headers if remote and remote.headers
                          else {})
        headers = self._object_headers(local)
        headers.update(self._expiry_headers(local, remote_headers))
        if 'x-object-manifest' in remote_headers:
            headers['x-object-manifest'] = remote_headers['x-object-manifest']
        container = self.remote_container(local.container)
        self._call('post_object', container, local.name, headers=headers)
        if local.large and self.mapping.propagate_expiration and \
                remote_headers.get('x-delete-at') != self._delete_at(local):
            self._expire_segments(local, remote_headers)
        return self._written(local, headers)

    def delete(self, container, name, remote=None):
        """False on 404.  An SLO we wrote is deleted with its segments
        (``?multipart-manifest=delete``), a DLO we wrote after its
        segments; anything else only itself.  False without a request
        for a name that cannot exist.  When ``remote`` (the caller's
        HEAD) shows a plain object, it is deleted without asking again."""
        if self.name_problem(container, name):
            return False
        if remote is not None and remote.headers is not None and \
                _shape(remote.headers) is None:
            gone = self._call('delete_object', self.remote_container(
                container), name, expect=(404,))
            return gone.status != 404
        remote = self.remote_container(container)
        reply = self._call('head_object', remote, name, expect=(404,))
        if reply.status == 404:
            return False
        ours = TIMESTAMP_HEADER in reply.headers
        shape = _shape(reply.headers)
        if ours and shape == 'slo':
            self._call('delete_object', remote, name,
                       query_string='multipart-manifest=delete',
                       expect=(404,))
            # Swift answers 200 and lists errors in the body; the manifest
            # is only deleted once every segment is.
            if self._call('head_object', remote, name,
                          expect=(404,)).status != 404:
                raise RemoteError('%s: not every segment could be deleted'
                                  % name)
            return True
        if ours and shape == 'dlo':
            for segments, segment in self._remote_segments(
                    remote, name, reply.headers):
                self._call('delete_object', segments, segment,
                           expect=(404,))
        gone = self._call('delete_object', remote, name, expect=(404,))
        return gone.status != 404

    def post_container_metadata(self, container, headers):
        """Copy container metadata (``x-container-meta-*``, and with
        ``sync_container_acl`` the read/write ACLs) when
        ``sync_container_metadata``; not part of the Provider contract
        yet.  Returns whether anything was sent."""
        if not self.mapping.sync_container_metadata:
            return False
        wanted = {}
        for name, value in headers.items():
            name = name.lower()
            if name.startswith('x-container-meta-') or (
                    self.mapping.sync_container_acl and
                    name in ('x-container-read', 'x-container-write')):
                wanted[name] = value
        remote = self.remote_container(container)
        reply = self._call('post_container', remote, wanted, expect=(404,))
        if reply.status == 404:
            self._create_container(remote)
            self._call('post_container', remote, wanted)
        return True

