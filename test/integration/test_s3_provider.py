"""The S3 provider against real S3 servers: Swift s3api, moto, radosgw.

Every check runs against each target of the local world; nothing is mocked.
"""
import hashlib
import io
import types
import unittest

from swift_s3_sync.providers.base import (
    DATA, EQUAL, METADATA, LocalObject, RemoteError)
from swift_s3_sync.providers.s3 import S3Provider
from test.integration.world import s3_client, s3_settings, unique

ACCOUNT = 'AUTH_test'
NAME = 'd\u00e9j\u00e0/vu \U0001F600.txt'
META = {
    'colour': 'blue',
    'space': 'two words',
    'edges': ' padded ',
    'tab': 'a\tb',
    'word': '=?UTF-8?Q?x?=',
    'unicode': '\u00fcn\u00efc\u00f6d\u00e9',
    'emoji': '\U0001F680 launch',
}


class Unseekable(io.RawIOBase):
    """A body like a Swift GET: readable once, no seek, no len."""

    def __init__(self, data):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buf):
        chunk = self._data.read(len(buf))
        buf[:len(chunk)] = chunk
        return len(chunk)


def local_object(container, name, body, meta=None, timestamp=None,
                 **headers):
    hdrs = {'content-type': 'application/octet-stream'}
    hdrs.update(('x-object-meta-' + k, v) for k, v in (meta or {}).items())
    hdrs.update((k.replace('_', '-'), v) for k, v in headers.items())
    return LocalObject(container, name, hdrs, len(body),
                       hashlib.md5(body).hexdigest(),
                       timestamp or '1700000000.12345',
                       lambda: Unseekable(body))


class S3ProviderConformance(object):
    target = None

    def setUp(self):
        self.settings = s3_settings(self.target)
        self.s3 = s3_client(self.target)
        self.bucket = unique('provider')
        self.s3.create_bucket(Bucket=self.bucket)
        self.providers = []
        self.provider = self.make_provider()

    def tearDown(self):
        for provider in self.providers:
            provider.close()
        pages = self.s3.get_paginator('list_objects_v2').paginate(
            Bucket=self.bucket)
        for page in pages:
            for obj in page.get('Contents', []):
                self.s3.delete_object(Bucket=self.bucket, Key=obj['Key'])
        self.s3.delete_bucket(Bucket=self.bucket)

    def make_provider(self, **overrides):
        settings = dict(
            account=ACCOUNT, container='c', aws_bucket=self.bucket,
            aws_endpoint=self.settings['endpoint'],
            aws_identity=self.settings['access_key'],
            aws_secret=self.settings['secret_key'], aws_session_token=None,
            aws_region=self.settings['region'], custom_prefix=None,
            storage_class=None, sse_kms_key_id=None, protocol='s3')
        settings.update(overrides)
        mapping = types.SimpleNamespace(**settings)
        mapping.sse = lambda: None
        mapping.is_aws = lambda: False
        mapping.is_google = lambda: False
        provider = S3Provider(mapping)
        self.providers.append(provider)
        return provider

    def put(self, name, body=b'x', container='c', provider=None, **kw):
        local = local_object(container, name, body, **kw)
        (provider or self.provider).check(local)
        (provider or self.provider).put(local)
        return local

    def tricky(self, meta=META, timestamp=None):
        return local_object(
            'c', NAME, b'0123456789' * 100, meta, timestamp,
            content_type='text/plain; charset=utf-8;swift_bytes=1000',
            content_encoding='gzip', cache_control='max-age=60',
            content_disposition='attachment; filename="r\u00e9sum\u00e9"')

    def test_put_head_compare(self):
        local = self.tricky()
        self.provider.check(local)
        written = self.provider.put(local)
        self.assertEqual(local.etag, written.etag)

        remote = self.provider.head('c', NAME)
        self.assertEqual(local.etag, remote.etag)
        self.assertEqual(1000, remote.size)
        self.assertEqual('1700000000.12345', remote.timestamp)
        self.assertIsInstance(remote.last_modified, float)
        for key, value in META.items():
            self.assertEqual(value, remote.headers['x-object-meta-' + key])
        self.assertFalse([k for k in remote.headers if 'swift-s3-sync' in k])
        self.assertEqual('text/plain; charset=utf-8',
                         remote.headers['content-type'])
        self.assertEqual('gzip', remote.headers['content-encoding'])
        self.assertEqual('max-age=60', remote.headers['cache-control'])
        self.assertEqual('attachment; filename="r\u00e9sum\u00e9"',
                         remote.headers['content-disposition'])
        self.assertEqual(EQUAL, self.provider.compare(local, remote))

        # What any S3 client sees: the documented layout and encoding.
        key = self.provider.key_for('c', NAME)
        self.assertTrue(key.startswith(
            '%s/%s/c/' % (self.provider.key_prefix('c').split('/')[0],
                          ACCOUNT)))
        raw = self.s3.head_object(Bucket=self.bucket, Key=key)
        self.assertEqual('blue', raw['Metadata']['colour'])
        self.assertEqual('two words', raw['Metadata']['space'])
        self.assertEqual('=?UTF-8?B?w7xuw69jw7Zkw6k=?=',
                         raw['Metadata']['unicode'])
        self.assertEqual('1700000000.12345',
                         raw['Metadata']['swift-s3-sync-timestamp'])
        self.assertEqual('text/plain; charset=utf-8', raw['ContentType'])
        self.assertEqual(local.open_body().read(), self.s3.get_object(
            Bucket=self.bucket, Key=key)['Body'].read())

    def test_metadata_change_and_update(self):
        local = self.tricky()
        self.provider.put(local)
        changed = self.tricky(dict(META, emoji='\U0001F6F8 landed'),
                              timestamp='1700000001.00000_0000000000000001')
        remote = self.provider.head('c', NAME)
        self.assertEqual(METADATA, self.provider.compare(changed, remote))
        self.assertEqual(DATA, self.provider.compare(local_object(
            'c', NAME, b'other bytes', META), remote))

        self.provider.update_metadata(changed, remote)
        after = self.provider.head('c', NAME)
        self.assertEqual('\U0001F6F8 landed',
                         after.headers['x-object-meta-emoji'])
        self.assertEqual(remote.etag, after.etag)
        self.assertEqual('1700000001.00000_0000000000000001', after.timestamp)
        self.assertEqual('gzip', after.headers['content-encoding'])
        self.assertEqual(EQUAL, self.provider.compare(changed, after))
        self.assertEqual(METADATA, self.provider.compare(local, after))

    def test_empty_object(self):
        local = self.put('empty', b'')
        remote = self.provider.head('c', 'empty')
        self.assertEqual(0, remote.size)
        self.assertEqual(EQUAL, self.provider.compare(local, remote))

    def test_list(self):
        names = ['a', 'b/1', 'b/2', 'c', '\u00e9t\u00e9', '\U0001F600']
        for name in reversed(names):
            self.put(name)
        self.put('other', container='c2')   # another container's keys
        listed = list(self.provider.list('c'))
        self.assertEqual(names, [o.name for o in listed])
        self.assertEqual(hashlib.md5(b'x').hexdigest(), listed[0].etag)
        self.assertEqual(1, listed[0].size)
        self.assertIsInstance(listed[0].last_modified, float)

        def names_of(**kw):
            return [o.name for o in self.provider.list('c', **kw)]
        self.assertEqual(['b/1', 'b/2'], names_of(prefix='b/'))
        self.assertEqual(['b/2', 'c', '\u00e9t\u00e9', '\U0001F600'],
                         names_of(marker='b/1'))
        self.assertEqual(['a', 'b/1', 'b/2'], names_of(end_marker='c'))
        self.assertEqual(['b/2'], names_of(marker='b/1', end_marker='c'))
        self.assertEqual(['a', 'b/1'], names_of(limit=2))
        self.assertEqual([], names_of(limit=0))
        self.assertEqual([], names_of(prefix='zz'))
        # Several pages: continuation tokens against the real server.
        self.provider.page_size = 2
        self.assertEqual(names, names_of())
        self.assertEqual(names[1:6], names_of(marker='a', limit=5))

    def test_get(self):
        local = self.put('g', b'0123456789')
        status, headers, body = self.provider.get(
            'c', 'g', {'Range': 'bytes=2-5'})
        self.assertEqual(206, status)
        self.assertEqual(b'2345', b''.join(body))
        self.assertEqual('bytes 2-5/10', headers['content-range'])
        self.assertEqual(local.etag, headers['etag'])

        status, headers, body = self.provider.get('c', 'g')
        self.assertEqual(200, status)
        self.assertEqual(b'0123456789', b''.join(body))
        self.assertEqual('10', headers['content-length'])

        for request, expected in (
                ({'If-None-Match': local.etag}, 304),
                ({'If-None-Match': '"%s"' % local.etag}, 304),
                ({'If-Match': 'f' * 32}, 412),
                ({'Range': 'bytes=20-30'}, 416)):
            status, headers, body = self.provider.get('c', 'g', request)
            self.assertEqual(expected, status, request)
            self.assertEqual(b'', b''.join(body))
        status, _, body = self.provider.get('c', 'missing')
        self.assertEqual(404, status)
        self.assertEqual(b'', b''.join(body))

    def test_delete(self):
        self.put('gone')
        self.assertTrue(self.provider.delete('c', 'gone'))
        self.assertIsNone(self.provider.head('c', 'gone'))
        # Absent keys: S3 answers 204 as for present ones, so either answer
        # is allowed; it must not raise.
        self.assertIn(self.provider.delete('c', 'gone'), (True, False))

    def test_check_refuses_large_metadata(self):
        local = local_object('c', 'fat', b'x',
                             {'k%d' % i: 'v' * 200 for i in range(11)})
        with self.assertRaises(RemoteError) as caught:
            self.provider.check(local)
        self.assertTrue(caught.exception.permanent)
        self.assertIn('user metadata is', str(caught.exception))
        self.assertIn('S3 allows 2048', str(caught.exception))

    def test_per_account_layout(self):
        provider = self.make_provider(container='/*')
        one = self.put('o', b'one', container='c1', provider=provider)
        two = self.put('o', b'two', container='c2', provider=provider)
        self.assertNotEqual(provider.key_for('c1', 'o'),
                            provider.key_for('c2', 'o'))
        self.assertEqual(one.etag, provider.head('c1', 'o').etag)
        self.assertEqual(two.etag, provider.head('c2', 'o').etag)
        self.assertEqual([one.etag], [o.etag for o in provider.list('c1')])
        keys = sorted(o['Key'] for o in self.s3.list_objects_v2(
            Bucket=self.bucket)['Contents'])
        self.assertEqual(sorted([provider.key_for('c1', 'o'),
                                 provider.key_for('c2', 'o')]), keys)
        self.assertTrue(provider.delete('c1', 'o'))
        self.assertIsNotNone(provider.head('c2', 'o'))

    def test_native_layout(self):
        provider = self.make_provider(custom_prefix='')
        self.put('top/\u00e9', provider=provider)
        self.assertEqual(['top/\u00e9'], [
            o['Key'] for o in self.s3.list_objects_v2(
                Bucket=self.bucket)['Contents']])
        self.assertEqual(['top/\u00e9'], [o.name for o in provider.list('c')])

    def test_missing_bucket_is_not_permanent(self):
        provider = self.make_provider(aws_bucket=unique('nobucket'))
        with self.assertRaises(RemoteError) as caught:
            provider.put(local_object('c', 'o', b'x'))
        self.assertEqual(404, caught.exception.status)
        self.assertFalse(caught.exception.permanent)


class StrictServerChecks(object):
    """For servers that check signatures and Content-MD5 (moto checks
    neither)."""

    def test_server_verifies_bytes(self):
        local = local_object('c', 'md5', b'the bytes')
        local.etag = hashlib.md5(b'other bytes').hexdigest()
        with self.assertRaises(RemoteError) as caught:
            self.provider.put(local)
        self.assertEqual(400, caught.exception.status)
        self.assertEqual('BadDigest', caught.exception.code)
        self.assertFalse(caught.exception.permanent)   # re-read, retry
        self.assertIsNone(self.provider.head('c', 'md5'))

    def test_bad_credentials(self):
        secret = 'not-the-secret-' + unique('s')
        provider = self.make_provider(aws_secret=secret)
        with self.assertRaises(RemoteError) as caught:
            provider.put(local_object('c', 'o', b'x'))
        self.assertEqual(403, caught.exception.status)
        self.assertFalse(caught.exception.permanent)
        self.assertNotIn(secret, str(caught.exception))


class TestS3api(S3ProviderConformance, StrictServerChecks,
                unittest.TestCase):
    target = 's3api'


class TestMoto(S3ProviderConformance, unittest.TestCase):
    target = 'moto'

    # Storage classes and SSE-S3: of our servers only moto has them.

    def test_archive_storage_class(self):
        provider = self.make_provider(storage_class='GLACIER')
        local = self.put('cold', b'ice', provider=provider, meta={'a': '1'})
        remote = provider.head('c', 'cold')
        self.assertEqual('GLACIER', remote.headers['x-amz-storage-class'])
        self.assertEqual(EQUAL, provider.compare(local, remote))
        changed = local_object('c', 'cold', b'ice', {'a': '2'})
        self.assertEqual(DATA, provider.compare(changed, remote))
        provider.update_metadata(changed, remote)   # a full upload
        after = provider.head('c', 'cold')
        self.assertEqual('2', after.headers['x-object-meta-a'])
        self.assertEqual(EQUAL, provider.compare(changed, after))

    def test_sse_s3(self):
        provider = self.make_provider(storage_class='STANDARD_IA')
        provider.mapping.sse = lambda: 'AES256'
        local = self.put('secret', b'data', provider=provider)
        raw = self.s3.head_object(Bucket=self.bucket,
                                  Key=provider.key_for('c', 'secret'))
        self.assertEqual('AES256', raw['ServerSideEncryption'])
        self.assertEqual('STANDARD_IA', raw['StorageClass'])
        remote = provider.head('c', 'secret')
        self.assertEqual(EQUAL, provider.compare(local, remote))
        changed = local_object('c', 'secret', b'data', {'new': 'yes'})
        self.assertEqual(METADATA, provider.compare(changed, remote))
        provider.update_metadata(changed, remote)
        raw = self.s3.head_object(Bucket=self.bucket,
                                  Key=provider.key_for('c', 'secret'))
        self.assertEqual('AES256', raw['ServerSideEncryption'])
        self.assertEqual('STANDARD_IA', raw['StorageClass'])
        self.assertEqual({'new': 'yes'}, {
            k: v for k, v in raw['Metadata'].items()
            if not k.startswith('swift-s3-sync')})


class TestRadosgw(S3ProviderConformance, StrictServerChecks,
                  unittest.TestCase):
    target = 'radosgw'
