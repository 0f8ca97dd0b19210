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
'''


class TestConfigChecks(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='proxymc-server-')
        self.addCleanup(shutil.rmtree, self.tmp)

    def write(self, text):
        path = os.path.join(self.tmp, 'proxymc.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_good_config(self):
        path = self.write(GOOD % {'user': getpass.getuser()})
        self.assertIsNone(server._config_problem(path))

    def test_unknown_user_names_the_option_and_file(self):
        path = self.write(GOOD % {'user': 'no-such-user-here'})
        problem = server._config_problem(path)
        self.assertIn("'no-such-user-here'", problem)
        self.assertIn('"user" option', problem)
        self.assertIn(path, problem)

    def test_missing_app_section(self):
        path = self.write('[DEFAULT]\nbind_port = 1\n')
        self.assertIn('[app:proxymc]', server._config_problem(path))

    def test_cli_exits_with_the_reason(self):
        path = self.write(GOOD % {'user': 'no-such-user-here'})
        with self.assertRaises(SystemExit) as caught:
            server.main(['--config', path, '--test-config'])
        self.assertEqual(1, caught.exception.code)


if __name__ == '__main__':
    unittest.main()
