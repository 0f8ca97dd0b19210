"""proxymc's spools and error answers: what is refused before a body is
read, what a local failure answers (never "Remote store error"), what a
remote failure answers, and copies between accounts."""
import errno
import http.client
import os
import pwd
import shutil
import socket
import tempfile
import types
import unittest
from io import BytesIO
from unittest import mock

from proxymc import uploads
from swift_s3_sync.providers.base import RemoteError
from test.unit.test_proxymc import CONF, SECRET, ProxyTestCase, md5

MiB = 1024 * 1024


def disk(free, size=1000 * MiB, block=4096):
    """A statvfs with ``free`` bytes free of ``size``."""
    return lambda path: types.SimpleNamespace(
        f_frsize=block, f_bavail=free // block, f_blocks=size // block)


class Source(object):
    """A client body: ``data``, then ``then`` (an exception) instead of the
    rest; counts what was read."""

    def __init__(self, data, then=None):
        self.data = BytesIO(data)
        self.then = then
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = self.data.read(size)
        if not chunk and self.then is not None:
            raise self.then
        self.read_bytes += len(chunk)
        return chunk


class TestSpool(unittest.TestCase):

    def setUp(self):
        self.spools = uploads.Spools(CONF['spool_dir'])
        os.makedirs(CONF['spool_dir'], exist_ok=True)

    def spool(self, data, length, limit=None):
        spool = self.spools.spool(BytesIO(data).read, length, limit)
        self.addCleanup(spool.close)
        return spool

    def test_exact_short_and_too_large(self):
        source = BytesIO(b'x' * 100 + b'rest')
        spool = self.spools.spool(source.read, 100)
        self.assertEqual((100, md5(b'x' * 100)), (spool.size, spool.md5))
        self.assertEqual(b'rest', source.read())
        spool.close()
        with self.assertRaises(uploads.ShortBody):
            self.spool(b'abc', 10)
        with self.assertRaises(uploads.TooLarge):
            self.spool(b'x' * 20, None, limit=10)
        self.assertEqual(10, self.spool(b'x' * 10, None, limit=10).size)
        self.assertEqual(1, self.spools.active)    # the last one, open
        spool.close()                              # twice is harmless
        self.assertEqual(1, self.spools.active)

    def test_open_twice(self):
        data = os.urandom(3 * uploads.CHUNK + 7)
        with mock.patch.object(uploads, 'IN_MEMORY', 1024):
            spool = self.spool(data, len(data))
        # It rolled over to a real (unlinked) file holding the body.
        self.assertTrue(spool.on_disk)
        self.assertEqual(len(data), os.fstat(spool.file.fileno()).st_size)
        first = spool.open()
        self.assertEqual(data[:10], first.read(10))
        first.close()
        self.assertEqual(data, spool.open().read())
        self.assertEqual(data, spool.open().read())
        self.assertEqual(md5(data), spool.md5)

    def test_small_bodies_stay_in_memory(self):
        self.assertFalse(self.spool(b'x' * 5000, 5000).on_disk)

    def test_reserve_in_bytes_or_percent(self):
        spools = uploads.Spools(CONF['spool_dir'], reserve='10%',
                                statvfs=disk(300 * MiB))
        self.assertEqual(200 * MiB, spools.room())
        spools = uploads.Spools(CONF['spool_dir'], reserve=str(50 * MiB),
                                statvfs=disk(300 * MiB))
        self.assertEqual(250 * MiB, spools.room())


class TestSpoolDir(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='proxymc-spool-dir-')
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_default_is_on_disk_and_created(self):
        with mock.patch.object(uploads, 'prepare_spool_dir') as prepare:
            spools = uploads.Spools.from_conf({'user': 'swift'})
        self.assertEqual('/var/cache/proxymc', spools.spool_dir)
        prepare.assert_called_once_with('/var/cache/proxymc', 'swift')
        self.assertEqual((32, 1.0, True), (spools.max_spools, spools.reserve,
                                          spools.reserve_is_percent))

    def test_created_when_missing_refused_when_it_cannot_be(self):
        path = os.path.join(self.tmp, 'a', 'spool')
        uploads.Spools.from_conf({'spool_dir': path})
        self.assertTrue(os.path.isdir(path))
        blocker = os.path.join(self.tmp, 'file')
        open(blocker, 'w').close()
        with self.assertRaises(ValueError) as caught:
            uploads.Spools.from_conf({'spool_dir': blocker + '/spool'})
        self.assertIn('spool_dir %s/spool cannot be created' % blocker,
                      str(caught.exception))

    @unittest.skipUnless(os.geteuid() == 0, 'needs root')
    def test_root_checks_for_the_user_it_becomes(self):
        nobody = pwd.getpwnam('nobody')
        made = os.path.join(self.tmp, 'made')
        uploads.prepare_spool_dir(made, 'nobody')
        self.assertEqual((nobody.pw_uid, nobody.pw_gid),
                         (os.stat(made).st_uid, os.stat(made).st_gid))
        os.chmod(self.tmp, 0o755)             # root's, not nobody's
        with self.assertRaises(ValueError) as caught:
            uploads.prepare_spool_dir(self.tmp, 'nobody')
        self.assertEqual('spool_dir %s is not writable by nobody' % self.tmp,
                         str(caught.exception))

    def test_bad_settings_name_the_option(self):
        for option, value in (('max_spools', '0'), ('max_spools', 'x'),
                              ('spool_reserve', 'lots')):
            with self.assertRaises(ValueError) as caught:
                uploads.Spools.from_conf({'spool_dir': self.tmp,
                                          option: value})
            self.assertIn(option, str(caught.exception))

    def test_tmpfs_is_warned_about(self):
        logged = []
        logger = types.SimpleNamespace(
            warning=lambda msg, *args: logged.append(msg % args))
        with mock.patch.object(uploads, '_filesystem_type',
                               return_value='tmpfs'):
            uploads.Spools.from_conf({'spool_dir': self.tmp}, logger)
        self.assertIn('is a tmpfs', logged[0])


class TestLimitsThroughTheApp(ProxyTestCase):

    def setUp(self):
        super().setUp()
        self.remote = self.remotes['photos']
        self.spools = self.app.spools

    def put_from(self, source, length=None, name='obj', headers=None):
        req = self.make('photos/' + name, 'PUT', headers=headers)
        req.environ['wsgi.input'] = source
        if length is None:
            req.environ.pop('CONTENT_LENGTH', None)
            req.headers['Transfer-Encoding'] = 'chunked'
        else:
            req.environ['CONTENT_LENGTH'] = str(length)
        return req.get_response(self.app)

    def assertRefused(self, resp, status, name='obj'):
        self.assertEqual(status, resp.status_int, resp.body)
        self.assertNotIn(b'Remote store', resp.body)
        self.assertNotIn(('photos', name), self.remote.objects)
        self.assertNotIn('put', self.remote.ops())
        self.assertEqual(0, self.spools.active)

    def test_too_many_spools_at_once(self):
        self.spools.max_spools = 1
        held = self.spools.spool(BytesIO(b'x').read, 1)
        source = Source(b'hello')
        resp = self.put_from(source, 5)
        self.assertEqual(503, resp.status_int)
        self.assertEqual('2', resp.headers['Retry-After'])
        self.assertEqual(0, source.read_bytes)
        held.close()
        self.assertEqual(201, self.put_from(Source(b'hello'), 5).status_int)

    def test_no_room_for_the_length_is_refused_unread(self):
        self.spools.statvfs = disk(40 * MiB)          # 30 MiB above 1%
        source = Source(b'x' * 31 * MiB)
        resp = self.put_from(source, 31 * MiB)
        self.assertRefused(resp, 507)
        self.assertEqual(0, source.read_bytes)
        # Small bodies are spooled in memory: no room needed.
        self.spools.statvfs = disk(0)
        self.assertEqual(201, self.put_from(Source(b'small'), 5).status_int)

    def test_chunked_body_checked_as_it_grows(self):
        room = [20 * MiB]
        self.spools.statvfs = lambda path: types.SimpleNamespace(
            f_frsize=1, f_bavail=room[0], f_blocks=room[0])
        self.spools.reserve, self.spools.reserve_is_percent = 0, False

        class Filling(Source):
            def read(self, size=-1):
                room[0] -= size       # someone else fills the disk too
                return super().read(size)
        source = Filling(b'x' * 30 * MiB)
        self.assertRefused(self.put_from(source), 507)
        self.assertLess(source.read_bytes, 20 * MiB)

    def test_disk_full_while_spooling(self):
        def full(*args):
            raise OSError(errno.ENOSPC, 'No space left on device')
        with mock.patch.object(uploads, 'IN_MEMORY', 1024), \
                mock.patch.object(uploads.tempfile, 'TemporaryFile',
                                  return_value=mock.Mock(write=full)):
            resp = self.put_from(Source(b'x' * 5000), 5000)
        self.assertRefused(resp, 507)

    def test_client_going_away_or_stalling(self):
        for then, status in ((socket.timeout('timed out'), 408),
                             (ConnectionResetError(), 499),
                             (ValueError('bad chunk'), 499),
                             (None, 499)):
            resp = self.put_from(Source(b'partial', then), 100)
            self.assertRefused(resp, status)
        self.assertRefused(self.put_from(Source(b'x', socket.timeout())),
                           408)

    def test_too_large(self):
        with mock.patch.object(uploads, 'MAX_FILE_SIZE', 10):
            self.assertRefused(self.put_from(Source(b'x' * 20)), 413)
        resp = self.request('photos/obj', 'PUT', headers={
            'Content-Length': str(uploads.MAX_FILE_SIZE + 1)})
        self.assertRefused(resp, 413)


class TestErrorAnswers(ProxyTestCase):

    def setUp(self):
        super().setUp()
        self.remote = self.remotes['photos']
        self.put('photos', 'cat.jpg', b'meow')

    def failing(self, err, cause):
        try:
            raise err from cause
        except RemoteError as raised:
            return raised

    def test_garbled_answer_is_502_unreachable_503(self):
        for cause, status in (
                (http.client.BadStatusLine('SSH-2.0-OpenSSH'), 502),
                (http.client.IncompleteRead(b'abc', 10), 502),
                (http.client.RemoteDisconnected('closed'), 503),
                (ConnectionRefusedError(), 503), (None, 503)):
            # Wrapped as the HTTP libraries wrap them.
            wrapped = self.failing(RemoteError('odd (GET)'),
                                   OSError('Connection aborted.', cause))
            self.remote.error = wrapped
            for path in ('photos/cat.jpg', 'photos'):
                resp = self.request(path)
                self.assertEqual(status, resp.status_int, (cause, path))
                self.assertNotIn(b'odd', resp.body)

    def test_remote_refusal_is_not_echoed(self):
        self.remote.error = RemoteError(
            'InvalidArgument: words of the remote %s (PutObject)' % SECRET,
            400, permanent=True)
        resp = self.request('photos/new', 'PUT', body=b'x')
        self.assertEqual((400, b'The remote store refused the object\n'),
                         (resp.status_int, resp.body))
        self.assertIn('words of the remote ***', self.logger.text())
        self.assertNotIn(SECRET, self.logger.text())
        # Our own check's reason (no status) is told.
        self.remote.error = None
        self.remote.refuse = 'metadata key too long'
        resp = self.request('photos/new', 'PUT', body=b'x')
        self.assertEqual((400, b'metadata key too long\n'),
                         (resp.status_int, resp.body))

    def test_copies_between_accounts_are_refused(self):
        for method, headers in (
                ('PUT', {'X-Copy-From': 'photos/cat.jpg',
                         'X-Copy-From-Account': 'AUTH_other'}),
                ('COPY', {'Destination': 'photos/c2',
                          'Destination-Account': 'AUTH_other'})):
            path = 'photos/cat.jpg' if method == 'COPY' else 'photos/c2'
            resp = self.request(path, method, headers=headers)
            self.assertEqual(403, resp.status_int, method)
            self.assertIn(b'between accounts', resp.body)
            self.assertNotIn('put', self.remote.ops())
        # Naming the request's own account is no copy between accounts.
        self.assertEqual(201, self.status('photos/cat.jpg', 'COPY', headers={
            'Destination': 'photos/c3', 'Destination-Account': 'AUTH_test'}))
        self.assertEqual(b'meow', self.remote.body('photos', 'c3'))


if __name__ == '__main__':
    unittest.main()
