"""Local objects as providers see them: plain, large or symlinked.

``LocalObjects.describe()`` turns a local HEAD into a LocalObject.  Large
objects become ordered segments:

* SLO: the manifest is read raw (the daemon's internal client has no SLO
  middleware), nested manifests are expanded, ranged and inline-data pieces
  are kept as such.  The SLO's ETag and size are Swift's own (sysmeta).
* DLO: the segments container is listed under the manifest's prefix when
  the row is handled (a snapshot); the manifest itself is left out if it
  matches its own prefix, so a self-referencing DLO cannot loop.  Its ETag is
  Swift's: md5 of the concatenated segment ETags.

Every piece is read verified: a whole segment against its ETag; a ranged
piece is read with a Range request.

Symlinks are followed: the remote gets the target's bytes and headers (what
a client reading the link sees), recorded with the link's own timestamp.
"""
import base64
import hashlib
import io
import json
from urllib.parse import unquote

from swift.common.internal_client import UnexpectedResponse

from swift_s3_sync.local_swift import LocalError
from swift_s3_sync.providers.base import LocalObject, Segment

# Deeper nesting than Swift allows (max_manifest_depth 10) means a loop.
MAX_DEPTH = 10


def is_slo(headers):
    return headers.get('x-static-large-object', '').lower() in ('true', '1')


def is_dlo(headers):
    return 'x-object-manifest' in headers


def symlink_target(headers):
    return headers.get('x-object-sysmeta-symlink-target')


def _split_path(path, quoted=True):
    """(container, name) of '/container/name'.  Symlink targets and DLO
    manifests are stored URL-encoded; SLO segment names are not."""
    if quoted:
        path = unquote(path)
    container, _, name = path.lstrip('/').partition('/')
    return container, name


def _clean_content_type(headers):
    """SLO manifests store ``;swift_bytes=N`` in their content type."""
    ctype = headers.get('content-type')
    if ctype and 'swift_bytes=' in ctype:
        headers = dict(headers)
        headers['content-type'] = ';'.join(
            p for p in ctype.split(';')
            if not p.strip().startswith('swift_bytes='))
    return headers


class LocalObjects(object):
    """Reads the structure and the bytes of local objects."""

    def __init__(self, local):
        self.local = local

    @property
    def client(self):
        return self.local.client

    def describe(self, account, container, name, headers, timestamp,
                 data=None):
        """The LocalObject for ``container/name`` whose HEAD gave
        ``headers`` (or whose GET gave ``headers`` and the bytes ``data``);
        None when a symlink's target does not exist (yet)."""
        source = (account, container, name)  # where the bytes come from
        link_target = symlink_target(headers)
        if link_target:
            source = (headers.get('x-object-sysmeta-symlink-target-account',
                                  account),) + _split_path('/' + link_target)
            headers = self.local.head(*source)
            if headers is None:
                return None
        headers = _clean_content_type(headers)
        if is_slo(headers):
            manifest, segments = self.slo_segments(*source)
            return self._large(
                'slo', source[0], container, name, headers, timestamp,
                segments, headers['x-object-sysmeta-slo-etag'], manifest)
        if is_dlo(headers):
            segments = self.dlo_segments(*source,
                                         headers['x-object-manifest'])
            return self._large('dlo', source[0], container, name, headers,
                               timestamp, segments, self.dlo_etag(segments))
        etag = headers['etag']
        if data is not None and source == (account, container, name):
            def read():
                return io.BytesIO(data)
        else:
            def read():
                return self.local.read_to_spool(*source, etag)
        return LocalObject(
            container, name, headers, int(headers.get('content-length', 0)),
            etag, timestamp, read)

    def _large(self, kind, account, container, name, headers, timestamp,
               segments, etag, manifest=None):
        """``account`` is where the segments are read from."""
        return LocalObject(
            container, name, headers, sum(s.size for s in segments), etag,
            timestamp, lambda: self.open_concatenated(account, segments),
            large=kind, segments=segments,
            open_segment=lambda seg: self.open_segment(account, seg),
            manifest=manifest)

    # -- structure ----------------------------------------------------------
    def slo_segments(self, account, container, name):
        """(manifest JSON text, [Segment]) of an SLO, nested ones expanded."""
        text = self._read_all(account, container, name)
        return text, self._expand(account, json.loads(text), 0)

    def _expand(self, account, entries, depth):
        if depth > MAX_DEPTH:
            raise LocalError('SLO nested more than %d deep' % MAX_DEPTH,
                             transient=False)
        segments = []
        for entry in entries:
            if 'data' in entry:
                data = base64.b64decode(entry['data'])
                segments.append(Segment(None, None,
                                        hashlib.md5(data).hexdigest(),
                                        len(data), data=data))
                continue
            seg_container, seg_name = _split_path(entry['name'],
                                                  quoted=False)
            if entry.get('sub_slo'):
                inner = json.loads(self._read_all(account, seg_container,
                                                  seg_name))
                nested = self._expand(account, inner, depth + 1)
                segments.extend(self._narrow(nested, entry.get('range')))
                continue
            seg_range = None
            size = int(entry['bytes'])
            if entry.get('range'):
                first, last = (int(x) for x in entry['range'].split('-'))
                seg_range, size = (first, last), last - first + 1
            segments.append(Segment(seg_container, seg_name, entry['hash'],
                                    size, seg_range))
        return segments

    @staticmethod
    def _narrow(segments, range_text):
        """The pieces of ``segments`` covering a byte range of their
        concatenation (a ranged reference to a nested SLO)."""
        if not range_text:
            return segments
        first, last = (int(x) for x in range_text.split('-'))
        narrowed, offset = [], 0
        for seg in segments:
            start, end = offset, offset + seg.size - 1
            offset += seg.size
            if end < first or start > last:
                continue
            lo, hi = max(first, start) - start, min(last, end) - start
            base = seg.range[0] if seg.range else 0
            if seg.data is not None:
                data = seg.data[lo:hi + 1]
                narrowed.append(Segment(None, None,
                                        hashlib.md5(data).hexdigest(),
                                        len(data), data=data))
            else:
                narrowed.append(Segment(seg.container, seg.name, seg.etag,
                                        hi - lo + 1, (base + lo, base + hi)))
        return narrowed

    def dlo_segments(self, account, container, name, manifest):
        seg_container, prefix = _split_path(manifest)
        segments = []
        try:
            for item in self.client.iter_objects(account, seg_container,
                                                 prefix=prefix):
                if seg_container == container and item['name'] == name:
                    continue  # the manifest matching its own prefix
                segments.append(Segment(seg_container, item['name'],
                                        item['hash'], int(item['bytes'])))
        except UnexpectedResponse as err:
            raise LocalError('listing DLO segments %s: %s' % (manifest, err))
        return segments

    @staticmethod
    def dlo_etag(segments):
        return hashlib.md5(''.join(
            s.etag for s in segments).encode('ascii')).hexdigest()

    # -- bytes --------------------------------------------------------------
    def _read_all(self, account, container, name):
        try:
            _, _, body = self.client.get_object(account, container, name)
            return b''.join(body).decode('utf-8')
        except UnexpectedResponse as err:
            raise LocalError('reading manifest %s/%s: %s' % (
                container, name, err))

    def open_segment(self, account, segment):
        """A segment's bytes as they arrive from Swift (nothing is
        spooled); a whole segment is MD5-checked at its end."""
        if segment.data is not None:
            return io.BytesIO(segment.data)
        if segment.range is None:
            return self.local.open_stream(account, segment.container,
                                          segment.name, segment.etag)
        return self.local.open_stream(
            account, segment.container, segment.name, None,
            headers={'Range': 'bytes=%d-%d' % segment.range})

    def open_concatenated(self, account, segments):
        return ConcatenatedReader(
            [lambda s=s: self.open_segment(account, s) for s in segments])


class ConcatenatedReader(io.RawIOBase):
    """A readable, rewindable stream over pieces opened one at a time."""

    def __init__(self, openers):
        self.openers = openers
        self.seek(0)

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation('only rewinding is supported')
        self.index = 0
        self.current = None
        self.position = 0
        return 0

    def tell(self):
        return self.position

    def readinto(self, buf):
        while True:
            if self.current is None:
                if self.index >= len(self.openers):
                    return 0
                self.current = self.openers[self.index]()
                self.index += 1
            data = self.current.read(len(buf))
            if data:
                buf[:len(data)] = data
                self.position += len(data)
                return len(data)
            self.current.close()
            self.current = None
