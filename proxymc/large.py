"""Static large objects through proxymc, stored the way the daemon stores
them.

``PUT ?multipart-manifest=put`` takes Swift's manifest format (a JSON list
of ``{"path", "etag", "size_bytes", "range"}`` or ``{"data"}`` entries).
Every segment must be an object of a mapped container of the same account;
it is HEADed, checked against the entry's etag and size_bytes, and the
large object's ETag is computed as Swift computes it.  The object is then
handed to the mapping's provider like one the daemon read from Swift: on
S3 it becomes one multipart object (one part per segment when the segments
are valid parts) with the manifest saved beside it.  When the remote holds
the segments already (their containers map to the same bucket, or the same
Swift cluster and account), no bytes pass through proxymc: S3 copies each
segment into its part server-side, Swift gets just the manifest, an SLO
over those very segments.  So
proxymc, cloud-shunt and the daemon read each other's large objects.

``GET ?multipart-manifest=get`` returns the saved manifest (``format=raw``:
in the PUT format), and ``DELETE ?multipart-manifest=delete`` deletes the
object and the segments its manifest lists.  Nested SLOs are refused.

A saved manifest is trusted only for an object whose HEAD marks it as a
large object (``X-Static-Large-Object``, which no client can set: the
metadata it comes from is reserved); for any other object both requests
act on the object alone.  The keys where S3 keeps manifests cannot be
written as objects either (see ``Provider.name_problem``), so no client can
plant a manifest for someone else's object.
"""
import base64
import hashlib
import io
import json

from swift.common.swob import Range
from swift.common.utils import config_true_value

from swift_s3_sync.listing import swift_time
from swift_s3_sync.local_objects import ConcatenatedReader
from swift_s3_sync.providers.base import LocalObject, Segment
from swift_s3_sync.remote_object import RemoteReader

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
# Each key a manifest entry may have, and the JSON types it may hold.
ALLOWED_KEYS = {'path': (str,), 'etag': (str, type(None)),
                'size_bytes': (int, type(None)), 'range': (str, type(None)),
                'data': (str,)}


class ManifestError(Exception):
    """A manifest proxymc cannot accept; ``problems`` lists
    ``[segment path, reason]`` pairs (empty for a malformed manifest)."""

    def __init__(self, reason, problems=()):
        super().__init__(reason)
        self.reason = reason
        self.problems = list(problems)


def parse_manifest(body):
    """The manifest's entries, shape-checked."""
    if len(body) > MAX_MANIFEST_SIZE:
        raise ManifestError('manifest is over %d bytes' % MAX_MANIFEST_SIZE)
    try:
        entries = json.loads(body)
    except ValueError:
        raise ManifestError('manifest must be valid JSON')
    if not isinstance(entries, list) or not entries:
        raise ManifestError('manifest must be a non-empty JSON list')
    if len(entries) > MAX_MANIFEST_SEGMENTS:
        raise ManifestError('manifest has more than %d segments' %
                            MAX_MANIFEST_SEGMENTS)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - set(ALLOWED_KEYS):
            raise ManifestError('segment %d: keys must be among %s' % (
                index, ', '.join(sorted(ALLOWED_KEYS))))
        wrong = [key for key, value in entry.items()
                 if not isinstance(value, ALLOWED_KEYS[key])
                 or isinstance(value, bool)]
        if wrong:
            raise ManifestError('segment %d: %s has the wrong type' % (
                index, wrong[0]))
        if ('data' in entry) == ('path' in entry):
            raise ManifestError('segment %d needs either path or data' %
                                index)
        if 'path' in entry and entry['path'].lstrip('/').count('/') < 1:
            raise ManifestError('segment %d: path must be '
                                '/container/object' % index)
    return entries


def _split(path):
    container, _, name = path.lstrip('/').partition('/')
    return container, name


def _byte_range(text, length):
    """(first, last) of a segment's range, None for the whole segment."""
    ranges = Range('bytes=' + text).ranges_for_length(length)
    if not ranges or len(ranges) != 1:
        raise ValueError('unsatisfiable range')
    start, stop = ranges[0]
    if (start, stop) == (0, length):
        return None
    return start, stop - 1


class SloBuilder(object):
    """Turns a manifest PUT into a large LocalObject.

    ``lookup(container)`` gives ``(mapping, provider)`` for a container of
    the request's account, or None when it is not mapped."""

    def __init__(self, lookup):
        self.lookup = lookup
        self.providers = []   # the provider of each segment (None: data)

    def _segment(self, index, entry, last):
        """(Segment, stored manifest entry); ValueError with the reason."""
        if 'data' in entry:
            try:
                data = base64.b64decode(entry['data'], validate=True)
            except (ValueError, TypeError):
                raise ValueError('data is not base64')
            segment = Segment(None, None, hashlib.md5(data).hexdigest(),
                              len(data), data=data)
            return segment, {'data': entry['data']}, None
        container, name = _split(entry['path'])
        found = self.lookup(container)
        if found is None:
            raise ValueError('container %s is not mapped' % container)
        remote = found[1].head(container, name)
        if remote is None:
            raise ValueError('404 Not Found')
        if remote.headers.get('x-static-large-object'):
            raise ValueError('nested large objects are not supported')
        if entry.get('size_bytes') is not None and \
                int(entry['size_bytes']) != remote.size:
            raise ValueError('Size Mismatch')
        if entry.get('etag') and \
                entry['etag'].strip('"').lower() != remote.etag.lower():
            raise ValueError('Etag Mismatch')
        stored = {'name': '/%s/%s' % (container, name), 'bytes': remote.size,
                  'hash': remote.etag,
                  'content_type': remote.headers.get(
                      'content-type', 'application/octet-stream'),
                  'last_modified': swift_time(remote.last_modified)}
        size, byte_range = remote.size, None
        if entry.get('range'):
            byte_range = _byte_range(entry['range'], remote.size)
            if byte_range:
                stored['range'] = '%d-%d' % byte_range
                size = byte_range[1] - byte_range[0] + 1
        if size < 1 and not last:
            raise ValueError('Too small; each segment must be at least '
                             '1 byte.')
        return Segment(container, name, remote.etag, size, byte_range), \
            stored, found[1]

    @staticmethod
    def etag(stored):
        """The large object's ETag, as Swift's SLO computes it."""
        digest = hashlib.md5()
        for entry in stored:
            if 'data' in entry:
                part = hashlib.md5(base64.b64decode(entry['data'])
                                   ).hexdigest()
            elif entry.get('range'):
                part = '%s:%s;' % (entry['hash'], entry['range'])
            else:
                part = entry['hash']
            digest.update(part.encode('ascii'))
        return digest.hexdigest()

    def held_by(self, provider):
        """The providers holding the segments (None for inline data) when
        every one belongs to ``provider``'s store, which can then build
        the object from them without our reading the bytes; else None."""
        store_key = getattr(provider, 'store_key', None)
        if store_key is None:
            return None
        for holder in self.providers:
            if holder is not None and getattr(
                    holder, 'store_key', lambda: None)() != store_key():
                return None
        return list(self.providers)

    def open_segment(self, segment):
        if segment.data is not None:
            return io.BytesIO(segment.data)
        provider = self.lookup(segment.container)[1]
        return RemoteReader(provider, segment.container, segment.name,
                            segment.range)

    def build(self, container, name, entries, headers, timestamp):
        segments, stored, problems = [], [], []
        for index, entry in enumerate(entries):
            try:
                segment, kept, provider = self._segment(
                    index, entry, index == len(entries) - 1)
            except ValueError as err:
                problems.append([entry.get('path', 'segment %d' % index),
                                 str(err)])
                continue
            segments.append(segment)
            stored.append(kept)
            self.providers.append(provider)
        if problems:
            raise ManifestError('bad segments', problems)

        def open_body():
            return ConcatenatedReader([
                (lambda seg=seg: self.open_segment(seg)) for seg in segments])
        return LocalObject(
            container, name, headers, sum(s.size for s in segments),
            self.etag(stored), timestamp, open_body, large='slo',
            segments=segments, open_segment=self.open_segment,
            manifest=json.dumps(stored))


def saved_manifest(provider, container, name):
    """The manifest saved for a large object (parsed entries), or None:
    when the provider keeps none (a Swift remote answers for itself), the
    object is missing or not marked as a large object, or what is saved is
    not a manifest."""
    get_manifest = getattr(provider, 'get_manifest', None)
    if get_manifest is None:
        return None
    remote = provider.head(container, name)
    if remote is None or not config_true_value(
            (remote.headers or {}).get('x-static-large-object')):
        return None
    text = get_manifest(container, name, remote)
    try:
        entries = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(entries, list) or \
            not all(isinstance(e, dict) for e in entries):
        return None
    return entries


def raw_manifest(stored):
    """A saved manifest in the format it was PUT in (``format=raw``)."""
    raw = []
    for entry in stored:
        if 'data' in entry:
            raw.append({'data': entry['data']})
            continue
        item = {'path': entry['name'], 'etag': entry['hash'],
                'size_bytes': entry['bytes']}
        if entry.get('range'):
            item['range'] = entry['range']
        raw.append(item)
    return raw


def delete_segments(lookup, stored):
    """Delete the segments a saved manifest lists: (deleted, not found,
    [[path, reason]] errors)."""
    deleted = not_found = 0
    errors = []
    for entry in stored:
        if 'name' not in entry:
            continue
        container, name = _split(entry['name'])
        found = lookup(container)
        if found is None:
            errors.append([entry['name'], 'container is not mapped'])
            continue
        if found[1].delete(container, name):
            deleted += 1
        else:
            not_found += 1
    return deleted, not_found, errors
