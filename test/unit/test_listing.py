"""The listing splice, checked against Swift's own container broker."""
import itertools
import os
import random
import shutil
import tempfile
import unittest

from swift.common.swob import Request
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker

from swift_s3_sync import listing
from swift_s3_sync.providers.base import RemoteObject

LOCATION = 'http://remote:80;bucket;pre/'


class Broker(object):
    """A real container DB: the reference for Swift listing order and
    subdir rules."""

    def __init__(self, names=()):
        self.dir = tempfile.mkdtemp(prefix='listing-test-')
        self.broker = ContainerBroker(os.path.join(self.dir, 'c.db'),
                                      account='a', container='c')
        self.broker.initialize(Timestamp.now().internal, 0)
        for name in names:
            self.put(name)

    def put(self, name, size=3, etag='0' * 32):
        self.broker.put_object(name, Timestamp.now().internal, size,
                               'text/plain', etag)

    def listing(self, limit=10000, marker='', end_marker='', prefix='',
                delimiter='', path=None, reverse=False):
        """Swift JSON entries, as the container server makes them."""
        rows = self.broker.list_objects_iter(
            limit, marker, end_marker, prefix, delimiter, path=path,
            reverse=reverse)
        entries = []
        for row in rows:
            if row[3] is None:
                entries.append({'subdir': row[0]})
            else:
                entries.append({'name': row[0], 'hash': row[4],
                                'bytes': row[2], 'content_type': row[3],
                                'last_modified': listing.swift_time(
                                    float(row[1]))})
        return entries

    def params_listing(self, params):
        return self.listing(params.limit, params.marker, params.end_marker,
                            params.prefix, params.delimiter,
                            path=params.path, reverse=params.reverse)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class FakeLister(object):
    """Provider.list over a set of names, counting calls."""

    def __init__(self, names, page_size=1000):
        self.names = sorted(names)
        self.calls = []
        self.page_size = page_size
        self.requests = 0

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        self.calls.append((container, prefix, marker, end_marker, limit))
        count = 0
        self.requests += 1
        for name in self.names:
            if not name.startswith(prefix) or (marker and name <= marker):
                continue
            if end_marker and name >= end_marker:
                return
            if count and count % self.page_size == 0:
                self.requests += 1
            yield RemoteObject(name, 'e' * 32, 7, last_modified=86400.5)
            count += 1
            if count >= limit:
                return


def keys(entries):
    return [listing.entry_key(e) for e in entries]


def params(**kw):
    values = dict(prefix='', delimiter='', path=None, marker='',
                  end_marker='', limit=10000, reverse=False)
    values.update(kw)
    return listing.Params(**values)


NAMES = [
    'a', 'a-b', 'a/', 'a/b', 'a/b/c', 'a/b/d', 'a/c', 'a0', 'ab',
    'd1/x', 'd1/y/z', 'd1/y/zz', 'd1/sub/', 'd1/sub/k', 'd2/', 'd2/q',
    'e-f-g', 'e-f', 'e', '\u00e9t\u00e9/\u2603', '\u00e9t\u00e9',
    '\U0001f600/x', 'z',
]


class TestRemotePage(unittest.TestCase):
    """RemoteListing.page() makes the page Swift would make."""

    def setUp(self):
        self.broker = Broker(NAMES)
        self.addCleanup(self.broker.close)

    def page(self, lister, p):
        return listing.RemoteListing(lister, 'c', LOCATION).page(p)

    def test_every_parameter_combination(self):
        markers = ['', 'a', 'a/', 'a/b', 'a/b/c', 'b', 'd1/', 'd1/y/',
                   'd1/y/z', 'e-', '\u00e9', 'zz']
        combos = itertools.product(
            ['', 'a', 'a/', 'd1/', 'e', 'q'],     # prefix
            ['', '/', '-', 'b/'],                 # delimiter
            markers, markers,                     # marker, end_marker
            [1, 2, 37], [False, True])            # limit, reverse
        checked = 0
        for prefix, delim, marker, end_marker, limit, reverse in combos:
            p = params(prefix=prefix, delimiter=delim, marker=marker,
                       end_marker=end_marker, limit=limit, reverse=reverse)
            got = keys(self.page(FakeLister(NAMES), p))
            self.assertEqual(keys(self.broker.params_listing(p)), got, p)
            checked += 1
        self.assertGreater(checked, 5000)

    def test_path(self):
        # Swift's broker skips a name equal to a skipped dir + chr('/' + 1)
        # ('a0' after 'a/b') in path listings; we list it, so leave it out.
        names = [n for n in NAMES if n != 'a0']
        broker = Broker(names)
        self.addCleanup(broker.close)
        # In reverse it also drops objects named like a skipped dir ('a/'
        # when 'a/b' exists); ours is the forward page reversed.
        for path in ['', 'a', 'a/', 'a/b', 'd1', 'd1/sub', 'nope']:
            p = listing.listing_params(Request.blank(
                '/v1/a/c', query_string='path=' + path))
            forward = keys(self.page(FakeLister(names), p))
            self.assertEqual(keys(broker.params_listing(p)), forward, path)
            p = p._replace(reverse=True)
            self.assertEqual(forward[::-1],
                             keys(self.page(FakeLister(names), p)), path)
        p = listing.listing_params(Request.blank('/v1/a/c?path='))
        self.assertIn('a0', keys(self.page(FakeLister(NAMES), p)))

    def test_entries_look_like_swift(self):
        entries = self.page(FakeLister(['x']), params())
        self.assertEqual([{
            'name': 'x', 'hash': 'e' * 32, 'bytes': 7,
            'content_type': 'application/octet-stream',
            'last_modified': '1970-01-02T00:00:00.500000',
            'content_location': [LOCATION]}], entries)

    def test_limit_goes_to_the_provider_without_delimiter(self):
        lister = FakeLister(NAMES)
        self.page(lister, params(limit=3, marker='a'))
        self.assertEqual([('c', '', 'a', '', 3)], lister.calls)

    def test_reverse_reads_the_range_forwards(self):
        lister = FakeLister(NAMES)
        got = self.page(lister, params(limit=2, marker='d2/',
                                       end_marker='a0', reverse=True))
        self.assertEqual(['d1/y/zz', 'd1/y/z'], keys(got))
        self.assertEqual('a0', lister.calls[0][2])
        self.assertEqual('d2/', lister.calls[0][3])

    def test_big_subdir_is_skipped_by_listing_again(self):
        names = ['a'] + ['big/%04d' % i for i in range(50)] + ['c', 'd']
        lister = FakeLister(names)
        remote = listing.RemoteListing(lister, 'c', LOCATION)
        remote.RELIST_AFTER = 5
        got = remote.page(params(delimiter='/'))
        self.assertEqual(['a', 'big/', 'c', 'd'], keys(got))
        self.assertEqual(2, len(lister.calls))
        self.assertEqual('big/' + listing.MAX_CHAR, lister.calls[1][2])

    def test_zero_limit(self):
        lister = FakeLister(NAMES)
        self.assertEqual([], self.page(lister, params(limit=0)))
        self.assertEqual([], lister.calls)


class TestSplice(unittest.TestCase):

    def test_local_wins_and_locations(self):
        local = [{'name': 'a', 'hash': 'L'}, {'name': 'b', 'hash': 'L'},
                 {'subdir': 'd/'}]
        remote = [{'name': 'b', 'hash': 'R', 'content_location': ['r']},
                  {'name': 'c', 'hash': 'R', 'content_location': ['r']},
                  {'subdir': 'd/'}]
        self.assertEqual([
            {'name': 'a', 'hash': 'L', 'content_location': ['swift']},
            {'name': 'b', 'hash': 'L', 'content_location': ['swift', 'r']},
            {'name': 'c', 'hash': 'R', 'content_location': ['r']},
            {'subdir': 'd/'},
        ], listing.splice(local, remote, 10))

    def test_limit_and_reverse(self):
        local = [{'name': n} for n in 'eca']
        remote = [{'name': n, 'content_location': ['r']} for n in 'dcb']
        self.assertEqual(['e', 'd', 'c', 'b'],
                         keys(listing.splice(local, remote, 4, True)))

    def test_local_entries_are_not_modified(self):
        local = [{'name': 'a'}]
        listing.splice(local, [], 10)
        self.assertEqual([{'name': 'a'}], local)


class TestPaging(unittest.TestCase):
    """Paging through the merged listing, any page size, any direction:
    never a lost or repeated entry, compared with one broker holding the
    union of the names."""

    def setUp(self):
        rng = random.Random(1234)
        words = ['x', 'y', 'd/', 'd/e/', 'q-', '\u00e9', '\u2603/', 'Z']
        names = set()
        while len(names) < 260:
            names.add(''.join(rng.choice(words) for _ in range(
                rng.randint(1, 4))) + str(rng.randint(0, 9)))
        names = sorted(names)
        rng.shuffle(names)
        self.local_only = names[:100]
        self.remote_only = names[100:200]
        self.shared = names[200:]
        self.local = Broker(self.local_only + self.shared)
        self.union = Broker(names)
        self.remote_names = self.remote_only + self.shared
        self.addCleanup(self.local.close)
        self.addCleanup(self.union.close)

    def merged_page(self, p):
        local = self.local.params_listing(p)
        remote = listing.RemoteListing(
            FakeLister(self.remote_names), 'c', LOCATION).page(p)
        return listing.splice(local, remote, p.limit, p.reverse)

    def page_all(self, **kw):
        out, marker = [], ''
        while True:
            page = self.merged_page(params(marker=marker, **kw))
            if not page:
                return out
            out.extend(page)
            marker = listing.entry_key(page[-1])

    def test_pages(self):
        for limit, delim, prefix, reverse in itertools.product(
                [1, 7, 37, 10000], ['', '/', '-'], ['', 'd/', 'x'],
                [False, True]):
            got = self.page_all(limit=limit, delimiter=delim, prefix=prefix,
                                reverse=reverse)
            want = self.union.listing(prefix=prefix, delimiter=delim,
                                      reverse=reverse)
            self.assertEqual(keys(want), keys(got),
                             (limit, delim, prefix, reverse))

    def test_locations(self):
        got = {e['name']: e['content_location']
               for e in self.page_all(limit=37)}
        for name in self.local_only:
            self.assertEqual(['swift'], got[name])
        for name in self.remote_only:
            self.assertEqual([LOCATION], got[name])
        for name in self.shared:
            self.assertEqual(['swift', LOCATION], got[name])


class TestHelpers(unittest.TestCase):

    def test_listing_params(self):
        p = listing.listing_params(Request.blank('/v1/a/c'))
        self.assertEqual(params(), p)
        p = listing.listing_params(Request.blank(
            '/v1/a/c?limit=5&marker=%C3%A9&end_marker=z&prefix=p&'
            'delimiter=/&reverse=on&path=x/'))
        self.assertEqual(params(limit=5, marker='\u00e9', end_marker='z',
                                prefix='p', delimiter='/', reverse=True,
                                path='x/'), p)

    def test_swift_time(self):
        self.assertEqual('2023-11-14T22:13:20.000000',
                         listing.swift_time(1700000000))
        self.assertEqual('1970-01-01T00:00:00.000000',
                         listing.swift_time(None))


if __name__ == '__main__':
    unittest.main()
