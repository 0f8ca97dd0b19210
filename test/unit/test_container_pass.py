"""ContainerPass over a real (sqlite) ContainerBroker with a fake syncer."""
import os
import shutil
import tempfile
import unittest
from types import SimpleNamespace

import eventlet
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker

from swift_s3_sync.container_pass import ContainerPass
from swift_s3_sync.crawler.progress import ContainerProgress, ProgressStore
from swift_s3_sync.crawler.rows import owner
from swift_s3_sync.sync import DONE, FAILED, RETRY, Outcome


class FakeSyncer(object):
    def __init__(self, verdicts=None):
        self.handled = []
        self.verdicts = verdicts or {}

    def handle(self, row, hint):
        self.handled.append(row['name'])
        status = self.verdicts.get(row['name'], DONE)
        return Outcome(status, 'put' if status == DONE else 'error', 'why')


class FakeProvider(object):
    def list(self, *args, **kwargs):
        return iter([])


def make_mapping(**kw):
    values = dict(copy_after=0, exclude_regex=None, label='containers[0]',
                  retain_local=True, propagate_delete=True)
    values.update(kw)
    return SimpleNamespace(**values)


class TestContainerPass(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.broker = ContainerBroker(os.path.join(self.tmp, 'c.db'),
                                      account='a', container='c')
        self.broker.initialize(Timestamp.now().internal, 0)
        self.clock = [Timestamp.now().timestamp + 1]
        self.config = SimpleNamespace(
            items_chunk=7, verification_slack=0, retry_initial_delay=5,
            retry_max_delay=300)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def put(self, names, ts=None):
        for name in names:
            self.broker.put_object(name, (ts or Timestamp.now()).internal,
                                   1, 'text/plain', 'etag')

    def run_pass(self, node_index, replica_count=3, syncer=None,
                 mapping=None, progress=None):
        progress = progress or ContainerProgress(
            os.path.join(self.tmp, 'p%d.json' % node_index), 'pol', 'm')
        job = ContainerPass(self.config, mapping or make_mapping(),
                            FakeProvider(), None, 'a', 'c', progress,
                            eventlet.GreenPool(4), _Logger(),
                            now=lambda: self.clock[0])
        job.syncer = syncer or FakeSyncer()
        replica = SimpleNamespace(broker=lambda: self.broker, account='a',
                                  node_index=node_index,
                                  replica_count=replica_count)
        job.run(replica)
        return job, progress

    def test_primary_then_verification_covers_every_row_once(self):
        names = ['obj-%02d' % i for i in range(20)]
        self.put(names)
        seen = {}
        for node in range(3):
            syncer = FakeSyncer()
            self.config.verification_slack = 1000  # nothing old enough
            self.run_pass(node, syncer=syncer)
            mine = [n for n in names if owner(n, 3) == node]
            self.assertEqual(sorted(mine), sorted(syncer.handled))
            seen.update({n: node for n in syncer.handled})
        self.assertEqual(set(names), set(seen))

    def test_verification_handles_other_rows_after_slack(self):
        names = ['v-%02d' % i for i in range(10)]
        self.put(names)
        syncer = FakeSyncer()
        self.config.verification_slack = 0
        _, progress = self.run_pass(0, syncer=syncer)
        self.assertEqual(sorted(names), sorted(syncer.handled))
        db_id = self.broker.get_info()['id']
        self.assertEqual(self.broker.get_max_row(), progress.last_row(db_id))
        self.assertEqual(self.broker.get_max_row(),
                         progress.last_verified_row(db_id))

    def test_failures_are_recorded_and_pointer_moves_on(self):
        names = ['f-%02d' % i for i in range(6)]
        self.put(names)
        verdicts = {names[1]: RETRY, names[2]: FAILED}
        _, progress = self.run_pass(0, replica_count=1,
                                    syncer=FakeSyncer(verdicts))
        db_id = self.broker.get_info()['id']
        self.assertEqual(self.broker.get_max_row(), progress.last_row(db_id))
        self.assertEqual({names[1], names[2]}, set(progress.failures))
        self.assertFalse(progress.failures[names[1]]['permanent'])
        self.assertTrue(progress.failures[names[2]]['permanent'])
        self.assertEqual(2, progress.state['backlog']['rows'])
        # Not due yet: nothing retried.
        syncer = FakeSyncer()
        self.run_pass(0, replica_count=1, syncer=syncer, progress=progress)
        self.assertEqual([], syncer.handled)
        # Due after the backoff: the transient one only, and it clears.
        self.clock[0] += 6
        syncer = FakeSyncer()
        self.run_pass(0, replica_count=1, syncer=syncer, progress=progress)
        self.assertEqual([names[1]], syncer.handled)
        self.assertEqual({names[2]}, set(progress.failures))

    def test_backoff_doubles(self):
        self.put(['b'])
        progress = None
        delays = []
        for _ in range(3):
            _, progress = self.run_pass(0, replica_count=1, progress=progress,
                                        syncer=FakeSyncer({'b': RETRY}))
            delays.append(progress.failures['b']['retry_at'] - self.clock[0])
            self.clock[0] = progress.failures['b']['retry_at']
        self.assertEqual([5, 10, 20], delays)

    def test_pass_over_an_unchanged_db_writes_nothing(self):
        self.put(['w-1', 'w-2'])
        path = os.path.join(self.tmp, 'p0.json')
        self.run_pass(0, replica_count=1)
        self.assertTrue(os.path.exists(path))
        before = os.stat(path)
        self.clock[0] += 60   # time passes; nothing else changes
        _, progress = self.run_pass(0, replica_count=1)
        after = os.stat(path)
        self.assertEqual((before.st_ino, before.st_mtime_ns),
                         (after.st_ino, after.st_mtime_ns))
        self.assertEqual(0, progress.writes)
        # A file read back from disk compares equal too.
        again = ContainerProgress(path, 'pol', 'm')
        self.assertFalse(again.save())

    def test_caught_up_time_is_kept_while_in_sync(self):
        self.put(['s-1'])
        _, progress = self.run_pass(0, replica_count=1)
        caught_up = progress.state['last_success']
        self.assertIsNotNone(caught_up)
        self.clock[0] += 60
        _, progress = self.run_pass(0, replica_count=1, progress=progress)
        self.assertEqual(caught_up, progress.state['last_success'])
        # Behind, then caught up again: a new time.
        self.put(['s-2'])
        self.run_pass(0, replica_count=1, progress=progress,
                      syncer=FakeSyncer({'s-2': RETRY}))
        self.clock[0] += 60
        self.run_pass(0, replica_count=1, progress=progress)
        self.assertEqual(self.clock[0], progress.state['last_success'])

    def test_copy_after_holds_the_pointer(self):
        old = Timestamp(self.clock[0] - 100)
        self.put(['old-1', 'old-2'], ts=old)
        self.put(['new-1'])
        syncer = FakeSyncer()
        _, progress = self.run_pass(0, replica_count=1, syncer=syncer,
                                    mapping=make_mapping(copy_after=50))
        self.assertEqual(['old-1', 'old-2'], sorted(syncer.handled))
        db_id = self.broker.get_info()['id']
        self.assertEqual(2, progress.last_row(db_id))
        self.clock[0] += 60
        syncer = FakeSyncer()
        self.run_pass(0, replica_count=1, syncer=syncer, progress=progress,
                      mapping=make_mapping(copy_after=50))
        self.assertEqual(['new-1'], syncer.handled)


class TestProgressStore(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.store = ProgressStore(self.tmp)
        self.mapping = SimpleNamespace(signature=lambda: 'sig',
                                       policy_hash=lambda: 'p1',
                                       label='containers[0]')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_policy_change_starts_over(self):
        progress = self.store.open(self.mapping, 'AUTH_a', 'c/with slash')
        progress.set_pointer('db1', 'last_row', 42)
        progress.save()
        self.assertEqual(
            42, self.store.open(self.mapping, 'AUTH_a',
                                'c/with slash').last_row('db1'))
        self.mapping.policy_hash = lambda: 'p2'
        self.assertEqual(
            0, self.store.open(self.mapping, 'AUTH_a',
                               'c/with slash').last_row('db1'))

    def test_save_is_atomic_and_leaves_no_temp_files(self):
        progress = self.store.open(self.mapping, 'AUTH_a', 'c')
        progress.set_pointer('db1', 'last_row', 1)
        progress.save()
        directory = os.path.dirname(progress.path)
        self.assertEqual(['c.json'], os.listdir(directory))

    def test_prune_removes_unmapped(self):
        for container in ('keep', 'drop'):
            progress = self.store.open(self.mapping, 'AUTH_a', container)
            progress.save()
        removed = self.store.prune({('sig', 'AUTH_a', 'keep')})
        self.assertEqual([('sig', 'AUTH_a', 'drop')], removed)
        self.assertEqual(['keep'],
                         [e[2] for e in self.store.entries()])
        self.store.prune(set())
        self.assertEqual([], list(self.store.entries()))


class _Logger(object):
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
