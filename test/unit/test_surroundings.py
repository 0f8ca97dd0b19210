"""Broken surroundings give one clear line: swift_dir (swift.conf, rings),
devices, status_dir, internal_client_conf_path, progress files; for the
daemon, the status command and cloud-shunt.  Nothing loses progress and
other containers go on."""
import contextlib
import errno
import io
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from swift.common import utils

from swift_s3_sync import daemon, status, surroundings
from swift_s3_sync.crawler.progress import ContainerProgress
from swift_s3_sync.mapping_table import MappingTable, every_mapping
from test.unit.test_idle_pass import DaemonTestCase

SWIFT_CONF = ('[swift-hash]\nswift_hash_path_suffix = unit\n'
              '[storage-policy:0]\nname = gold\ndefault = yes\n')


def mapping():
    return {'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b',
            'aws_identity': 'id', 'aws_secret': 's3cr3t-value'}


class Lines(object):
    def __init__(self):
        self.lines = []

    def __getattr__(self, level):
        return lambda msg, *args: self.lines.append(
            (level, msg % args if args else msg))


class TestStartUp(unittest.TestCase):
    """``swift-s3-sync`` and ``swift-s3-sync-status`` with a broken node."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.swift_dir = os.path.join(self.tmp, 'swift')
        os.makedirs(self.swift_dir)
        self.devices = os.path.join(self.tmp, 'node')
        os.makedirs(self.devices)
        self.status_dir = os.path.join(self.tmp, 'status')
        self.path = os.path.join(self.tmp, 'sync.json')
        saved = (utils.SWIFT_CONF_FILE, utils.HASH_PATH_PREFIX,
                 utils.HASH_PATH_SUFFIX)
        self.addCleanup(self._restore_swift, saved)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    @staticmethod
    def _restore_swift(saved):
        (utils.SWIFT_CONF_FILE, utils.HASH_PATH_PREFIX,
         utils.HASH_PATH_SUFFIX) = saved

    def write(self, name, text):
        with open(os.path.join(self.swift_dir, name), 'w') as f:
            f.write(text)

    def whole_swift_dir(self):
        self.write('swift.conf', SWIFT_CONF)
        for ring in ('account', 'container', 'object'):
            self.write(ring + '.ring.gz', 'not read before the check')

    def run_main(self, main, **settings):
        config = {'swift_dir': self.swift_dir, 'devices': self.devices,
                  'status_dir': self.status_dir, 'containers': [mapping()]}
        config.update(settings)
        with open(self.path, 'w') as f:
            json.dump(config, f)
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(['--config', self.path, '--once'] if
                        main is daemon.main else ['--config', self.path])
        return code, out.getvalue(), err.getvalue()

    def assert_one_line(self, err, *words):
        self.assertEqual(1, err.count('\n'), err)
        self.assertNotIn('Traceback', err)
        self.assertNotIn('s3cr3t-value', err)
        for word in words:
            self.assertIn(word, err)

    def test_swift_dir_without_swift_conf(self):
        code, _, err = self.run_main(daemon.main)
        self.assertEqual(2, code)
        self.assert_one_line(err, 'swift_dir', self.swift_dir + '/swift.conf',
                             'not found')

    def test_missing_swift_dir(self):
        code, _, err = self.run_main(daemon.main,
                                     swift_dir=self.tmp + '/nowhere')
        self.assertEqual(2, code)
        self.assert_one_line(err, 'swift_dir', '/nowhere',
                             'no such directory')

    def test_swift_dir_without_container_ring(self):
        self.whole_swift_dir()
        os.unlink(os.path.join(self.swift_dir, 'container.ring.gz'))
        code, _, err = self.run_main(daemon.main)
        self.assertEqual(2, code)
        self.assert_one_line(err, 'swift_dir', 'container.ring.gz')

    def test_swift_conf_without_hash_settings(self):
        self.whole_swift_dir()
        self.write('swift.conf', '[swift-hash]\n')
        code, _, err = self.run_main(daemon.main)
        self.assertEqual(2, code)
        self.assert_one_line(err, 'swift_dir', 'swift.conf',
                             'swift_hash_path_suffix')

    def test_missing_object_ring_of_a_policy(self):
        self.whole_swift_dir()
        os.unlink(os.path.join(self.swift_dir, 'object.ring.gz'))
        code, _, err = self.run_main(daemon.main)
        self.assertEqual(2, code)
        self.assert_one_line(err, 'swift_dir', 'object.ring.gz')

    def test_corrupted_container_ring(self):
        self.whole_swift_dir()
        code, _, err = self.run_main(daemon.main)
        self.assertEqual(2, code)
        self.assert_one_line(err, 'swift_dir', 'container.ring.gz',
                             'cannot be loaded')

    def test_missing_devices(self):
        self.whole_swift_dir()
        with mock.patch.object(surroundings, 'check_container_ring'):
            code, _, err = self.run_main(daemon.main,
                                         devices=self.tmp + '/nodes')
        self.assertEqual(2, code)
        self.assert_one_line(err, 'devices', '/nodes')

    def test_status_dir_that_cannot_be_a_directory(self):
        self.whole_swift_dir()
        with open(self.status_dir, 'w'):
            pass
        with mock.patch.object(surroundings, 'check_container_ring'):
            code, _, err = self.run_main(daemon.main)
        self.assertEqual(2, code)
        self.assert_one_line(err, 'status_dir', self.status_dir)

    def test_missing_internal_client_conf(self):
        self.whole_swift_dir()
        with mock.patch.object(surroundings, 'check_container_ring'):
            code, _, err = self.run_main(
                daemon.main, internal_client_conf_path=self.tmp + '/ic.conf')
        self.assertEqual(2, code)
        self.assert_one_line(err, 'internal_client_conf_path', '/ic.conf')

    def test_missing_tls_bundle_named_by_the_environment(self):
        self.whole_swift_dir()
        missing = self.tmp + '/ca.pem'
        with mock.patch.object(surroundings, 'check_container_ring'), \
                mock.patch.dict(os.environ, {'AWS_CA_BUNDLE': missing}):
            code, _, err = self.run_main(daemon.main)
        self.assertEqual(2, code)
        self.assert_one_line(err, 'AWS_CA_BUNDLE', missing, 'not found')

    def test_status_warns_that_the_daemon_cannot_start(self):
        code, out, err = self.run_main(status.main)
        self.assertEqual(1, code)
        self.assertIn('containers[0] (AUTH_a/c)', out)
        self.assert_one_line(err, 'warning', 'swift_dir', 'swift.conf',
                             'cannot start')

    def test_status_with_a_whole_swift_dir_is_quiet(self):
        self.whole_swift_dir()
        code, _, err = self.run_main(status.main)
        self.assertEqual((0, ''), (code, err))

    def test_status_shows_a_corrupted_progress_file(self):
        self.whole_swift_dir()
        self.run_main(status.main)   # writes the config
        from swift_s3_sync.config import load_config
        config = load_config(self.path)
        directory = os.path.join(self.status_dir,
                                 config.mappings[0].signature(), 'AUTH_a')
        os.makedirs(directory)
        with open(os.path.join(directory, 'c.json'), 'w') as f:
            f.write('{"dbs": {"x": {"last_')
        code, out, err = self.run_main(status.main)
        self.assertEqual((0, ''), (code, err))
        self.assertIn('AUTH_a/c: progress file', out)
        self.assertIn('corrupted', out)


class TestShunt(unittest.TestCase):
    """cloud-shunt reads only the mappings of the sync config: its proxy
    has its own swift.conf and rings."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, 'sync.json')
        self.logger = Lines()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_swift_dir_of_the_sync_config_is_not_read(self):
        with open(self.path, 'w') as f:
            json.dump({'swift_dir': self.tmp + '/no-swift-here',
                       'status_dir': self.tmp,
                       'containers': [mapping()]}, f)
        table = MappingTable(self.path, self.logger, wanted=every_mapping)
        self.assertIsNotNone(table.lookup('AUTH_a', 'c'))
        self.assertEqual([], [line for line in self.logger.lines
                              if line[0] != 'info'])

    def test_missing_sync_config_is_one_line(self):
        MappingTable(self.path, self.logger)
        self.assertEqual(1, len(self.logger.lines))
        level, line = self.logger.lines[0]
        self.assertEqual('error', level)
        self.assertIn(self.path, line)
        self.assertIn('cannot read', line)


class TestProgressFiles(DaemonTestCase):
    """Progress files that are wrong: one line each, the file is not lost,
    the other containers go on."""

    def progress_path(self, name):
        return next(p for p in self.progress_files()
                    if p.endswith('/%s.json' % name))

    def test_corrupted_file_is_one_warning_and_starts_over(self):
        self.put('c-1', 'obj')
        handled = []
        self.run_pass(handled)
        with open(self.progress_path('c-1'), 'w') as f:
            f.write('{"policy": "truncat')
        self.run_pass(handled)
        self.assertEqual(['obj', 'obj'], handled)
        warnings = self.logger.text('warning').splitlines()
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('c-1.json is corrupted', warnings[0])
        self.assertIn('starts over', warnings[0])
        with open(self.progress_path('c-1')) as f:
            json.load(f)   # replaced by a good one

    def test_valid_json_that_is_no_progress_record_starts_over(self):
        self.put('c-1', 'obj')
        handled = []
        self.run_pass(handled)
        path = self.progress_path('c-1')
        with open(path) as f:
            state = json.load(f)
        state['failures'] = {'obj': 1}
        with open(path, 'w') as f:
            json.dump(state, f)
        self.run_pass(handled)
        self.assertEqual(['obj', 'obj'], handled)
        self.assertIn('not a progress record', self.logger.text('warning'))
        self.assertNotIn('Traceback', self.logger.text())

    def test_unreadable_file_is_one_error_and_left_alone(self):
        self.put('c-1', 'obj')
        self.put('c-2', 'other')
        self.run_pass()
        path = self.progress_path('c-1')
        os.unlink(path)
        os.mkdir(path)   # cannot be read as a file, even by root
        self.put('c-2', 'more')
        handled = []
        self.run_pass(handled)
        self.assertEqual(['more'], handled)   # c-2 went on
        errors = self.logger.text('error').splitlines()
        self.assertEqual(1, len(errors), errors)
        self.assertIn('c-1 skipped this pass', errors[0])
        self.assertIn('cannot be read', errors[0])
        self.assertTrue(os.path.isdir(path))   # not replaced

    def test_unwritable_progress_is_one_line_and_others_go_on(self):
        self.put('c-1', 'a')
        self.put('c-3', 'b')
        real_replace = ContainerProgress._replace

        def read_only_for_c1(progress, text):
            if progress.path.endswith('/c-1.json'):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))
            return real_replace(progress, text)
        handled = []
        with mock.patch.object(ContainerProgress, '_replace',
                               read_only_for_c1):
            self.run_pass(handled)
        self.assertEqual(['a', 'b'], sorted(handled))
        errors = self.logger.text('error').splitlines()
        self.assertEqual(1, len(errors), errors)
        self.assertIn('c-1 skipped this pass', errors[0])
        self.assertIn('not saved: Read-only file system', errors[0])
        self.assertNotIn('Traceback', self.logger.text())
        # c-3 was saved; c-1's row is handled again once it can be.
        handled = []
        self.run_pass(handled)
        self.assertEqual(['a'], handled)

    def test_reload_onto_a_broken_swift_dir_keeps_the_old_config(self):
        broken = {'status_dir': self.status_dir, 'devices': self.devices,
                  'swift_dir': self.tmp + '/gone', 'containers': []}
        path = os.path.join(self.tmp, 'sync.json')
        with open(path, 'w') as f:
            json.dump(broken, f)
        self.daemon.config_path = path
        old = self.daemon.config
        self.daemon.reload_requested = True
        self.daemon.maybe_reload()
        self.assertIs(old, self.daemon.config)
        errors = self.logger.text('error').splitlines()
        self.assertEqual(1, len(errors), errors)
        self.assertIn('config not reloaded', errors[0])
        self.assertIn("swift_dir '%s/gone'" % self.tmp, errors[0])

    def test_many_problems_are_counted_not_listed(self):
        self.run_pass()
        for name in self.names:
            path = self.progress_path(name)
            os.unlink(path)
            os.mkdir(path)
        with mock.patch.object(daemon, 'PROBLEMS_LOGGED', 2):
            self.run_pass()
        errors = self.logger.text('error').splitlines()
        self.assertEqual(3, len(errors), errors)
        self.assertIn('1 more containers skipped', errors[-1])


if __name__ == '__main__':
    unittest.main()
