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
