"""Swift large objects to S3 as multipart uploads.

When every piece of a large object is a whole segment of 5 MiB to 5 GiB
(the last may be smaller) and there are at most 10,000 of them, each segment
becomes one part: the remote ETag is then predictable (md5 of the binary
part MD5s, ``-N``) and is checked after completion.  Otherwise (small,
ranged or inline pieces, too many segments, nested SLOs) the bytes are
streamed into parts of ``part_size_for(total)``, each part's MD5 computed
on the way and sent as Content-MD5.  Either way the Swift ETag of the large
object is recorded in the object's metadata, which is what later
comparisons use.

Segments that are already objects of the same bucket (proxymc's manifest
PUTs) become parts copied by the server (UploadPartCopy).

Up to PART_CONCURRENCY parts are sent at once (green threads, as
everywhere in the daemon).  With one part per segment each part's green
thread reads its own segment, so segments are read in parallel too; a
streamed upload reads one part ahead.  Parts are held in memory, never
spooled to disk: SLO segments above IN_MEMORY_PART are streamed in smaller
parts instead, and a process holds at most PARTS_IN_MEMORY parts at once
whatever the number of uploads.  A segment whose bytes do not match its
ETag (it changed while it was read) fails its part, and so the upload.
An upload that fails is aborted; one left behind by a killed daemon is found
(by key) and aborted before the next upload of the same object.
"""
import base64
import hashlib
import io

import eventlet
import eventlet.semaphore

from swift_s3_sync.providers.base import PART_CONCURRENCY, RemoteError

MiB = 1024 * 1024
MIN_PART = 5 * MiB
MAX_PART = 5 * 1024 * MiB
MAX_PARTS = 10000
STREAM_PART = 8 * MiB
IN_MEMORY_PART = 64 * MiB   # larger segments are cut into streamed parts
PARTS_IN_MEMORY = 6         # per process, all uploads together
READ_CHUNK = 1 * MiB

_memory = eventlet.semaphore.Semaphore(PARTS_IN_MEMORY)


def one_part_per_segment(segments):
    """True when the segments themselves are valid S3 parts."""
    if not segments or len(segments) > MAX_PARTS:
        return False
    for index, seg in enumerate(segments):
        if seg.range is not None or seg.data is not None:
            return False
        if seg.size > min(MAX_PART, IN_MEMORY_PART):
            return False
        if seg.size < MIN_PART and index != len(segments) - 1:
            return False
    return True


def part_size_for(total):
    """Parts big enough that 10,000 of them hold ``total`` bytes."""
    return max(STREAM_PART, -(-total // MAX_PARTS))


def multipart_etag(part_md5s):
    digest = hashlib.md5(b''.join(bytes.fromhex(m) for m in part_md5s))
    return '%s-%d' % (digest.hexdigest(), len(part_md5s))


def _content_md5(hex_md5):
    return base64.b64encode(bytes.fromhex(hex_md5)).decode('ascii')


def segment_parts(local):
    """(opener, size, md5) per segment: the part's own green thread opens
    and reads it (the reader checks its MD5)."""
    for seg in local.segments:
        yield (lambda seg=seg: local.open_segment(seg)), seg.size, seg.etag


class PartBuffer(io.RawIOBase):
    """A part's bytes held once, read back (for signing, checksums and the
    send) in small copies."""

    def __init__(self, data):
        super().__init__()
        self._view = memoryview(data)
        self._pos = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, buffer):
        taken = min(len(buffer), len(self._view) - self._pos)
        buffer[:taken] = self._view[self._pos:self._pos + taken]
        self._pos += taken
        return taken

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos,
                io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self):
        return self._pos

    def __len__(self):
        return len(self._view)

    def close(self):
        try:
            self._view.release()
        except BufferError:   # a slice still alive: freed with it
            pass
        super().close()


def _in_memory(body, size):
    """A part's bytes read whole into one buffer: SigV4 over plain HTTP
    hashes the payload before sending it, and a retried request sends it
    again.  Reading past ``size`` ends the body, which checks its MD5."""
    data = bytearray(size)
    try:
        got = body.readinto(data)
        extra = body.read(1)
    finally:
        close = getattr(body, 'close', None)
        if close:
            close()
    if got != size or extra:
        raise RemoteError('a part of %d bytes read as %s' % (
            size, got if not extra else 'more'), permanent=False)
    return PartBuffer(data)


class PartCopy(object):
    """A part the server copies from another object of the bucket
    (UploadPartCopy): no bytes pass through us."""

    def __init__(self, source):
        self.source = source   # {'Bucket': ..., 'Key': ...}

    def close(self):
        pass


def copied_parts(segments, sources):
    """(PartCopy, size, md5) per segment; ``sources[i]`` holds
    ``segments[i]`` whole."""
    for seg, source in zip(segments, sources):
        yield PartCopy(source), seg.size, seg.etag


def streamed_parts(local):
    """(body, size, md5) for fixed-size parts cut from the whole stream."""
    part_size = part_size_for(local.size)
    stream = local.open_body()
    try:
        while True:
            chunks, got, md5 = [], 0, hashlib.md5()
            while got < part_size:
                chunk = stream.read(min(READ_CHUNK, part_size - got))
                if not chunk:
                    break
                md5.update(chunk)
                chunks.append(chunk)
                got += len(chunk)
            if not got:
                return
            yield io.BytesIO(b''.join(chunks)), got, md5.hexdigest()
    finally:
        stream.close()


class MultipartUploader(object):
    """One multipart upload; ``call(op, **params)`` is the provider's boto
    call wrapper (it raises RemoteError)."""

    def __init__(self, call, bucket, key):
        self.call = call
        self.bucket = bucket
        self.key = key

    def abort_leftovers(self):
        """Abort uploads of this key that a killed daemon left behind."""
        resp = self.call('list_multipart_uploads', Bucket=self.bucket,
                         Prefix=self.key)
        for upload in resp.get('Uploads', []):
            if upload['Key'] == self.key:
                self.call('abort_multipart_upload', Bucket=self.bucket,
                          Key=self.key, UploadId=upload['UploadId'])

    def _send(self, upload_id, number, body, size, md5):
        """Upload (or have the server copy) one part; its ETag.  ``body``
        may be an opener: it is then called, and read, here."""
        part = dict(Bucket=self.bucket, Key=self.key, UploadId=upload_id,
                    PartNumber=number)
        if isinstance(body, PartCopy):
            return self.call('upload_part_copy', CopySource=body.source,
                             **part)['CopyPartResult']['ETag']
        with _memory:
            if callable(body):
                body = _in_memory(body(), size)
            try:
                return self.call('upload_part', Body=body,
                                 ContentLength=size,
                                 ContentMD5=_content_md5(md5),
                                 **part)['ETag']
            finally:
                body.close()

    def upload(self, create_params, parts, predictable,
               concurrency=PART_CONCURRENCY):
        """Run the upload, ``concurrency`` parts at a time; returns the
        remote ETag.  The next part is only prepared when a slot is free,
        so at most ``concurrency`` + 1 parts are held at once."""
        upload_id = self.call('create_multipart_upload',
                              **create_params)['UploadId']
        try:
            etags, md5s, failures = {}, [], []
            pool = eventlet.GreenPool(concurrency)

            def send(number, body, size, md5):
                try:
                    etags[number] = self._send(upload_id, number, body,
                                               size, md5)
                except BaseException as err:   # raised below, in order
                    failures.append(err)
            for number, (body, size, md5) in enumerate(parts, 1):
                md5s.append(md5)
                if failures:
                    getattr(body, 'close', lambda: None)()
                    break
                pool.spawn_n(send, number, body, size, md5)
            pool.waitall()
            if failures:
                raise failures[0]
            done = [{'PartNumber': n, 'ETag': etags[n]}
                    for n in range(1, len(md5s) + 1)]
            resp = self.call('complete_multipart_upload', Bucket=self.bucket,
                             Key=self.key, UploadId=upload_id,
                             MultipartUpload={'Parts': done})
        except BaseException:
            self.call('abort_multipart_upload', Bucket=self.bucket,
                      Key=self.key, UploadId=upload_id)
            raise
        etag = resp.get('ETag', '').strip('"')
        expected = multipart_etag(md5s)
        if predictable and etag and etag != expected:
            raise RemoteError('multipart ETag %s, expected %s' % (
                etag, expected))
        return etag or expected
