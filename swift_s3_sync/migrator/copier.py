"""Copying one source object into the local cluster.

One GET from the source, streamed into one local PUT (nothing spooled to
disk), that keeps:

* the bytes, checked by Swift: the PUT carries the source ETag, so an
  object server refuses bytes whose MD5 differs (422) and nothing is
  stored;
* the content headers (Content-Type, -Encoding, -Disposition, -Language,
  Cache-Control, Expires) and the user metadata.  S3 metadata that
  travelled RFC 2047-encoded (``=?UTF-8?B?...?=``, or Q-encoded by other
  tools) arrives decoded by the S3 provider, so the local object has the
  original unicode values;
* a Swift source's X-Delete-At: the copy expires when the source does
  (an object whose time passed is not copied: counted as ``expired``);
* the source's Last-Modified (from the listing, to the millisecond for S3)
  as the Swift X-Timestamp.  A local object written after that is newer
  and Swift itself refuses to overwrite it with the older copy (the
  object servers answer 409, the proxy 202: counted as ``local_newer``);
* the migrator's marker (``local.MIGRATED_HEADER``) with that timestamp.

The GET must return the ETag the listing showed: if the object changed in
between, the copy is not made (SourceChanged) and the next listing brings
the new version with its own timestamp.

Large objects (see ``large``): an S3 multipart object (ETag ``...-N``,
seen in the listing) becomes an SLO with one segment per part and the
source's ETag; an object above Swift's maximum object size an SLO of
``segment_size`` pieces; from a Swift source (read with
``multipart-manifest=get``) an SLO stays an SLO and a DLO a DLO.  A
Swift symlink (read with ``symlink=get``) stays a symlink (see
``symlinks``).
"""
import re
import time

from swift_s3_sync.migrator import large, s3_parts, symlinks
from swift_s3_sync.migrator.errors import (  # noqa: F401 (re-exported)
    CopyError, Expired, Gone, LocalNewer, SourceChanged, Unsupported)
from swift_s3_sync.migrator.local import copy_headers, expired, \
    refuse_unstorable
from swift_s3_sync.migrator.plan import source_timestamp
from swift_s3_sync.migrator.symlinks import SYMLINK_GET, SYMLINK_TARGET
from swift_s3_sync.providers.s3_metadata import etag_is_md5, s3_etag

_MD5_HEX = re.compile(r'^[0-9a-f]{32}$')


class CopyOptions(object):
    """How large objects are copied.  ``swift_source``: the source is a
    Swift cluster (its GETs ask for manifests); ``open_source(container)``:
    a provider reading another container of the same source (SLO and DLO
    segments); ``max_object_size`` None: swift.conf's;
    ``segments_headers``: headers (or a callable returning them) for a
    segments container the copy creates (the ACLs of its container);
    ``source_bucket``: a Swift source's container name, which symlinks
    into it are pointed at the local container instead of."""

    def __init__(self, swift_source=False, open_source=None,
                 max_object_size=None, segment_size=1024 ** 3,
                 part_workers=4, storage_policy=None, segments_headers=None,
                 source_bucket=None):
        self.swift_source = swift_source
        self.open_source = open_source
        self.max_object_size = max_object_size
        self.segment_size = segment_size
        self.part_workers = part_workers
        self.storage_policy = storage_policy
        self.segments_headers = segments_headers
        self.source_bucket = source_bucket

    def largest_object(self):
        if self.max_object_size is not None:
            return self.max_object_size
        return large.max_object_size()


def is_multipart_etag(etag):
    return bool(re.match(r'^[0-9a-fA-F]{32}-\d+$', etag or ''))


def put_headers(source_headers, timestamp):
    """The local PUT's headers for a source object's Swift-style headers
    (lower-case keys, metadata already decoded): ``local.copy_headers``
    and the ETag the bytes must have, when the source's is their MD5 (not
    for S3's SSE-KMS and SSE-C objects: Swift then keeps its own)."""
    headers = copy_headers(source_headers, timestamp)
    etag = (source_headers.get('etag') or '').strip('"').lower()
    if _MD5_HEX.match(etag) and etag_is_md5(source_headers):
        headers['etag'] = etag
    return headers


def _close(body):
    close = getattr(body, 'close', None)
    if close:
        close()


def _is_slo(headers):
    return headers.get('x-static-large-object', '').lower() in ('true', '1')


def _read_all(body, limit=16 * 1024 * 1024):
    data = b''
    for chunk in body:
        data += chunk
        if len(data) > limit:
            raise CopyError('SLO manifest above %d bytes' % limit)
    return data


def copy_object(provider, store, account, container, remote,
                source_container=None, options=None):
    """Copy the source object listed as ``remote`` (a RemoteObject) to
    ``account/container`` in ``store`` (a LocalStore); returns the number
    of bytes copied.  ``source_container`` is the container name the
    provider is asked for (the provider's own bucket for a bucket
    migration)."""
    options = options or CopyOptions()
    bucket = source_container or container
    timestamp = source_timestamp(remote)
    dest = large.Destination(store, account, container, remote.name,
                             timestamp, options.storage_policy,
                             options.segments_headers)
    if not options.swift_source and is_multipart_etag(remote.etag):
        return s3_parts.copy_mpu(provider, bucket, remote, dest,
                                 options.part_workers)
    # From a Swift source: a large object's own manifest, a symlink itself.
    extra = {'query_string': 'multipart-manifest=get&' + SYMLINK_GET} \
        if options.swift_source else {}
    status, headers, body = provider.get(bucket, remote.name, **extra)
    try:
        if status == 404:
            raise Gone('gone from the source since it was listed')
        if status // 100 != 2:
            raise CopyError('source answered %s to GET' % status)
        if expired(headers, time.time()):
            raise Expired('its X-Delete-At passed at the source')
        refuse_unstorable(headers)   # before the bytes are read
        if options.swift_source and _is_slo(headers):
            return large.copy_swift_slo(
                _opener(options), remote, headers, _read_all(body), dest,
                options.part_workers)
        if options.swift_source and SYMLINK_TARGET in headers:
            return symlinks.copy_symlink(
                provider, store, account, container, remote.name, headers,
                put_headers(headers, timestamp), options.source_bucket)
        if options.swift_source and 'x-object-manifest' in headers:
            _close(body)
            return large.copy_swift_dlo(_opener(options), remote, headers,
                                        dest, options.part_workers)
        # S3's own ETag, as it lists it (not one swift-s3-sync recorded).
        etag = (s3_etag(headers) or '').strip('"').lower()
        if etag != (remote.etag or '').lower():
            raise SourceChanged('changed at the source since it was listed '
                                '(ETag %s, listed %s)' % (etag, remote.etag))
        size = int(headers.get('content-length') or 0)
        if size > options.largest_object():
            _close(body)
            return large.copy_ranges(provider, bucket, remote, headers, dest,
                                     options.segment_size,
                                     options.part_workers)
        return _copy_plain(store, account, container, remote, headers, body,
                           timestamp)
    finally:
        _close(body)


def _opener(options):
    if options.open_source is None:
        raise Unsupported('segments in other containers of the source '
                          'cannot be read')
    return options.open_source


def _copy_plain(store, account, container, remote, headers, body,
                timestamp):
    wanted = put_headers(headers, timestamp)
    if 'content-length' in headers:
        wanted['content-length'] = headers['content-length']
    reader = large.ChunkReader(body)
    resp = store.put(account, container, remote.name, reader, wanted)
    if resp.status_int == 202:
        raise LocalNewer('a newer local object was kept')
    return reader.read_bytes
