"""S3 (and S3 clones: Swift s3api, radosgw, moto, Google Cloud Storage).

Keys are ``<md5-prefix>/<account>/<container>/<object>`` or
``<custom_prefix>/<object>``; user metadata and content headers that are not
plain printable ASCII travel as RFC 2047 encoded words; the Swift timestamp
rides along in metadata ``swift-s3-sync-timestamp``.  The details are in
:mod:`s3_metadata`.

One request per call: head, put, update_metadata (a COPY onto itself),
delete of an object HEADed as plain (``remote=``) and get each make one S3
request (botocore retries once more on throttling, 5xx and connection
errors); a delete without its HEAD, or of an SLO, makes two (the saved
manifest goes too); list makes one per 1000 names; check and compare make
none.

Errors are RemoteError: ``permanent`` only when the object itself cannot be
stored (4xx such as InvalidArgument, EntityTooLarge); busy
servers, network trouble and mapping problems (no such bucket, bad
credentials) are not permanent.  ``error.code`` holds the S3 error code.
Secrets never appear in messages.

Names in the saved manifests' namespace (``.manifests/...`` with a custom
prefix) and names whose key would be over 1024 bytes cannot be objects:
head, get and delete answer "not there" without a request, check and the
writes refuse them (see ``name_problem``).  A saved manifest is only read
for an object marked as an SLO.

Requests carry Content-MD5 on PUT (the server verifies the bytes), the
payload is not SHA256-signed (the body is streamed once; Content-MD5 covers
it) and no CRC trailers are sent (clones reject aws-chunked bodies).
Expires and the conditional GET headers go out as raw headers: boto3 models
them as timestamps and would rewrite values it cannot parse.
"""
import base64
import logging
import re
import threading
from email.utils import parsedate_to_datetime

import botocore.exceptions

from swift_s3_sync.providers import s3_metadata as meta
from swift_s3_sync.providers import s3_multipart as multipart
from swift_s3_sync.providers.s3_client import RAW_HEADERS, make_client
from swift_s3_sync.providers.base import (
    CONTENT_HEADERS, DATA, EQUAL, METADATA, Provider, RemoteError,
    RemoteObject, refuse_reserved)

ARCHIVE_CLASSES = ('GLACIER', 'DEEP_ARCHIVE')
PASS_THROUGH = ('range', 'if-match', 'if-none-match', 'if-modified-since',
                'if-unmodified-since')
GET_STATUSES = (304, 404, 412, 416)
CHUNK = 65536
_MD5_HEX = re.compile(r'^[0-9a-fA-F]{32}$')

# Error codes that a later attempt can get past (busy or flaky server, clock
# skew, bytes read from Swift that did not match its ETag) and codes that
# mean the mapping (bucket, credentials) is wrong rather than the object:
# those are not permanent either, because the object will go through once
# the operator fixes the mapping.
TRANSIENT_CODES = frozenset((
    'RequestTimeout', 'RequestTimeTooSkewed', 'SlowDown', 'Throttling',
    'ThrottlingException', 'RequestThrottled', 'TooManyRequests',
    'RequestLimitExceeded', 'BandwidthLimitExceeded', 'InternalError',
    'ServiceUnavailable', 'OperationAborted', 'BadDigest', 'IncompleteBody'))
MAPPING_CODES = frozenset((
    'AccessDenied', 'AllAccessDisabled', 'AccountProblem',
    'AuthorizationHeaderMalformed', 'ExpiredToken', 'InvalidAccessKeyId',
    'InvalidToken', 'NoSuchBucket', 'PermanentRedirect',
    'SignatureDoesNotMatch', 'TokenRefreshRequired'))
def _status(response):
    return response.get('ResponseMetadata', {}).get('HTTPStatusCode')


def _http_headers(response):
    headers = dict(response.get('ResponseMetadata', {}).get(
        'HTTPHeaders', {}))
    # botocore drops an Expires it cannot parse but keeps the raw value.
    if 'expires' not in headers and response.get('ExpiresString'):
        headers['expires'] = response['ExpiresString']
    return headers


def _epoch(http_date):
    try:
        return parsedate_to_datetime(http_date).timestamp()
    except (TypeError, ValueError):
        return None


def _keep_parts_count(response, headers):
    """A part request's answer keeps ``x-amz-mp-parts-count`` (only the
    calls that ask for a part: other callers never see it)."""
    count = _http_headers(response).get('x-amz-mp-parts-count')
    if count:
        headers['x-amz-mp-parts-count'] = count


def _is_slo(remote):
    """Whether a HEADed RemoteObject is marked as an SLO (it has a saved
    manifest)."""
    return (remote.headers or {}).get('x-static-large-object') == 'True'


class _Body(object):
    """Iterator over a GET body; close() ends it.  A body read to its end
    gives its connection back to the pool for the next request; one left
    before its end closes it (unread bytes cannot be skipped cheaply)."""

    def __init__(self, stream):
        self._stream = stream

    def __iter__(self):
        return self

    def __next__(self):
        chunk = self._stream.read(CHUNK) if self._stream else b''
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self):
        if self._stream:
            stream, self._stream = self._stream, None
            raw = getattr(stream, '_raw_stream', None)
            if _read_to_the_end(stream) and \
                    hasattr(raw, 'release_conn'):
                raw.release_conn()
            else:
                stream.close()


def _read_to_the_end(stream):
    """Whether a botocore StreamingBody gave every byte its
    Content-Length announced."""
    length = getattr(stream, '_content_length', None)
    try:
        return length is not None and \
            getattr(stream, '_amount_read', -1) == int(length)
    except (TypeError, ValueError):
        return False


class S3Provider(Provider):
    page_size = 1000   # names per list request (S3's maximum)

    def __init__(self, mapping, logger=None, max_connections=10):
        super().__init__(mapping, logger or logging.getLogger(__name__))
        self.max_connections = max_connections
        self._client = None
        self._lock = threading.Lock()

    # -- client and errors ----------------------------------------------

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self):
        return make_client(self.mapping, self.max_connections)

    def close(self):
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _scrub(self, text):
        for secret in (self.mapping.aws_secret,
                       self.mapping.aws_session_token):
            if secret:
                text = text.replace(secret, '***')
        return text

    def _error(self, op, err):
        if isinstance(err, botocore.exceptions.ClientError):
            status = _status(err.response)
            error = err.response.get('Error', {})
            code = error.get('Code') or str(status)
            message = error.get('Message') or ''
            # A HEAD error has no body: its code is just the status.
            transient = (status is None or status >= 500
                         or status in (408, 429) or code in TRANSIENT_CODES
                         or code in MAPPING_CODES
                         or code in ('401', '403'))
            reason = '%s: %s (%s)' % (code, message, op) if message else \
                '%s (%s)' % (code, op)
        else:
            status, code = None, type(err).__name__
            transient = not isinstance(
                err, botocore.exceptions.ParamValidationError)
            reason = '%s: %s (%s)' % (code, err, op)
        error = RemoteError(self._scrub(reason), status,
                            permanent=not transient)
        error.code = code
        return error

    def _call(self, op, expect=(), **params):
        """Call boto3 ``op``; a ClientError whose status is in ``expect``
        comes back as its response dict, any other failure as RemoteError."""
        try:
            return getattr(self.client, op)(**params)
        except botocore.exceptions.ClientError as err:
            if _status(err.response) in expect:
                return err.response
            raise self._error(op, err) from err
        except botocore.exceptions.BotoCoreError as err:
            raise self._error(op, err) from err

    # -- layout -----------------------------------------------------------

    def key_prefix(self, container):
        return meta.key_prefix(self.mapping.account, container,
                               self.mapping.custom_prefix)

    def key_for(self, container, name):
        return self.key_prefix(container) + name

    # -- writing ------------------------------------------------------------

    def _recorded_etag(self, local):
        # SSE-KMS and multipart ETags are not the Swift ETag: keep the Swift
        # one to compare against.
        if self.mapping.sse() == 'aws:kms' or local.large:
            return local.etag
        return None

    def _metadata(self, local):
        return meta.s3_metadata(local.headers, self._timestamp(local),
                                self._recorded_etag(local), local.large)

    def _timestamp(self, local):
        return getattr(local.timestamp, 'internal', local.timestamp)

    def _write_params(self, local):
        """Parameters shared by PUT and COPY: metadata, content headers,
        encryption, storage class."""
        params = {'Bucket': self.mapping.aws_bucket,
                  'Key': self.key_for(local.container, local.name),
                  'Metadata': self._metadata(local)}
        for name, value in meta.content_headers(local.headers).items():
            if name == 'expires':
                params[RAW_HEADERS] = {'Expires': meta.encode_value(value)}
            else:
                params[meta.BOTO_CONTENT_PARAMS[name]] = \
                    meta.encode_value(value)
        sse = self.mapping.sse()
        if sse:
            params['ServerSideEncryption'] = sse
            if sse == 'aws:kms' and self.mapping.sse_kms_key_id:
                params['SSEKMSKeyId'] = self.mapping.sse_kms_key_id
        if self.mapping.storage_class:
            params['StorageClass'] = self.mapping.storage_class
        return params

    def _written(self, local, etag):
        wire = meta.wire_headers(local.headers, self._timestamp(local),
                                 self._recorded_etag(local), local.large)
        wire['etag'] = etag
        wire['content-length'] = str(local.size)
        if self.mapping.storage_class:
            wire['x-amz-storage-class'] = self.mapping.storage_class
        headers, timestamp, etag = meta.swift_headers(wire)
        return RemoteObject(local.name, headers['etag'], local.size,
                            timestamp=timestamp, headers=headers)

    def name_problem(self, container, name):
        """A name in the saved manifests' namespace (custom prefix only),
        or a key over S3's 1024 bytes."""
        if meta.in_manifest_space(name, self.mapping.custom_prefix):
            return ('object names starting with "%s" are reserved for '
                    'large-object manifests in this mapping' % meta.MANIFESTS)
        key = self.key_for(container, name)
        size = len(key.encode('utf-8', 'surrogateescape'))
        if size > meta.MAX_KEY_BYTES:
            return 'key is %d bytes after the prefix, S3 allows %d' % (
                size, meta.MAX_KEY_BYTES)
        return None

    def _refuse_name(self, container, name):
        problem = self.name_problem(container, name)
        if problem:
            raise RemoteError(problem, permanent=True)

    def check(self, local):
        self._refuse_name(local.container, local.name)
        limit = meta.MAX_OBJECT_BYTES if local.large else meta.MAX_PUT_BYTES
        if local.size > limit:
            raise RemoteError('object is %d bytes, S3 allows %d' % (
                local.size, limit), permanent=True)
        self.check_metadata(local)

    def check_metadata(self, local):
        refuse_reserved(local.headers)
        for name in meta.user_metadata(local.headers):
            if not meta.valid_meta_key(name):
                raise RemoteError('metadata key %r cannot be stored in S3'
                                  % name, permanent=True)
        size = meta.metadata_size(self._metadata(local))
        if size > meta.MAX_METADATA_BYTES:
            raise RemoteError('user metadata is %d bytes, S3 allows %d' % (
                size, meta.MAX_METADATA_BYTES), permanent=True)

    def put(self, local):
        """Upload ``local``: one PUT with Content-MD5 from the Swift ETag,
        or for a large object a multipart upload (see s3_multipart)."""
        self._refuse_name(local.container, local.name)
        if local.large:
            return self._put_large(local)
        body = local.open_body()
        try:
            params = self._write_params(local)
            params.update(Body=body, ContentLength=local.size)
            if _MD5_HEX.match(local.etag or ''):
                # The server checks the bytes it got against the Swift MD5.
                params['ContentMD5'] = base64.b64encode(
                    bytes.fromhex(local.etag)).decode('ascii')
            resp = self._call('put_object', **params)
        finally:
            close = getattr(body, 'close', None)
            if close:
                close()
        return self._written(local, resp.get('ETag', local.etag))

    def _put_large(self, local, parts=None):
        """A multipart upload of ``parts`` ((body, size, md5) in order;
        by default one per segment when the segments are valid parts,
        else cut from the whole stream), the manifest saved beside it."""
        params = self._write_params(local)
        if self.mapping.is_google() or local.size < multipart.MIN_PART:
            # Google takes a large object as one object (up to 5 TiB).
            body = local.open_body()
            try:
                resp = self._call('put_object', Body=body,
                                  ContentLength=local.size, **params)
            finally:
                body.close()
            etag = resp.get('ETag', '').strip('"')
        else:
            uploader = multipart.MultipartUploader(
                self._call, params['Bucket'], params['Key'])
            uploader.abort_leftovers()
            predictable = parts is not None or \
                multipart.one_part_per_segment(local.segments)
            if parts is None:
                parts = (multipart.segment_parts(local) if predictable
                         else multipart.streamed_parts(local))
            params.pop(RAW_HEADERS, None)  # Expires goes on the PUT only
            etag = uploader.upload(params, parts, predictable)
        if local.manifest is not None:
            self._call('put_object', Bucket=self.mapping.aws_bucket,
                       Key=self.manifest_key(local.container, local.name),
                       Body=local.manifest.encode('utf-8'),
                       ContentType='application/json')
        return self._written(local, etag)

    def store_key(self):
        """What names the remote store: providers with equal keys can
        refer to each other's objects."""
        m = self.mapping
        return ('s3', m.aws_endpoint, m.aws_identity, m.aws_bucket)

    def put_manifest(self, local, holders):
        """A large object whose segments this bucket holds already
        (``holders[i]``, a provider of this store, has ``local.segments
        [i]``): each segment becomes a part the server copies, so no bytes
        pass through us.  Segments that are not valid parts are read and
        written again by put()."""
        self._refuse_name(local.container, local.name)
        if self.mapping.is_google() or \
                not multipart.one_part_per_segment(local.segments):
            return self.put(local)
        sources = [{'Bucket': self.mapping.aws_bucket,
                    'Key': holder.key_for(seg.container, seg.name)}
                   for seg, holder in zip(local.segments, holders)]
        return self._put_large(
            local, multipart.copied_parts(local.segments, sources))

    def manifest_key(self, container, name):
        return meta.manifest_key(self.mapping.account, container, name,
                                 self.mapping.custom_prefix)

    def get_manifest(self, container, name, remote=None):
        """The SLO manifest saved beside an object (JSON text), or None.
        Only an object marked as an SLO has one: the object is HEADed
        first unless ``remote`` (its HEAD) is given, and anything found
        beside a plain object is ignored (a stale or planted key)."""
        if remote is None:
            remote = self.head(container, name)
        if remote is None or not _is_slo(remote):
            return None
        resp = self._call('get_object', expect=(404,),
                          Bucket=self.mapping.aws_bucket,
                          Key=self.manifest_key(container, name))
        if _status(resp) == 404:
            return None
        return resp['Body'].read().decode('utf-8')

    def update_metadata(self, local, remote):
        """COPY onto itself with new metadata (the bytes stay on the
        server); archived objects are uploaded again instead."""
        self._refuse_name(local.container, local.name)
        storage = (remote.headers or {}).get('x-amz-storage-class')
        if storage in ARCHIVE_CLASSES:
            return self.put(local)   # archived objects cannot be copied
        params = self._write_params(local)
        params.update(CopySource={'Bucket': params['Bucket'],
                                  'Key': params['Key']},
                      MetadataDirective='REPLACE')
        self._call('copy_object', **params)
        return self._written(local, remote.etag)

    def delete(self, container, name, remote=None):
        """True when deleted.  S3 answers 204 whether or not the key
        existed, so True does not prove it did; False only when the server
        says 404 (or the name cannot exist: no request then).

        The saved manifest of an SLO goes with it.  ``remote`` is the
        object's HEAD when the caller made one: a plain object then costs
        one request.  Without it the object's kind is not known and a
        second DELETE removes a manifest that may be there."""
        if self.name_problem(container, name):
            return False
        resp = self._call('delete_object', expect=(404,),
                          Bucket=self.mapping.aws_bucket,
                          Key=self.key_for(container, name))
        if remote is None or remote.headers is None or _is_slo(remote):
            self.delete_manifest(container, name)
        return _status(resp) != 404

    def delete_manifest(self, container, name):
        """Delete the manifest saved beside ``name`` (one request, whether
        or not there is one): for an SLO replaced by an object that has
        none."""
        self._call('delete_object', expect=(404,),
                   Bucket=self.mapping.aws_bucket,
                   Key=self.manifest_key(container, name))

    # -- reading ------------------------------------------------------------

    def compare(self, local, remote):
        """DATA when the bytes differ (ETag, compared case-insensitively,
        or size) or the remote is missing; METADATA when user metadata or a
        content header differs; EQUAL otherwise.  Values are compared
        decoded, which is the same as comparing what would be sent with
        what HEAD returned (decoding exactly reverses encoding) and also
        accepts the Q-encoded values the original wrote.  Empty values count
        as absent.  A metadata change on an archived (GLACIER/DEEP_ARCHIVE)
        object is DATA: it can only be rewritten whole."""
        if remote is None:
            return DATA
        if remote.headers is None:
            raise ValueError('compare() needs a RemoteObject from head()')
        if ((local.etag or '').lower() != (remote.etag or '').lower()
                or int(local.size) != int(remote.size)):
            return DATA

        def non_empty(items):
            return {k: v for k, v in items.items() if v}
        same = (non_empty(meta.user_metadata(local.headers)) ==
                non_empty(meta.user_metadata(remote.headers)))
        ours = meta.content_headers(local.headers)
        for name in CONTENT_HEADERS:
            if name == 'content-type' and name not in ours:
                continue   # S3 always has one; Swift always sends one
            if ours.get(name) != (remote.headers.get(name) or None):
                same = False
        if same:
            return EQUAL
        if remote.headers.get('x-amz-storage-class') in ARCHIVE_CLASSES:
            return DATA
        return METADATA

    def head(self, container, name, part_number=None):
        """RemoteObject with Swift-style headers (plus
        ``x-amz-storage-class`` when S3 reports one), or None on 404 (and
        without a request for a name that cannot exist).  With
        ``part_number`` the HEAD asks for that part of a multipart object:
        servers that know parts answer its size and
        ``x-amz-mp-parts-count``."""
        if self.name_problem(container, name):
            return None
        params = {'Bucket': self.mapping.aws_bucket,
                  'Key': self.key_for(container, name)}
        if part_number is not None:
            params['PartNumber'] = part_number
        resp = self._call('head_object', expect=(404,), **params)
        if _status(resp) == 404:
            return None
        headers, timestamp, _ = meta.swift_headers(_http_headers(resp))
        if part_number is not None:
            _keep_parts_count(resp, headers)
        return RemoteObject(
            name, headers.get('etag'), int(headers.get('content-length', 0)),
            last_modified=_epoch(headers.get('last-modified')),
            timestamp=timestamp, headers=headers)

    def get(self, container, name, headers=None, part_number=None):
        """(status, Swift-style headers, body iterator).  Range and the
        If-* headers are passed through as given; 304, 404, 412 and 416
        come back as statuses with an empty body.  Close the body iterator
        (or read it to the end) to release the connection.
        ``part_number`` asks for one part of a multipart object (206 with
        Content-Range from servers that know parts; some answer 200 and
        the whole object)."""
        if self.name_problem(container, name):
            return 404, {}, iter(())
        raw = {k: v for k, v in (headers or {}).items()
               if k.lower() in PASS_THROUGH}
        params = {'Bucket': self.mapping.aws_bucket,
                  'Key': self.key_for(container, name)}
        if part_number is not None:
            params['PartNumber'] = part_number
        if raw:
            params[RAW_HEADERS] = raw
        resp = self._call('get_object', expect=GET_STATUSES, **params)
        swift, _, _ = meta.swift_headers(_http_headers(resp))
        if part_number is not None:
            _keep_parts_count(resp, swift)
        return _status(resp), swift, _Body(resp.get('Body'))

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        """A generator: requests are made (and RemoteErrors raised) while
        it is consumed, one per ``page_size`` names."""
        key_prefix = self.key_prefix(container)
        if limit <= 0:
            return
        pages = (self._pages_v1 if self.mapping.is_google() else
                 self._pages_v2)(key_prefix + prefix,
                                 marker and key_prefix + marker,
                                 min(limit, self.page_size))
        count = 0
        for page in pages:
            for item in page:
                if not item['Key'].startswith(key_prefix):
                    continue
                name = item['Key'][len(key_prefix):]
                if meta.in_manifest_space(name, self.mapping.custom_prefix):
                    continue  # saved SLO manifests share a custom prefix
                if end_marker and name >= end_marker:
                    return
                yield RemoteObject(
                    name, item.get('ETag', '').strip('"'), item['Size'],
                    last_modified=item['LastModified'].timestamp())
                count += 1
                if count >= limit:
                    return

    def _pages_v2(self, prefix, start_after, page_size):
        params = {'Bucket': self.mapping.aws_bucket, 'Prefix': prefix,
                  'MaxKeys': page_size}
        if start_after:
            params['StartAfter'] = start_after
        while True:
            resp = self._call('list_objects_v2', **params)
            yield resp.get('Contents', [])
            if not resp.get('IsTruncated'):
                return
            params.pop('StartAfter', None)
            params['ContinuationToken'] = resp['NextContinuationToken']

    def _pages_v1(self, prefix, marker, page_size):
        params = {'Bucket': self.mapping.aws_bucket, 'Prefix': prefix,
                  'MaxKeys': page_size}
        while True:
            if marker:
                params['Marker'] = marker
            resp = self._call('list_objects', **params)
            contents = resp.get('Contents', [])
            yield contents
            if not resp.get('IsTruncated') or not contents:
                return
            marker = contents[-1]['Key']
