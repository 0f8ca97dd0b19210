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

How parts are read
------------------
Parts and segments are fetched ``part_workers`` at a time, each streamed
into its local segment PUT (nothing spooled to disk).  S3 parts are asked
for with ``PartNumber`` GETs carrying ``If-Match: <source ETag>``, so every
part comes from the same version.  Some servers answer a part GET with the
whole object (moto, radosgw 16): then the part sizes come from
``PartNumber`` HEADs and the bytes from ``Range`` GETs, still with
``If-Match``.  A server that reports no part sizes at all (radosgw 16):
the object is read once and hashed as each usual part size would cut it
(``COMMON_PART_SIZES``, and the smallest whole MiB that gives N parts);
the size whose ``md5 of part md5s-N`` is the source's ETag is used.  When
none is, the object cannot be copied exactly: a permanent failure, visible
in ``--status``.

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
import binascii
import hashlib
import json
from urllib.parse import quote, unquote

import eventlet
from swift.common import constraints

from swift_s3_sync.migrator import errors
from swift_s3_sync.migrator.local import MIGRATED_HEADER, segment_container
from swift_s3_sync.providers.base import CONTENT_HEADERS

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
    """One segment to be: ``fetch()`` returns (length, body iterator);
    ``opened`` is a body fetched already (closed if never used)."""

    def __init__(self, fetch, opened=None):
        self.fetch = fetch
        self.opened = opened

    def cancel(self):
        if self.opened is not None:
            _close(self.opened)
            self.opened = None


class ChunkReader(object):
    """A file-like over a body iterator, for InternalClient PUTs, keeping
    the MD5 of what was read when asked to.  It has no seek(): a PUT
    retried after it was read sends no bytes and fails, instead of storing
    a short object."""

    def __init__(self, chunks, hashing=True):
        self._chunks = iter(chunks)
        self._pending = b''
        self.md5 = hashlib.md5() if hashing else None
        self.read_bytes = 0

    def read(self, size=-1):
        while size is None or size < 0 or len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        if size is None or size < 0:
            data, self._pending = self._pending, b''
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        if self.md5 is not None:
            self.md5.update(data)
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


def _upload(dest, index, piece, state):
    if state['failed']:
        piece.cancel()
        raise _Cancelled('cancelled: another piece failed')
    name = dest.segment_name(index)
    state['written'].append(name)
    length, body = piece.fetch()
    piece.opened = None
    reader = ChunkReader(body)
    try:
        resp = dest.store.put(dest.account, dest.segments, name, reader,
                              {'content-length': str(length)})
    finally:
        _close(body)
    md5 = reader.md5.hexdigest()
    if reader.read_bytes != length:
        raise errors.CopyError('piece %d: %d bytes read, %d expected' % (
            index, reader.read_bytes, length))
    if _etag(resp.headers.get('etag')) != md5:
        raise errors.CopyError('piece %d: local Swift stored ETag %s, the '
                               'bytes sent have %s' % (
                                   index, resp.headers.get('etag'), md5))
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
    """Write each Piece as a segment, ``workers`` at a time; dicts in
    ``pieces`` are manifest entries kept as they are (SLO inline data).
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

    def upload(index, piece):
        if not isinstance(piece, Piece):
            return piece   # a manifest entry kept as it is
        try:
            return _upload(dest, index, piece, state)
        except Exception:
            state['failed'] = True
            raise
    results = run_all([(upload, (i, p)) for i, p in enumerate(pieces)],
                      workers)
    entries = [entry for entry, _ in results]
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
    headers = {}
    for name, value in source_headers.items():
        name = name.lower()
        if (name.startswith('x-object-meta-') or name in CONTENT_HEADERS) \
                and value:
            headers[name] = value
    content_type = headers.get('content-type') or SEGMENT_TYPE
    headers['content-type'] = content_type.split(';swift_bytes=')[0]
    headers['x-timestamp'] = dest.timestamp.internal
    headers[MIGRATED_HEADER] = dest.timestamp.internal
    return headers


def _put_manifest(dest, body, headers, written):
    """PUT the manifest; a refused one (a newer local object) takes its
    segments with it."""
    headers['content-length'] = str(len(body))
    try:
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


# -- S3 multipart uploads ----------------------------------------------------

def parts_count(etag):
    return int(etag.rsplit('-', 1)[1])


def s3_etag(entries):
    """S3's ETag of a multipart object with these parts."""
    digest = hashlib.md5(b''.join(binascii.unhexlify(e['hash'])
                                  for e in entries))
    return '%s-%d' % (digest.hexdigest(), len(entries))


def _check_get(status, body, what):
    if status in (404, 412):
        _close(body)
        raise errors.SourceChanged('%s: the source answered %d (changed or '
                                   'gone since it was listed)' % (what,
                                                                  status))
    if status // 100 != 2:
        _close(body)
        raise errors.CopyError('%s: the source answered %s' % (what, status))


def _part_get(provider, bucket, remote, number):
    def fetch():
        status, headers, body = provider.get(
            bucket, remote.name, headers={'If-Match': remote.etag},
            part_number=number)
        _check_get(status, body, 'part %d' % number)
        if status != 206:
            _close(body)
            raise errors.CopyError('part %d: the source ignored PartNumber'
                                   % number)
        return int(headers['content-length']), body
    return fetch


def range_piece(provider, bucket, name, etag, start, end, what):
    """A Piece of bytes ``start``-``end`` (included) of the source object
    as it is with ``etag``."""
    def fetch():
        status, headers, body = provider.get(
            bucket, name, headers={'If-Match': etag,
                                   'Range': 'bytes=%d-%d' % (start, end)})
        _check_get(status, body, what)
        if status != 206 and not (start == 0 and status == 200):
            _close(body)
            raise errors.CopyError('%s: the source ignored Range' % what)
        return end - start + 1, body
    return Piece(fetch)


def _part_sizes(provider, bucket, remote, count, workers):
    """Sizes of the parts from PartNumber HEADs (servers that ignore
    PartNumber on GET may honour it on HEAD)."""
    def size(number):
        head = provider.head(bucket, remote.name, part_number=number)
        if head is None:
            raise errors.SourceChanged('gone from the source since it was '
                                       'listed')
        if (head.headers or {}).get('x-amz-mp-parts-count') != str(count):
            raise errors.Unsupported(
                'multipart upload (%d parts): the source reports no part '
                'sizes, the parts cannot be copied exactly' % count)
        return head.size
    results = run_all([(size, (n,)) for n in range(1, count + 1)], workers)
    for _, err in results:
        if err is not None:
            raise err
    return [result for result, _ in results]


MiB = 1024 * 1024
# Part sizes S3 tools use (aws cli and boto3 8 MiB, rclone and Swift's
# s3api clients 5 MiB, s3cmd 15 MiB, mc 16 MiB and up, ...): tried when a
# source reports no part sizes.
COMMON_PART_SIZES = tuple(n * MiB for n in (
    5, 8, 10, 15, 16, 20, 25, 32, 50, 64, 100, 128, 256, 512, 1024, 5120))


def candidate_part_sizes(size, count):
    """Part sizes that split ``size`` bytes into exactly ``count`` parts
    (all equal but a shorter last one): the usual ones first, then the
    smallest whole MiB that fits."""
    fitting = []
    smallest = -(-size // count)
    for part in COMMON_PART_SIZES + (-(-smallest // MiB) * MiB,):
        if part > 0 and -(-size // part) == count and part not in fitting:
            fitting.append(part)
    return fitting


def infer_part_sizes(provider, bucket, remote, count):
    """When a source reports no part sizes (radosgw 16): read the object
    once, hashing it as each candidate split would, and keep the split
    whose ``md5 of part md5s-N`` is the source's ETag.  Unsupported when
    none is."""
    size = remote.size
    candidates = candidate_part_sizes(size, count)
    if not candidates:
        raise errors.Unsupported(
            'multipart upload (%d parts): the source reports no part sizes '
            'and no usual part size splits %d bytes so' % (count, size))
    status, _, body = provider.get(bucket, remote.name,
                                   headers={'If-Match': remote.etag})
    _check_get(status, body, 'the whole object')
    splits = [_SplitHash(part) for part in candidates]
    try:
        for chunk in body:
            for split in splits:
                split.update(chunk)
    finally:
        _close(body)
    wanted = remote.etag.lower().strip('"')
    for split in splits:
        if split.etag() == wanted:
            return [split.part] * (count - 1) + \
                [size - split.part * (count - 1)]
    raise errors.Unsupported(
        'multipart upload (%d parts): the source reports no part sizes and '
        'none of the usual part sizes (%s MiB) gives its ETag' % (
            count, ', '.join('%g' % (p / MiB) for p in candidates)))


class _SplitHash(object):
    """The S3 multipart ETag of a stream cut into ``part``-byte parts."""

    def __init__(self, part):
        self.part = part
        self.digests = []
        self.current = hashlib.md5()
        self.filled = 0

    def update(self, chunk):
        view = memoryview(chunk)
        while view:
            take = min(len(view), self.part - self.filled)
            self.current.update(view[:take])
            self.filled += take
            view = view[take:]
            if self.filled == self.part:
                self._cut()

    def _cut(self):
        self.digests.append(self.current.digest())
        self.current = hashlib.md5()
        self.filled = 0

    def etag(self):
        if self.filled:
            self._cut()
        return '%s-%d' % (hashlib.md5(b''.join(self.digests)).hexdigest(),
                          len(self.digests))


def mpu_pieces(provider, bucket, remote, workers):
    """(the object's headers, a Piece per part)."""
    count = parts_count(remote.etag)
    status, headers, body = provider.get(
        bucket, remote.name, headers={'If-Match': remote.etag},
        part_number=1)
    _check_get(status, body, 'part 1')
    if status == 206 and 'content-range' in headers:
        first = Piece(lambda: (int(headers['content-length']), body),
                      opened=body)
        return headers, [first] + [Piece(_part_get(provider, bucket, remote,
                                                   n))
                                   for n in range(2, count + 1)]
    _close(body)   # the whole object: sizes from HEADs, bytes by Range
    try:
        sizes = _part_sizes(provider, bucket, remote, count, workers)
    except errors.Unsupported:
        sizes = infer_part_sizes(provider, bucket, remote, count)
    pieces, start = [], 0
    for number, size in enumerate(sizes, 1):
        pieces.append(range_piece(provider, bucket, remote.name, remote.etag,
                                  start, start + size - 1,
                                  'part %d' % number))
        start += size
    return headers, pieces


def copy_mpu(provider, bucket, remote, dest, workers):
    """An S3 multipart object -> a local SLO with the source's ETag."""
    headers, pieces = mpu_pieces(provider, bucket, remote, workers)
    entries = upload_pieces(dest, pieces, workers)
    made = s3_etag(entries)
    if made != remote.etag.lower():
        dest.store.delete_segments(dest.account, dest.segments,
                                   _segment_names(entries, dest))
        raise errors.CopyError('the parts read make ETag %s, the source has '
                               '%s' % (made, remote.etag))
    return write_slo(dest, entries, headers, remote.etag, from_s3=True)


# -- objects above the maximum object size -----------------------------------

def copy_ranges(provider, bucket, remote, headers, dest, segment_size,
                workers):
    """A plain object too large for one local object -> an SLO of
    ``segment_size`` pieces with the source's ETag."""
    size = int(headers['content-length'])
    etag = _etag(headers.get('etag'))
    pieces = [range_piece(provider, bucket, remote.name, etag, start,
                          min(start + segment_size, size) - 1,
                          'bytes from %d' % start)
              for start in range(0, size, segment_size)]
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
    return write_dlo(dest, entries, headers)
