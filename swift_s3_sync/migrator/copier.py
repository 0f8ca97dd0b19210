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
* the source's Last-Modified (from the listing, to the millisecond for S3)
  as the Swift X-Timestamp.  A local object written after that is newer
  and Swift itself refuses to overwrite it with the older copy (the
  object servers answer 409, the proxy 202: counted as ``local_newer``);
* the migrator's marker (``local.MIGRATED_HEADER``) with that timestamp.

The GET must return the ETag the listing showed: if the object changed in
between, the copy is not made (SourceChanged) and the next listing brings
the new version with its own timestamp.

Large objects are **not built yet**: an S3 multipart object (ETag ``...-N``)
is refused from its listing entry, a Swift SLO or DLO once its GET headers
show it, both as a permanent Unsupported failure that the status shows.
"""
import re

from swift_s3_sync.migrator.local import MIGRATED_HEADER
from swift_s3_sync.migrator.plan import source_timestamp
from swift_s3_sync.providers.base import CONTENT_HEADERS

_MD5_HEX = re.compile(r'^[0-9a-f]{32}$')


class CopyError(Exception):
    """The object was not copied; ``permanent`` when trying again cannot
    help until the source object changes."""
    permanent = False


class Unsupported(CopyError):
    permanent = True


class SourceChanged(CopyError):
    """The source object changed (or went away) after it was listed."""


class LocalNewer(CopyError):
    """A client wrote the object locally after it was listed: Swift kept
    the newer local object (the proxy answered 202)."""


def is_multipart_etag(etag):
    return bool(re.match(r'^[0-9a-fA-F]{32}-\d+$', etag or ''))


def put_headers(source_headers, timestamp):
    """The local PUT's headers for a source object's Swift-style headers
    (lower-case keys, metadata already decoded)."""
    headers = {}
    for name, value in source_headers.items():
        name = name.lower()
        if (name.startswith('x-object-meta-') or name in CONTENT_HEADERS) \
                and value:
            headers[name] = value
    etag = (source_headers.get('etag') or '').strip('"').lower()
    if _MD5_HEX.match(etag):
        headers['etag'] = etag
    headers['x-timestamp'] = timestamp.internal
    headers[MIGRATED_HEADER] = timestamp.internal
    return headers


class _Reader(object):
    """A file-like over a body iterator, for the InternalClient PUT.  It
    has no seek(): a PUT retried after it was read sends no bytes and
    fails, instead of storing a short object."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._pending = b''
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
        self.read_bytes += len(data)
        return data


def _close(body):
    close = getattr(body, 'close', None)
    if close:
        close()


def _refuse_large(headers):
    if headers.get('x-static-large-object', '').lower() in ('true', '1'):
        raise Unsupported('Swift SLO: large objects are not built yet')
    if 'x-object-manifest' in headers:
        raise Unsupported('Swift DLO: large objects are not built yet')


def copy_object(provider, store, account, container, remote,
                source_container=None):
    """Copy the source object listed as ``remote`` (a RemoteObject) to
    ``account/container`` in ``store`` (a LocalStore); returns the number
    of bytes copied.  ``source_container`` is the container name the
    provider is asked for (the provider's own bucket for a bucket
    migration)."""
    if is_multipart_etag(remote.etag):
        raise Unsupported('multipart upload (%s parts): large objects are '
                          'not built yet' % remote.etag.rsplit('-', 1)[1])
    status, headers, body = provider.get(source_container or container,
                                         remote.name)
    try:
        if status == 404:
            raise SourceChanged('gone from the source since it was listed')
        if status // 100 != 2:
            raise CopyError('source answered %s to GET' % status)
        _refuse_large(headers)
        etag = (headers.get('etag') or '').strip('"').lower()
        if etag != (remote.etag or '').lower():
            raise SourceChanged('changed at the source since it was listed '
                                '(ETag %s, listed %s)' % (etag, remote.etag))
        timestamp = source_timestamp(remote)
        wanted = put_headers(headers, timestamp)
        if 'content-length' in headers:
            wanted['content-length'] = headers['content-length']
        reader = _Reader(body)
        resp = store.put(account, container, remote.name, reader, wanted)
        if resp.status_int == 202:
            raise LocalNewer('a newer local object was kept')
        return reader.read_bytes
    finally:
        _close(body)
