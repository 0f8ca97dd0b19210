"""The listing splice, checked against Swift's own container broker."""
import itertools
import os
import random
import shutil
import tempfile
import unittest
import weakref
from unittest import mock

from swift.common.swob import Request
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker

from swift_s3_sync import listing, listing_reverse
from swift_s3_sync.providers.base import RemoteObject

LOCATION = 'http://remote:80;bucket;pre/'


class Broker(object):
    """A real container DB: the reference for Swift listing order and
    subdir rules."""

    def __init__(self, names=()):
        self.dir = tempfile.mkdtemp(prefix='listing-test-')
        # Removed with the object (or at exit): tests leave nothing behind.
        weakref.finalize(self, shutil.rmtree, self.dir, True)
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
        self.names_read = []

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
            self.names_read.append(name)
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

    def test_reverse_finds_the_range_near_the_marker(self):
        lister = FakeLister(NAMES)
        got = self.page(lister, params(limit=2, marker='d2/',
                                       end_marker='a0', reverse=True))
        self.assertEqual(['d1/y/zz', 'd1/y/z'], keys(got))
        self.assertEqual('a0', lister.calls[0][2])
        self.assertEqual('d2/', lister.calls[0][3])
        self.assertIsNone(got.complete_up_to)

    def test_big_subdir_is_skipped_by_listing_again(self):
        names = ['a'] + ['big/%04d' % i for i in range(50)] + ['c', 'd']
        lister = FakeLister(names)
        with mock.patch.object(listing, 'PAGE', 5):
            got = self.page(lister, params(delimiter='/'))
        self.assertEqual(['a', 'big/', 'c', 'd'], keys(got))
        self.assertEqual(2, len(lister.calls))
        self.assertEqual('big/' + listing.MAX_CHAR, lister.calls[1][2])

    def test_subdir_marker_starts_past_the_subdir(self):
        names = ['big/%04d' % i for i in range(3000)] + ['c']
        lister = FakeLister(names)
        got = self.page(lister, params(delimiter='/', marker='big/'))
        self.assertEqual(['c'], keys(got))
        self.assertEqual([('c', '', 'big/' + listing.MAX_CHAR, '', 1000)],
                         lister.calls)

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


def random_names(rng, count, words):
    names = set()
    while len(names) < count:
        names.add(''.join(rng.choice(words) for _ in range(
            rng.randint(1, 5))) + str(rng.randint(0, 9)))
    return sorted(names)


class TestBudget(unittest.TestCase):
    """However the page is asked for, one page costs at most max_lists
    LISTs of at most max_scan names, and paging on through pages cut short
    still gives Swift's listing."""

    WORDS = ['x', 'y', 'd/', 'd/e/', 'q-', '\u00e9', '\u2603/', 'Z',
             '\U0001f600', 'common/prefix/', 'aa']

    def setUp(self):
        rng = random.Random(4321)
        names = random_names(rng, 400, self.WORDS)
        rng.shuffle(names)
        self.local_names = names[:120] + names[300:]
        self.remote_names = names[120:]
        self.local = Broker(self.local_names)
        self.union = Broker(names)
        self.addCleanup(self.local.close)
        self.addCleanup(self.union.close)

    def merged_page(self, p, max_scan, max_lists):
        lister = FakeLister(self.remote_names)
        remote = listing.RemoteListing(lister, 'c', LOCATION,
                                       max_scan=max_scan,
                                       max_lists=max_lists)
        try:
            page = remote.page(p)
        except listing.ListingTooCostly:
            page = None
        self.assertLessEqual(len(lister.calls), max_lists, p)
        self.assertLessEqual(lister.requests, max_lists, p)
        self.assertLessEqual(len(lister.names_read), max_scan)
        if page is None:
            return None
        return listing.splice(self.local.params_listing(p), page, p.limit,
                              p.reverse)

    def page_all(self, max_scan, max_lists, **kw):
        """Every entry, paging on from the last one; a page too costly
        for the allowance is asked again with twice the allowance."""
        out, marker, pages = [], '', 0
        while True:
            scan, lists = max_scan, max_lists
            while True:
                page = self.merged_page(params(marker=marker, **kw),
                                        scan, lists)
                if page is not None:
                    break
                scan, lists = scan * 2, lists * 2
            pages += 1
            self.assertLess(pages, 2000)
            if not page:
                return out
            out.extend(page)
            marker = listing.entry_key(page[-1])

    def test_paging_with_small_allowances(self):
        rng = random.Random(99)
        shapes = []
        for delim, prefix, reverse in itertools.product(
                ['', '/', 'e/'], ['', 'd/', 'common/'], [False, True]):
            shapes.append(dict(delimiter=delim, prefix=prefix,
                               reverse=reverse))
        for path in ['', 'd', 'common/prefix', 'x']:
            shapes.append(dict(path=path + '/' if path else ''))
            shapes.append(dict(path=path + '/' if path else '',
                               reverse=True))
        for shape in shapes:
            for _ in range(3):
                max_scan = rng.choice([1, 3, 10, 40, 200])
                max_lists = rng.choice([1, 2, 4, 8])
                limit = rng.choice([1, 5, 37, 10000])
                end_marker = rng.choice(['', '', 'd/', 'q', '\u00e9'])
                kw = dict(shape, limit=limit, end_marker=end_marker)
                with mock.patch.object(listing, 'PAGE', 16):
                    got = self.page_all(max_scan, max_lists, **kw)
                want = self.union.params_listing(params(**dict(
                    kw, limit=100000)))
                self.assertEqual(keys(want), keys(got),
                                 (kw, max_scan, max_lists))

    def test_page_cut_short_says_where(self):
        lister = FakeLister(['n%04d' % i for i in range(100)])
        remote = listing.RemoteListing(lister, 'c', LOCATION, max_scan=30)
        with mock.patch.object(listing, 'PAGE', 10):
            page = remote.page(params(limit=50))
        self.assertEqual(['n%04d' % i for i in range(30)], keys(page))
        self.assertEqual('n0029', page.complete_up_to)
        self.assertEqual((3, 30), (page.lists, page.names))
        local = [{'name': 'n0029a'}, {'name': 'a'}][::-1]
        merged = listing.splice(local, page, 50)
        self.assertEqual(['a'] + keys(page), keys(merged))

    def test_cut_subdir_is_listed_once(self):
        names = ['a'] + ['d/%04d' % i for i in range(100)] + ['e']
        lister = FakeLister(names)
        remote = listing.RemoteListing(lister, 'c', LOCATION, max_lists=1)
        with mock.patch.object(listing, 'PAGE', 10):
            first = remote.page(params(delimiter='/'))
            self.assertEqual(['a', 'd/'], keys(first))
            self.assertEqual('d/' + listing.MAX_CHAR, first.complete_up_to)
            after = remote.page(params(delimiter='/', marker='d/'))
        self.assertEqual(['e'], keys(after))

    def test_nothing_within_the_allowance_raises(self):
        names = ['p/deep%04d/x' % i for i in range(200)] + ['p/z']
        remote = listing.RemoteListing(FakeLister(names), 'c', LOCATION,
                                       max_lists=3)
        with mock.patch.object(listing, 'PAGE', 10):
            with self.assertRaises(listing.ListingTooCostly):
                remote.page(params(path='p/'))
        with self.assertRaises(listing.ListingTooCostly):
            listing.splice([{'name': 'q'}],
                           listing.RemotePage([], complete_up_to='p'), 10)

    def test_reverse_page_costs_few_lists(self):
        rng = random.Random(5)
        sets = {
            'numbered': ['IMG_%05d' % i for i in range(30000)],
            'dated': ['photos/2023/%02d/%02d/IMG_%05d.jpg' % (
                rng.randint(1, 12), rng.randint(1, 28), i)
                for i in range(30000)],
            'random': ['%032x' % rng.getrandbits(128)
                       for _ in range(30000)],
            'unicode': [''.join(rng.choice('a\u00e9\u2603\U0001f600z0')
                                for _ in range(rng.randint(4, 14)))
                        for _ in range(30000)],
        }
        for label, names in sets.items():
            names = sorted(set(names))
            for marker in ['', names[len(names) // 3], names[-1]]:
                lister = FakeLister(names)
                remote = listing.RemoteListing(lister, 'c', LOCATION)
                page = remote.page(params(limit=100, marker=marker,
                                          reverse=True))
                # Reading every name below the marker would take one LIST
                # per 1000 of them.
                self.assertLessEqual(lister.requests, 24, (label, marker))
                self.assertLessEqual(len(lister.names_read), 10000)
                below = [n for n in names if not marker or n < marker]
                self.assertEqual(below[::-1][:100], keys(page), label)
                self.assertIsNone(page.complete_up_to)

    def test_reverse_cut_short_keeps_the_names_nearest_the_marker(self):
        names = ['n%05d' % i for i in range(20000)]
        lister = FakeLister(names)
        remote = listing.RemoteListing(lister, 'c', LOCATION, max_lists=8)
        page = remote.page(params(limit=5000, marker='n15000',
                                  reverse=True))
        self.assertLessEqual(lister.requests, 8)
        self.assertTrue(page)
        self.assertEqual(names[:15000][::-1][:len(page)], keys(page))
        # Complete down to just below its last entry.
        self.assertLess(names[14999 - len(page)], page.complete_up_to)
        self.assertLessEqual(page.complete_up_to, keys(page)[-1])
        local = [{'name': 'n14999x'}, {'name': 'a'}]
        merged = listing.splice(local, page, 5000, reverse=True)
        self.assertEqual(['n14999x'] + keys(page), keys(merged))

    def test_delimiter_listing_costs_a_list_per_big_subdir(self):
        names = ['d%02d/%04d' % (d, i) for d in range(40)
                 for i in range(1500)]
        lister = FakeLister(names)
        page = listing.RemoteListing(lister, 'c', LOCATION).page(
            params(delimiter='/'))
        self.assertLessEqual(lister.requests, 32)   # the default
        self.assertEqual(['d%02d/' % d for d in range(len(page))],
                         keys(page))
        self.assertEqual(keys(page)[-1] + listing.MAX_CHAR,
                         page.complete_up_to)


class TestBetween(unittest.TestCase):

    def test_strictly_between(self):
        rng = random.Random(7)
        alphabet = 'ab/\u00e9\u2603\U0001f600\x00\U0010ffff'
        for _ in range(3000):
            a, b = sorted(''.join(rng.choice(alphabet) for _ in range(
                rng.randint(0, 6))) for _ in range(2))
            chars = sorted(set(rng.sample(alphabet, 3)))
            got = listing_reverse.between(a, b, chars)
            if got is None:
                self.assertTrue(a == b or b == a + '\x00', (a, b))
            else:
                self.assertTrue(a < got < b, (a, b, got))
            above = listing_reverse.between(a, None, chars)
            self.assertGreater(above, a)

    def test_halfway_by_known_characters(self):
        chars = sorted('0123456789IMG_')
        self.assertEqual('IMG_4000', listing_reverse.between(
            'IMG_3000', 'IMG_5000', chars))
        long = 'x' * 300
        got = listing_reverse.between(long + '1', long + '9', chars)
        self.assertEqual(long + '5', got)


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
