"""Standing still costs nothing: a pass over container DBs that did not
change writes no progress file and opens no DB; any change is still seen.

A real Daemon over real (sqlite) container DBs under a one-device ring, with
a fake local Swift and a fake remote.
"""
import json
import os
import shutil
import tempfile
import time
import unittest
from unittest import mock

from swift.common import utils
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker

from swift_s3_sync import daemon
from swift_s3_sync.config import parse_config
from swift_s3_sync.container_pass import ContainerPass
from swift_s3_sync.crawler import idle
from swift_s3_sync.sync import DONE, RETRY, Outcome

ACCOUNT = 'AUTH_idle'


class OneDeviceRing(object):
    """Every container on device sdb1 of 127.0.0.1:6001, three times (so
    this node is replica 0 of 3 and owns a third of the rows)."""
    devs = [{'ip': '127.0.0.1', 'port': 6001, 'device': 'sdb1'}]

    def get_nodes(self, account, container):
        return 7, self.devs * 3


class FakeLocal(object):
    def __init__(self, names):
        self.names = names

    def iter_containers(self, account):
        return iter(self.names)


class FakeProvider(object):
    def list(self, *args, **kwargs):
        return iter([])

    def close(self):
        pass


class Logger(object):
    """Swift's logger as the daemon uses it; keeps the lines."""

    def __init__(self):
        self.lines = []
        self.logger = self

    def _log(self, level):
        return lambda msg, *args, **kw: self.lines.append(
            (level, msg % args if args else msg))

    def __getattr__(self, name):
        if name in ('info', 'warning', 'error', 'exception', 'debug'):
            return self._log(name)
        raise AttributeError(name)

    def update_stats(self, *args):
        pass

    def text(self, level=None):
        return '\n'.join(line for lvl, line in self.lines
                         if level is None or lvl == level)


class DaemonTestCase(unittest.TestCase):
    """A temp dir with devices, status_dir and a per-account "/*" mapping
    over ``names``; DB files count as quiet at once."""
    names = ('c-1', 'c-2', 'c-3')

    def setUp(self):
        self.saved = (utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX)
        utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX = b'', b'idle'
        self.tmp = tempfile.mkdtemp()
        self.devices = os.path.join(self.tmp, 'node')
        os.makedirs(os.path.join(self.devices, 'sdb1'))
        self.status_dir = os.path.join(self.tmp, 'status')
        self.brokers = {name: self.make_db(name) for name in self.names}
        quiet = mock.patch.object(idle, 'QUIET_SECONDS', 0)
        quiet.start()
        self.addCleanup(quiet.stop)
        self.logger = Logger()
        self.daemon = self.make_daemon()

    def tearDown(self):
        utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX = self.saved
        shutil.rmtree(self.tmp, ignore_errors=True)

    def make_db(self, name):
        chash = utils.hash_path(ACCOUNT, name)
        path = os.path.join(
            self.devices, 'sdb1',
            utils.storage_directory('containers', 7, chash), chash + '.db')
        broker = ContainerBroker(path, account=ACCOUNT, container=name)
        broker.initialize(Timestamp.now().internal, 0)
        return broker

    def config(self, **extra):
        values = {'status_dir': self.status_dir, 'devices': self.devices,
                  'swift_bind_ip': '127.0.0.1', 'verification_slack': 0,
                  'containers': [{
                      'account': ACCOUNT, 'container': '/*',
                      'aws_bucket': 'b', 'aws_identity': 'id',
                      'aws_secret': 'secret',
                      'aws_endpoint': 'http://127.0.0.1:1'}]}
        values.update(extra)
        return parse_config(json.dumps(values))

    def make_daemon(self, **extra):
        config = self.config(**extra)
        made = daemon.Daemon('sync.json', config, self.logger,
                             local=FakeLocal(list(self.names)),
                             ring=OneDeviceRing())
        made.providers[config.mappings[0].signature()] = FakeProvider()
        return made

    def progress_files(self):
        """{path: (inode, mtime_ns)} of every progress file."""
        found = {}
        for root, _, files in os.walk(self.status_dir):
            for name in files:
                st = os.stat(os.path.join(root, name))
                found[os.path.join(root, name)] = (st.st_ino, st.st_mtime_ns)
        return found

    def put(self, name, obj, ts=None):
        self.brokers[name].put_object(obj, (ts or Timestamp.now()).internal,
                                      1, 'text/plain', 'etag')

    def run_pass(self, handled=None, verdict=DONE):
        """One pass; returns the number of ContainerPass.run calls, and
        appends each row name handled to ``handled``."""
        runs = []
        real_run = ContainerPass.run

        def run(job, replica):
            runs.append(replica.container)

            def handle(row, hint):
                if handled is not None:
                    handled.append(row['name'])
                return Outcome(verdict, 'put', 'why')
            job.syncer = mock.Mock(handle=handle)
            return real_run(job, replica)
        with mock.patch.object(ContainerPass, 'run', run):
            self.daemon.run_once()
        return len(runs)


class TestIdlePass(DaemonTestCase):

    def test_idle_pass_writes_nothing_and_opens_no_db(self):
        self.assertEqual(3, self.run_pass())
        before = self.progress_files()
        self.assertEqual(3, len(before))
        with mock.patch.object(ContainerBroker, 'get',
                               side_effect=AssertionError('DB opened')):
            self.assertEqual(0, self.run_pass())
        self.assertEqual(before, self.progress_files())
        self.assertIn('3 containers unchanged, 0 progress writes',
                      self.logger.text('info'))

    def test_new_row_is_seen_after_idle_passes(self):
        self.run_pass()
        self.run_pass()
        self.put('c-2', 'fresh')
        handled = []
        self.assertEqual(1, self.run_pass(handled))
        self.assertEqual(['fresh'], handled)
        # Reading the row merged it from .pending into the DB file after
        # the look: one more look, then idle again; handled once.
        self.run_pass(handled)
        self.assertEqual(0, self.run_pass(handled))
        self.assertEqual(['fresh'], handled)

    def test_row_held_by_copy_after_waits_without_looking(self):
        # Until the held row is old enough, nothing can be due: the DB is
        # not opened and nothing written; then the row goes.
        self.daemon = self.make_daemon(containers=[dict(
            self.config().mappings[0].redacted(), aws_secret='secret',
            copy_after=1)])
        handled = []
        self.put('c-1', 'young')
        self.run_pass(handled)
        self.run_pass(handled)
        before = self.progress_files()
        self.assertEqual(0, self.run_pass(handled))
        self.assertEqual(before, self.progress_files())
        self.assertEqual([], handled)
        time.sleep(1.1)
        self.assertEqual(1, self.run_pass(handled))
        self.assertEqual(['young'], handled)

    def test_a_pass_that_changes_nothing_writes_nothing(self):
        # A DB that cannot be skipped (here: never trusted) is looked at
        # every pass; while nothing changes, nothing is written.
        with mock.patch.object(idle, 'trustworthy', return_value=False):
            self.run_pass()
            before = self.progress_files()
            self.assertEqual(3, self.run_pass())
            self.assertEqual(3, self.run_pass())
        self.assertEqual(before, self.progress_files())

    def test_failure_due_for_retry_is_retried(self):
        self.daemon = self.make_daemon(retry_initial_delay=0.01,
                                       retry_max_delay=0.01)
        self.put('c-3', 'flaky')
        handled = []
        self.run_pass(handled, verdict=RETRY)
        self.run_pass(handled, verdict=RETRY)
        count = handled.count('flaky')
        time.sleep(0.05)
        self.assertEqual(1, self.run_pass(handled))
        self.assertEqual(count + 1, handled.count('flaky'))

    def test_container_metadata_change_is_seen(self):
        self.run_pass()
        self.brokers['c-1'].update_metadata(
            {'X-Container-Meta-Color': ('blue', Timestamp.now().internal)})
        self.assertEqual(1, self.run_pass())

    def test_changed_mapping_setting_makes_one_full_pass(self):
        self.run_pass()
        self.run_pass()
        # Not a policy key: progress is kept, yet the pass must look.
        mapping = dict(self.config().mappings[0].redacted(),
                       aws_secret='secret', storage_class='STANDARD_IA')
        self.daemon = self.make_daemon(containers=[mapping])
        self.assertEqual(3, self.run_pass())
        self.assertEqual(0, self.run_pass())

    def test_recently_written_db_is_checked_again(self):
        self.run_pass()
        with mock.patch.object(idle, 'QUIET_SECONDS', 3600):
            self.put('c-1', 'x')
            self.run_pass()
            # Written within QUIET_SECONDS of the look: not trusted.
            self.assertEqual(1, self.run_pass())

    def test_deleted_progress_file_starts_over(self):
        self.put('c-1', 'obj')
        handled = []
        self.run_pass(handled)
        self.run_pass(handled)
        for path in self.progress_files():
            if path.endswith('c-1.json'):
                os.unlink(path)
        self.run_pass(handled)
        self.assertEqual(2, handled.count('obj'))


class TestIdleLook(unittest.TestCase):

    def test_missing_db_file_is_not_trusted(self):
        seen = ['/x.db', 0, 3, None, None, 'settings']
        self.assertFalse(idle.trustworthy(seen, time.time()))

    def test_quiet_files_are_trusted(self):
        now = time.time()
        old = int((now - 60) * 1e9)
        self.assertTrue(idle.trustworthy(
            ['/x.db', 0, 3, [1, 2, old], None, 's'], now))
        self.assertFalse(idle.trustworthy(
            ['/x.db', 0, 3, [1, 2, old], [3, 4, int(now * 1e9)], 's'], now))


if __name__ == '__main__':
    unittest.main()
