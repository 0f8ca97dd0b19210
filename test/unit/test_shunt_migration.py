"""cloud-shunt's pieces for migrations that need no server: the source
seen through a prefix, account listing entries, the bucket cache."""
import unittest

from swift_s3_sync.listing import Params
from swift_s3_sync.providers.base import RemoteError, RemoteObject
from swift_s3_sync.shunt_migration import (
    BucketCache, SourceView, account_entries, bucket_problem, restorable)
from test.unit.test_migrator_copy import migration_config


class Lister(object):
    def __init__(self, names):
        self.names = sorted(names)
        self.asked = []

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        self.asked.append(prefix)
        return iter([RemoteObject(n, 'e', 1) for n in self.names
                     if n.startswith(prefix) and n > marker][:limit])

    def head(self, container, name):
        return RemoteObject(name, 'e', 1)

    def get(self, container, name, headers=None):
        return 200, {}, iter([b'x'])


def params(**kw):
    values = dict(prefix='', delimiter='', path=None, marker='',
                  end_marker='', limit=10000, reverse=False)
    values.update(kw)
    return Params(**values)


class TestSourceView(unittest.TestCase):

    def test_names_outside_the_prefix_are_not_there(self):
        view = SourceView(Lister(['a/1', 'b/1', 'b/2']), 'b/')
        self.assertIsNone(view.head('c', 'a/1'))
        self.assertIsNotNone(view.head('c', 'b/1'))
        self.assertEqual(404, view.get('c', 'a/1')[0])
        self.assertEqual(['b/1', 'b/2'], [o.name for o in view.list('c')])
        self.assertEqual(['b/2'], [o.name for o in view.list('c', 'b/2')])
        self.assertEqual([], list(view.list('c', 'a/')))


class SwiftSymlinks(object):
    """A Swift source's container ``src`` of account AUTH_src: {name:
    headers}, a symlink's with its X-Symlink-Target."""

    class mapping(object):
        protocol = 'swift'

    def __init__(self, objects):
        self.objects = objects
        self.asked = []

    def remote_container(self, container):
        return 'src'

    def account_name(self):
        return 'AUTH_src'

    def head(self, container, name, query_string=None):
        self.asked.append((name, query_string))
        headers = self.objects.get(name)
        return None if headers is None else RemoteObject(
            name, headers.get('etag', ''), 0, headers=dict(headers))

    def get(self, container, name, headers=None, query_string=None):
        self.asked.append((name, query_string))
        if name not in self.objects:
            return 404, {}, iter(())
        return 200, dict(self.objects[name]), iter([b'bytes of ' +
                                                    name.encode()])


class TestSwiftSymlinksThroughTheView(unittest.TestCase):

    def view(self, **objects):
        self.source = SwiftSymlinks(objects)
        return SourceView(self.source, 'p/', 'AUTH_here')

    def link(self, target, **more):
        return dict({'x-symlink-target': target}, **more)

    def test_followed_within_the_container_and_prefix(self):
        view = self.view(**{'p/t': {'etag': 'e1'},
                            'p/l': self.link('src/p/t'),
                            'p/l2': self.link('src/p/l'),
                            'p/s': self.link('src/p/t', **{
                                'x-symlink-target-etag': 'e1',
                                'x-symlink-target-account': 'AUTH_src'})})
        for name in ('p/l', 'p/l2', 'p/s'):
            status, headers, body = view.get('local', name)
            self.assertEqual((200, [b'bytes of p/t']), (status, list(body)))
            self.assertEqual('/v1/AUTH_here/local/p/t',
                             headers['content-location'])
            self.assertEqual('/v1/AUTH_here/local/p/t', view.head(
                'local', name).headers['content-location'])
        # Every read asks for the symlink itself.
        self.assertEqual({'symlink=get'}, {q for _, q in self.source.asked})
        self.assertNotIn('content-location',
                         view.get('local', 'p/t')[1])

    def test_not_followed_elsewhere_nor_too_far(self):
        view = self.view(**{
            'p/t': {'etag': 'e1'}, 'q/t': {'etag': 'e2'},
            'p/other': self.link('other/p/t'),
            'p/account': self.link('src/p/t', **{
                'x-symlink-target-account': 'AUTH_else'}),
            'p/outside': self.link('src/q/t'),
            'p/changed': self.link('src/p/t', **{
                'x-symlink-target-etag': 'e0'}),
            'p/3': self.link('src/p/2'), 'p/2': self.link('src/p/1'),
            'p/1': self.link('src/p/t')})
        for name in ('p/other', 'p/account', 'p/outside', 'p/changed',
                     'p/3'):
            self.assertEqual(404, view.get('local', name)[0], name)
            self.assertIsNone(view.head('local', name), name)
        self.assertEqual(200, view.get('local', 'p/2')[0])

    def test_s3_sources_are_read_as_they_are(self):
        lister = Lister(['p/a'])
        view = SourceView(lister, 'p/')
        self.assertEqual(200, view.get('c', 'p/a')[0])


class TestAccountEntries(unittest.TestCase):
    NAMES = ['alpha', 'beta-1', 'beta-2', 'gamma']

    def names(self, **kw):
        return [e.get('name', e.get('subdir'))
                for e in account_entries(self.NAMES, params(**kw))]

    def test_prefix_markers_limit_reverse_delimiter(self):
        self.assertEqual(['beta-1', 'beta-2'], self.names(prefix='beta'))
        self.assertEqual(['beta-2', 'gamma'], self.names(marker='beta-1'))
        self.assertEqual(['alpha'], self.names(end_marker='beta-1'))
        self.assertEqual(['gamma', 'beta-2'], self.names(reverse=True,
                                                         limit=2))
        self.assertEqual(['alpha', 'beta-', 'gamma'],
                         self.names(delimiter='-'))
        entry = account_entries(['alpha'], params())[0]
        self.assertEqual((0, 0), (entry['count'], entry['bytes']))


class TestBucketCache(unittest.TestCase):

    def test_read_at_most_every_ttl(self):
        now = [100.0]
        calls = []

        def lister(migration):
            calls.append(1)
            return ['b', 'a']
        cache = BucketCache(lister, ttl=30, clock=lambda: now[0])
        migration = migration_config().migrations[0]
        self.assertEqual(['a', 'b'], cache.names(migration))
        now[0] += 29
        cache.names(migration)
        self.assertEqual(1, len(calls))
        now[0] += 2
        cache.names(migration)
        self.assertEqual(2, len(calls))

    def test_too_many_buckets_is_an_error(self):
        cache = BucketCache(lambda m: ['b%06d' % i for i in range(10001)])
        with self.assertRaises(RemoteError):
            cache.names(migration_config().migrations[0])


class TestChecks(unittest.TestCase):

    def test_bucket_names(self):
        s3 = migration_config().migrations[0]
        self.assertIsNone(bucket_problem(s3, 'my-bucket.1'))
        for name in ('Upper', 'under_score', 'x', '\x00versions'):
            self.assertIsNotNone(bucket_problem(s3, name), name)

    def test_only_plain_objects_are_restored_here(self):
        plain = {'etag': '"%s"' % ('a' * 32), 'content-length': '3'}
        self.assertTrue(restorable(plain))
        self.assertFalse(restorable(dict(plain, etag='%s-3' % ('a' * 32))))
        self.assertFalse(restorable(dict(plain, **{
            'x-static-large-object': 'True'})))
        self.assertFalse(restorable(dict(plain, **{
            'x-object-manifest': 'c/p'})))
        # A symlink the source followed (to an empty object, whose ETag
        # the symlink's own listing entry has too).
        self.assertFalse(restorable(dict(plain, **{
            'content-location': '/v1/AUTH_s/c/empty'})))
