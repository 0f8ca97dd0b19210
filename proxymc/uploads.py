"""Client bodies of proxymc PUTs, spooled before anything goes remote.

A body is read whole into a spool (memory up to 8 MiB, then a file in
``spool_dir``) while its MD5 is computed.  Only a complete body whose MD5
matches the client's ETag (when it sent one) is uploaded, with that MD5 as
Content-MD5, so the remote checks the bytes it gets; a client that
disconnects early leaves nothing behind, and a provider may read the spool
again when it retries.
"""
import hashlib
import tempfile

from swift.common.constraints import MAX_FILE_SIZE

CHUNK = 65536
IN_MEMORY = 8 * 1024 * 1024


class ShortBody(Exception):
    """The client sent fewer bytes than its Content-Length."""


class TooLarge(Exception):
    """A chunked body grew past the object size limit."""


class Spool(object):
    """A complete body: ``size``, ``md5`` (hex) and ``open()`` for a
    reader from the first byte (closing a reader keeps the spool)."""

    def __init__(self, spool_dir=None):
        self.file = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY,
                                                  dir=spool_dir)
        self.size = 0
        self.md5 = None

    def fill(self, read, length=None, limit=MAX_FILE_SIZE):
        digest = hashlib.md5()
        while length is None or self.size < length:
            want = CHUNK if length is None else min(CHUNK,
                                                    length - self.size)
            chunk = read(want)
            if not chunk:
                if length is not None:
                    raise ShortBody('got %d of %d bytes' % (self.size,
                                                            length))
                break
            self.size += len(chunk)
            if self.size > limit:
                raise TooLarge('body is over %d bytes' % limit)
            digest.update(chunk)
            self.file.write(chunk)
        self.md5 = digest.hexdigest()
        return self

    def open(self):
        self.file.seek(0)
        return _Reader(self.file)

    def close(self):
        self.file.close()


class _Reader(object):
    """The spool's file without close(); seek/tell let a retry start over."""

    def __init__(self, file):
        self._file = file

    def read(self, size=-1):
        return self._file.read(size)

    def seek(self, offset, whence=0):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()

    def close(self):
        pass


def spool_request(req, spool_dir=None):
    """The request's body as a filled Spool (Content-Length or chunked)."""
    spool = Spool(spool_dir)
    try:
        return spool.fill(req.environ['wsgi.input'].read, req.content_length)
    except BaseException:
        spool.close()
        raise


def spool_reader(reader, size, spool_dir=None):
    """A filled Spool of ``size`` bytes read from a file-like."""
    spool = Spool(spool_dir)
    try:
        spool.fill(reader.read, size)
    except BaseException:
        spool.close()
        raise
    finally:
        reader.close()
    return spool
