"""How cloud-shunt writes a remote-only object back into Swift
(``"restore_object": true``), large objects included.

A full GET of an object that only the remote holds streams it to the client
and, from the same bytes, writes it back into the local container.  Which
write it gets depends on the remote copy:

* **A plain object up to Swift's max_file_size**: one PUT
  (:class:`~swift_s3_sync.shunt_restore.RestoreWriter`).
* **An SLO** (a remote copy marked ``X-Static-Large-Object``): its segments
  and its manifest, from the manifest the sync daemon saved beside it
  (``provider.get_manifest``, one remote request before the first byte).
  Each segment is PUT to the path the manifest names, with its ETag, so
  Swift checks its bytes; the manifest is then PUT as an SLO with the
  object's content headers and metadata, and with the remote's ETag, so
  the restored SLO has exactly the ETag (and size) of the one that was
  archived -- the daemon finds the remote copy equal and uploads nothing.
  A segment that already exists locally (the archive removed the manifest
  and left the segments) is kept: the manifest PUT checks its ETag and
  size.  Only manifests of whole segments are restored: ranged segments,
  inline data, nested SLOs, sizes that do not add up to the object's, or
  no saved manifest (a Swift remote saves none) mean the object is served
  and not restored.
* **A plain object above max_file_size**: an SLO whose segments, of
  ``restore_segment_size`` bytes (larger when the object would need more
  segments than an SLO may have), go to ``<container>_segments`` (made, in
  the container's storage policy, when missing) as ``<object>/<restore
  timestamp>/<size>/<segment size>/<index:08d>``.  The whole stream must
  match the remote's ETag (when it is an MD5) and each stored segment the
  MD5 of its bytes.  Its ETag is Swift's SLO ETag, not the remote's MD5:
  the daemon finds the copies different and uploads the object again, as
  a large object.

All or nothing: segments are written one after the other as their bytes
go by; when one cannot be written, the client goes away, the remote
stream ends short, its bytes do not match, or the manifest PUT fails, the
segments this restore wrote are deleted and no manifest is written, so no
half-restored object ever shows.  (A segment that existed before is never
deleted, nor are segments an SLO written at the same name meanwhile may
use.)  Every manifest PUT carries ``If-None-Match: *``: an object written
locally meanwhile is kept.  Why an object is not restored is logged at
info level.

Configuration (``[filter:cloud-shunt]``)::

    # Segment size, in bytes, of objects larger than Swift's
    # max_file_size restored as SLOs.  Default 1 GiB (max_file_size if
    # that is smaller); larger than max_file_size is refused at start.
    restore_segment_size = 1073741824

The shunt sits below the pipeline's ``slo``, so restored manifests are
written through Swift's own SLO code (a private instance, with the limits
the pipeline's ``slo`` registered).
"""
import hashlib
import json
import re
from io import BytesIO

from swift.common import constraints
from swift.common.http import is_success
from swift.common.middleware.slo import (
    DEFAULT_MAX_MANIFEST_SEGMENTS,
    DEFAULT_MAX_MANIFEST_SIZE,
    StaticLargeObject)
from swift.common.registry import get_swift_info
from swift.common.swob import Request, str_to_wsgi
from swift.common.utils import Timestamp, config_true_value, split_path
from swift.common.wsgi import make_pre_authed_env

from swift_s3_sync.providers.base import CONTENT_HEADERS, RemoteObject
from swift_s3_sync.shunt_restore import (
    SWIFT_SOURCE, RestoreWriter, RestoringBody)

DEFAULT_SEGMENT_SIZE = 1024 ** 3
SEGMENTS_SUFFIX = '_segments'
_MD5_HEX = re.compile(r'^[0-9a-f]{32}$')


def segment_size_option(conf):
    """``restore_segment_size`` of the filter conf, checked."""
    value = str(conf.get('restore_segment_size', '')).strip()
    if not value:
        return min(DEFAULT_SEGMENT_SIZE, constraints.MAX_FILE_SIZE)
    if not value.isdigit() or not \
            0 < int(value) <= constraints.MAX_FILE_SIZE:
        raise ValueError('restore_segment_size must be a number of bytes '
                         'from 1 to max_file_size (%d), not %r' % (
                             constraints.MAX_FILE_SIZE, value))
    return int(value)


def slo_limits():
    """(max segments, max manifest bytes) of the pipeline's slo."""
    info = get_swift_info().get('slo', {})
    return (int(info.get('max_manifest_segments',
                         DEFAULT_MAX_MANIFEST_SEGMENTS)),
            int(info.get('max_manifest_size', DEFAULT_MAX_MANIFEST_SIZE)))


def md5_etag(headers):
    """The remote's ETag when it is the MD5 of the bytes Swift would
    report (a Swift ETag), else None."""
    etag = (headers.get('etag') or '').strip('"').lower()
    return etag if _MD5_HEX.match(etag) else None


def content_headers(remote_headers):
    """The remote's content headers and user metadata, as WSGI strings."""
    return {k: str_to_wsgi(v) for k, v in remote_headers.items()
            if k in CONTENT_HEADERS or k.startswith('x-object-meta-')}


class Piece(object):
    """One segment to write: where, its size, and the ETag it must have
    (None until its bytes went by, for a split object)."""
    __slots__ = ('container', 'name', 'size', 'etag', 'content_type')

    def __init__(self, container, name, size, etag=None, content_type=None):
        self.container = container
        self.name = name
        self.size = size
        self.etag = etag
        self.content_type = content_type

    def manifest_entry(self):
        return {'path': '/%s/%s' % (self.container, self.name),
                'etag': self.etag, 'size_bytes': self.size}


def manifest_problem(pieces, max_segments, max_bytes):
    """Why Swift's SLO would refuse a manifest of ``pieces``, or None."""
    if len(pieces) > max_segments:
        return '%d segments, an SLO may have %d' % (len(pieces), max_segments)
    entries = [dict(p.manifest_entry(), etag=p.etag or 'e' * 32)
               for p in pieces]
    if len(json.dumps(entries)) > max_bytes:
        return 'its manifest would be over %d bytes' % max_bytes
    return None


def pieces_from_manifest(text, container, name, length):
    """([Piece], None) from a saved SLO manifest (JSON as Swift stores
    it), or (None, why it cannot be restored)."""
    try:
        entries = json.loads(text)
    except ValueError:
        return None, 'its saved manifest is not JSON'
    if not isinstance(entries, list) or not entries:
        return None, 'its saved manifest lists no segments'
    pieces = []
    for entry in entries:
        if not isinstance(entry, dict):
            return None, 'its saved manifest is not a list of segments'
        for key, kind in (('range', 'ranged'), ('data', 'inline data'),
                          ('sub_slo', 'nested SLO')):
            if entry.get(key):
                return None, 'its manifest has %s segments' % kind
        seg_container, _, seg_name = str(
            entry.get('name', '')).lstrip('/').partition('/')
        size, etag = entry.get('bytes'), entry.get('hash')
        if not seg_container or not seg_name or not isinstance(etag, str) \
                or not isinstance(size, int) or isinstance(size, bool) \
                or not 0 < size <= constraints.MAX_FILE_SIZE:
            return None, 'its saved manifest has an invalid entry'
        if (seg_container, seg_name) == (container, name):
            return None, 'its manifest names the object itself'
        pieces.append(Piece(seg_container, seg_name, size, etag,
                            entry.get('content_type')))
    total = sum(p.size for p in pieces)
    if total != length:
        return None, ('its saved manifest adds up to %d bytes, the object '
                      'has %d' % (total, length))
    return pieces, None


def split_pieces(container, name, length, segment_size, max_segments):
    """([Piece], None) cutting ``length`` bytes into segments of
    ``<container>_segments``, or (None, why not)."""
    size = max(segment_size, -(-length // max_segments))
    if size > constraints.MAX_FILE_SIZE:
        return None, 'it would need segments over max_file_size'
    segments = container + SEGMENTS_SUFFIX
    prefix = '%s/%s/%d/%d/' % (name, Timestamp.now().internal, length, size)
    if len(segments.encode('utf-8')) > \
            constraints.MAX_CONTAINER_NAME_LENGTH or \
            len((prefix + '%08d' % 0).encode('utf-8')) > \
            constraints.MAX_OBJECT_NAME_LENGTH:
        return None, 'its segment names would be too long'
    return [Piece(segments, prefix + '%08d' % index,
                  min(size, length - offset))
            for index, offset in enumerate(range(0, length, size))], None


class LocalRequests(object):
    """Pre-authorised requests into the Swift below the shunt, made on
    behalf of one client request (``env``) in its account."""

    def __init__(self, app, env):
        self.app = app
        self.env = env
        version, account, _ = split_path(env['PATH_INFO'], 3, 3, True)
        self.root = '/%s/%s' % (version, account)

    def path(self, container, name=None):
        path = '%s/%s' % (self.root, str_to_wsgi(container))
        return path + '/' + str_to_wsgi(name) if name is not None else path

    def call(self, method, path, headers=None, query='', body=None,
             app=None):
        """The response, its body read."""
        env = make_pre_authed_env(
            self.env, method, path=path, query_string=query,
            agent='%(orig)s CloudShunt', swift_source=SWIFT_SOURCE)
        if body is not None:
            env['wsgi.input'] = BytesIO(body)
            env['CONTENT_LENGTH'] = str(len(body))
        req = Request(env)
        req.headers.update(headers or {})
        resp = req.get_response(app or self.app)
        resp.body   # read it all: closes the app_iter
        return resp

    def make_containers(self, names, like):
        """Create the containers of ``names`` that are missing, in the
        storage policy of container ``like``; a problem, or None."""
        policy = None
        for name in names:
            resp = self.call('HEAD', self.path(name))
            if resp.status_int == 404:
                if policy is None:
                    policy = self.call('HEAD', self.path(like)).headers.get(
                        'X-Storage-Policy', '')
                headers = {'X-Storage-Policy': policy} if policy else {}
                resp = self.call('PUT', self.path(name), headers)
            if not is_success(resp.status_int):
                return 'segments container %s: %s' % (name, resp.status)
        return None


class SegmentedRestore(object):
    """What :class:`RestoringBody` feeds when the object comes back as an
    SLO: each piece PUT in turn as its bytes go by, then the manifest.

    ``shared``: the pieces' names are the original's, so a concurrent
    restore may write and use them too (a split object's names are this
    restore's own).  ``whole_etag``: the MD5 the whole stream must have.
    """

    def __init__(self, local, slo, logger, what, pieces, headers,
                 shared=False, whole_etag=None):
        self.local = local
        self.slo = slo
        self.logger = logger
        self.what = what
        self.pieces = pieces
        self.headers = headers
        self.shared = shared
        self.whole_etag = whole_etag
        self.whole = hashlib.md5() if whole_etag else None
        self.index = 0
        self.left = pieces[0].size
        self.writer = None
        self.digest = None
        self.written = []
        self.failed = False
        self.ended = False

    # -- segments, as the bytes go by -----------------------------------------
    def feed(self, chunk):
        if self.failed or not chunk:
            return
        if self.whole:
            self.whole.update(chunk)
        while chunk and not self.failed:
            if self.index >= len(self.pieces):
                return self._fail('the remote sent more bytes than it said')
            if self.writer is None:
                self._start_piece()
            part, chunk = chunk[:self.left], chunk[self.left:]
            self.writer.feed(part)
            if self.digest:
                self.digest.update(part)
            self.left -= len(part)
            if not self.left:
                self._end_piece()

    def _start_piece(self):
        piece = self.pieces[self.index]
        headers = {'Content-Type': piece.content_type or
                   'application/octet-stream', 'If-None-Match': '*'}
        if piece.etag:
            headers['Etag'] = piece.etag   # Swift checks the bytes
            self.digest = None
        else:
            self.digest = hashlib.md5()
        self.writer = RestoreWriter(
            self.local.app, self.local.env, headers, piece.size,
            self.logger, '%s (segment %s/%s)' % (
                self.what, piece.container, piece.name),
            path=self.local.path(piece.container, piece.name))

    def _end_piece(self):
        status = self.writer.end()
        self.writer = None
        piece = self.pieces[self.index]
        self.index += 1
        if self.index < len(self.pieces):
            self.left = self.pieces[self.index].size
        if status == 201:
            self.written.append(piece)
            if self.digest:
                # The manifest PUT checks the stored segment has it.
                piece.etag = self.digest.hexdigest()
        elif status != 412 or not self.shared:
            # 412: it was there already; the manifest PUT checks it.
            self._fail('segment %s/%s: %s' % (
                piece.container, piece.name, status or 'PUT failed'))

    def _fail(self, reason):
        self.failed = True
        self.logger.warning('cloud-shunt: restoring %s failed: %s',
                            self.what, reason)
        self._remove_written()

    # -- the end --------------------------------------------------------------
    def finish(self):
        if self.ended:
            return
        self.ended = True
        if self.failed:
            return
        if self.index < len(self.pieces):
            return self._abandon()
        if self.whole and self.whole.hexdigest() != self.whole_etag:
            return self._fail('the bytes read do not match the remote ETag')
        resp = self._put_manifest()
        if resp.status_int == 201:
            self.logger.info(
                'cloud-shunt: restored %s as a static large object (%d '
                'segments, %d written)', self.what, len(self.pieces),
                len(self.written))
        elif resp.status_int == 412:
            self.logger.info('cloud-shunt: not restoring %s: it was written '
                             'locally meanwhile', self.what)
            self._remove_written()
        else:
            self._fail('manifest: %s %s' % (resp.status, resp.body[:500]))

    def abort(self):
        if self.ended:
            return
        self.ended = True
        self._abandon()

    def _abandon(self):
        if self.writer:
            self.writer.abort()
            self.writer = None
        if not self.failed:
            self.failed = True
            self.logger.info('cloud-shunt: restore of %s abandoned: '
                             'incomplete read', self.what)
            self._remove_written()

    def _put_manifest(self):
        body = json.dumps([p.manifest_entry() for p in self.pieces])
        headers = dict(self.headers, **{'If-None-Match': '*',
                                        'Accept': 'application/json'})
        return self.local.call(
            'PUT', self.local.env['PATH_INFO'], headers,
            query='multipart-manifest=put', body=body.encode('utf-8'),
            app=self.slo)

    def _remove_written(self):
        """Delete the segments this restore wrote, unless (names shared)
        an SLO now stands at the object's name: it may use them."""
        written, self.written = self.written, []
        if not written:
            return
        if self.shared:
            resp = self.local.call('HEAD', self.local.env['PATH_INFO'])
            if is_success(resp.status_int) and config_true_value(
                    resp.headers.get('X-Static-Large-Object')):
                self.logger.info(
                    'cloud-shunt: keeping %d segments of %s: a large object '
                    'was written there meanwhile', len(written), self.what)
                return
        for piece in written:
            resp = self.local.call(
                'DELETE', self.local.path(piece.container, piece.name))
            if not is_success(resp.status_int) and resp.status_int != 404:
                self.logger.warning(
                    'cloud-shunt: restore of %s: segment %s/%s not deleted:'
                    ' %s', self.what, piece.container, piece.name,
                    resp.status)


class Restorer(object):
    """The shunt's restores: :meth:`restoring_body` is the entry point.

    ``conf`` is the filter's conf (``restore_segment_size``)."""

    def __init__(self, app, conf, logger):
        self.app = app
        self.conf = conf
        self.logger = logger
        self.segment_size = segment_size_option(conf)
        self._slo = None

    @property
    def slo(self):
        """Swift's SLO code over the app below the shunt, made on first
        use (the pipeline's slo has registered its limits by then)."""
        if self._slo is None:
            segments, size = slo_limits()
            self._slo = StaticLargeObject(
                self.app, self.conf, max_manifest_segments=segments,
                max_manifest_size=size)
        return self._slo

    def restoring_body(self, env, what, provider, container, name,
                       remote_headers, body):
        """The body of a full GET (``remote_headers``: the remote's, as
        the provider gave them) to send to the client: wrapped so that it
        is restored as it streams, or ``body`` itself when the object
        cannot be restored (logged)."""
        length = remote_headers.get('content-length', '')
        if not length.isdigit():
            return body
        length = int(length)
        large = config_true_value(remote_headers.get('x-static-large-object'))
        if not large and length <= constraints.MAX_FILE_SIZE:
            return self._plain(env, what, remote_headers, length, body)
        try:
            sink, reason = self._segmented(env, what, provider, container,
                                           name, remote_headers, length,
                                           large)
        except Exception as err:
            sink, reason = None, 'preparing it failed: %s' % err
        if sink is None:
            self.logger.info('cloud-shunt: not restoring %s: %s', what,
                             reason)
            return body
        return RestoringBody(body, sink, length)

    def _plain(self, env, what, remote_headers, length, body):
        headers = content_headers(remote_headers)
        etag = md5_etag(remote_headers)
        if etag:
            headers['etag'] = etag   # Swift checks the bytes against it
        headers['if-none-match'] = '*'
        writer = RestoreWriter(self.app, env, headers, length, self.logger,
                               what)
        return RestoringBody(body, writer, length)

    def _segmented(self, env, what, provider, container, name,
                   remote_headers, length, large):
        """(SegmentedRestore, None), or (None, why not)."""
        max_segments, max_bytes = slo_limits()
        headers = content_headers(remote_headers)
        if large:
            get_manifest = getattr(provider, 'get_manifest', None)
            if get_manifest is None:
                return None, 'its remote keeps no SLO manifest'
            remote = RemoteObject(name, remote_headers.get('etag'), length,
                                  headers=remote_headers)
            text = get_manifest(container, name, remote)
            if text is None:
                return None, 'no saved SLO manifest'
            pieces, reason = pieces_from_manifest(text, container, name,
                                                  length)
            etag = md5_etag(remote_headers)
            if etag:
                headers['Etag'] = etag   # SLO checks the restored SLO's
        else:
            pieces, reason = split_pieces(container, name, length,
                                          self.segment_size, max_segments)
        reason = reason or manifest_problem(pieces, max_segments, max_bytes)
        if reason:
            return None, reason
        local = LocalRequests(self.app, env)
        reason = local.make_containers(
            sorted({p.container for p in pieces}), container)
        if reason:
            return None, reason
        return SegmentedRestore(
            local, self.slo, self.logger, what, pieces, headers,
            shared=large,
            whole_etag=None if large else md5_etag(remote_headers)), None
