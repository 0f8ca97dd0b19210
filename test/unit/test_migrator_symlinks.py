"""Swift symlinks from a Swift source: the target renamed as the migration
renames, the source's own account made the local one, the copy refused
(permanently, with its reason) where no symlink middleware can write it."""
import unittest

from swift.common.utils import Timestamp

from swift_s3_sync.migrator import copier, symlinks
from swift_s3_sync.migrator.local import LocalStore
from test.unit.test_migrator_copy import NOW, FakeSource, FakeSwift

ACCOUNT = 'AUTH_here'


class TestTargets(unittest.TestCase):

    def test_the_source_container_becomes_the_local_one(self):
        self.assertEqual('dst/a%20b/c', symlinks.local_target(
            'src/a%20b/c', 'src', 'dst'))
        self.assertEqual('other/x', symlinks.local_target(
            'other/x', 'src', 'dst'))
        self.assertEqual('d%C3%A9st/%C3%A9t%C3%A9', symlinks.local_target(
            's%C3%B6urce/%C3%A9t%C3%A9', 's\u00f6urce', 'd\u00e9st'))

    def test_the_source_account_becomes_the_local_one(self):
        source = lambda: 'AUTH_there'   # noqa: E731
        self.assertIsNone(symlinks.local_account(None, source, ACCOUNT))
        self.assertEqual(ACCOUNT, symlinks.local_account(
            'AUTH_there', source, ACCOUNT))
        self.assertEqual('AUTH_third', symlinks.local_account(
            'AUTH_third', source, ACCOUNT))


class TestCopy(unittest.TestCase):

    def setUp(self):
        self.source = FakeSource()
        self.swift = FakeSwift()
        self.store = LocalStore(self.swift)
        self.store.ensure_container(ACCOUNT, 'dst')
        self.source.account_name = lambda: 'AUTH_there'
        self.options = copier.CopyOptions(swift_source=True,
                                          source_bucket='src')

    def add_link(self, **more):
        headers = dict({'x-symlink-target': 'src/target',
                        'x-object-meta-kind': 'link',
                        'content-type': 'application/symlink'}, **more)
        self.source.add('link', b'', headers=headers,
                        last_modified=NOW - 10)
        return next(self.source.list('src'))

    def copy(self, entry):
        return copier.copy_object(self.source, self.store, ACCOUNT, 'dst',
                                  entry, 'src', self.options)

    def test_a_static_link_keeps_its_target_etag_and_size(self):
        entry = self.add_link(**{'x-symlink-target-etag': 'e' * 32,
                                 'x-symlink-target-bytes': '10',
                                 'x-symlink-target-account': 'AUTH_there'})
        self.store.writes_symlinks = lambda: True
        self.assertEqual(0, self.copy(entry))
        written = self.swift.object(ACCOUNT, 'dst', 'link')
        self.assertEqual(b'', written['data'])
        self.assertEqual(Timestamp(NOW - 10), written['ts'])
        headers = written['headers']
        self.assertEqual('dst/target', headers['x-symlink-target'])
        self.assertEqual(ACCOUNT, headers['x-symlink-target-account'])
        self.assertEqual('e' * 32, headers['x-symlink-target-etag'])
        self.assertEqual('10', headers['x-symlink-target-bytes'])
        self.assertEqual('link', headers['x-object-meta-kind'])
        self.assertEqual('application/symlink', headers['content-type'])
        # The source was asked for the symlink itself.
        self.assertEqual(('src', 'link'), self.source.gets[-1])

    def test_refused_where_no_middleware_can_write_it(self):
        entry = self.add_link()
        with self.assertRaises(copier.Unsupported) as caught:
            self.copy(entry)
        self.assertTrue(caught.exception.permanent)
        self.assertIn('no symlink middleware', str(caught.exception))
        self.assertIsNone(self.swift.object(ACCOUNT, 'dst', 'link'))


if __name__ == '__main__':
    unittest.main()
