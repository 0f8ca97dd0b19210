"""S3 multipart objects -> local SLOs with one segment per part.

The local SLO's ETag must be the source's ``<md5 of the parts' md5s>-N``,
so every segment must hold exactly one part: the migrator needs the part
sizes.  How it learns them, cheapest first:

1. A ``PartNumber=1`` HEAD.  Servers that know parts (AWS, Swift's s3api,
   moto) answer part 1's size and ``x-amz-mp-parts-count``.  Nearly every
   tool uploads parts of one size and a shorter last one, so that layout
   is assumed when part 1's size fits it; otherwise (or when the copy
   then shows the assumption wrong) every part is HEADed for its size.
2. Servers that report no part sizes (radosgw 16): the usual part sizes
   of S3 tools (``COMMON_PART_SIZES``, and the smallest whole MiB that
   gives N parts) that cut the object into exactly N parts.  One such
   size is assumed; among several, the object is read once and hashed as
   each would cut it, and the one giving the source's ETag is used.  When
   none does, the object cannot be copied exactly: a permanent failure,
   visible in ``--status``.

The bytes are then read with ``Range`` GETs carrying ``If-Match: <source
ETag>`` (every byte from the same version), ``part_workers`` runs of
consecutive parts at a time, each run cut into its segments as it streams
(see ``large.ranged_pieces``).  Before the manifest is written, the ETags
Swift computed for the segments must give the source's ETag by the S3
formula: an assumed layout that was wrong, or bytes that are not the
source's, leave no object and no segment.
"""
import binascii
import hashlib

from swift_s3_sync.migrator import errors
from swift_s3_sync.migrator.large import (
    _check_get, _close, _etag, _segment_names, ranged_pieces, run_all,
    upload_pieces, write_slo)

MiB = 1024 * 1024
# Part sizes S3 tools use (aws cli and boto3 8 MiB, rclone and Swift's
# s3api clients 5 MiB, s3cmd 15 MiB, mc 16 MiB and up, ...): tried when a
# source reports no part sizes.
COMMON_PART_SIZES = tuple(n * MiB for n in (
    5, 8, 10, 15, 16, 20, 25, 32, 50, 64, 100, 128, 256, 512, 1024, 5120))


class _NotTheParts(errors.CopyError):
    """The segments written do not make the source's ETag."""


def parts_count(etag):
    return int(etag.rsplit('-', 1)[1])


def s3_etag(entries):
    """S3's ETag of a multipart object with these parts."""
    digest = hashlib.md5(b''.join(binascii.unhexlify(e['hash'])
                                  for e in entries))
    return '%s-%d' % (digest.hexdigest(), len(entries))


def equal_parts(size, part, count):
    """``count`` parts of ``part`` bytes but a shorter (or equal) last one
    making ``size``; None when ``part`` cannot cut ``size`` so."""
    if part <= 0 or not (count - 1) * part < size <= count * part:
        return None
    return [part] * (count - 1) + [size - part * (count - 1)]


def candidate_part_sizes(size, count):
    """Part sizes that split ``size`` bytes into exactly ``count`` parts
    (all equal but a shorter last one): the usual ones first, then the
    smallest whole MiB that fits."""
    fitting = []
    smallest = -(-size // count)
    for part in COMMON_PART_SIZES + (-(-smallest // MiB) * MiB,):
        if equal_parts(size, part, count) and part not in fitting:
            fitting.append(part)
    return fitting


# -- the part sizes --------------------------------------------------------

class Layout(object):
    """The part sizes, and how they are known: ``exact``, or assumed from
    part 1 (``'part 1'``) or from the usual part sizes (``'usual'``)."""

    def __init__(self, sizes, known):
        self.sizes = sizes
        self.known = known


def part_layout(provider, bucket, remote, workers):
    """How the source object ``remote`` is cut into parts (see the module
    docstring): a Layout."""
    count = parts_count(remote.etag)
    head = provider.head(bucket, remote.name, part_number=1)
    if head is None:
        raise errors.Gone('gone from the source since it was listed')
    # Some servers answer a part HEAD with the part's own MD5 (moto); a
    # multipart ETag must be the listed one.  The Range GETs carry
    # If-Match anyway.
    if '-' in _etag(head.etag) and _etag(head.etag) != _etag(remote.etag):
        raise errors.SourceChanged('changed at the source since it was '
                                   'listed (ETag %s, listed %s)' % (
                                       head.etag, remote.etag))
    if (head.headers or {}).get('x-amz-mp-parts-count') == str(count):
        sizes = equal_parts(remote.size, head.size, count)
        if sizes:
            return Layout(sizes, 'part 1')
        return Layout(head_part_sizes(provider, bucket, remote, count,
                                      workers), 'exact')
    candidates = candidate_part_sizes(remote.size, count)
    if not candidates:
        raise errors.Unsupported(
            'multipart upload (%d parts): the source reports no part sizes '
            'and no usual part size splits %d bytes so' % (count,
                                                           remote.size))
    if len(candidates) == 1:
        return Layout(equal_parts(remote.size, candidates[0], count),
                      'usual')
    return Layout(infer_part_sizes(provider, bucket, remote, count,
                                   candidates), 'exact')


def head_part_sizes(provider, bucket, remote, count, workers):
    """Sizes of the parts from PartNumber HEADs."""
    def size(number):
        head = provider.head(bucket, remote.name, part_number=number)
        if head is None:
            raise errors.Gone('gone from the source since it was listed')
        if (head.headers or {}).get('x-amz-mp-parts-count') != str(count):
            raise errors.Unsupported(
                'multipart upload (%d parts): the source reports no size '
                'for part %d, the parts cannot be copied exactly' % (
                    count, number))
        return head.size
    results = run_all([(size, (n,)) for n in range(1, count + 1)], workers)
    for _, err in results:
        if err is not None:
            raise err
    return [result for result, _ in results]


def infer_part_sizes(provider, bucket, remote, count, candidates):
    """Read the object once, hashing it as each candidate part size would
    cut it, and keep the sizes whose ``md5 of part md5s-N`` is the
    source's ETag.  Unsupported when none is."""
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
    for split in splits:
        if split.etag() == _etag(remote.etag):
            return equal_parts(remote.size, split.part, count)
    raise _no_usual_size(count, candidates)


def _no_usual_size(count, candidates):
    return errors.Unsupported(
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


# -- the copy ----------------------------------------------------------------

def copy_mpu(provider, bucket, remote, dest, workers):
    """An S3 multipart object -> a local SLO with the source's ETag."""
    layout = part_layout(provider, bucket, remote, workers)
    try:
        entries, headers = _copy_parts(provider, bucket, remote, dest,
                                       layout.sizes, workers)
    except _NotTheParts:
        if layout.known == 'usual':
            raise _no_usual_size(parts_count(remote.etag),
                                 [layout.sizes[0]])
        if layout.known != 'part 1':
            raise
        # Parts of several sizes after all: ask for each one's.
        sizes = head_part_sizes(provider, bucket, remote, len(layout.sizes),
                                workers)
        if sizes == layout.sizes:
            raise
        entries, headers = _copy_parts(provider, bucket, remote, dest,
                                       sizes, workers)
    return write_slo(dest, entries, headers, remote.etag, from_s3=True)


def _copy_parts(provider, bucket, remote, dest, sizes, workers):
    pieces = ranged_pieces(provider, bucket, remote.name, remote.etag, sizes,
                           workers, 'parts')
    entries = upload_pieces(dest, pieces, workers)
    made = s3_etag(entries)
    if made != _etag(remote.etag):
        dest.store.delete_segments(dest.account, dest.segments,
                                   _segment_names(entries, dest))
        raise _NotTheParts('the parts read make ETag %s, the source has %s'
                           % (made, remote.etag))
    # The object's headers and metadata as a GET answers them (some
    # servers answer a part HEAD with the part's alone).
    return entries, pieces[0].headers
