"""proxymc's users and tokens: parsing, issuing, checking, reloading,
token_secret, the same work for every user name, failed-attempt limits."""
import base64
import hashlib
import hmac
import os
import shutil
import tempfile
import types
import unittest
from unittest import mock

from swift.common.swob import Request, str_to_wsgi

from proxymc import auth
from proxymc.app import ProxyMC
from swift_s3_sync.providers.base import RemoteError
from test.unit.test_proxymc import (
    CONF, USERS, WRITES, ProxyTestCase, b64)

SECRET = auth.token_secret(CONF)


class TestParseUsers(unittest.TestCase):

    def test_both_forms_and_admin(self):
        users = auth.parse_users({
            'user_test_tester': 'testing .admin', 'user_test_ro': 'pw',
            'user64_%s_%s' % (b64('my_acct'), b64('b\u00f6b')): 'k2',
            'conf_file': 'ignored'}, 'PRE')
        self.assertEqual({'test:tester', 'test:ro', 'my_acct:b\u00f6b'},
                         set(users))
        self.assertEqual((True, False), (users['test:tester'].admin,
                                         users['test:ro'].admin))
        self.assertEqual('PRE_test', users['test:ro'].account)
        bob = users['my_acct:b\u00f6b']
        self.assertEqual(('PRE_my_acct', 'k2'), (bob.account, bob.key))
        self.assertNotIn('testing', repr(users['test:tester']))

    def test_bad_lines_name_the_option(self):
        for option, value in (('user_test_tester', ''),
                              ('user_test_tester', '   '),
                              ('user_test', 'pw'), ('user__bob', 'pw'),
                              ('user64_@@@_%s' % b64('x'), 'pw'),
                              ('user_test_tester', 'pw .reseller_admin')):
            with self.assertRaises(ValueError) as caught:
                auth.parse_users({option: value})
            self.assertIn(option, str(caught.exception))
        self.assertIn('only ".admin" may follow', str(caught.exception))
        # The refused word is not repeated: it may be part of a key.
        self.assertNotIn('.reseller_admin', str(caught.exception))


class TestAuthThroughTheApp(ProxyTestCase):

    def test_token_and_storage_url(self):
        resp = self.get_token(None, None, 'http://px.example:8085/auth/v1.0',
                              {'X-Storage-User': 'test:tester',
                               'X-Storage-Pass': 'testing'})
        self.assertEqual('http://px.example:8085/v1/AUTH_test',
                         resp.headers['X-Storage-Url'])
        self.assertEqual('86400', resp.headers['X-Auth-Token-Expires'])
        token = resp.headers['X-Auth-Token']
        self.assertEqual(token, resp.headers['X-Storage-Token'])
        self.assertEqual(200, self.status(user=None,
                                          headers={'X-Auth-Token': token}))
        for path in ('/auth/v1', '/v1.0'):
            self.assertEqual(200, self.get_token(*USERS['tester'], path=path)
                             .status_int)

    def test_auth_path_with_trailing_slash(self):
        # '/auth/v1.0/' is the auth path too.
        self.assertEqual(200, self.get_token(*USERS['tester'],
                                             path='/auth/v1.0/').status_int)

    def test_bad_credentials(self):
        for user, key in (('test:tester', 'wrong'), ('test:nobody', 'x'),
                          ('test:tester', None), (None, 'testing')):
            headers = {'X-Auth-User': user, 'X-Auth-Key': key}
            resp = self.get_token(None, None, headers={
                k: v for k, v in headers.items() if v})
            self.assertEqual(401, resp.status_int, (user, key))
            self.assertNotIn('X-Auth-Token', resp.headers)

    def test_non_ascii_user_and_key(self):
        # Header values arrive as WSGI (latin-1) strings; non-ASCII users
        # (user64_) and keys still log in.
        self.app = ProxyMC(
            dict(CONF, **{'user64_%s_%s' % (b64('test'), b64('\u00fcser')):
                          'k\u00e9y'}), logger=self.logger, table=self.table)
        resp = self.get_token(str_to_wsgi('test:\u00fcser'),
                              str_to_wsgi('k\u00e9y'))
        self.assertEqual(200, resp.status_int)

    def test_missing_bad_and_expired_tokens(self):
        token = self.token('reader')
        payload, _, sig = token.rpartition('.')
        name = payload[len('AUTH_tk'):].partition('.')[0]
        for bad in (None, '', 'garbage', 'AUTH_tkxx.yy.zz', 'X' + token[1:],
                    payload + '.' + sig[::-1],     # tampered signature
                    token.replace(name, b64('test:tester')),
                    payload.rpartition('.')[0] + '.ffffffff.' + sig):
            headers = {} if bad is None else {'X-Auth-Token': bad}
            self.assertEqual(401, self.status(headers=headers, user=None))
        now = [5000.0]
        self.app.users.auth = auth.Auth(auth.parse_users(CONF), 'AUTH',
                                        SECRET, 60, clock=lambda: now[0])
        self.tokens.clear()
        self.assertEqual(200, self.status())
        now[0] += 60
        self.assertEqual(200, self.status())
        now[0] += 1
        self.assertEqual(401, self.status())

    def test_token_secret_signs_tokens(self):
        # Another worker or a restart with the same secret accepts a
        # token; another secret does not.
        users = auth.parse_users(CONF)
        one = auth.Auth(users, 'AUTH', SECRET)
        token, _ = one.issue(users['test:tester'])
        self.assertEqual('test:tester', one.user_for(token).name)
        again = auth.Auth(auth.parse_users(CONF), 'AUTH',
                          auth.token_secret(CONF))
        self.assertEqual('test:tester', again.user_for(token).name)
        other = os.urandom(32)
        self.assertIsNone(auth.Auth(users, 'AUTH', other).user_for(token))

    def test_non_ascii_garbage_signature(self):
        # A non-ASCII signature is just a bad token (401), not an error.
        bad = self.token().rpartition('.')[0] + '.' + '\u00e9' * 64
        self.assertEqual(401, self.status(headers={'X-Auth-Token': bad},
                                          user=None))

    def test_other_account_is_forbidden(self):
        self.assertEqual(403, self.status(account='AUTH_other'))
        self.assertEqual(403, self.status('photos', user='other'))
        self.assertEqual(200, self.status('stuff?format=json', user='other',
                                          account='AUTH_other'))

    def test_reader_reads_only(self):
        self.put('photos', 'cat.jpg', b'meow')
        for path in ('', 'photos', 'photos/cat.jpg'):
            for method in ('GET', 'HEAD'):
                status = self.status(path, method, user='reader')
                self.assertEqual(2, status // 100, (path, method))
        for method in ('PUT', 'POST', 'DELETE', 'COPY'):
            self.assertEqual(403, self.status(
                'photos/cat.jpg', method, user='reader', body=b'x',
                headers={'Destination': 'photos/x'}), method)
        self.assertFalse(WRITES & self.remotes['photos'].ops())

    def test_keys_and_tokens_are_never_logged(self):
        tokens = [self.token(who) for who in USERS]
        self.get_token('test:tester', 'badkey-value')
        self.remotes['photos'].error = RemoteError('down', None)
        self.request('photos/x')
        self.request('photos')
        self.remotes['photos'].error = RuntimeError('bug')
        self.request('photos/x', user='reader')
        text = self.logger.text()
        self.assertIn('photos', text)
        for secret in tokens + ['testing', 'readpw', 'otherpw',
                                'badkey-value']:
            self.assertNotIn(secret, text)

    def test_users_file_reload(self):
        tmp = tempfile.mkdtemp(prefix='proxymc-test-')
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, 'proxymc.conf')

        def write(users):
            with open(path + '.tmp', 'w') as f:
                f.write('[app:proxymc]\nuse = egg:swift-s3-sync#proxymc\n')
                f.writelines('%s = %s\n' % item for item in users.items())
            os.rename(path + '.tmp', path)
        write({k: v for k, v in CONF.items() if k.startswith('user')})
        self.app = ProxyMC(dict(CONF, __file__=path), logger=self.logger,
                           table=self.table)
        self.app.users.file.interval = 0
        self.token('tester'), self.token('reader')
        write({'user_test_tester': 'newkey .admin'})  # reader gone
        for who in ('tester', 'reader'):
            self.assertEqual(401, self.status(user=who), who)
        self.assertEqual(401, self.get_token(*USERS['tester']).status_int)
        self.tokens['tester'] = self.get_token(
            'test:tester', 'newkey').headers['X-Auth-Token']
        self.assertEqual(200, self.status())
        write({'user_test_tester': 'newkey .boss'})    # not loaded: kept
        self.assertEqual(200, self.status())
        self.assertIn('users: 1 from', self.logger.text())
        self.assertIn('user_test_tester: only ".admin"', self.logger.text())
        self.assertNotIn('.boss', self.logger.text())
        self.assertNotIn('newkey', self.logger.text())


class TestTokenSecret(unittest.TestCase):

    def test_hex_and_base64_of_32_bytes_or_more(self):
        raw = os.urandom(32)
        for text in (raw.hex(), raw.hex().upper(), ' %s\n' % raw.hex(),
                     base64.b64encode(raw).decode(),
                     base64.urlsafe_b64encode(raw).decode().rstrip('=')):
            self.assertEqual(raw, auth.token_secret({'token_secret': text}))
        self.assertEqual(48, len(auth.token_secret(
            {'token_secret': os.urandom(48).hex()})))

    def test_refusals_name_the_option_never_the_value(self):
        for text, why in (
                (None, 'required'), ('', 'required'), ('  ', 'required'),
                (os.urandom(31).hex(), 'holds 31 bytes'),
                ('password', 'holds 6 bytes'),
                ('correct horse battery staple', 'neither hex nor base64'),
                ('ab' * 32, 'not random'),              # one byte
                ('0123456789abcdef' * 8, 'not random'),  # a short pattern
                (base64.b64encode(b'secret' * 8).decode(), 'not random')):
            conf = {} if text is None else {'token_secret': text}
            with self.assertRaises(ValueError) as caught:
                auth.token_secret(conf)
            message = str(caught.exception)
            self.assertTrue(message.startswith('token_secret '), message)
            self.assertIn(why, message)
            self.assertNotIn('\n', message)
            if text and text.strip():
                self.assertNotIn(text, message)
        self.assertIn("secrets.token_hex(32)", message)

    def test_the_app_does_not_start_without_one(self):
        for bad in (None, 'ab' * 32):
            conf = dict(CONF, token_secret=bad)
            with self.assertRaises(ValueError) as caught:
                ProxyMC(conf, table=object())
            self.assertIn('token_secret', str(caught.exception))


class CountingHashes(object):
    """Every SHA-256 started (by hashing or HMAC) and every comparison,
    with their input sizes: the work a request costs."""

    def __init__(self, test):
        self.work = []
        real_compare = hmac.compare_digest

        def sha256(data=b''):
            self.work.append(('sha256', len(data)))
            return hashlib.sha256(data)

        def compare(a, b):
            self.work.append(('compare', len(a), len(b)))
            return real_compare(a, b)
        for patcher in (mock.patch.object(auth, 'hashlib',
                                          types.SimpleNamespace(
                                              sha256=sha256)),
                        mock.patch.object(auth.hmac, 'compare_digest',
                                          compare)):
            patcher.start()
            test.addCleanup(patcher.stop)

    def of(self, call):
        del self.work[:]
        call()
        return list(self.work)


class TestSameWorkForEveryName(ProxyTestCase):

    def test_auth_costs_the_same_for_unknown_users(self):
        counting = CountingHashes(self)
        wrong = counting.of(lambda: self.get_token('test:tester', 'wrong'))
        self.assertTrue(wrong)
        # The same key sent for users with keys of other lengths, for
        # names that are no user, and for no name at all.
        for user in ('test:reader', 'other:admin', 'test:nobody',
                     'nobody:at-all', ''):
            work = counting.of(lambda: self.get_token(user, 'wrong'))
            self.assertEqual(wrong, work, user)

    def test_token_checks_cost_the_same_for_unknown_users(self):
        token = self.token('tester')
        payload, _, signature = token.rpartition('.')
        name, _, expires = payload[len('AUTH_tk'):].partition('.')
        forged = payload + '.' + '0' * len(signature)
        unknown = 'AUTH_tk%s.%s.%s' % (b64('test:nobody'), expires,
                                       signature)
        stale = 'AUTH_tk%s.%x.%s' % (name, 1000, signature)
        counting = CountingHashes(self)
        known = counting.of(lambda: self.app.users.auth.user_for(forged))
        self.assertTrue(known)
        for other in (unknown, stale):
            self.assertEqual(known, counting.of(
                lambda: self.app.users.auth.user_for(other)))


class TestFailedAuthLimits(ProxyTestCase):

    def setUp(self):
        super().setUp()
        self.now = [1000.0]
        self.limiter = auth.FailureLimiter(
            window=60, per_user=3, per_address=5, entries=100,
            clock=lambda: self.now[0])
        self.app.users.limiter = self.app.users.auth.limiter = self.limiter

    def auth(self, user, key, address='192.0.2.1'):
        return Request.blank('/auth/v1.0', environ={
            'REMOTE_ADDR': address}, headers={
            'X-Auth-User': user, 'X-Auth-Key': key}).get_response(self.app)

    def test_per_user(self):
        for _ in range(3):
            self.assertEqual(401, self.auth('test:tester', 'wrong')
                             .status_int)
        # Now even the right key is refused, from any address.
        for address in ('192.0.2.1', '198.51.100.7'):
            resp = self.auth('test:tester', 'testing', address)
            self.assertEqual(429, resp.status_int)
            self.assertEqual('60', resp.headers['Retry-After'])
            self.assertNotIn('X-Auth-Token', resp.headers)
        self.assertEqual(200, self.auth('test:reader', 'readpw').status_int)
        self.now[0] += 20
        self.assertEqual('40', self.auth('test:tester', 'testing')
                         .headers['Retry-After'])
        self.now[0] += 40
        self.assertEqual(200, self.auth('test:tester', 'testing').status_int)

    def test_unknown_names_are_limited_alike(self):
        for _ in range(3):
            self.assertEqual(401, self.auth('test:nobody', 'x').status_int)
        self.assertEqual(429, self.auth('test:nobody', 'x').status_int)

    def test_per_address(self):
        for index in range(5):
            self.assertEqual(401, self.auth('test:u%d' % index, 'x')
                             .status_int)
        self.assertEqual(429, self.auth('test:tester', 'testing').status_int)
        self.assertEqual(200, self.auth('test:tester', 'testing',
                                        '198.51.100.7').status_int)

    def test_memory_is_bounded(self):
        for index in range(1000):
            self.auth('test:u%d' % index, 'x', '10.0.%d.%d' % divmod(
                index, 256))
        self.assertEqual(100, len(self.limiter.counts))
        # The newest are the ones kept.
        self.assertIn(('user', 'test:u999'), self.limiter.counts)

    def test_settings(self):
        limiter = auth.FailureLimiter.from_conf({})
        self.assertEqual((60, {'user': 10, 'address': 50}, 10000),
                         (limiter.window, limiter.limits, limiter.entries))
        off = auth.FailureLimiter.from_conf({'auth_failures_per_user': '0',
                                             'auth_failures_per_address': 0})
        for _ in range(20):
            off.failed('test:tester', '192.0.2.1')
        self.assertEqual(0, off.retry_after('test:tester', '192.0.2.1'))
        self.assertEqual({}, dict(off.counts))
        for option, value in (('auth_failure_window', '0'),
                              ('auth_failures_per_user', '-1'),
                              ('auth_failure_entries', 'many')):
            with self.assertRaises(ValueError) as caught:
                auth.FailureLimiter.from_conf({option: value})
            self.assertIn(option, str(caught.exception))

    def test_counts_outlive_a_reload_of_the_users(self):
        for _ in range(3):
            self.auth('test:tester', 'wrong')
        self.app.users.auth = self.app.users._make(
            dict(CONF), self.app.users.limiter)
        self.assertEqual(429, self.auth('test:tester', 'testing').status_int)


if __name__ == '__main__':
    unittest.main()
