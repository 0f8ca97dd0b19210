"""Large objects: what the migrator makes of S3 multipart uploads, objects
above Swift's maximum object size, and Swift SLOs and DLOs.

Where the pieces go
-------------------
Every large object copied into local container ``C`` keeps its pieces in
``C_segments`` (created with the migration's ``storage_policy``), named
``<object name>/<source timestamp>/<index:08d>``: one segment per S3 part,
per source SLO segment, per DLO segment, or per ``segment_size`` bytes of an
object above the maximum object size.  The timestamp in the name keeps the
pieces of a new source version apart from those of the version clients are
reading.  Pieces are written first and the manifest last, so a client never
sees a manifest whose segments are missing.

What the local object looks like
--------------------------------
* An S3 multipart object becomes an SLO with one segment per part.  Its
  ETag (what GET and HEAD answer, also through s3api) is the source's
  ``<md5 of the parts' md5s>-<N>``, and the migrator checks that formula
  against the MD5s of the bytes it wrote before the manifest is written.
* An object above Swift's maximum object size becomes an SLO of
  ``segment_size`` pieces whose ETag is the source's.
* A Swift SLO stays an SLO (its segments are copied first, ranges of
  segments as just the bytes of the range) with the source's ETag; the
  source manifest is checked against the listed ETag first (Swift's own
  formula), so a manifest replaced in between is not copied.
* A Swift DLO stays a DLO: its segments (the source listing of its
  ``X-Object-Manifest`` prefix) are copied whole and in order, so the local
  DLO's ETag (MD5 of the segments' ETags) is the source's.

The manifest gets the source's timestamp, content headers, metadata and the
migrator's marker like a plain copy, so the page merge, deletes and "a newer
local object wins" work the same way.

How pieces are read
-------------------
Pieces are fetched ``part_workers`` at a time, each streamed into its
local segment PUTs (nothing spooled to disk).  Source SLO and DLO
segments are read one GET each with ``If-Match: <the segment's ETag>``;
consecutive segments of one object (the parts of an S3 multipart object,
see ``s3_parts``; the pieces of an object above the maximum size) are read
with one ``Range`` GET per worker carrying ``If-Match: <the object's
ETag>``, cut into segments as they stream.  The hash of each segment is
the ETag the object servers computed over what they stored; whole
segments of SLOs and DLOs must have the source segment's ETag.

Failures
--------
If any piece fails (source error, ETag mismatch, local error), the pieces
already written are deleted and no manifest is written: no visible object
and no orphan segments; the object is retried like any failed object.  A
manifest that Swift refuses because a client wrote the object locally in
the meantime (202) is cleaned up the same way.  Once a manifest is in
place, the segments of other versions of that name (an older source
version, or pieces left by a migrator killed mid-copy) are deleted; a
delete of the migrator's copy (source delete) deletes its segments too.

Limits: a plain object written locally over a migrated large object leaves
its segments in ``C_segments`` (as Swift itself does); DLO segments that
change at the source without the manifest changing are not noticed.
"""
import base64
import hashlib
import json
import re
from urllib.parse import quote, unquote

import eventlet
from swift.common import constraints

from swift_s3_sync.migrator import errors
from swift_s3_sync.migrator.local import MIGRATED_HEADER, copy_headers, \
    refuse_unstorable, segment_container

SLO_ETAG = 'X-Object-Sysmeta-Slo-Etag'
SLO_SIZE = 'X-Object-Sysmeta-Slo-Size'
S3API_ETAG = 'X-Object-Sysmeta-S3Api-Etag'
OVERRIDE_ETAG = 'X-Object-Sysmeta-Container-Update-Override-Etag'
OVERRIDE_SIZE = 'X-Object-Sysmeta-Container-Update-Override-Size'
SEGMENT_TYPE = 'application/octet-stream'


def max_object_size():
    """Swift's maximum object size (swift.conf ``max_file_size``)."""
    return constraints.MAX_FILE_SIZE


# -- the destination of one object -------------------------------------------

class Destination(object):
    """Where one large object goes: the local store, account, container
    and name, the source timestamp it gets, and the storage policy (and
    other headers, e.g. the ACLs of its container) of a segments container
    that has to be created."""

    def __init__(self, store, account, container, name, timestamp,
                 storage_policy=None, segments_headers=None):
        self.store = store
        self.account = account
        self.container = container
        self.name = name
        self.timestamp = timestamp
        self.storage_policy = storage_policy
        self.segments_headers = segments_headers

    @property
    def segments(self):
        return segment_container(self.container)

    @property
    def prefix(self):
        return '%s/%s/' % (self.name, self.timestamp.internal)

    def segment_name(self, index):
        return '%s%08d' % (self.prefix, index)


# -- pieces ------------------------------------------------------------------

class Piece(object):
    """Segments to be, read with one request: ``fetch()`` returns (length,
    body iterator); ``lengths``: the consecutive segments the body is cut
    into (None: one segment of the whole body); ``opened`` is a body
    fetched already (closed if never used)."""

    def __init__(self, fetch, opened=None, lengths=None):
        self.fetch = fetch
        self.opened = opened
        self.lengths = lengths
        self.headers = None

    def segments(self):
        return len(self.lengths) if self.lengths else 1

    def cancel(self):
        if self.opened is not None:
            _close(self.opened)
            self.opened = None


class ChunkReader(object):
    """A file-like over a body iterator, for InternalClient PUTs.  It has
    no seek(): a PUT retried after it was read sends no bytes and fails,
    instead of storing a short object."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._pending = b''
        self.read_bytes = 0

    def read(self, size=-1):
        if size is None or size < 0:
            data = self._pending + b''.join(self._chunks)
            self._pending = b''
        else:
            while len(self._pending) < size:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = (self._pending + chunk if self._pending
                                 else chunk)
            data, self._pending = self._pending[:size], self._pending[size:]
        self.read_bytes += len(data)
        return data


class _Limited(object):
    """The next ``length`` bytes of a ChunkReader, as one segment's
    body."""

    def __init__(self, reader, length):
        self._reader = reader
        self._left = length
        self.read_bytes = 0

    def read(self, size=-1):
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._reader.read(size) if size else b''
        self._left -= len(data)
        self.read_bytes += len(data)
        return data


def _close(body):
    close = getattr(body, 'close', None)
    if close:
        close()


def _etag(value):
    return (value or '').strip().strip('"').lower()


class _Cancelled(errors.CopyError):
    """Not started: another piece of the object failed first."""


def _upload(dest, first, piece, state):
    """Write the segments of one Piece (indexes from ``first``) ->
    their manifest entries."""
    if state['failed']:
        piece.cancel()
        raise _Cancelled('cancelled: another piece failed')
    length, body = piece.fetch()
    piece.opened = None
    lengths = piece.lengths or [length]
    try:
        if sum(lengths) != length:
            raise errors.CopyError('piece %d: %d bytes announced, %d '
                                   'expected' % (first, length,
                                                 sum(lengths)))
        reader = ChunkReader(body)
        entries = []
        for offset, size in enumerate(lengths):
            if offset and state['failed']:
                raise _Cancelled('cancelled: another piece failed')
            entries.append(_put_segment(dest, first + offset, reader, size,
                                        state))
        return entries
    finally:
        _close(body)


_MD5_HEX = re.compile(r'^[0-9a-f]{32}$')


def _put_segment(dest, index, reader, length, state):
    """One segment of ``length`` bytes from ``reader``.  Its hash is the
    ETag the object servers computed over the bytes they stored; the
    caller checks those against the source (the S3 ETag formula, the
    source SLO's manifest)."""
    name = dest.segment_name(index)
    state['written'].append(name)
    body = _Limited(reader, length)
    resp = dest.store.put(dest.account, dest.segments, name, body,
                          {'content-length': str(length)})
    if body.read_bytes != length:
        raise errors.CopyError('piece %d: %d bytes read, %d expected' % (
            index, body.read_bytes, length))
    md5 = _etag(resp.headers.get('etag'))
    if not _MD5_HEX.match(md5):
        raise errors.CopyError('piece %d: local Swift answered ETag %r' % (
            index, resp.headers.get('etag')))
    return {'name': '/%s/%s' % (dest.segments, name), 'hash': md5,
            'bytes': length, 'content_type': SEGMENT_TYPE,
            'last_modified': dest.timestamp.isoformat}


def _captured(function, *args):
    """Run ``function`` in a green thread without the hub printing its
    exception: (result, None) or (None, exception)."""
    try:
        return function(*args), None
    except Exception as err:
        return None, err


def run_all(calls, workers):
    """[(function, args)] run ``workers`` at a time -> [(result, error)]
    in order."""
    pool = eventlet.GreenPool(workers)
    threads = [pool.spawn(_captured, function, *args)
               for function, args in calls]
    return [thread.wait() for thread in threads]


def upload_pieces(dest, pieces, workers):
    """Write each Piece as its segments, ``workers`` Pieces at a time;
    dicts in ``pieces`` are manifest entries kept as they are (SLO inline
    data).
    Returns the manifest entries in order.  If any piece fails, the others
    are cancelled, every segment written is deleted and the first error is
    raised."""
    if dest.segments_headers is None:
        dest.store.ensure_container(dest.account, dest.segments,
                                    dest.storage_policy)
    else:
        dest.store.ensure_container(dest.account, dest.segments,
                                    dest.storage_policy,
                                    headers=dest.segments_headers)
    state = {'failed': False, 'written': []}

    def upload(first, piece):
        if not isinstance(piece, Piece):
            return [piece]   # a manifest entry kept as it is
        try:
            return _upload(dest, first, piece, state)
        except Exception:
            state['failed'] = True
            raise
    calls, first = [], 0
    for piece in pieces:
        calls.append((upload, (first, piece)))
        first += piece.segments() if isinstance(piece, Piece) else 1
    results = run_all(calls, workers)
    entries = [entry for made, _ in results for entry in made or ()]
    errors_seen = [err for _, err in results if err is not None]
    failure = next((err for err in errors_seen
                    if not isinstance(err, _Cancelled)),
                   errors_seen[0] if errors_seen else None)
    if failure is not None:
        for piece in pieces:
            if isinstance(piece, Piece):
                piece.cancel()
        dest.store.delete_segments(dest.account, dest.segments,
                                   state['written'])
        raise failure
    return entries


# -- manifests ---------------------------------------------------------------

def _object_headers(source_headers, dest):
    headers = copy_headers(source_headers, dest.timestamp)
    content_type = headers.get('content-type') or SEGMENT_TYPE
    headers['content-type'] = content_type.split(';swift_bytes=')[0]
    return headers


def _put_manifest(dest, body, headers, written):
    """PUT the manifest; a refused one (a newer local object) takes its
    segments with it."""
    headers['content-length'] = str(len(body))
    try:
        refuse_unstorable(headers)   # then its segments go too
        resp = dest.store.put(dest.account, dest.container, dest.name,
                              ChunkReader([body]), headers)
    except Exception:
        if not _manifest_may_be_there(dest):
            dest.store.delete_segments(dest.account, dest.segments, written)
        raise
    if resp.status_int == 202:
        dest.store.delete_segments(dest.account, dest.segments, written)
        raise errors.LocalNewer('a newer local object was kept')
    dest.store.drop_other_segments(dest.account, dest.container, dest.name,
                                   keep=dest.prefix)


def _manifest_may_be_there(dest):
    """After a failed manifest PUT: whether some object server may have
    stored it (then its segments stay; a retry writes the same names and
    a later clean-up takes what is not used)."""
    try:
        headers = dest.store.head(dest.account, dest.container, dest.name)
    except Exception:
        return True
    return bool(headers) and headers.get(MIGRATED_HEADER.lower()) == \
        dest.timestamp.internal


def _size(entry):
    if 'data' in entry:
        return len(base64.b64decode(entry['data']))
    return entry['bytes']


def _segment_names(entries, dest):
    skip = len('/%s/' % dest.segments)
    return [e['name'][skip:] for e in entries if 'name' in e]


def write_slo(dest, entries, source_headers, etag, from_s3=False):
    """The SLO manifest over ``entries`` with ``etag`` as its ETag (and as
    s3api's ETag for an S3 multipart copy)."""
    body = json.dumps(entries).encode('utf-8')
    total = sum(_size(e) for e in entries)
    headers = _object_headers(source_headers, dest)
    manifest_md5 = hashlib.md5(body).hexdigest()
    headers.update({
        OVERRIDE_SIZE: str(total),   # listings show the SLO's bytes
        'etag': manifest_md5, 'x-static-large-object': 'True',
        SLO_ETAG: etag, SLO_SIZE: str(total),
        OVERRIDE_ETAG: '%s; %sslo_etag=%s' % (
            manifest_md5, 's3_etag=%s; ' % etag if from_s3 else '', etag)})
    if from_s3:
        headers[S3API_ETAG] = etag
    _put_manifest(dest, body, headers, _segment_names(entries, dest))
    return total


def write_dlo(dest, entries, source_headers):
    headers = _object_headers(source_headers, dest)
    headers['x-object-manifest'] = '%s/%s' % (quote(dest.segments),
                                              quote(dest.prefix))
    _put_manifest(dest, b'', headers, _segment_names(entries, dest))
    return sum(e['bytes'] for e in entries)


# -- reading the source by ranges ----------------------------------------------

def _check_get(status, body, what):
    if status in (404, 412):
        _close(body)
        raise errors.SourceChanged('%s: the source answered %d (changed or '
                                   'gone since it was listed)' % (what,
                                                                  status))
    if status // 100 != 2:
        _close(body)
        raise errors.CopyError('%s: the source answered %s' % (what, status))


def range_piece(provider, bucket, name, etag, start, end, what):
    """A Piece of bytes ``start``-``end`` (included) of the source object
    as it is with ``etag``; once fetched, its ``headers`` are the source
    object's (metadata included)."""
    def fetch():
        status, headers, body = provider.get(
            bucket, name, headers={'If-Match': etag,
                                   'Range': 'bytes=%d-%d' % (start, end)})
        _check_get(status, body, what)
        if status != 206 and not (start == 0 and status == 200):
            _close(body)
            raise errors.CopyError('%s: the source ignored Range' % what)
        piece.headers = headers
        return end - start + 1, body
    piece = Piece(fetch)
    return piece


def ranged_pieces(provider, bucket, name, etag, sizes, workers, what):
    """Pieces for segments of ``sizes`` bytes of the source object, in
    order: consecutive segments are read with one Range GET per worker
    (``workers`` runs of about the same number of segments), each run
    cut into its segments as it streams.  Fewer, longer requests cost the
    source less than one per segment (servers that load the whole object
    for every Range GET, moto, pay it once per run)."""
    runs = min(workers, len(sizes)) or 1
    bounds = [round(k * len(sizes) / runs) for k in range(runs + 1)]
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    pieces = []
    for first, last in zip(bounds, bounds[1:]):
        if first == last:
            continue
        piece = range_piece(provider, bucket, name, etag, offsets[first],
                            offsets[last] - 1, '%s %d-%d' % (
                                what, first + 1, last))
        piece.lengths = sizes[first:last]
        pieces.append(piece)
    return pieces


def check_hashes(dest, entries, expected, what):
    """Every entry whose expected hash is known (not None) has it; if not,
    the segments written go and CopyError is raised."""
    for index, (entry, wanted) in enumerate(zip(entries, expected)):
        if wanted is not None and entry.get('hash') != _etag(wanted):
            dest.store.delete_segments(dest.account, dest.segments,
                                       _segment_names(entries, dest))
            raise errors.CopyError('%s %d: local Swift stored ETag %s, the '
                                   'source has %s' % (what, index,
                                                      entry.get('hash'),
                                                      wanted))


# -- objects above the maximum object size -----------------------------------

def copy_ranges(provider, bucket, remote, headers, dest, segment_size,
                workers):
    """A plain object too large for one local object -> an SLO of
    ``segment_size`` pieces with the source's ETag."""
    size = int(headers['content-length'])
    etag = _etag(headers.get('etag'))
    sizes = [min(segment_size, size - start)
             for start in range(0, size, segment_size)]
    pieces = ranged_pieces(provider, bucket, remote.name, etag, sizes,
                           workers, 'segments')
    entries = upload_pieces(dest, pieces, workers)
    return write_slo(dest, entries, headers, etag)


# -- Swift SLOs and DLOs -----------------------------------------------------

def slo_etag(manifest):
    """Swift's ETag of an SLO with this manifest (as listed and served)."""
    digest = hashlib.md5()
    for entry in manifest:
        if 'data' in entry:
            part = hashlib.md5(base64.b64decode(entry['data'])).hexdigest()
        elif entry.get('range'):
            part = '%s:%s;' % (entry['hash'], entry['range'])
        else:
            part = entry['hash']
        digest.update(part.encode('ascii'))
    return digest.hexdigest()


def _split_path(path):
    container, _, name = path.lstrip('/').partition('/')
    return container, name


def _segment_piece(open_source, entry, index):
    container, name = _split_path(entry['name'])

    def fetch():
        provider = open_source(container)
        wanted = {}
        if entry.get('range'):
            wanted['Range'] = 'bytes=%s' % entry['range']
        if not entry.get('sub_slo'):
            wanted['If-Match'] = entry['hash']
        status, headers, body = provider.get(container, name,
                                             headers=wanted)
        _check_get(status, body, 'segment %d (%s)' % (index, entry['name']))
        return int(headers['content-length']), body
    return Piece(fetch)


def copy_swift_slo(open_source, remote, headers, manifest_body, dest,
                   workers):
    """A Swift SLO (its manifest read with multipart-manifest=get) -> a
    local SLO over copies of its segments, with the source's ETag."""
    try:
        manifest = json.loads(manifest_body)
    except ValueError:
        raise errors.CopyError('the source SLO manifest is not JSON')
    if slo_etag(manifest) != _etag(remote.etag):
        raise errors.SourceChanged('SLO manifest changed at the source '
                                   'since it was listed')
    pieces = [{'data': e['data']} if 'data' in e else
              _segment_piece(open_source, e, i)
              for i, e in enumerate(manifest)]
    entries = upload_pieces(dest, pieces, workers)
    # Whole segments must be the source's bytes (ranges of segments and
    # nested SLOs have other hashes by nature).
    check_hashes(dest, entries, [
        None if 'data' in e or e.get('range') or e.get('sub_slo')
        else e.get('hash') for e in manifest], 'SLO segment')
    return write_slo(dest, entries, headers, _etag(remote.etag))


def dlo_segments(open_source, manifest_value):
    """(container, [RemoteObject]) of a DLO's segments at the source, in
    order."""
    container, _, prefix = unquote(manifest_value).partition('/')
    provider = open_source(container)
    listed, marker = [], ''
    while True:
        page = list(provider.list(container, prefix=prefix, marker=marker,
                                  limit=1000))
        listed.extend(page)
        if len(page) < 1000:
            return container, listed
        marker = page[-1].name


def copy_swift_dlo(open_source, remote, headers, dest, workers):
    """A Swift DLO -> a local DLO over copies of its segments."""
    container, listed = dlo_segments(open_source, headers['x-object-manifest'])

    def piece(segment, index):
        def fetch():
            status, got, body = open_source(container).get(
                container, segment.name,
                headers={'If-Match': segment.etag})
            _check_get(status, body, 'DLO segment %s' % segment.name)
            return int(got['content-length']), body
        return Piece(fetch)
    entries = upload_pieces(dest, [piece(s, i) for i, s in enumerate(listed)],
                            workers)
    check_hashes(dest, entries, [s.etag for s in listed], 'DLO segment')
    return write_dlo(dest, entries, headers)
