"""S3 provider without a server: layout, encoding, decisions, errors.

Requests go through the real boto3 client; they are answered either by
botocore's Stubber (parameter-level checks: every queued answer names the
parameters it expects, and :func:`stubbed` checks that each was asked for)
or by a fake wire that catches the signed HTTP request before it is sent
(header-level checks), so what is tested is what an S3 server would see.
"""
import contextlib
import datetime
import hashlib
import io
import os
import types
import unittest
from unittest import mock

import botocore.exceptions
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber

from swift_s3_sync.providers import provider_for
from swift_s3_sync.providers import s3_metadata as meta
from swift_s3_sync.providers.base import (
    DATA, EQUAL, METADATA, LocalObject, RemoteError, RemoteObject, Segment)
from swift_s3_sync.providers.s3 import S3Provider

JAN_1 = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
SECRET = 'sEcReT/Key+123456789'
TOKEN = 'SeSsIoN-ToKeN-abcdef'
TRICKY = {
    'space': 'a b',
    'lead': ' leading',
    'trail': 'trailing ',
    'tab': 'a\tb',
    'word': '=?UTF-8?Q?x?=',
    'unicode': '\u00fcn\u00efc\u00f6d\u00e9',
    'emoji': 'smile \U0001F600 please',
    'empty': '',
    'plain': 'simple-value_1.2',
    'eq': 'a=?b?=c',
}


@contextlib.contextmanager
def stubbed(client):
    """botocore's Stubber on ``client``; at the end of the block every
    queued answer must have been asked for."""
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def make_mapping(**kw):
    settings = dict(
        account='AUTH_test', container='c', aws_bucket='bucket',
        aws_endpoint='http://s3.example.com', aws_identity='AKID',
        aws_secret=SECRET, aws_session_token=None, aws_region='us-east-1',
        custom_prefix=None, storage_class=None, sse_kms_key_id=None,
        protocol='s3', sse_value=None, aws=False, google=False)
    settings.update(kw)
    m = types.SimpleNamespace(**settings)
    m.sse = lambda: m.sse_value
    m.is_aws = lambda: m.aws
    m.is_google = lambda: m.google
    return m


def make_local(name='obj', body=b'hello', meta_values=None, container='c',
               timestamp='1700000000.12345', **headers):
    hdrs = {'content-type': 'text/plain', 'etag': 'x'}
    hdrs.update(('x-object-meta-' + k, v)
                for k, v in (meta_values or {}).items())
    hdrs.update((k.replace('_', '-'), v) for k, v in headers.items())
    return LocalObject(container, name, hdrs, len(body),
                       hashlib.md5(body).hexdigest(), timestamp,
                       lambda: io.BytesIO(body))


class FakeRaw(io.BytesIO):
    def stream(self, **kwargs):
        yield self.getvalue()


class Wire(object):
    """Answers the client's signed HTTP requests from a queue."""

    def __init__(self, client):
        self.requests = []
        self.responses = []
        client.meta.events.register('before-send.s3', self._send)

    def queue(self, status=200, headers=None, body=b''):
        self.responses.append((status, headers or {}, body))

    def _send(self, request, **kwargs):
        self.requests.append(request)
        status, headers, body = self.responses.pop(0)
        return AWSResponse(request.url, status, headers, FakeRaw(body))

    def sent_headers(self, index=-1):
        return {k.lower(): (v.decode('latin-1') if isinstance(v, bytes)
                            else v)
                for k, v in self.requests[index].headers.items()}


def error_xml(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
            '<Message>%s</Message></Error>' % (code, message)).encode()


class TestKeyLayout(unittest.TestCase):

    def test_default_prefix_formula(self):
        digest = hashlib.md5(b'AUTH_test/c').hexdigest()
        expected = '%x' % (int(digest, 16) % 16 ** 6)
        self.assertEqual(expected, meta.default_prefix('AUTH_test', 'c'))
        self.assertEqual('ed866e', meta.default_prefix('AUTH_test', 'c'))

    def test_prefix_not_zero_padded(self):
        self.assertEqual('322f', meta.default_prefix('AUTH_test', 'c156'))

    def test_default_key(self):
        p = S3Provider(make_mapping())
        self.assertEqual('ed866e/AUTH_test/c/', p.key_prefix('c'))
        self.assertEqual('ed866e/AUTH_test/c/d/\u00e9',
                         p.key_for('c', 'd/\u00e9'))

    def test_unicode_account_and_container(self):
        p = S3Provider(make_mapping(account='AUTH_\u00e9'))
        digest = hashlib.md5('AUTH_\u00e9/\u2603'.encode('utf-8'))
        prefix = '%x' % (int(digest.hexdigest(), 16) % 16 ** 6)
        self.assertEqual('%s/AUTH_\u00e9/\u2603/o' % prefix,
                         p.key_for('\u2603', 'o'))

    def test_custom_prefix(self):
        for custom, key in (('', 'o/x'), ('pre', 'pre/o/x'),
                            ('a/b', 'a/b/o/x')):
            p = S3Provider(make_mapping(custom_prefix=custom))
            self.assertEqual(key, p.key_for('c', 'o/x'))
            self.assertEqual(key[:-3], p.key_prefix('c'))

    def test_per_account_containers_apart(self):
        p = S3Provider(make_mapping(container='/*'))
        self.assertNotEqual(p.key_prefix('c1'), p.key_prefix('c2'))
        self.assertTrue(p.key_for('c1', 'o').endswith('/AUTH_test/c1/o'))


class TestValueEncoding(unittest.TestCase):

    def test_round_trip(self):
        for value in list(TRICKY.values()) + ['=?', '=?x', ' ', '\u00e9' * 300,
                                               'a\r\nb', '\udcff bad']:
            encoded = meta.encode_value(value)
            self.assertTrue(all(' ' <= c <= '~' for c in encoded), encoded)
            self.assertEqual(encoded, encoded.strip())
            self.assertEqual(value, meta.decode_value(encoded), value)

    def test_safe_values_sent_as_is(self):
        for value in ('a b', 'simple', 'a=?b', 'x; y=z', ''):
            self.assertEqual(value, meta.encode_value(value))

    def test_unsafe_values_one_b_word(self):
        self.assertEqual('=?UTF-8?B?w6k=?=', meta.encode_value('\u00e9'))
        self.assertEqual('=?UTF-8?B?IGE=?=', meta.encode_value(' a'))

    def test_decodes_original_q_words_and_splits(self):
        self.assertEqual('h\u00e9llo w',
                         meta.decode_value('=?UTF-8?Q?h=C3=A9llo_w?='))
        # A character split across two words, folded like email.header does.
        self.assertEqual('\u00e9\u00e9', meta.decode_value(
            '=?utf-8?b?w6nD?=\n =?utf-8?b?qQ==?='))
        self.assertEqual('caf\u00e9', meta.decode_value(
            '=?iso-8859-1?q?caf=E9?='))

    def test_leaves_other_values_alone(self):
        for value in ('=?UTF-8?B?!!!?=', '=?nope?B?w6k=?=',
                      'x =?UTF-8?B?w6k=?=',
                      '=?UTF-8?B?w6k=?= tail', '=?UTF-8?X?abc?='):
            self.assertEqual(value, meta.decode_value(value))


class TestHeaderTranslation(unittest.TestCase):

    def test_content_headers(self):
        got = meta.content_headers({
            'content-type': 'text/plain;swift_bytes=123',
            'content-encoding': 'gzip', 'content-language': '',
            'cache-control': 'no-cache', 'expires': '0',
            'x-object-meta-a': 'b', 'etag': 'abc'})
        self.assertEqual({'content-type': 'text/plain',
                          'content-encoding': 'gzip',
                          'cache-control': 'no-cache', 'expires': '0'}, got)
        self.assertEqual('a/b; charset=x', meta.strip_swift_bytes(
            'a/b; swift_bytes=5; charset=x'))

    def test_swift_headers_hide_ours(self):
        headers, ts, etag = meta.swift_headers({
            'x-amz-meta-swift-s3-sync-timestamp': '1700000000.00000',
            'x-amz-meta-colour': '=?UTF-8?B?w6k=?=', 'etag': '"abc"',
            'content-length': '5', 'x-amz-request-id': 'r',
            'content-type': 'text/plain'})
        self.assertEqual('1700000000.00000', ts)
        self.assertIsNone(etag)
        for value in ('1700000000.12345_00000000000000ff', '1700000000'):
            self.assertEqual(value, meta.swift_headers({
                'x-amz-meta-swift-s3-sync-timestamp': value})[1])
        for value in ('yesterday', '', '=?UTF-8?B?MQ==?='):
            hidden, ts, _ = meta.swift_headers({
                'x-amz-meta-swift-s3-sync-timestamp': value})
            self.assertIsNone(ts)
            self.assertEqual({}, hidden)
        self.assertEqual({'x-object-meta-colour': '\u00e9', 'etag': 'abc',
                          'content-length': '5',
                          'content-type': 'text/plain'}, headers)


class TestCheck(unittest.TestCase):

    def setUp(self):
        self.provider = S3Provider(make_mapping())
        self.overhead = len(meta.TIMESTAMP_KEY) + len('1700000000.12345')

    def test_key_too_long(self):
        prefix = len(self.provider.key_prefix('c'))
        self.provider.check(make_local('x' * (1024 - prefix)))
        with self.assertRaises(RemoteError) as caught:
            self.provider.check(make_local('\u00e9' * 510))
        err = caught.exception
        self.assertTrue(err.permanent)
        self.assertIsNone(err.status)
        self.assertEqual('key is %d bytes after the prefix, S3 allows 1024'
                         % (prefix + 1020), str(err))

    def test_native_layout_allows_full_names(self):
        provider = S3Provider(make_mapping(custom_prefix=''))
        provider.check(make_local('x' * 1024))

    def test_metadata_limit_counts_encoded_bytes(self):
        room = 2048 - self.overhead - 1
        self.provider.check(make_local(meta_values={'k': 'v' * room}))
        with self.assertRaises(RemoteError) as caught:
            self.provider.check(make_local(
                meta_values={'k': 'v' * (room + 1)}))
        self.assertTrue(caught.exception.permanent)
        self.assertEqual('user metadata is 2049 bytes, S3 allows 2048',
                         str(caught.exception))
        # 600 two-byte chars are 1200 bytes raw but 1600 + 12 encoded.
        with self.assertRaises(RemoteError) as caught:
            self.provider.check(make_local(meta_values={
                'k': '\u00e9' * 600, 'l': 'x' * 400}))
        self.assertIn('user metadata is %d bytes' % (
            1 + 1612 + 1 + 400 + self.overhead), str(caught.exception))

    def test_single_put_size_limit(self):
        local = make_local()
        local.size = 5 * 1024 ** 3
        self.provider.check(local)
        local.size += 1
        with self.assertRaises(RemoteError) as caught:
            self.provider.check(local)
        self.assertTrue(caught.exception.permanent)

    def test_reserved_and_bad_keys(self):
        for key in (meta.TIMESTAMP_KEY, 'caf\u00e9', 'a b'):
            with self.assertRaises(RemoteError) as caught:
                self.provider.check(make_local(meta_values={key: 'v'}))
            self.assertTrue(caught.exception.permanent)


class ProviderTest(unittest.TestCase):
    mapping = {}

    def setUp(self):
        self.mapping_obj = make_mapping(**self.mapping)
        self.provider = S3Provider(self.mapping_obj)
        self.client = self.provider.client

    def tearDown(self):
        self.provider.close()


class TestRoundTripCompare(ProviderTest):
    """An object just written compares EQUAL; the original re-copied
    values with spaces and non-ASCII on every pass."""

    def write_and_head(self, local):
        wire = Wire(self.client)
        wire.queue(200, {'ETag': '"%s"' % local.etag})
        written = self.provider.put(local)
        sent = wire.sent_headers()
        # The server stores what it was sent and returns it on HEAD.
        stored = {k: v for k, v in sent.items()
                  if k.startswith('x-amz-meta-') or k in (
                      'content-type', 'content-encoding', 'expires',
                      'content-disposition', 'content-language',
                      'cache-control')}
        stored.update({'etag': '"%s"' % local.etag,
                       'content-length': str(local.size),
                       'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT'})
        wire.queue(200, stored)
        remote = self.provider.head(local.container, local.name)
        return sent, written, remote

    def tricky_local(self, **changes):
        values = dict(TRICKY)
        values.update(changes)
        return make_local(
            'd\u00e9j\u00e0 vu', b'data', values,
            content_type='text/plain; charset=utf-8;swift_bytes=99',
            content_encoding='gzip', content_disposition=(
                'attachment; filename="r\u00e9sum\u00e9.txt"'),
            cache_control='max-age=60,  public', expires='0')

    def test_just_written_is_equal(self):
        local = self.tricky_local()
        sent, written, remote = self.write_and_head(local)
        for value in sent.values():
            self.assertTrue(all(' ' <= c <= '~' for c in value), sent)
        self.assertEqual('0', sent['expires'])
        self.assertEqual('text/plain; charset=utf-8', sent['content-type'])
        self.assertEqual('1700000000.12345',
                         sent['x-amz-meta-swift-s3-sync-timestamp'])
        self.assertEqual(EQUAL, self.provider.compare(local, remote))
        self.assertEqual(EQUAL, self.provider.compare(local, written))
        self.assertEqual('1700000000.12345', remote.timestamp)
        self.assertEqual(local.etag, remote.etag)
        self.assertEqual(1735689600.0, remote.last_modified)
        for key, value in TRICKY.items():
            self.assertEqual(value, remote.headers['x-object-meta-' + key])
        self.assertNotIn('x-object-meta-swift-s3-sync-timestamp',
                         remote.headers)
        self.assertEqual('attachment; filename="r\u00e9sum\u00e9.txt"',
                         remote.headers['content-disposition'])
        self.assertEqual(written.headers, {
            k: v for k, v in remote.headers.items() if k != 'last-modified'})

    def test_one_value_changed(self):
        _, _, remote = self.write_and_head(self.tricky_local())
        for change in ({'emoji': 'smile \U0001F601 please'},
                       {'lead': 'leading'},
                       {'new': 'x'}, {'space': 'a  b'}):
            self.assertEqual(METADATA, self.provider.compare(
                self.tricky_local(**change), remote), change)
        local = self.tricky_local()
        del local.headers['x-object-meta-word']
        self.assertEqual(METADATA, self.provider.compare(local, remote))

    def test_content_header_changed(self):
        _, _, remote = self.write_and_head(self.tricky_local())
        for name, value in (('content-type', 'text/html'),
                            ('content-encoding', 'identity'),
                            ('expires', '1'), ('content-language', 'fr')):
            local = self.tricky_local()
            local.headers[name] = value
            self.assertEqual(METADATA, self.provider.compare(local, remote))
        local = self.tricky_local()
        del local.headers['cache-control']
        self.assertEqual(METADATA, self.provider.compare(local, remote))

    def test_empty_and_absent_are_the_same(self):
        local = make_local(meta_values={'e': ''})
        remote = RemoteObject('obj', local.etag, local.size, headers={
            'content-type': 'text/plain', 'content-encoding': ''})
        self.assertEqual(EQUAL, self.provider.compare(local, remote))

    def test_data_changes(self):
        local = make_local()
        headers = {'content-type': 'text/plain'}
        self.assertEqual(DATA, self.provider.compare(local, None))
        self.assertEqual(DATA, self.provider.compare(local, RemoteObject(
            'obj', 'f' * 32, local.size, headers=headers)))
        self.assertEqual(DATA, self.provider.compare(local, RemoteObject(
            'obj', local.etag, local.size + 1, headers=headers)))
        self.assertEqual(EQUAL, self.provider.compare(local, RemoteObject(
            'obj', local.etag.upper(), local.size, headers=headers)))

    def test_archived_metadata_change_is_data(self):
        local = make_local(meta_values={'a': 'new'})
        remote = RemoteObject('obj', local.etag, local.size, headers={
            'content-type': 'text/plain', 'x-object-meta-a': 'old',
            'x-amz-storage-class': 'GLACIER'})
        self.assertEqual(DATA, self.provider.compare(local, remote))
        remote.headers['x-amz-storage-class'] = 'STANDARD_IA'
        self.assertEqual(METADATA, self.provider.compare(local, remote))

    def test_listing_entry_cannot_be_compared(self):
        with self.assertRaises(ValueError):
            self.provider.compare(make_local(), RemoteObject('obj', 'e', 5))


class TestWrites(ProviderTest):

    def test_put_params(self):
        local = make_local(meta_values={'colour': 'bl\u00fce'},
                           content_type='a/b;swift_bytes=3')
        bodies = []

        def open_body():
            bodies.append(io.BytesIO(b'hello'))
            return bodies[-1]
        local.open_body = open_body
        with stubbed(self.client) as stub:
            stub.add_response('put_object', {'ETag': '"%s"' % local.etag}, {
                'Bucket': 'bucket', 'Key': 'ed866e/AUTH_test/c/obj',
                'Body': ANY, 'ContentLength': 5,
                'ContentMD5': 'XUFAKrxLKna5cZ2REBfFkg==',
                'ContentType': 'a/b',
                'Metadata': {'colour': '=?UTF-8?B?YmzDvGU=?=',
                             'swift-s3-sync-timestamp': '1700000000.12345'}})
            written = self.provider.put(local)
        self.assertTrue(bodies[0].closed)
        self.assertEqual(local.etag, written.etag)
        self.assertEqual('bl\u00fce', written.headers['x-object-meta-colour'])
        self.assertEqual('1700000000.12345', written.timestamp)

    def test_put_sse_and_storage_class(self):
        self.mapping_obj.sse_value = 'AES256'
        self.mapping_obj.storage_class = 'STANDARD_IA'
        local = make_local()
        with stubbed(self.client) as stub:
            stub.add_response('put_object', {'ETag': '"%s"' % local.etag}, {
                'Bucket': 'bucket', 'Key': ANY, 'Body': ANY,
                'ContentLength': 5, 'ContentMD5': ANY, 'ContentType': ANY,
                'Metadata': ANY, 'ServerSideEncryption': 'AES256',
                'StorageClass': 'STANDARD_IA'})
            self.provider.put(local)

    def test_put_kms_records_swift_etag(self):
        self.mapping_obj.sse_value = 'aws:kms'
        self.mapping_obj.sse_kms_key_id = 'key-1'
        local = make_local()
        with stubbed(self.client) as stub:
            stub.add_response('put_object', {'ETag': '"not-an-md5"'}, {
                'Bucket': 'bucket', 'Key': ANY, 'Body': ANY,
                'ContentLength': 5, 'ContentMD5': ANY, 'ContentType': ANY,
                'Metadata': {'swift-s3-sync-timestamp': '1700000000.12345',
                             'swift-s3-sync-etag': local.etag},
                'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': 'key-1'})
            written = self.provider.put(local)
        self.assertEqual(local.etag, written.etag)
        wire = Wire(self.client)
        wire.queue(200, {'etag': '"not-an-md5"', 'content-length': '5',
                         'content-type': 'text/plain',
                         'x-amz-server-side-encryption': 'aws:kms',
                         'x-amz-meta-swift-s3-sync-etag': local.etag})
        remote = self.provider.head('c', 'obj')
        self.assertEqual(local.etag, remote.etag)
        self.assertEqual(EQUAL, self.provider.compare(local, remote))

    def test_put_on_the_wire(self):
        wire = Wire(self.client)
        wire.queue(200, {'ETag': '"x"'})
        self.provider.put(make_local(expires='never', cache_control='x'))
        sent = wire.sent_headers()
        self.assertEqual('never', sent['expires'])
        self.assertEqual('UNSIGNED-PAYLOAD', sent['x-amz-content-sha256'])
        self.assertEqual('5', sent['content-length'])
        self.assertIn('content-md5', sent)
        self.assertFalse([k for k in sent if 'checksum' in k], sent)
        self.assertNotIn('transfer-encoding', sent)
        self.assertIn('/bucket/ed866e/AUTH_test/c/obj', wire.requests[0].url)

    def test_update_metadata_copies_in_place(self):
        local = make_local(meta_values={'a': 'b'})
        remote = RemoteObject('obj', local.etag, 5, headers={})
        with stubbed(self.client) as stub:
            stub.add_response('copy_object', {}, {
                'Bucket': 'bucket', 'Key': 'ed866e/AUTH_test/c/obj',
                'CopySource': {'Bucket': 'bucket',
                               'Key': 'ed866e/AUTH_test/c/obj'},
                'MetadataDirective': 'REPLACE', 'ContentType': 'text/plain',
                'Metadata': {'a': 'b',
                             'swift-s3-sync-timestamp': '1700000000.12345'}})
            written = self.provider.update_metadata(local, remote)
        self.assertEqual('b', written.headers['x-object-meta-a'])
        self.assertEqual(local.etag, written.etag)

    def test_update_metadata_of_archived_object_uploads(self):
        local = make_local()
        remote = RemoteObject('obj', local.etag, 5, headers={
            'x-amz-storage-class': 'DEEP_ARCHIVE'})
        with stubbed(self.client) as stub:
            stub.add_response('put_object', {'ETag': '"%s"' % local.etag}, {
                'Bucket': 'bucket', 'Key': 'ed866e/AUTH_test/c/obj',
                'Body': ANY, 'ContentLength': 5, 'ContentMD5': ANY,
                'ContentType': 'text/plain', 'Metadata': {
                    'swift-s3-sync-timestamp': '1700000000.12345'}})
            self.provider.update_metadata(local, remote)

    def test_delete(self):
        with stubbed(self.client) as stub:
            manifest = self.provider.manifest_key('c', 'o')
            self.assertTrue(manifest.startswith('ed866e/.manifests/'))
            stub.add_response('delete_object', {'ResponseMetadata': {
                'HTTPStatusCode': 204}}, {'Bucket': 'bucket',
                                          'Key': 'ed866e/AUTH_test/c/o'})
            stub.add_client_error('delete_object', 'NoSuchKey', 'gone', 404,
                                  expected_params={'Bucket': 'bucket',
                                                   'Key': manifest})
            for key in ('ed866e/AUTH_test/c/o', manifest):
                stub.add_client_error('delete_object', 'NoSuchKey', 'gone',
                                      404, expected_params={
                                          'Bucket': 'bucket', 'Key': key})
            self.assertTrue(self.provider.delete('c', 'o'))
            self.assertFalse(self.provider.delete('c', 'o'))

    def test_delete_of_an_object_headed_as_plain_is_one_request(self):
        plain = RemoteObject('o', 'e', 1, headers={'etag': 'e'})
        listed = RemoteObject('o', 'e', 1)   # a listing: kind unknown
        slo = RemoteObject('o', 'e', 1, headers={
            'etag': 'e', 'x-static-large-object': 'True'})
        key = 'ed866e/AUTH_test/c/o'
        manifest = self.provider.manifest_key('c', 'o')
        deleted = {'ResponseMetadata': {'HTTPStatusCode': 204}}
        with stubbed(self.client) as stub:
            stub.add_response('delete_object', deleted,
                              {'Bucket': 'bucket', 'Key': key})
            self.assertTrue(self.provider.delete('c', 'o', remote=plain))
        for remote in (slo, listed):
            with stubbed(self.client) as stub:
                for k in (key, manifest):
                    stub.add_response('delete_object', deleted,
                                      {'Bucket': 'bucket', 'Key': k})
                self.assertTrue(self.provider.delete('c', 'o',
                                                     remote=remote))

    def test_delete_manifest(self):
        with stubbed(self.client) as stub:
            stub.add_client_error('delete_object', 'NoSuchKey', 'gone', 404,
                                  expected_params={
                                      'Bucket': 'bucket',
                                      'Key': self.provider.manifest_key(
                                          'c', 'o')})
            self.provider.delete_manifest('c', 'o')


class TestReads(ProviderTest):

    def test_head_missing(self):
        with stubbed(self.client) as stub:
            stub.add_client_error('head_object', '404', 'Not Found', 404,
                                  expected_params={
                                      'Bucket': 'bucket',
                                      'Key': 'ed866e/AUTH_test/c/o'})
            self.assertIsNone(self.provider.head('c', 'o'))

    def test_get_passes_headers_raw(self):
        wire = Wire(self.client)
        wire.queue(206, {'Content-Range': 'bytes 1-2/5', 'ETag': '"e"',
                         'Content-Length': '2'}, b'el')
        status, headers, body = self.provider.get('c', 'o', {
            'Range': 'bytes=1-2', 'If-Modified-Since': 'yesterday',
            'X-Auth-Token': 'no'})
        self.assertEqual(206, status)
        self.assertEqual(b'el', b''.join(body))
        self.assertEqual({'content-range': 'bytes 1-2/5', 'etag': 'e',
                          'content-length': '2'}, headers)
        sent = wire.sent_headers()
        self.assertEqual('bytes=1-2', sent['range'])
        self.assertEqual('yesterday', sent['if-modified-since'])
        self.assertNotIn('x-auth-token', sent)

    def test_get_statuses_come_back(self):
        wire = Wire(self.client)
        wire.queue(304, {'ETag': '"e"'})
        wire.queue(404, {}, error_xml('NoSuchKey', 'no'))
        wire.queue(412, {}, error_xml('PreconditionFailed', 'no'))
        wire.queue(416, {}, error_xml('InvalidRange', 'no'))
        for expected in (304, 404, 412, 416):
            status, headers, body = self.provider.get('c', 'o')
            self.assertEqual(expected, status)
            self.assertEqual(b'', b''.join(body))
        wire.queue(400, {}, error_xml('InvalidArgument', 'bad'))
        with self.assertRaises(RemoteError):
            self.provider.get('c', 'o')

    def test_get_body_closes(self):
        wire = Wire(self.client)
        wire.queue(200, {'Content-Length': '3'}, b'abc')
        _, _, body = self.provider.get('c', 'o')
        body.close()
        body.close()
        self.assertEqual([], list(body))

    def page(self, keys, token=None, prefix='ed866e/AUTH_test/c/'):
        resp = {'IsTruncated': token is not None, 'Contents': [
            {'Key': prefix + k, 'ETag': '"e%s"' % k, 'Size': 1,
             'LastModified': JAN_1} for k in keys]}
        if token:
            resp['NextContinuationToken'] = token
        return resp

    def test_list_pages(self):
        prefix = 'ed866e/AUTH_test/c/'
        with stubbed(self.client) as stub:
            stub.add_response('list_objects_v2', self.page(['a', 'b'], 't1'), {
                'Bucket': 'bucket', 'Prefix': prefix + 'x', 'MaxKeys': 1000,
                'StartAfter': prefix + 'm'})
            stub.add_response('list_objects_v2', self.page(['c', 'd']), {
                'Bucket': 'bucket', 'Prefix': prefix + 'x', 'MaxKeys': 1000,
                'ContinuationToken': 't1'})
            got = list(self.provider.list('c', prefix='x', marker='m'))
        self.assertEqual(['a', 'b', 'c', 'd'], [o.name for o in got])
        self.assertEqual('ea', got[0].etag)
        self.assertEqual(1735689600.0, got[0].last_modified)
        self.assertIsNone(got[0].headers)

    def test_list_end_marker_and_limit(self):
        with stubbed(self.client) as stub:
            stub.add_response('list_objects_v2', self.page(['a', 'b', 'c']),
                              {'Bucket': 'bucket',
                               'Prefix': 'ed866e/AUTH_test/c/',
                               'MaxKeys': 1000})
            self.assertEqual(['a'], [o.name for o in self.provider.list(
                'c', end_marker='b')])
            stub.add_response('list_objects_v2', self.page(['a', 'b'], 't'),
                              {'Bucket': 'bucket', 'Prefix': ANY,
                               'MaxKeys': 2})
            self.assertEqual(['a', 'b'], [o.name for o in self.provider.list(
                'c', limit=2)])

    def test_list_skips_foreign_keys(self):
        with stubbed(self.client) as stub:
            resp = self.page(['a'])
            resp['Contents'].append({'Key': 'elsewhere', 'ETag': '"e"',
                                     'Size': 1, 'LastModified': JAN_1})
            stub.add_response('list_objects_v2', resp, {
                'Bucket': 'bucket', 'Prefix': 'ed866e/AUTH_test/c/',
                'MaxKeys': 1000})
            self.assertEqual(['a'], [o.name for o in self.provider.list('c')])


class TestGoogle(ProviderTest):
    mapping = {'google': True, 'custom_prefix': ''}

    def test_list_v1_without_encoding_type(self):
        wire = Wire(self.client)
        body = ('<?xml version="1.0"?><ListBucketResult><IsTruncated>true'
                '</IsTruncated><Contents><Key>a%b</Key><ETag>"e"</ETag>'
                '<Size>1</Size><LastModified>2025-01-01T00:00:00Z'
                '</LastModified></Contents></ListBucketResult>').encode()
        wire.queue(200, {}, body)
        wire.queue(200, {}, body.replace(b'a%b', b'b').replace(
            b'true', b'false'))
        self.assertEqual(['a%b', 'b'], [
            o.name for o in self.provider.list('c')])
        self.assertNotIn('encoding-type', wire.requests[0].url)
        self.assertIn('marker=a%25b', wire.requests[1].url)


    def test_large_object_is_one_object(self):
        pieces = [b'a' * (6 * 1024 * 1024), b'b' * 10]
        segments = [Segment('segs', str(i), hashlib.md5(p).hexdigest(),
                            len(p)) for i, p in enumerate(pieces)]
        local = LocalObject(
            'c', 'big', {'content-type': 'text/plain'}, sum(map(len, pieces)),
            'slo-etag', '1700000000.00000',
            lambda: io.BytesIO(b''.join(pieces)), large='slo',
            segments=segments, manifest='[]')
        wire = Wire(self.client)
        wire.queue(200, {'ETag': '"whole"'})   # the object, in one PUT
        wire.queue(200, {'ETag': '"m"'})       # its saved manifest
        written = self.provider.put(local)
        self.assertEqual(2, len(wire.requests))
        self.assertNotIn('uploads', wire.requests[0].url)
        self.assertEqual(str(local.size),
                         wire.sent_headers(0)['content-length'])
        self.assertTrue(wire.requests[1].url.endswith('.swift_slo_manifest'))
        self.assertEqual('slo-etag', written.etag)


class TestErrors(ProviderTest):
    mapping = {'aws_session_token': TOKEN}

    def error_for(self, code, status, message='msg'):
        with stubbed(self.client) as stub:
            stub.add_client_error('put_object', code, message, status,
                                  expected_params={
                                      'Bucket': 'bucket',
                                      'Key': 'ed866e/AUTH_test/c/obj',
                                      'Body': ANY, 'ContentLength': 5,
                                      'ContentMD5': ANY,
                                      'ContentType': 'text/plain',
                                      'Metadata': ANY})
            with self.assertRaises(RemoteError) as caught:
                self.provider.put(make_local())
        return caught.exception

    def test_classification(self):
        for code, status, permanent in (
                ('SlowDown', 503, False), ('InternalError', 500, False),
                ('RequestTimeout', 400, False),
                ('TooManyRequests', 429, False),
                ('AccessDenied', 403, False), ('NoSuchBucket', 404, False),
                ('InvalidArgument', 400, True), ('EntityTooLarge', 400, True),
                ('InvalidObjectState', 403, True), ('BadDigest', 400, False),
                ('IncompleteBody', 400, False)):
            err = self.error_for(code, status)
            self.assertEqual(permanent, err.permanent, code)
            self.assertEqual(status, err.status)
            self.assertEqual(code, err.code)
            self.assertEqual('%d %s: msg (put_object)' % (status, code),
                             str(err))

    def test_transport_errors(self):
        for exc, permanent in (
                (botocore.exceptions.EndpointConnectionError(
                    endpoint_url='http://x'), False),
                (botocore.exceptions.ReadTimeoutError(
                    endpoint_url='http://x'), False),
                (botocore.exceptions.ConnectionClosedError(
                    endpoint_url='http://x'), False),
                (botocore.exceptions.ParamValidationError(report='bad'),
                 True)):
            self.provider._client = mock.Mock(**{
                'head_object.side_effect': exc})
            with self.assertRaises(RemoteError) as caught:
                self.provider.head('c', 'o')
            self.assertEqual(permanent, caught.exception.permanent, exc)
            self.assertIsNone(caught.exception.status)

    def test_secret_never_in_errors(self):
        err = self.error_for('SignatureDoesNotMatch', 403,
                             'key %s token %s' % (SECRET, TOKEN))
        self.assertNotIn(SECRET, str(err))
        self.assertNotIn(TOKEN, str(err))
        self.assertNotIn(SECRET, repr(err.args))

    def test_secret_not_in_connection_errors(self):
        # A real request to a closed port: refused, retried once, wrapped.
        mapping = make_mapping(aws_endpoint='http://127.0.0.1:9',
                               aws_session_token=TOKEN)
        provider = S3Provider(mapping)
        for call in (lambda: provider.head('c', 'o'),
                     lambda: provider.put(make_local()),
                     lambda: list(provider.list('c'))):
            with self.assertRaises(RemoteError) as caught:
                call()
            self.assertFalse(caught.exception.permanent)
            self.assertNotIn(SECRET, str(caught.exception))
            self.assertNotIn(TOKEN, str(caught.exception))
        provider.close()


class TestClient(unittest.TestCase):

    def test_config(self):
        provider = S3Provider(make_mapping(), max_connections=7)
        config = provider.client.meta.config
        self.assertIs(provider.client, provider.client)
        self.assertEqual('path', config.s3['addressing_style'])
        self.assertEqual('s3v4', config.signature_version)
        self.assertEqual(7, config.max_pool_connections)
        # One retry: the sync engine retries rows itself.
        self.assertEqual({'total_max_attempts': 2, 'mode': 'standard'},
                         config.retries)
        self.assertEqual((10, 60), (config.connect_timeout,
                                    config.read_timeout))
        provider.close()
        aws = S3Provider(make_mapping(aws=True, aws_endpoint=None,
                                      aws_region='eu-west-1'))
        self.assertEqual('auto', aws.client.meta.config.s3['addressing_style'])
        self.assertEqual('eu-west-1', aws.client.meta.region_name)

    def test_lazy_and_closable(self):
        provider = S3Provider(make_mapping())
        self.assertIsNone(provider._client)
        client = provider.client
        with mock.patch.object(client, 'close') as close:
            provider.close()
        close.assert_called_once_with()
        self.assertIsNot(client, provider.client)
        provider.close()
        provider.close()

    def test_ca_bundle_in_environment(self):
        with mock.patch.dict(os.environ, {'AWS_CA_BUNDLE': '/nonexistent'}):
            provider = S3Provider(make_mapping())
            with stubbed(provider.client) as stub:
                stub.add_client_error('head_object', '404', 'Not Found', 404,
                                      expected_params={
                                          'Bucket': 'bucket',
                                          'Key': 'ed866e/AUTH_test/c/o'})
                self.assertIsNone(provider.head('c', 'o'))


class TestProviderFor(unittest.TestCase):

    def test_protocols(self):
        self.assertIsInstance(provider_for(make_mapping()), S3Provider)
        provider = provider_for(make_mapping(), None, max_connections=3)
        self.assertEqual(3, provider.client.meta.config.max_pool_connections)
        from swift_s3_sync.providers.swift import SwiftProvider
        self.assertIsInstance(provider_for(make_mapping(
            protocol='swift', auth_type='swift', remote_account=None)),
            SwiftProvider)
        with self.assertRaises(ValueError):
            provider_for(make_mapping(protocol='ftp'))


class TestFastTimestamps(unittest.TestCase):
    """The timestamp parser our clients use gives botocore's instants."""

    def test_same_instants_as_botocore(self):
        from botocore.utils import parse_timestamp
        from swift_s3_sync.providers.s3_client import fast_timestamp
        for value in ('2026-12-03T15:00:00.123Z', '2026-12-03T15:00:00Z',
                      '2026-12-03T15:00:00.000001Z',
                      'Thu, 03 Dec 2026 15:00:00 GMT',
                      'Mon, 01 Jan 2024 00:00:59 GMT'):
            fast = fast_timestamp(value)
            self.assertIsNotNone(fast.tzinfo, value)
            self.assertEqual(parse_timestamp(value).timestamp(),
                             fast.timestamp(), value)

    def test_other_forms_go_to_botocore(self):
        from swift_s3_sync.providers.s3_client import fast_timestamp
        for value in (1796310000, '1796310000', '2026-12-03 15:00:00+00:00',
                      'Thursday, 03-Dec-26 15:00:00 GMT'):
            self.assertEqual(datetime.datetime(2026, 12, 3, 15, 0,
                                               tzinfo=datetime.timezone.utc)
                             .timestamp(),
                             fast_timestamp(value).timestamp(), value)

    def test_clients_parse_with_it(self):
        mapping = types.SimpleNamespace(
            aws_identity='id', aws_secret='secret', aws_session_token=None,
            aws_region=None, aws_endpoint='http://127.0.0.1:1',
            aws_bucket='b', is_aws=lambda: False, is_google=lambda: False)
        S3Provider(mapping).client   # made: the shared session exists
        from swift_s3_sync.providers import s3_client
        factory = s3_client._shared['core'].get_component(
            'response_parser_factory')
        self.assertIs(s3_client.fast_timestamp,
                      factory.create_parser('rest-xml')._timestamp_parser)
