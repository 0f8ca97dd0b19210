"""Migration progress in swift-s3-sync-status (text and --json) and in
swift-s3-migrator --status: figures per migration and container, pass
start and finish, failures with reasons, and the estimate of the time
left."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from swift_s3_sync import status
from swift_s3_sync.config import load_config
from swift_s3_sync.migrator import status as migrator_status
from swift_s3_sync.migrator.status import MigrationProgress, ProgressFiles

NOW = 1700000000.0
SECRET = 'st4tus-s3cr3t-value'


class TestEstimate(unittest.TestCase):

    def state(self, sweep, last=None):
        progress = MigrationProgress('/nonexistent/x.json', 'm')
        progress.state['sweep'].update(sweep)
        progress.state['last_sweep'] = last
        return progress.state

    def test_no_sweep_in_progress_no_estimate(self):
        self.assertIsNone(migrator_status.estimate(
            self.state({'started': None}), NOW))

    def test_first_sweep_says_why_it_cannot_tell(self):
        left = migrator_status.estimate(
            self.state({'started': NOW - 60, 'scanned': 500}), NOW)
        self.assertIsNone(left['seconds'])
        self.assertIn('first sweep', left['basis'])

    def test_pace_of_this_sweep_over_the_last_sweeps_size(self):
        state = self.state({'started': NOW - 100, 'scanned': 2000},
                           {'started': 1, 'finished': 2, 'scanned': 10000})
        left = migrator_status.estimate(state, NOW)
        # 8000 names left at 20 names/s.
        self.assertEqual(400.0, left['seconds'])
        self.assertEqual(8000, left['names_left'])
        self.assertIn('the last full sweep listed 10000 names; this one '
                      'has scanned 2000 in 100s', left['basis'])

    def test_first_sweep_of_a_swift_source_goes_by_its_object_count(self):
        state = self.state({'started': NOW - 50, 'scanned': 100,
                            'source_objects': 600})
        left = migrator_status.estimate(state, NOW)
        self.assertEqual((250.0, 500), (left['seconds'], left['names_left']))
        self.assertIn('the source container held 600 objects when this '
                      'sweep started; this one has scanned 100 in 50s',
                      left['basis'])

    def test_nothing_scanned_yet_and_grown_sources(self):
        last = {'started': 1, 'finished': 2, 'scanned': 10}
        left = migrator_status.estimate(
            self.state({'started': NOW, 'scanned': 0}, last), NOW)
        self.assertIsNone(left['seconds'])
        self.assertIn('nothing scanned', left['basis'])
        left = migrator_status.estimate(
            self.state({'started': NOW - 10, 'scanned': 15}, last), NOW)
        self.assertEqual((0, 0), (left['seconds'], left['names_left']))


class StatusCommandTestCase(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        for name in ('swift.conf', 'account.ring.gz', 'container.ring.gz'):
            open(os.path.join(self.tmp, name), 'w').close()
        self.path = os.path.join(self.tmp, 'sync.json')
        self.migrator_dir = os.path.join(self.tmp, 'migrator')

    def write_config(self, migrations=True):
        doc = {'status_dir': os.path.join(self.tmp, 'sync'),
               'swift_dir': self.tmp,
               'containers': [{'account': 'AUTH_a', 'container': 'c',
                               'aws_bucket': 'b', 'aws_identity': 'id',
                               'aws_secret': SECRET}]}
        if migrations:
            doc['migrations'] = [
                {'account': 'AUTH_a', 'aws_bucket': '/*',
                 'aws_endpoint': 'http://s3.example.com',
                 'aws_identity': 'id', 'aws_secret': SECRET},
                {'account': 'AUTH_a', 'aws_bucket': 'old', 'protocol':
                 'swift', 'aws_endpoint': 'http://swift.example.com/auth',
                 'aws_identity': 'u', 'aws_secret': SECRET}]
            doc['migrator_settings'] = {'status_dir': self.migrator_dir}
        with open(self.path, 'w') as f:
            json.dump(doc, f)
        return load_config(self.path)

    def progress(self, config, index, container):
        files = ProgressFiles(config.migrator.status_dir)
        return files.open(config.migrations[index], 'AUTH_a', container)

    def run_status(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err), \
                mock.patch('time.time', return_value=NOW):
            code = status.main(['--config', self.path] + list(args))
        return code, out.getvalue(), err.getvalue()


class TestSyncStatusShowsMigrations(StatusCommandTestCase):

    def make_progress(self, config):
        # alpha: second sweep in progress, one failure being retried.
        alpha = self.progress(config, 0, 'alpha')
        alpha.state['walk'] = {'sweep': 1, 'marker': 'k0999'}
        alpha.sweep_started(NOW - 3000)
        alpha.count('scanned', 1000)
        alpha.count('copied', 3)
        alpha.count('bytes', 3 * 1024 * 1024)
        alpha.count('failed')
        alpha.state['last_sweep'] = {
            'started': NOW - 90000, 'finished': NOW - 7200,
            'scanned': 4000, 'copied': 3990, 'bytes': 5 * 1024 ** 3,
            'deleted': 2, 'failed': 1}
        alpha.state['totals'].update(copied=3993, bytes=5 * 1024 ** 3)
        alpha.record_failure('k0500', '503 SlowDown (get_object)', False,
                             NOW + 30, NOW - 100)
        alpha.save()
        # beta: first sweep, a permanent failure.
        beta = self.progress(config, 0, 'beta')
        beta.sweep_started(NOW - 60)
        beta.count('scanned', 10)
        beta.count('copied', 9)
        beta.count('bytes', 900)
        beta.record_failure('mpu', 'multipart upload (2 parts): the source '
                            'reports no part sizes', True, NOW, NOW)
        beta.save()

    def test_text_per_migration_and_container(self):
        config = self.write_config()
        self.make_progress(config)
        code, out, err = self.run_status()
        self.assertEqual((0, ''), (code, err))
        # The mappings' report comes first, as before.
        self.assertTrue(out.startswith('containers[0] (AUTH_a/c) -> '), out)
        section = out[out.index('\nmigrations ('):]
        self.assertIn(self.migrator_dir, section)
        self.assertIn('migrations[0] (AUTH_a/*) <- s3 '
                      'http://s3.example.com/*', section)
        self.assertIn('AUTH_a/alpha: sweep 2 since ', section)
        self.assertIn('scanned 1000, copied 3 (3.0 MiB), deleted 0, '
                      'failed 1; about 2h30m left (3000 names)', section)
        self.assertIn('last full sweep ', section)
        self.assertIn('(23h00m): scanned 4000, copied 3990 (5.0 GiB), '
                      'deleted 2, failed 1', section)
        self.assertIn('retrying k0500: 503 SlowDown (get_object) '
                      '(1 attempts)', section)
        self.assertIn('AUTH_a/beta: sweep 1 since ', section)
        self.assertIn('time left unknown (first sweep', section)
        self.assertIn('no full sweep yet', section)
        self.assertIn('FAILED mpu: multipart upload (2 parts)', section)
        self.assertIn('or a pass with --retry-permanent', section)
        self.assertIn('migrations[1] (AUTH_a/old) <- swift '
                      'http://swift.example.com/auth/old\n'
                      '  (not started on this node)', section)
        self.assertNotIn(SECRET, out)

    def test_json_entries_after_the_mappings(self):
        config = self.write_config()
        self.make_progress(config)
        code, out, _ = self.run_status('--json')
        self.assertEqual(0, code)
        report = json.loads(out)
        self.assertEqual(['mapping', 'migration', 'migration'],
                         [('mapping' if 'mapping' in e else 'migration')
                          for e in report])
        alpha, beta = report[1]['containers']
        self.assertEqual(('AUTH_a', 'alpha'), (alpha['account'],
                                               alpha['container']))
        self.assertEqual({'started': NOW - 3000, 'number': 2,
                          'scanned': 1000, 'copied': 3,
                          'bytes': 3 * 1024 * 1024, 'deleted': 0,
                          'failed': 1}, alpha['sweep'])
        self.assertEqual(NOW - 7200, alpha['last_sweep']['finished'])
        self.assertEqual(9000.0, alpha['estimated_remaining']['seconds'])
        self.assertEqual(3993, alpha['totals']['copied'])
        self.assertEqual([{'object': 'k0500', 'reason':
                           '503 SlowDown (get_object)', 'permanent': False,
                           'attempts': 1, 'since': NOW - 100,
                           'retry_at': NOW + 30}], alpha['failures'])
        self.assertIsNone(beta['estimated_remaining']['seconds'])
        self.assertTrue(beta['failures'][0]['permanent'])
        self.assertEqual([], report[2]['containers'])
        self.assertNotIn(SECRET, out)

    def test_without_migrations_nothing_changes(self):
        self.write_config(migrations=False)
        code, out, _ = self.run_status()
        self.assertEqual(0, code)
        self.assertNotIn('migrations', out)
        code, out, _ = self.run_status('--json')
        self.assertEqual(1, len(json.loads(out)))

    def test_unreadable_progress_is_named(self):
        config = self.write_config()
        progress = self.progress(config, 0, 'gamma')
        os.makedirs(os.path.dirname(progress.path))
        with open(progress.path, 'w') as f:
            f.write('{"walk": ')
        code, out, _ = self.run_status()
        self.assertEqual(0, code)
        self.assertIn('AUTH_a/gamma: progress file %s:' % progress.path, out)
        with mock.patch.object(ProgressFiles, 'entries',
                               side_effect=PermissionError(13, 'denied')):
            code, out, _ = self.run_status()
        self.assertEqual(0, code)
        self.assertIn('migrator status_dir %s cannot be read: denied'
                      % self.migrator_dir, out)



class TestSourceSizeRecorded(unittest.TestCase):
    """The runner reads a Swift source container's object count once per
    sweep (for the estimate); never for S3 or with a prefix."""

    def run_sweeps(self, protocol, prefix='', count=7):
        import eventlet
        from swift_s3_sync.config import parse_config
        from swift_s3_sync.migrator.copier import CopyOptions
        from swift_s3_sync.migrator.local import LocalStore
        from swift_s3_sync.migrator.runner import ContainerMigration
        from swift_s3_sync.migrator.split import Share, Walks
        from test.unit.test_migrator_copy import FakeSource, FakeSwift, \
            Logger
        entry = {'account': 'AUTH_a', 'aws_bucket': 'b', 'prefix': prefix,
                 'protocol': protocol, 'aws_identity': 'i',
                 'aws_secret': 's'}
        if protocol == 'swift':
            entry['aws_endpoint'] = 'http://h/auth/v1.0'
        migration = parse_config(json.dumps({
            'status_dir': '/s', 'migrations': [entry]})).migrations[0]
        source = FakeSource()
        source.add('x')
        asked = []

        def object_count(container):
            asked.append(container)
            return count
        source.object_count = object_count
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        progress = MigrationProgress(os.path.join(tmp, 'p.json'), 'm')
        runner = ContainerMigration(
            migration, source, LocalStore(FakeSwift()), 'b', Share([0], 1),
            Walks(progress.state, 60, 0), progress, eventlet.GreenPool(2),
            Logger(), clock=lambda: NOW,
            copy_options=CopyOptions(swift_source=protocol == 'swift'))
        self.assertTrue(runner.step())   # one sweep, one page
        return asked, progress.state['last_sweep']

    def test_swift_source_once_per_sweep(self):
        asked, last = self.run_sweeps('swift')
        self.assertEqual(['b'], asked)
        self.assertEqual(7, last['source_objects'])

    def test_not_for_s3_nor_with_a_prefix(self):
        self.assertEqual([], self.run_sweeps('s3')[0])
        asked, last = self.run_sweeps('swift', prefix='x')
        self.assertEqual([], asked)
        self.assertNotIn('source_objects', last)


if __name__ == '__main__':
    unittest.main()
