"""swift-s3-sync-verify with a fake remote: the steps, their lines, the
exit status, the clean-up, and that no secret is ever printed."""
import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from swift_s3_sync import verify
from swift_s3_sync.config import parse_config
from swift_s3_sync.providers.base import RemoteError, RemoteObject

SECRET = 'v3rify-s3cr3t-value'
TOKEN = 'v3rify-t0ken-value'


class FakeRemote(object):
    """The Provider contract over a dict, plus the bucket-level questions
    (credentials, bucket, buckets) the command asks."""

    def __init__(self, objects=None, buckets=('b',)):
        self.objects = dict(objects or {})   # name -> (data, headers)
        self.bucket_names = list(buckets)
        self.refuse = {}       # operation -> RemoteError
        self.ignore_metadata_updates = False
        self.created = None
        self.removed = []
        self.closed = False
        self.calls = []

    def _maybe_fail(self, op):
        self.calls.append(op)
        if op in self.refuse:
            raise self.refuse[op]

    # bucket level
    def credentials(self):
        self._maybe_fail('credentials')
        return 'keys from the config file; accepted by the remote'

    def bucket(self, for_mapping, container=None):
        self._maybe_fail('bucket')
        return 'bucket %r exists and can be listed' % container

    def buckets(self):
        self._maybe_fail('buckets')
        return list(self.bucket_names)

    def created_container(self):
        return self.created

    def remove_container(self, name):
        self.removed.append(name)

    # objects
    def put(self, local):
        self._maybe_fail('put')
        body = local.open_body().read()
        assert hashlib.md5(body).hexdigest() == local.etag
        self.objects[local.name] = (body, dict(local.headers))

    def head(self, container, name):
        self._maybe_fail('head')
        if name not in self.objects:
            return None
        data, headers = self.objects[name]
        return RemoteObject(name, hashlib.md5(data).hexdigest(), len(data),
                            headers=dict(headers))

    def get(self, container, name, headers=None):
        self._maybe_fail('get')
        if name not in self.objects:
            return 404, {}, iter(())
        data, meta = self.objects[name]
        wanted = (headers or {}).get('Range')
        if wanted:
            first, last = wanted.split('=')[1].split('-')
            return 206, dict(meta), iter([data[int(first):int(last) + 1]])
        return 200, dict(meta), iter([data])

    def update_metadata(self, local, remote):
        self._maybe_fail('update_metadata')
        if not self.ignore_metadata_updates:
            data, _ = self.objects[local.name]
            self.objects[local.name] = (data, dict(local.headers))

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        self._maybe_fail('list')
        names = sorted(n for n in self.objects if n.startswith(prefix))
        for name in names[:limit]:
            data, _ = self.objects[name]
            yield RemoteObject(name, hashlib.md5(data).hexdigest(),
                               len(data))

    def delete(self, container, name, remote=None):
        self._maybe_fail('delete')
        return self.objects.pop(name, None) is not None

    def close(self):
        self.closed = True


def config_doc():
    return {
        'status_dir': '/var/lib/s3-sync',
        'containers': [
            {'account': 'AUTH_a', 'container': 'photos', 'aws_bucket': 'b',
             'aws_endpoint': 'http://s3.example.com',
             'aws_identity': 'id', 'aws_secret': SECRET,
             'aws_session_token': TOKEN},
            {'account': 'AUTH_a', 'container': '/*', 'aws_bucket': 'pre-',
             'protocol': 'swift', 'aws_endpoint': 'http://h/auth/v1.0',
             'aws_identity': 'u', 'aws_secret': SECRET}],
        'migrations': [
            {'account': 'AUTH_a', 'aws_bucket': 'old',
             'aws_identity': 'id', 'aws_secret': SECRET},
            {'account': 'AUTH_b', 'aws_bucket': '/*',
             'aws_identity': 'id', 'aws_secret': SECRET}]}


class VerifyTestCase(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.path = os.path.join(self.tmp, 'sync.json')
        with open(self.path, 'w') as f:
            json.dump(config_doc(), f)
        self.remote = FakeRemote()
        self.made = []

    def factory(self, mapping):
        self.made.append(mapping)
        return self.remote, self.remote

    def run_verify(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = verify.main(['--config', self.path] + list(args),
                               out=out, provider_factory=self.factory)
        text = out.getvalue() + err.getvalue()
        self.assertNotIn(SECRET, text)
        self.assertNotIn(TOKEN, text)
        return code, out.getvalue(), err.getvalue()

    def steps(self, out):
        """[(result, step)] from the output's step lines."""
        found = []
        for line in out.splitlines():
            word = line.split(' ', 1)[0]
            if word in (verify.OK, verify.FAIL, verify.SKIP):
                found.append((word, line.split()[1].rstrip(':')))
        return found


class TestReadWrite(VerifyTestCase):

    def test_every_step_passes_and_nothing_is_left(self):
        code, out, _ = self.run_verify('--mapping', '0')
        self.assertEqual(0, code, out)
        self.assertEqual([('OK', 'credentials'), ('OK', 'bucket'),
                          ('OK', 'write'), ('OK', 'read'),
                          ('OK', 'metadata'), ('OK', 'list'),
                          ('OK', 'delete')], self.steps(out))
        self.assertTrue(out.startswith(
            'containers[0] (AUTH_a/photos) -> s3 http://s3.example.com/b, '
            'read-write\n'), out)
        self.assertTrue(out.endswith('verified: 7 checks, 0 failed\n'))
        self.assertEqual({}, self.remote.objects)
        self.assertTrue(self.remote.closed)
        self.assertEqual('photos', self.made[0].container)
        # The test object really went through put, get, update, list.
        for op in ('put', 'get', 'update_metadata', 'list', 'delete'):
            self.assertIn(op, self.remote.calls)

    def test_bad_credentials_stop_everything_after_them(self):
        self.remote.refuse['credentials'] = verify.Failed(
            "keys from the config file; refused: InvalidAccessKeyId "
            "(list_objects_v2) " + SECRET)
        code, out, _ = self.run_verify('--mapping', '0')
        self.assertEqual(1, code)
        self.assertEqual([('FAIL', 'credentials')] +
                         [('SKIP', s) for s in ('bucket', 'write', 'read',
                                                'metadata', 'list',
                                                'delete')],
                         self.steps(out))
        self.assertIn('InvalidAccessKeyId', out)
        self.assertIn('***', out)
        self.assertIn('NOT verified: 7 checks, 1 failed', out)
        self.assertNotIn('put', self.remote.calls)

    def test_missing_bucket(self):
        self.remote.refuse['bucket'] = verify.Failed(
            "bucket 'b' does not exist (the daemon does not create buckets)")
        code, out, _ = self.run_verify('--mapping', '0')
        self.assertEqual(1, code)
        self.assertIn("FAIL  bucket: bucket 'b' does not exist", out)
        self.assertEqual(('SKIP', 'write'), self.steps(out)[2])

    def test_write_refused_nothing_else_tried_nothing_left(self):
        self.remote.refuse['put'] = RemoteError(
            'AccessDenied: no (put_object)', 403)
        code, out, _ = self.run_verify('--mapping', '0')
        self.assertEqual(1, code)
        self.assertIn('FAIL  write: 403 AccessDenied: no (put_object)', out)
        self.assertEqual([('SKIP', 'read'), ('SKIP', 'metadata'),
                          ('SKIP', 'list'), ('SKIP', 'delete')],
                         self.steps(out)[3:])
        self.assertNotIn('get', self.remote.calls)

    def test_metadata_not_updated_is_a_failure_and_the_object_still_goes(self):
        self.remote.ignore_metadata_updates = True
        code, out, _ = self.run_verify('--mapping', '0')
        self.assertEqual(1, code)
        self.assertIn("FAIL  metadata: after the update, x-object-meta-"
                      "verify is 'cr\u00e8me br\u00fbl\u00e9e', expected "
                      "'updated \u2713'", out)
        self.assertIn('OK    delete', out)
        self.assertEqual({}, self.remote.objects)

    def test_corrupted_read_back(self):
        original = self.remote.get

        def short(container, name, headers=None):
            status, meta, _ = original(container, name, headers)
            return status, meta, iter([b'other'])
        self.remote.get = short
        code, out, _ = self.run_verify('--mapping', '0')
        self.assertEqual(1, code)
        self.assertIn('FAIL  read: GET returned 5 other bytes', out)

    def test_per_account_swift_mapping_removes_the_container_it_made(self):
        self.remote.created = 'pre-swift-s3-sync-verify'
        code, out, _ = self.run_verify('--mapping', '1')
        self.assertEqual(0, code, out)
        self.assertTrue(self.made[0].per_account)
        self.assertIn("OK    bucket: bucket 'swift-s3-sync-verify' exists",
                      out)
        self.assertEqual(['pre-swift-s3-sync-verify'], self.remote.removed)

    def test_unexpected_error_is_one_line(self):
        self.remote.refuse['list'] = ValueError('odd ' + SECRET)
        code, out, _ = self.run_verify('--mapping', '0')
        self.assertEqual(1, code)
        self.assertIn('FAIL  list: ValueError: odd ***', out)


class TestReadOnly(VerifyTestCase):

    def test_migrations_are_read_only_by_default(self):
        self.remote.objects['k\u00e9y'] = (b'x' * 3000, {
            'x-object-meta-a': 'b'})
        code, out, _ = self.run_verify('--migration', '0')
        self.assertEqual(0, code, out)
        self.assertTrue(out.startswith(
            'migrations[0] (AUTH_a/old) <- s3 AWS S3/old, read-only'), out)
        self.assertEqual([('OK', 'credentials'), ('OK', 'bucket'),
                          ('OK', 'list'), ('OK', 'head'), ('OK', 'get')],
                         self.steps(out))
        self.assertIn("OK    get: 'k\u00e9y': read its first 1024 bytes",
                      out)
        self.assertIn('1 metadata keys', out)
        self.assertNotIn('put', self.remote.calls)
        self.assertEqual('old', self.made[0].aws_bucket)

    def test_empty_bucket_skips_head_and_get(self):
        code, out, _ = self.run_verify('--mapping', '0', '--read-only')
        self.assertEqual(0, code)
        self.assertIn('OK    list: the listing works; the bucket is empty',
                      out)
        self.assertEqual([('SKIP', 'head'), ('SKIP', 'get')],
                         self.steps(out)[3:])

    def test_listed_but_gone(self):
        self.remote.objects['x'] = (b'abc', {})
        self.remote.head = lambda container, name: None
        code, out, _ = self.run_verify('--migration', '0')
        self.assertEqual(1, code)
        self.assertIn("FAIL  head: 'x': listed, but HEAD answers 404", out)

    def test_read_write_asked_for_a_migration(self):
        code, out, _ = self.run_verify('--migration', '0', '--read-write')
        self.assertEqual(0, code)
        self.assertIn('OK    write', out)

    def test_every_bucket_migration(self):
        self.remote.bucket_names = ['alpha', 'beta']
        code, out, _ = self.run_verify('--migration', '1')
        self.assertEqual(0, code, out)
        self.assertIn("OK    buckets: 2 buckets (alpha, beta); checking "
                      "'alpha'", out)
        self.assertEqual(['', 'alpha'],
                         [m.aws_bucket for m in self.made])
        code, out, _ = self.run_verify('--migration', '1', '--bucket',
                                       'gamma')
        self.assertEqual(1, code)
        self.assertIn("FAIL  buckets: 2 buckets, but not 'gamma'", out)


class TestCommandLine(VerifyTestCase):

    def test_no_such_index_is_exit_2(self):
        code, out, err = self.run_verify('--migration', '5')
        self.assertEqual(2, code)
        self.assertIn('there is no migrations[5] (2 in the file)', err)

    def test_one_of_mapping_or_migration(self):
        with mock.patch('sys.stderr', io.StringIO()):
            for args in ([], ['--mapping', '0', '--migration', '0'],
                         ['--mapping', '0', '--read-only', '--read-write']):
                with self.assertRaises(SystemExit):
                    verify.parse_args(['--config', 'f'] + args)

    def test_console_script_declared(self):
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        with open(os.path.join(root, 'setup.py')) as f:
            self.assertIn("'swift-s3-sync-verify = swift_s3_sync.verify:main'",
                          f.read())


class FakeCall(object):
    def __init__(self, **answers):
        self.answers = answers
        self.calls = []

    def __call__(self, op, *args, **kwargs):
        self.calls.append((op, args, kwargs))
        answer = self.answers[op]
        if isinstance(answer, Exception):
            raise answer
        return answer


def s3_error(code, status=403):
    err = RemoteError('%s (list_objects_v2)' % code, status)
    err.code = code
    return err


class TestS3Remote(unittest.TestCase):

    def provider(self, **overrides):
        from swift_s3_sync.providers import provider_for
        doc = config_doc()
        doc['containers'][0].update(overrides)
        doc['containers'][0] = {k: v for k, v in doc['containers'][0].items()
                                if v is not None}
        mapping = parse_config(json.dumps(doc)).mappings[0]
        provider = provider_for(mapping)
        self.addCleanup(provider.close)
        return provider

    def test_refused_keys_fail_the_credentials(self):
        provider = self.provider()
        provider._call = FakeCall(
            list_objects_v2=s3_error('InvalidAccessKeyId'))
        remote = verify.S3Remote(provider)
        with self.assertRaises(verify.Failed) as caught:
            remote.credentials()
        self.assertIn('keys from the config file; refused: 403 '
                      'InvalidAccessKeyId', str(caught.exception))

    def test_no_answer_is_not_taken_for_accepted_keys(self):
        provider = self.provider()
        err = RemoteError('EndpointConnectionError: Could not connect '
                          '(list_objects_v2)')
        err.code = 'EndpointConnectionError'
        provider._call = FakeCall(list_objects_v2=err)
        with self.assertRaises(verify.Failed) as caught:
            verify.S3Remote(provider).credentials()
        self.assertIn('keys from the config file; the remote did not '
                      'answer: EndpointConnectionError',
                      str(caught.exception))

    def test_access_denied_is_the_buckets_problem(self):
        provider = self.provider()
        provider._call = FakeCall(list_objects_v2=s3_error('AccessDenied'))
        remote = verify.S3Remote(provider)
        self.assertIn('accepted', remote.credentials())
        with self.assertRaises(verify.Failed) as caught:
            remote.bucket(True)
        self.assertIn("bucket 'b' cannot be listed: 403 AccessDenied",
                      str(caught.exception))

    def test_missing_bucket_is_named(self):
        provider = self.provider()
        provider._call = FakeCall(list_objects_v2=s3_error('NoSuchBucket',
                                                           404))
        remote = verify.S3Remote(provider)
        remote.credentials()
        with self.assertRaises(verify.Failed) as caught:
            remote.bucket(True)
        self.assertEqual("bucket 'b' does not exist (the daemon does not "
                         "create buckets)", str(caught.exception))
        provider._call = FakeCall(list_objects_v2={'Contents': []})
        self.assertEqual("bucket 'b' exists and can be listed",
                         verify.S3Remote(provider).bucket(True))

    def test_default_chain_named_or_missing(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        env = {'AWS_SHARED_CREDENTIALS_FILE': os.path.join(tmp, 'none'),
               'AWS_CONFIG_FILE': os.path.join(tmp, 'none'),
               'AWS_EC2_METADATA_DISABLED': 'true'}
        drop = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
                'AWS_SESSION_TOKEN', 'AWS_PROFILE',
                'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
                'AWS_CONTAINER_CREDENTIALS_FULL_URI',
                'AWS_WEB_IDENTITY_TOKEN_FILE')
        with mock.patch.dict(os.environ, env):
            for key in drop:
                os.environ.pop(key, None)
            provider = self.provider(aws_identity=None, aws_secret=None,
                                     aws_session_token=None)
            with self.assertRaises(verify.Failed) as caught:
                verify.S3Remote(provider).credentials()
            self.assertIn("none found: the mapping has no 'aws_identity'",
                          str(caught.exception))
            os.environ.update(AWS_ACCESS_KEY_ID='AKIAENV',
                              AWS_SECRET_ACCESS_KEY=SECRET)
            provider = self.provider(aws_identity=None, aws_secret=None,
                                     aws_session_token=None)
            provider._call = FakeCall(list_objects_v2={'Contents': []})
            text = verify.S3Remote(provider).credentials()
        self.assertEqual("boto3's default chain: environment variables "
                         "(AWS_ACCESS_KEY_ID, ...); accepted by the remote",
                         text)


class TestSwiftRemote(unittest.TestCase):

    def provider(self, index=1):
        from swift_s3_sync.providers import provider_for
        mapping = parse_config(json.dumps(config_doc())).mappings[index]
        provider = provider_for(mapping)
        self.addCleanup(provider.close)
        return provider

    def test_authentication_refused(self):
        provider = self.provider()
        provider._call = FakeCall(head_account=RemoteError(
            'ClientException: Auth GET failed (head_account)', 401))
        with self.assertRaises(verify.Failed) as caught:
            verify.SwiftRemote(provider).credentials()
        self.assertIn('refused: 401 ClientException', str(caught.exception))

    def test_no_answer(self):
        provider = self.provider()
        provider._call = FakeCall(head_account=RemoteError(
            'ConnectionError: refused (head_account)'))
        with self.assertRaises(verify.Failed) as caught:
            verify.SwiftRemote(provider).credentials()
        self.assertIn('the remote did not answer: ConnectionError',
                      str(caught.exception))

    def test_missing_container_of_a_mapping_is_made_by_the_write(self):
        from swift_s3_sync.providers.swift_wire import _Reply
        provider = self.provider()
        provider._call = FakeCall(head_container=_Reply(None, 404, {}))
        remote = verify.SwiftRemote(provider)
        text = remote.bucket(True, 'swift-s3-sync-verify')
        self.assertIn("container 'pre-swift-s3-sync-verify' does not exist "
                      "yet", text)
        self.assertEqual('pre-swift-s3-sync-verify',
                         remote.created_container())
        with self.assertRaises(verify.Failed):
            verify.SwiftRemote(provider).bucket(False, 'x')


if __name__ == '__main__':
    unittest.main()
