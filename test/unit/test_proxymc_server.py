"""``proxymc --config``: the checks made before Swift's server starts."""
import getpass
import os
import shutil
import tempfile
import unittest

from proxymc import server

GOOD = '''[DEFAULT]
bind_port = 8085
user = %(user)s

[pipeline:main]
pipeline = proxymc

[app:proxymc]
use = egg:swift-s3-sync#proxymc
conf_file = sync.json
token_secret = %(secret)s
spool_dir = %(spool)s
'''
SECRET = '9c1d4e7f2a5b8c0d3e6f9a1b4c7d0e2f5a8b1c3d6e9f0a2b5c8d1e4f7a0b3c6d'


class TestConfigChecks(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='proxymc-server-')
        self.addCleanup(shutil.rmtree, self.tmp)

    def write(self, text=None, user=None, secret=SECRET, spool=None):
        if text is None:
            text = GOOD % {'user': user or getpass.getuser(),
                           'secret': secret,
                           'spool': spool or os.path.join(self.tmp, 'spool')}
        path = os.path.join(self.tmp, 'proxymc.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_good_config(self):
        path = self.write()
        self.assertIsNone(server._config_problem(path))

    def test_unknown_user_names_the_option_and_file(self):
        path = self.write(user='no-such-user-here')
        problem = server._config_problem(path)
        self.assertIn("'no-such-user-here'", problem)
        self.assertIn('"user" option', problem)
        self.assertIn(path, problem)

    def test_missing_app_section(self):
        path = self.write('[DEFAULT]\nbind_port = 1\n')
        self.assertIn('[app:proxymc]', server._config_problem(path))

    def test_token_secret_missing_or_weak_is_one_line(self):
        for secret, why in (('', 'token_secret is required'),
                            ('ab' * 32, 'token_secret is not random'),
                            ('abcd', 'token_secret holds 2 bytes')):
            path = self.write(secret=secret)
            problem = server._config_problem(path)
            self.assertTrue(problem.startswith(why), problem)
            self.assertIn(path, problem)
            self.assertNotIn('\n', problem)
            if secret:
                self.assertNotIn(secret, problem)
        with self.assertRaises(SystemExit) as caught:
            server.main(['--config', path, '--test-config'])
        self.assertEqual(1, caught.exception.code)

    def test_spool_dir_is_created_or_refused(self):
        spool = os.path.join(self.tmp, 'new', 'spool')
        self.assertIsNone(server._config_problem(self.write(spool=spool)))
        self.assertTrue(os.path.isdir(spool))
        blocker = os.path.join(self.tmp, 'a-file')
        open(blocker, 'w').close()
        problem = server._config_problem(self.write(
            spool=os.path.join(blocker, 'spool')))
        self.assertTrue(problem.startswith('spool_dir %s/spool cannot be '
                                           'created' % blocker), problem)

    def test_cli_exits_with_the_reason(self):
        path = self.write(user='no-such-user-here')
        with self.assertRaises(SystemExit) as caught:
            server.main(['--config', path, '--test-config'])
        self.assertEqual(1, caught.exception.code)


if __name__ == '__main__':
    unittest.main()
