"""The daemon's command line: config errors name the key and exit non-zero."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

from swift_s3_sync import daemon, status


class TestCommandLine(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, 'sync.json')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_main(self, main, text, *extra):
        with open(self.path, 'w') as f:
            f.write(text)
        err = io.StringIO()
        out = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(['--config', self.path] + list(extra))
        return code, out.getvalue(), err.getvalue()

    def test_json_error_has_line_and_column(self):
        code, _, err = self.run_main(daemon.main, '{\n  "status_dir": 1,,\n}')
        self.assertEqual(2, code)
        self.assertIn('line 2', err)

    def test_bad_mapping_is_named_and_secret_kept(self):
        config = {'status_dir': self.tmp, 'containers': [{
            'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b',
            'aws_identity': 'id', 'aws_secret': 's3cr3t-value',
            'copy_after': 'soon'}]}
        code, _, err = self.run_main(daemon.main, json.dumps(config))
        self.assertEqual(2, code)
        self.assertIn('containers[0]', err)
        self.assertIn('copy_after', err)
        self.assertNotIn('s3cr3t-value', err)

    def test_status_without_progress_says_so(self):
        for name in ('swift.conf', 'account.ring.gz', 'container.ring.gz'):
            open(os.path.join(self.tmp, name), 'w').close()
        config = {'status_dir': self.tmp, 'swift_dir': self.tmp,
                  'containers': [{
            'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b',
            'aws_identity': 'id', 'aws_secret': 's3cr3t-value'}]}
        code, out, _ = self.run_main(status.main, json.dumps(config))
        self.assertEqual(0, code)
        self.assertIn('containers[0] (AUTH_a/c)', out)
        self.assertIn('has been crawled yet', out)
        self.assertNotIn('s3cr3t-value', out)
        code, out, _ = self.run_main(status.main, json.dumps(config),
                                     '--json')
        self.assertEqual([], json.loads(out)[0]['containers'])


class TestGreen(unittest.TestCase):
    """In a process of its own: patching is for the whole process."""

    def run_green(self, code):
        import subprocess
        import sys
        env = dict(os.environ)
        env.pop('EVENTLET_NO_GREENDNS', None)
        return subprocess.run(
            [sys.executable, '-W', 'ignore', '-c',
             'from swift_s3_sync.green import green\ngreen()\n' + code],
            capture_output=True, text=True, env=env, check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__))))).stdout.split()

    def test_names_resolved_in_threads_without_greendns(self):
        out = self.run_green(
            'import socket, sys, eventlet.patcher\n'
            'print(eventlet.patcher.is_monkey_patched("socket"))\n'
            'print("eventlet.support.greendns" in sys.modules)\n'
            'print(socket.getaddrinfo.__module__)\n'
            'print(socket.getaddrinfo("localhost", 80)[0][4][1])\n')
        self.assertEqual(['True', 'False', 'swift_s3_sync.green', '80'], out)

    def test_twice_is_once(self):
        out = self.run_green('import socket\nfirst = socket.getaddrinfo\n'
                             'green()\nprint(socket.getaddrinfo is first)\n')
        self.assertEqual(['True'], out)
