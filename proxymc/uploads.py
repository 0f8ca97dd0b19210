"""Client bodies of proxymc PUTs, spooled before anything goes remote.

A body is read whole into a spool (memory up to 8 MiB, then an unlinked
file in ``spool_dir``) while its MD5 is computed.  Only a complete body
whose MD5 matches the client's ETag (when it sent one) is uploaded, with
that MD5 as Content-MD5, so the remote checks the bytes it gets; a client
that disconnects early leaves nothing behind, and a provider may read the
spool again when it retries.  Copies (``X-Copy-From``, ``COPY``) spool the
source the same way.

Limits, per worker::

    # Where bodies over 8 MiB are spooled: a disk, not a tmpfs (a spool
    # there takes memory).  Created at start-up when missing (owned by
    # "user"); proxymc does not start when it cannot create or write it.
    spool_dir = /var/cache/proxymc
    # Bodies being spooled at once (each holds up to 8 MiB of memory until
    # it goes to disk); one more gets 503 with Retry-After.  32 lets a
    # "swift upload" with its default 10 + 10 threads through.
    max_spools = 32
    # Free space to leave in spool_dir: bytes, or a percentage of the
    # filesystem as in Swift's fallocate_reserve.
    spool_reserve = 1%

A body whose Content-Length would not fit in the free space above the
reserve gets 507 before any byte is read; a spool on disk is checked
again every 8 MiB as it grows (chunked bodies have no length to check up
front) and gets 507 as soon as it would reach the reserve, as does a disk
that fills anyway.  A body over Swift's object size limit gets 413, a
client that disconnects mid-body 499, one that sends nothing for
``client_timeout`` seconds (Swift's server option, default 60) 408.
"""
import contextlib
import errno
import hashlib
import io
import os
import pwd
import tempfile

from swift.common.constraints import MAX_FILE_SIZE
from swift.common.swob import (
    HTTPClientDisconnect, HTTPInsufficientStorage, HTTPRequestEntityTooLarge,
    HTTPRequestTimeout, HTTPServiceUnavailable)
from swift.common.utils import config_fallocate_value, \
    config_positive_int_value

CHUNK = 65536
IN_MEMORY = 8 * 1024 * 1024
CHECK_EVERY = 8 * 1024 * 1024
DEFAULT_SPOOL_DIR = '/var/cache/proxymc'
DEFAULT_MAX_SPOOLS = 32
DEFAULT_RESERVE = '1%'
BUSY_RETRY_AFTER = 2
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class Refused(Exception):
    """A body that is not spooled; ``response(req)`` is what the client
    gets (one line of text, never a remote's words)."""
    response_class = None
    text = ''
    headers = None

    def response(self, req):
        return self.response_class(
            request=req, content_type='text/plain', headers=self.headers,
            body=('%s\n' % self.text).encode('ascii'))


class NoSpace(Refused):
    response_class = HTTPInsufficientStorage
    text = 'Not enough space to take the object'


class Busy(Refused):
    response_class = HTTPServiceUnavailable
    text = 'Too many uploads at once; try again'
    headers = {'Retry-After': str(BUSY_RETRY_AFTER)}


class TooLarge(Refused):
    """A chunked body grew past the object size limit."""
    response_class = HTTPRequestEntityTooLarge
    text = 'Object is too large'


class ClientGone(Refused):
    response_class = HTTPClientDisconnect
    text = 'Client disconnected before the whole body was sent'


class ClientTimeout(Refused):
    response_class = HTTPRequestTimeout
    text = 'Client sent no data in time'


class ShortBody(Exception):
    """The source sent fewer bytes than it said it would."""


def _filesystem_type(path):
    """The type of the filesystem holding ``path`` (from /proc/mounts),
    or None when it cannot be told."""
    path, best, kind = os.path.realpath(path), '', None
    try:
        with open('/proc/mounts') as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1].replace('\\040', ' ')
                inside = path == mount or path.startswith(
                    mount.rstrip('/') + '/')
                if inside and len(mount) >= len(best):
                    best, kind = mount, fields[2]
    except OSError:
        return None
    return kind


def _writable_by(path, user):
    """Whether ``user`` may create files in ``path`` by its mode bits
    (root asks for the user it will become)."""
    entry = pwd.getpwnam(user)
    st = os.stat(path)
    if entry.pw_uid == 0:
        return True
    if st.st_uid == entry.pw_uid:
        return st.st_mode & 0o300 == 0o300
    if st.st_gid == entry.pw_gid:
        return st.st_mode & 0o030 == 0o030
    return st.st_mode & 0o003 == 0o003


def prepare_spool_dir(path, user=None):
    """Create ``path`` when missing (given to ``user`` when we are root,
    as before Swift's server drops privileges) and check it is a
    directory ``user`` (or we) may write; ValueError naming spool_dir
    otherwise."""
    as_root = os.geteuid() == 0 and user
    try:
        if not os.path.isdir(path):
            os.makedirs(path, 0o700)
            if as_root:
                entry = pwd.getpwnam(user)
                os.chown(path, entry.pw_uid, entry.pw_gid)
        writable = _writable_by(path, user) if as_root else os.access(
            path, os.W_OK | os.X_OK)
    except (OSError, KeyError) as err:
        raise ValueError('spool_dir %s cannot be created: %s' % (
            path, getattr(err, 'strerror', None) or err))
    if not writable:
        raise ValueError('spool_dir %s is not writable by %s' % (
            path, user or 'this user'))


@contextlib.contextmanager
def _disk_full_is_no_space():
    try:
        yield
    except OSError as err:
        if err.errno in NO_SPACE:
            raise NoSpace()
        raise


class Spools(object):
    """This worker's spools: how many at once, and where (see the module's
    docs).  ``statvfs`` is for tests."""

    def __init__(self, spool_dir=DEFAULT_SPOOL_DIR,
                 max_spools=DEFAULT_MAX_SPOOLS, reserve=DEFAULT_RESERVE,
                 statvfs=os.statvfs):
        self.spool_dir = spool_dir
        self.max_spools = max_spools
        self.reserve, self.reserve_is_percent = config_fallocate_value(
            str(reserve))
        self.statvfs = statvfs
        self.active = 0

    @classmethod
    def from_conf(cls, conf, logger=None):
        """Spools for the app's settings, with spool_dir created; ValueError
        naming the option for a bad one."""
        spool_dir = conf.get('spool_dir') or DEFAULT_SPOOL_DIR
        try:
            max_spools = config_positive_int_value(
                conf.get('max_spools', DEFAULT_MAX_SPOOLS))
        except ValueError:
            raise ValueError('max_spools must be a whole number over 0')
        reserve = conf.get('spool_reserve', DEFAULT_RESERVE)
        try:
            spools = cls(spool_dir, max_spools, reserve)
        except ValueError:
            raise ValueError('spool_reserve must be bytes or a percentage, '
                             'not %r' % reserve)
        prepare_spool_dir(spool_dir, conf.get('user'))
        if logger and _filesystem_type(spool_dir) == 'tmpfs':
            logger.warning('spool_dir %s is a tmpfs: spooled bodies take '
                           'memory; use a directory on disk', spool_dir)
        return spools

    def room(self):
        """Bytes that may still be written to spool_dir."""
        st = self.statvfs(self.spool_dir)
        reserve = self.reserve
        if self.reserve_is_percent:
            reserve = st.f_frsize * st.f_blocks * self.reserve / 100.0
        return st.f_frsize * st.f_bavail - reserve

    def check_room(self, needed):
        if needed > self.room():
            raise NoSpace()

    def spool(self, read, length=None, limit=None):
        """A filled Spool of what ``read`` gives (``length`` bytes, or up
        to its end); Refused when it may not be spooled, ShortBody when the
        source ends early.  Only the caller knows who ``read`` talks to, so
        errors of ``read`` itself pass through."""
        if self.active >= self.max_spools:
            raise Busy()
        if length is not None and length > IN_MEMORY:
            self.check_room(length)
        self.active += 1
        spool = Spool(self)
        try:
            return spool.fill(read, length, limit)
        except BaseException:
            spool.close()
            raise

    def spool_request(self, req):
        """The request's body (Content-Length or chunked) as a Spool; a
        client that stalls or goes away is ClientTimeout or ClientGone."""
        source = req.environ['wsgi.input']

        def read(size):
            try:
                return source.read(size)
            except TimeoutError:
                raise ClientTimeout()
            except (OSError, ValueError):   # reset, bad chunked encoding
                raise ClientGone()
        try:
            return self.spool(read, req.content_length)
        except ShortBody:
            raise ClientGone()

    def spool_reader(self, reader, size):
        """A Spool of ``size`` bytes read from a file-like (closed after)."""
        try:
            return self.spool(reader.read, size)
        finally:
            reader.close()


class Spool(object):
    """A complete body: ``size``, ``md5`` (hex) and ``open()`` for a
    reader from the first byte (closing a reader keeps the spool).  Held
    in memory up to IN_MEMORY bytes, then in an unlinked file
    (``on_disk``)."""

    def __init__(self, spools):
        self.spools = spools
        self.file = io.BytesIO()
        self.on_disk = False
        self.size = 0
        self.md5 = None
        self._checked_at = 0

    def fill(self, read, length=None, limit=None):
        limit = MAX_FILE_SIZE if limit is None else limit
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
            if self.size + len(chunk) > limit:
                raise TooLarge()
            digest.update(chunk)
            with _disk_full_is_no_space():
                self._write(chunk, length)
        with _disk_full_is_no_space():
            self.file.flush()
        self.md5 = digest.hexdigest()
        return self

    def _write(self, chunk, length):
        self.size += len(chunk)
        if not self.on_disk and self.size > IN_MEMORY:
            self._roll_over()
        if self.on_disk and self.size - self._checked_at >= CHECK_EVERY:
            # Others write there too: check the space left as we go.
            self._checked_at = self.size
            self.spools.check_room(
                CHECK_EVERY if length is None else length - self.size)
        self.file.write(chunk)

    def _roll_over(self):
        on_disk = tempfile.TemporaryFile(dir=self.spools.spool_dir)
        on_disk.write(self.file.getvalue())
        self.file, self.on_disk = on_disk, True

    def open(self):
        self.file.seek(0)
        return _Reader(self.file)

    def close(self):
        if self.spools is not None:
            self.spools.active -= 1
            self.spools = None
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
