"""The audit's comparison, checks, repairs and CLI, with a real sqlite
ContainerBroker, real mappings and fake remotes and local objects."""
import io
import json
import os
import shutil
import tempfile
import unittest
from types import SimpleNamespace

from swift.common.utils import Timestamp
from swift.container.backend import SHARDED, UNSHARDED, ContainerBroker, \
    encode_timestamps

from swift_s3_sync import audit
from swift_s3_sync.audit_compare import (
    CHECK, ERROR, EXCLUDED, EXTRA, GONE_LOCALLY, IN_SYNC, KEPT, METADATA_DIFF,
    MISSING, NOT_SELECTED, PENDING, REMOTE_NEWER, STALE, UNVERIFIED, Checker,
    Finding, Options, judge, shown, side_by_side)
from swift_s3_sync.audit_container import ContainerAudit
from swift_s3_sync.audit_repair import Repairer
from swift_s3_sync.config import parse_config
from swift_s3_sync.crawler.by_name import NameRange, count_rows, \
    name_ranges, rows_by_name
from swift_s3_sync.providers.base import DATA, EQUAL, METADATA, \
    RemoteError, RemoteObject

NOW = 1700001000.0
ETAG = 'e' * 32
OTHER = 'f' * 32


def mapping(**settings):
    entry = {'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b',
             'aws_identity': 'id', 'aws_secret': 'secret'}
    entry.update(settings)
    return parse_config(json.dumps({'status_dir': '/tmp',
                                    'containers': [entry]})).mappings[0]


def row(name='o', ts=NOW - 100, deleted=0, etag=ETAG, size=3,
        content_type='text/plain', meta_ts=None):
    ts = Timestamp(ts)
    return {'name': name, 'deleted': deleted, 'etag': etag, 'size': size,
            'content_type': content_type,
            'created_at': encode_timestamps(ts, ts, Timestamp(meta_ts or ts))}


def listed(name='o', etag=ETAG, size=3, written=NOW - 50):
    return RemoteObject(name, etag, size, last_modified=written)


def headers(ts=NOW - 100, **extra):
    found = {'x-timestamp': Timestamp(ts).internal, 'etag': ETAG,
             'content-length': '3', 'content-type': 'text/plain'}
    found.update(extra)
    return found


class FakeLocal(object):
    client = None

    def __init__(self, objects=None):
        self.objects = objects or {}
        self.heads = []
        self.deleted = []

    def head(self, account, container, name):
        self.heads.append(name)
        return self.objects.get(name)

    def delete_version(self, account, container, name, ts):
        self.deleted.append(name)
        return True


class FakeProvider(object):
    def __init__(self, remote=None, verdict=EQUAL, listing=()):
        self.remote = remote or {}
        self.verdict = verdict
        self.listing = list(listing)
        self.calls = []

    def check(self, local):
        if local.headers.get('x-object-meta-huge'):
            raise RemoteError('user metadata too big', permanent=True)

    def head(self, container, name):
        self.calls.append(('head', name))
        return self.remote.get(name)

    def compare(self, local, remote):
        return self.verdict

    def put(self, local):
        self.calls.append(('put', local.name))

    def update_metadata(self, local, remote):
        self.calls.append(('post', local.name))

    def delete(self, container, name, **options):
        self.calls.append(('delete', name))
        return True

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        return iter([o for o in self.listing if o.name > marker])


class TestRowsShown(unittest.TestCase):

    def test_plain_row(self):
        self.assertEqual((ETAG, 3), shown(row()))

    def test_slo_row_shows_its_own_etag_and_total_size(self):
        slo = row(etag='%s; slo_etag=%s' % (ETAG, OTHER), size=120,
                  content_type='application/x;swift_bytes=12345')
        self.assertEqual((OTHER, 12345), shown(slo))


class TestJudge(unittest.TestCase):

    def judge(self, row_, listed_, m=None, **options):
        return judge(m or mapping(), Options(**options), row_, listed_,
                     NOW)[0]

    def test_listing_settles_a_copy_written_after_the_change(self):
        self.assertEqual(IN_SYNC, self.judge(row(), listed()))

    def test_copy_written_within_the_margin_or_before_is_checked(self):
        self.assertEqual(CHECK, self.judge(row(), listed(written=NOW - 99)))
        self.assertEqual(CHECK, self.judge(row(meta_ts=NOW - 10), listed()))

    def test_other_bytes_and_absent_copies_are_checked(self):
        self.assertEqual(CHECK, self.judge(row(), listed(etag=OTHER)))
        self.assertEqual(CHECK, self.judge(row(), listed(size=4)))
        self.assertEqual(CHECK, self.judge(row(), None))

    def test_symlinks_and_kms_are_always_checked(self):
        link = row(etag='%s; symlink_target=c/t' % ETAG)
        self.assertEqual(CHECK, self.judge(link, listed()))
        self.assertEqual(NOT_SELECTED, self.judge(
            link, None, mapping(sync_symlinks=False)))
        kms = mapping(aws_endpoint='http://127.0.0.1:1',
                      server_side_encryption='aws:kms')
        self.assertEqual(CHECK, self.judge(row(), listed(), kms))

    def test_metadata_flag_checks_every_copy(self):
        self.assertEqual(CHECK, self.judge(row(), listed(), metadata=True))

    def test_policy(self):
        self.assertEqual(EXCLUDED, self.judge(
            row(name='tmp/x'), None, mapping(exclude_pattern='tmp/')))
        self.assertEqual(EXCLUDED, self.judge(
            None, listed(name='tmp/x'), mapping(exclude_pattern='tmp/')))
        self.assertEqual(PENDING, self.judge(row(), None,
                                             mapping(copy_after=3600)))
        self.assertEqual(PENDING, self.judge(row(), None, grace=300))
        self.assertEqual(PENDING, self.judge(None, listed(), grace=300))

    def test_tombstones(self):
        gone = row(deleted=1, ts=NOW - 10)
        self.assertEqual(IN_SYNC, self.judge(gone, None))
        self.assertEqual(EXTRA, self.judge(gone, listed(written=NOW - 50)))
        self.assertEqual(CHECK, self.judge(gone, listed(written=NOW - 11)))
        self.assertEqual(CHECK, self.judge(gone, listed(written=NOW - 5)))
        self.assertEqual(KEPT, self.judge(gone, listed(),
                                          mapping(propagate_delete=False)))

    def test_remote_only_names(self):
        self.assertEqual(EXTRA, self.judge(None, listed()))
        # Listings round to whole seconds, some up: a copy written a moment
        # ago may look written after now.  Without --grace it is extra.
        self.assertEqual(EXTRA, self.judge(None, listed(written=NOW + 0.9)))
        self.assertEqual(PENDING, self.judge(None, listed(written=NOW - 5),
                                             grace=10))
        archive = mapping(retain_local=False, propagate_delete=False)
        self.assertEqual(KEPT, self.judge(None, listed(), archive))


class TestSideBySide(unittest.TestCase):

    def test_merges_in_name_order(self):
        rows = [row('a'), row('c'), row('d')]
        listing = [listed('b'), listed('c'), listed('e')]
        self.assertEqual(
            [('a', True, False), ('b', False, True), ('c', True, True),
             ('d', True, False), ('e', False, True)],
            [(n, r is not None, li is not None)
             for n, r, li in side_by_side(rows, listing)])


class TestChecker(unittest.TestCase):

    def check(self, local_headers, remote=None, verdict=EQUAL, r=None,
              listed_=True, max_heads=10, m=None):
        self.local = FakeLocal({'o': local_headers} if local_headers else {})
        self.provider = FakeProvider({'o': remote} if remote else {},
                                     verdict)
        checker = Checker(m or mapping(), self.provider, self.local, 'AUTH_a',
                          'c', max_heads)
        found = checker.check('o', r or row(),
                              listed() if listed_ else None, 'why')
        self.checker = checker
        return found.kind

    def remote(self, ts=NOW - 100):
        return RemoteObject('o', ETAG, 3, timestamp=Timestamp(ts).internal,
                            headers={})

    def test_live_rows(self):
        self.assertEqual(IN_SYNC, self.check(headers(), self.remote()))
        self.assertEqual(STALE, self.check(headers(), self.remote(NOW - 200),
                                           DATA))
        self.assertEqual(METADATA_DIFF, self.check(headers(), self.remote(),
                                                   METADATA))
        self.assertEqual(REMOTE_NEWER, self.check(headers(),
                                                  self.remote(NOW), DATA))
        self.assertEqual(MISSING, self.check(headers(), None))
        self.assertEqual(GONE_LOCALLY, self.check(None, self.remote()))

    def test_missing_needs_no_remote_head_and_says_why_it_cannot_go(self):
        self.local = FakeLocal({'o': headers(**{'x-object-meta-huge': 'y'})})
        self.provider = FakeProvider()
        checker = Checker(mapping(), self.provider, self.local, 'AUTH_a', 'c',
                          10)
        found = checker.check('o', row(), None, 'not in the remote listing')
        self.assertEqual(MISSING, found.kind)
        self.assertIn('user metadata too big', found.reason)
        self.assertEqual([], self.provider.calls)

    def test_selection_criteria_are_the_daemons(self):
        picky = mapping(selection_criteria={'x-object-meta-keep': 'yes'})
        self.assertEqual(NOT_SELECTED, self.check(headers(), None, m=picky,
                                                  listed_=False))
        self.assertEqual(MISSING, self.check(
            headers(**{'x-object-meta-keep': 'YES'}), None, m=picky,
            listed_=False))

    def test_heads_are_bounded(self):
        self.assertEqual(UNVERIFIED, self.check(headers(), self.remote(),
                                                max_heads=0))
        self.assertEqual([], self.provider.calls)
        self.assertEqual(0, self.checker.remote_heads)

    def test_tombstones(self):
        gone = row(deleted=1, ts=NOW - 10)
        self.assertEqual(IN_SYNC, self.check(None, None, r=gone))
        self.assertEqual(EXTRA, self.check(None, self.remote(NOW - 50),
                                           r=gone))
        self.assertEqual(REMOTE_NEWER, self.check(None, self.remote(NOW),
                                                  r=gone))
        self.assertEqual([], self.local.heads)

    def test_errors_become_findings(self):
        class Broken(FakeProvider):
            def head(self, container, name):
                raise RemoteError('503 busy')
        checker = Checker(mapping(), Broken(), FakeLocal({'o': headers()}),
                          'AUTH_a', 'c', 10)
        found = checker.check('o', row(), listed(), 'why')
        self.assertEqual(ERROR, found.kind)
        self.assertIn('503 busy', found.reason)


class TestRepairer(unittest.TestCase):

    def repair(self, finding, local=None, remote=None, verdict=DATA,
               m=None):
        self.local = FakeLocal(local)
        self.provider = FakeProvider(remote, verdict)
        return Repairer(m or mapping(), self.provider, self.local, 'AUTH_a',
                        'c').repair(finding)

    def test_missing_is_uploaded(self):
        result = self.repair(Finding('o', MISSING, 'why', row()),
                             {'o': headers()})
        self.assertTrue(result.fixed)
        self.assertIn(('put', 'o'), self.provider.calls)

    def test_archive_repairs_never_delete_local_data(self):
        archive = mapping(retain_local=False, propagate_delete=False)
        result = self.repair(Finding('o', MISSING, 'why', row()),
                             {'o': headers()}, m=archive)
        self.assertTrue(result.fixed)
        self.assertEqual([], self.local.deleted)

    def test_newer_remote_copies_are_left_alone(self):
        newer = RemoteObject('o', OTHER, 3, timestamp=Timestamp(NOW).internal,
                             headers={})
        result = self.repair(Finding('o', STALE, 'why', row()),
                             {'o': headers()}, {'o': newer})
        self.assertFalse(result.fixed)
        self.assertNotIn(('put', 'o'), self.provider.calls)
        result = self.repair(Finding('o', REMOTE_NEWER, 'why', row()),
                             {'o': headers()}, {'o': newer})
        self.assertFalse(result.fixed)
        self.assertEqual([], self.provider.calls)

    def test_reclaimed_tombstone_deletes_only_without_a_local_object(self):
        old = RemoteObject('o', ETAG, 3, timestamp=Timestamp(NOW).internal,
                           headers={})
        result = self.repair(Finding('o', EXTRA, 'no row'), {'o': headers()},
                             {'o': old})
        self.assertFalse(result.fixed)
        self.assertIn('a local object of that name exists', result.reason)
        self.assertEqual([], self.provider.calls)
        result = self.repair(Finding('o', EXTRA, 'no row'), {}, {'o': old})
        self.assertTrue(result.fixed)
        self.assertIn(('delete', 'o'), self.provider.calls)
        self.assertIn('no local object and no row', result.reason)

    def test_reclaimed_tombstone_spares_a_copy_written_since(self):
        later = RemoteObject('o', ETAG, 3, timestamp=Timestamp(
            Timestamp.now().timestamp + 60).internal, headers={})
        result = self.repair(Finding('o', EXTRA, 'no row'), {}, {'o': later})
        self.assertFalse(result.fixed)
        self.assertNotIn(('delete', 'o'), self.provider.calls)


class BrokerCase(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.broker = ContainerBroker(os.path.join(self.tmp, 'c.db'),
                                      account='AUTH_a', container='c')
        self.broker.initialize(Timestamp.now().internal, 0)
        self.range = NameRange(SimpleNamespace(broker=lambda: self.broker))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def put(self, name, ts, deleted=0, policy=0, etag=ETAG):
        self.broker.put_object(name, Timestamp(ts).internal, 3, 'text/plain',
                               etag, deleted=deleted,
                               storage_policy_index=policy)


class TestRowsByName(BrokerCase):

    def test_name_order_tombstones_chunks_and_bounds(self):
        for i in range(25):
            self.put('n%02d' % i, NOW - 100, deleted=i % 3 == 0)
        names = [r['name'] for r in rows_by_name(self.range, chunk=4)]
        self.assertEqual(['n%02d' % i for i in range(25)], names)
        self.assertEqual(25, count_rows(self.range))
        bounded = NameRange(self.range.replica, 'n05', 'n09')
        self.assertEqual(['n06', 'n07', 'n08', 'n09'],
                         [r['name'] for r in rows_by_name(bounded, chunk=2)])
        self.assertEqual(4, count_rows(bounded))

    def test_one_row_per_name_the_newest(self):
        self.put('x', NOW - 100, policy=0)
        self.put('x', NOW - 50, policy=1, etag=OTHER)
        rows = list(rows_by_name(self.range))
        self.assertEqual(1, len(rows))
        self.assertEqual(OTHER, rows[0]['etag'])


class TestNameRanges(unittest.TestCase):

    def locator(self, state, held):
        shards = [SimpleNamespace(account='.shards_AUTH_a', container=c,
                                  lower_str=lo, upper_str=up)
                  for c, lo, up in (('s1', '', 'm'), ('s2', 'm', ''))]
        root_broker = SimpleNamespace(is_deleted=lambda: False,
                                      get_db_state=lambda: state,
                                      get_shard_ranges=lambda: shards)
        replicas = {'c': SimpleNamespace(broker=lambda: root_broker)}
        replicas.update((c, SimpleNamespace(name=c)) for c in held)
        return SimpleNamespace(
            replica=lambda account, container: replicas.get(container))

    def test_root_shards_here_and_elsewhere(self):
        here, elsewhere = name_ranges(self.locator(UNSHARDED, ()), 'AUTH_a',
                                      'c')
        self.assertEqual([('', '')], [(r.lower, r.upper) for r in here])
        self.assertEqual([], elsewhere)
        here, elsewhere = name_ranges(self.locator(SHARDED, ('s2',)),
                                      'AUTH_a', 'c')
        self.assertEqual([('m', '')], [(r.lower, r.upper) for r in here])
        self.assertEqual([('', 'm')], elsewhere)
        self.assertTrue(here[0].holds('n'))
        self.assertFalse(here[0].holds('m'))
        self.assertIsNone(name_ranges(SimpleNamespace(
            replica=lambda a, c: None), 'AUTH_a', 'c'))


class TestContainerAudit(BrokerCase):

    def run_audit(self, listing, local, repair=False, m=None, **options):
        self.provider = FakeProvider(listing=listing, verdict=DATA,
                                     remote={o.name: o for o in listing})
        options.setdefault('now', lambda: NOW)
        job = ContainerAudit(m or mapping(), self.provider, FakeLocal(local),
                             'AUTH_a', 'c', Options(**options),
                             repair=repair, limit=1)
        return job.run([self.range]).report()

    def test_counts_limit_and_repair(self):
        for name in ('a', 'b', 'c'):
            self.put(name, NOW - 100)
        self.put('gone', NOW - 100, deleted=1)
        report = self.run_audit([listed('b', written=NOW - 50),
                                 listed('z', written=NOW - 50)],
                                {'a': headers(), 'c': headers()})
        self.assertEqual({'missing': 2, 'extra': 1},
                         {k: v for k, v in report['differences'].items()
                          if v})
        self.assertEqual(2, report['policy']['in_sync'])   # b, gone
        self.assertEqual(2, len(report['objects']))   # one per kind
        self.assertFalse(report['consistent'])

        report = self.run_audit([listed('z', written=NOW - 50)],
                                {'a': headers(), 'b': headers(),
                                 'c': headers()}, repair=True)
        self.assertEqual(4, report['repaired'])
        self.assertEqual(0, report['remaining'])
        self.assertTrue(report['consistent'])
        self.assertEqual({('put', 'a'), ('put', 'b'), ('put', 'c'),
                          ('delete', 'z')},
                         {c for c in self.provider.calls if c[0] != 'head'})

    def test_uncovered_ranges_are_not_consistent(self):
        job = ContainerAudit(mapping(), FakeProvider(), FakeLocal(),
                             'AUTH_a', 'c', Options(now=lambda: NOW))
        report = job.run([], [('m', '')]).report()
        self.assertEqual([['m', '']], report['uncovered'])
        self.assertFalse(report['consistent'])


class TestCommandLine(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.swift_dir = os.path.join(self.tmp, 'swift')
        os.mkdir(self.swift_dir)
        for name in ('swift.conf', 'account.ring.gz', 'container.ring.gz'):
            open(os.path.join(self.swift_dir, name), 'w').close()
        self.write()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, **overrides):
        config = {'status_dir': self.tmp, 'swift_dir': self.swift_dir,
                  'devices': self.tmp, 'containers': [{
                      'account': 'AUTH_a', 'container': 'c',
                      'aws_bucket': 'b', 'aws_identity': 'id',
                      'aws_secret': 'very-secret'}]}
        config.update(overrides)
        self.path = os.path.join(self.tmp, 'sync.json')
        with open(self.path, 'w') as f:
            json.dump(config, f)

    def run_main(self, *flags):
        err = io.StringIO()
        saved, audit.sys.stderr = audit.sys.stderr, err
        try:
            status = audit.main(['--config', self.path] + list(flags))
        finally:
            audit.sys.stderr = saved
        return status, err.getvalue()

    def test_usage_errors_are_one_line_and_exit_2(self):
        for flags, words in ((['--mapping', '3'], '--mapping 3'),
                             (['--container', 'other'], '--container other'),
                             ([], None)):
            if words is None:
                os.unlink(os.path.join(self.swift_dir, 'container.ring.gz'))
                words = 'container.ring.gz not found'
            status, err = self.run_main(*flags)
            self.assertEqual(2, status, err)
            self.assertEqual(1, err.count('\n'), err)
            self.assertIn(words, err)
            self.assertNotIn('very-secret', err)

    def test_config_errors_name_the_key(self):
        self.write(workers='many')
        status, err = self.run_main()
        self.assertEqual(2, status)
        self.assertIn("workers", err)


class TestProgressBar(unittest.TestCase):

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    def test_only_on_a_terminal(self):
        quiet = io.StringIO()
        bar = audit.ProgressBar('c', 10, stream=quiet)
        bar(5)
        bar.close()
        self.assertEqual('', quiet.getvalue())
        tty = self.Terminal()
        clock = iter(range(100))
        bar = audit.ProgressBar('AUTH_a/c', 10, stream=tty,
                                clock=lambda: next(clock) + 1.0)
        bar(5)
        self.assertIn('50% 5/10 rows', tty.getvalue())
        bar.close()
        self.assertTrue(tty.getvalue().endswith('\r\033[K'))
