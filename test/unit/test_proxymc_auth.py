"""proxymc's users and tokens: parsing, issuing, checking, reloading."""
import os
import shutil
import tempfile
import unittest

from swift.common.swob import str_to_wsgi

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


if __name__ == '__main__':
    unittest.main()
