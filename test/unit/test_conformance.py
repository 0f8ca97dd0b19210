"""The conformance runner's pure parts: configs, comparison, log reading,
and the pytest plugin's outcome recording and container detection."""
import configparser
import os
import tempfile
import unittest
from collections import namedtuple

from localworld import conformance, conformance_plugin

WORLD_PROXY_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = 8080
workers = 0

[pipeline:main]
pipeline = catch_errors cache tempauth slo dlo symlink cloud-shunt \
proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = secret .admin

[filter:cloud-shunt]
use = egg:swift-s3-sync#cloud-shunt
conf_file = /world/shunt/sync.json
"""


class TestProxyConf(unittest.TestCase):

    def setUp(self):
        fd, self.path = tempfile.mkstemp()
        with os.fdopen(fd, 'w') as f:
            f.write(WORLD_PROXY_CONF)
        self.world = {'source': {'proxy_conf': self.path}}

    def tearDown(self):
        os.unlink(self.path)

    def test_without_shunt(self):
        conf = conformance.proxy_conf(self.world, 'plain', 8180)
        words = conf.get('pipeline:main', 'pipeline').split()
        self.assertNotIn('cloud-shunt', words)
        self.assertEqual(words[-2:], ['proxy-logging', 'proxy-server'])
        self.assertFalse(conf.has_section('filter:cloud-shunt'))
        self.assertEqual(conf.get('DEFAULT', 'bind_port'), '8180')

    def test_with_shunt_where_the_world_puts_it(self):
        conf = conformance.proxy_conf(self.world, 'merged', 8182,
                                      '/x/sync.json')
        words = conf.get('pipeline:main', 'pipeline').split()
        self.assertEqual(words[-4:], ['symlink', 'cloud-shunt',
                                      'proxy-logging', 'proxy-server'])
        self.assertEqual(words.count('cloud-shunt'), 1)
        self.assertEqual(conf.get('filter:cloud-shunt', 'conf_file'),
                         '/x/sync.json')

    def test_own_users_only(self):
        conf = conformance.proxy_conf(self.world, 'plain', 8180)
        users = {k for k in conf['filter:tempauth'] if k.startswith('user_')}
        self.assertEqual(users, set(conformance.tempauth_lines()))
        self.assertEqual(conf.get('filter:tempauth', 'user_functest_tester3'),
                         'testing3')

    def test_func_conf_points_at_the_run_proxy(self):
        parser = configparser.RawConfigParser()
        parser.read_string(conformance.func_conf(8183))
        conf = dict(parser['func_test'])
        self.assertEqual(conf['auth_uri'], 'http://127.0.0.1:8183/auth/v1.0')
        self.assertEqual((conf['account'], conf['account2']),
                         ('functest', 'functest2'))
        self.assertEqual(conf['s3_access_key3'], 'functest:tester3')


class TestComparison(unittest.TestCase):

    def results(self, **outcomes):
        return {name: {'outcomes': o} for name, o in outcomes.items()}

    def test_differences_against_plain(self):
        results = self.results(
            plain={'a': 'passed', 'b': 'skipped'},
            shunt={'a': 'passed', 'b': 'skipped'},
            merged={'a': 'failed', 'c': 'passed'})
        diffs = conformance.differences(results)
        self.assertEqual(diffs['shunt'], [])
        self.assertEqual(diffs['merged'], [('a', 'passed', 'failed'),
                                           ('b', 'skipped', 'absent'),
                                           ('c', 'absent', 'passed')])
        self.assertFalse(conformance.identical(results))

    def test_merged_full_does_not_count(self):
        results = self.results(plain={'a': 'passed'}, shunt={'a': 'passed'},
                               merged={'a': 'passed'},
                               **{'merged-full': {'a': 'failed'}})
        self.assertTrue(conformance.identical(results))

    def test_counts(self):
        self.assertEqual(dict(conformance.counts(
            {'a': 'passed', 'b': 'xfailed', 'c': 'error', 'd': 'failed'})),
            {'passed': 1, 'failed': 1, 'skipped': 1, 'error': 1})


class TestLogProblems(unittest.TestCase):

    def test_one_entry_per_exception_and_place(self):
        frame = ('  File "/v/lib/python3.11/site-packages/swift/common/'
                 'middleware/symlink.py", line 364, in _process_json_resp'
                 '#012  File "/usr/lib/python3.11/json/decoder.py", line 340,'
                 ' in decode')
        line = ('proxy: Error: An error occurred: #012Traceback (most recent '
                'call last):#012%s#012json.decoder.JSONDecodeError: Extra '
                'data: line 1 column 2 (char 1) (txn: tx%s)\n')
        fd, path = tempfile.mkstemp()
        with os.fdopen(fd, 'w') as f:
            f.write(line % (frame, 'one'))
            f.write('proxy: 127.0.0.1 GET /v1/AUTH_x 200\n')
            f.write(line % (frame, 'two'))
        try:
            problems = conformance.log_problems(path)
        finally:
            os.unlink(path)
        self.assertEqual(list(problems.items()), [(
            ('json.decoder.JSONDecodeError: Extra data: line 1 column 2 '
             '(char 1)',
             'swift/common/middleware/symlink.py:364 in _process_json_resp'),
            [2, 'txone'])])


Report = namedtuple('Report', 'nodeid when outcome passed failed skipped')


def report(when, outcome, nodeid='t'):
    return Report(nodeid, when, outcome, outcome == 'passed',
                  outcome == 'failed', outcome == 'skipped')


class TestPluginOutcomes(unittest.TestCase):

    def setUp(self):
        conformance_plugin._outcomes.clear()

    def outcome(self, *reports):
        for r in reports:
            conformance_plugin.pytest_runtest_logreport(r)
        return conformance_plugin._outcomes['t']

    def test_plain(self):
        self.assertEqual(self.outcome(
            report('setup', 'passed'), report('call', 'passed'),
            report('teardown', 'passed')), 'passed')

    def test_skipped_in_setup(self):
        self.assertEqual(self.outcome(report('setup', 'skipped'),
                                      report('teardown', 'passed')),
                         'skipped')

    def test_failed_subtest_wins_over_passing_test(self):
        self.assertEqual(self.outcome(
            report('setup', 'passed'), report('call', 'failed'),
            report('call', 'passed')), 'failed')

    def test_skipped_subtest_of_passing_test(self):
        self.assertEqual(self.outcome(
            report('setup', 'passed'), report('call', 'skipped'),
            report('call', 'passed')), 'passed')

    def test_teardown_error(self):
        self.assertEqual(self.outcome(
            report('setup', 'passed'), report('call', 'passed'),
            report('teardown', 'failed')), 'error')


class Conn(object):
    def __init__(self, port):
        self.port = port


class TestSeederSeesContainerCreation(unittest.TestCase):

    def setUp(self):
        self.seeder = object.__new__(conformance_plugin.Seeder)
        self.seeder.port = 8183
        self.seeder.s3_account = 'AUTH_functest'

    def created(self, method, url, status, port=8183):
        return self.seeder.container_created(Conn(port), method, url, status)

    def test_swift_container_put(self):
        self.assertEqual(self.created('PUT', '/v1/AUTH_functest/c%C3%A9', 201),
                         ('AUTH_functest', 'c\u00e9'))

    def test_s3_bucket_put(self):
        self.assertEqual(self.created('PUT', '/bucket', 200),
                         ('AUTH_functest', 'bucket'))

    def test_not_creations(self):
        self.assertIsNone(self.created('PUT', '/v1/AUTH_functest/c', 202))
        self.assertIsNone(self.created('PUT', '/v1/AUTH_functest/c/o', 201))
        self.assertIsNone(self.created('POST', '/v1/AUTH_functest/c', 201))
        self.assertIsNone(self.created('PUT', '/bucket?versioning', 200))
        self.assertIsNone(self.created('PUT', '/bucket/key', 200))
        self.assertIsNone(self.created('PUT', '/v1/AUTH_functest/c', 201,
                                       port=8095))


if __name__ == '__main__':
    unittest.main()
