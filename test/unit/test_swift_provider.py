"""Swift provider without a server.

swiftclient's Connection is replaced by a fake backed by an in-memory Swift
(:class:`FakeSwift`) that behaves like the real one where the provider
depends on it: SLO/DLO manifests, 404 for missing containers, metadata
replaced by POST, raw response headers Latin-1 decoded the way http.client
leaves them (and swiftclient's parsed dicts URL-unquoted, as the real
swiftclient does).
"""
import hashlib
import io
import json
import socket
import time
import types
import unittest
from unittest import mock
from urllib.parse import unquote

import requests.exceptions
import swiftclient.client
from swiftclient.exceptions import ClientException

from swift_s3_sync.providers import provider_for
from swift_s3_sync.providers import swift as swift_module
from swift_s3_sync.providers.base import (
    DATA, EQUAL, METADATA, LocalObject, RemoteError, RemoteObject, Segment)
from swift_s3_sync.providers.swift import SwiftProvider

SECRET = 'sEcReT-kEy-0123456789'
TOKEN = 'AUTH_tk-secret-token-abcdef'
STORAGE_URL = 'http://remote.example.com:8080/v1/AUTH_remote'
TS = '1700000000.12345'


def md5(data):
    return hashlib.md5(data).hexdigest()


def make_mapping(**kw):
    settings = dict(
        account='AUTH_test', container='c', aws_bucket='dest',
        aws_endpoint='http://remote.example.com:8080/auth/v1.0',
        aws_identity='acct:user', aws_secret=SECRET, protocol='swift',
        auth_type='swift', project_name=None, project_domain_name=None,
        user_domain_name=None, remote_account=None, storage_policy=None,
        propagate_expiration=False, propagate_expiration_offset=0,
        remote_delete_after=0, convert_dlo=False, min_segment_size=0,
        sync_container_metadata=False, sync_container_acl=False)
    settings.update(kw)
    mapping = types.SimpleNamespace(**settings)
    mapping.per_account = mapping.container == '/*'
    return mapping


class Body(io.BytesIO):
    opened = 0

    def __init__(self, data):
        super().__init__(data)
        Body.opened += 1


def make_local(name='obj', body=b'hello', meta=None, container='c',
               timestamp=TS, **headers):
    hdrs = {'content-type': 'text/plain'}
    hdrs.update(('x-object-meta-' + k, v) for k, v in (meta or {}).items())
    hdrs.update((k.replace('_', '-'), v) for k, v in headers.items())
    return LocalObject(container, name, hdrs, len(body), md5(body), timestamp,
                       lambda: Body(body))


def make_large(name='big', pieces=(b'a' * 10, b'b' * 10, b'c' * 3),
               kind='slo', timestamp=TS, meta=None, ranges=None):
    segments = []
    for i, data in enumerate(pieces):
        rng = ranges[i] if ranges else None
        segments.append(Segment('c_segments', '%s/%d' % (name, i), md5(data),
                                len(data), rng))
    data_of = {s.name: d for s, d in zip(segments, pieces)}
    etag = md5(''.join(s.etag for s in segments).encode())
    headers = {'content-type': 'application/x-big;swift_bytes=23'}
    headers.update(('x-object-meta-' + k, v) for k, v in (meta or {}).items())
    if kind == 'dlo':
        headers['x-object-manifest'] = 'c_segments/%s/' % name
    else:
        headers['x-static-large-object'] = 'True'
    return LocalObject('c', name, headers, sum(map(len, pieces)),
                       '"%s"' % etag, timestamp, None, large=kind,
                       segments=segments,
                       open_segment=lambda s: Body(data_of[s.name]))


def wire(value):
    """What http.client leaves in a header value: Latin-1 of the bytes."""
    return str(value).encode('utf-8').decode('latin-1')


class FakeSwift(object):
    """An in-memory Swift account behind FakeConnection."""

    def __init__(self):
        self.containers = {}
        self.calls = []
        self.faults = []       # [(op, predicate(args, kwargs), exception)]
        self.connections = []

    def fail(self, op, error, when=lambda args, kwargs: True, times=1):
        for _ in range(times):
            self.faults.append((op, when, error))

    def check_faults(self, op, args, kwargs):
        for fault in self.faults:
            if fault[0] == op and fault[1](args, kwargs):
                self.faults.remove(fault)
                raise fault[2]

    def ops(self, *names):
        return [c for c in self.calls if c[0] in names]

    def objects(self, container):
        return self.containers[container]['objects']


def not_found(what='Object'):
    return ClientException('%s HEAD failed' % what, http_status=404,
                           http_reason='Not Found')


class FakeConnection(object):
    def __init__(self, cluster, **kwargs):
        self.cluster = cluster
        self.kwargs = kwargs
        self.os_options = kwargs.get('os_options') or {}
        if kwargs.get('preauthurl'):
            self.os_options['object_storage_url'] = kwargs['preauthurl']
        self.url = kwargs.get('preauthurl')
        self.token = kwargs.get('preauthtoken')
        self.http_conn = None
        self.closed = False
        cluster.connections.append(self)

    # -- plumbing ---------------------------------------------------------
    def _respond(self, status, headers):
        raw = {k.title(): wire(v) for k, v in headers.items()}
        self.http_conn = (None, types.SimpleNamespace(
            resp=types.SimpleNamespace(status_code=status, headers=raw)))
        # swiftclient's parsed dict: URL-unquoted, as parse_header_string
        return {k.lower(): unquote(v) for k, v in headers.items()}

    def _start(self, op, *args, **kwargs):
        self.cluster.calls.append((op,) + args + (kwargs,))
        if not self.url:
            self.get_auth()
        self.cluster.check_faults(op, args, kwargs)

    def _container(self, name):
        try:
            return self.cluster.containers[name]
        except KeyError:
            self._respond(404, {})
            raise not_found('Container')

    def _object(self, container, name):
        obj = self._container(container)['objects'].get(name)
        if obj is None:
            self._respond(404, {})
            raise not_found()
        return obj

    def get_auth(self):
        self.cluster.calls.append(('get_auth',))
        self.url = self.os_options.get('object_storage_url') or STORAGE_URL
        self.token = TOKEN
        return self.url, self.token

    def close(self):
        self.closed = True

    # -- objects ----------------------------------------------------------
    def _parts(self, obj):
        if obj['kind'] == 'slo':
            return [self._object(*e['path'].lstrip('/').split('/', 1))
                    for e in obj['manifest']]
        if obj['kind'] == 'dlo':
            container, prefix = unquote(
                obj['headers']['x-object-manifest']).split('/', 1)
            objects = self._container(container)['objects']
            return [objects[n] for n in sorted(objects)
                    if n.startswith(prefix)]
        return [obj]

    def _body(self, obj):
        return b''.join(p['body'] for p in self._parts(obj))

    def _head_headers(self, obj):
        headers = dict(obj['headers'])
        parts = self._parts(obj)
        headers['content-length'] = str(sum(len(p['body']) for p in parts))
        if obj['kind']:
            headers['etag'] = '"%s"' % md5(''.join(
                p['etag'] for p in parts).encode())
        else:
            headers['etag'] = obj['etag']
        headers['x-timestamp'] = obj['timestamp']
        headers['last-modified'] = 'Tue, 14 Nov 2023 22:13:20 GMT'
        if obj['kind'] == 'slo':
            headers['x-static-large-object'] = 'True'
        return headers

    def head_object(self, container, name, headers=None):
        self._start('head_object', container, name)
        return self._respond(200, self._head_headers(
            self._object(container, name)))

    def put_object(self, container, name, contents, content_length=None,
                   etag=None, chunk_size=None, content_type=None,
                   headers=None, query_string=None, response_dict=None):
        self._start('put_object', container, name, contents=contents,
                    content_length=content_length, etag=etag,
                    content_type=content_type, headers=dict(headers or {}),
                    query_string=query_string)
        if isinstance(contents, str):
            data = contents.encode('utf-8')
        else:
            data = b''
            while content_length is None or len(data) < content_length:
                chunk = contents.read(65536)
                if not chunk:
                    break
                data += chunk
        objects = self._container(container)['objects']   # body sent
        if etag and md5(data) != etag and not query_string:
            self._respond(422, {})
            raise ClientException('Object PUT failed', http_status=422)
        obj = {'body': data, 'etag': md5(data), 'kind': None,
               'timestamp': '%.5f' % time.time(),
               'headers': self._stored(headers, content_type)}
        if query_string == 'multipart-manifest=put':
            obj['manifest'] = json.loads(data)
            for entry in obj['manifest']:
                segment = self._object(*entry['path'].lstrip('/').split(
                    '/', 1))
                if segment['etag'] != entry['etag']:
                    raise ClientException('bad manifest', http_status=400)
            obj['kind'], obj['body'] = 'slo', b''
            slo_etag = md5(''.join(e['etag'] for e in obj['manifest'])
                           .encode())
            if etag and etag != slo_etag:
                raise ClientException('Object PUT failed', http_status=422)
        elif 'x-object-manifest' in obj['headers']:
            obj['kind'] = 'dlo'
        objects[name] = obj
        etag = self._head_headers(obj)['etag']
        self._respond(201, {'etag': etag})
        return etag.strip('"')

    @staticmethod
    def _stored(headers, content_type=None):
        stored = {}
        for key, value in (headers or {}).items():
            key = key.lower()
            if key == 'x-delete-after':
                key, value = 'x-delete-at', str(int(time.time()) + int(value))
            stored[key] = value
        if content_type:
            stored['content-type'] = content_type
        stored.setdefault('content-type', 'application/octet-stream')
        return stored

    def post_object(self, container, name, headers, response_dict=None):
        self._start('post_object', container, name, headers=dict(headers))
        obj = self._object(container, name)
        content_type = obj['headers']['content-type']
        obj['headers'] = self._stored(headers)
        obj['headers'].setdefault('content-type', content_type)
        if headers.get('content-type'):
            obj['headers']['content-type'] = headers['content-type']
        if obj['kind'] == 'dlo' and 'x-object-manifest' not in headers:
            obj['kind'] = None   # what Swift does: a plain object now
        self._respond(202, {})

    def delete_object(self, container, name, query_string=None,
                      headers=None, response_dict=None):
        self._start('delete_object', container, name,
                    query_string=query_string)
        obj = self._object(container, name)
        if query_string == 'multipart-manifest=delete' and \
                obj['kind'] == 'slo':
            for entry in obj['manifest']:
                seg_container, seg = entry['path'].lstrip('/').split('/', 1)
                self.cluster.objects(seg_container).pop(seg, None)
        del self._container(container)['objects'][name]
        self._respond(204, {})

    def get_object(self, container, name, headers=None, resp_chunk_size=None,
                   query_string=None, response_dict=None):
        self._start('get_object', container, name, headers=dict(
            headers or {}), query_string=query_string)
        obj = self._object(container, name)
        if query_string == 'multipart-manifest=get':
            body = json.dumps([{'name': e['path'], 'hash': e['etag'],
                                'bytes': e['size_bytes']}
                               for e in obj['manifest']]).encode()
            return self._respond(200, {}), body
        response = self._head_headers(obj)
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        if headers.get('if-none-match', '').strip('"') == \
                response['etag'].strip('"'):
            self._respond(304, response)
            raise ClientException('Object GET failed', http_status=304)
        body, status = self._body(obj), 200
        if 'range' in headers:
            first, last = headers['range'][6:].split('-')
            body, status = body[int(first):int(last) + 1], 206
            response['content-range'] = 'bytes %s-%s/%d' % (
                first, last, int(response['content-length']))
            response['content-length'] = str(len(body))
        parsed = self._respond(status, response)
        chunk = resp_chunk_size or len(body) or 1
        return parsed, iter([body[i:i + chunk]
                             for i in range(0, len(body), chunk)])

    # -- containers -------------------------------------------------------
    def get_container(self, container, marker=None, limit=None, prefix=None,
                      end_marker=None, full_listing=False, **kwargs):
        self._start('get_container', container, marker=marker, limit=limit,
                    prefix=prefix, end_marker=end_marker,
                    full_listing=full_listing)
        objects = self._container(container)['objects']
        items = []
        for name in sorted(objects):
            if (marker and name <= marker) or \
                    (end_marker and name >= end_marker) or \
                    (prefix and not name.startswith(prefix)):
                continue
            obj = objects[name]
            head = self._head_headers(obj)
            item = {'name': name, 'bytes': int(head['content-length']),
                    'hash': md5(obj['body']),
                    'last_modified': '2023-11-14T22:13:20.123450',
                    'content_type': obj['headers']['content-type']}
            if obj['kind'] == 'slo':
                item['slo_etag'] = head['etag']
            items.append(item)
        if limit and not full_listing:
            items = items[:limit]
        return self._respond(200, {}), items

    def put_container(self, container, headers=None, response_dict=None,
                      query_string=None):
        self._start('put_container', container, headers=dict(headers or {}))
        self.cluster.containers.setdefault(
            container, {'headers': dict(headers or {}), 'objects': {}})
        self._respond(201, {})

    def head_container(self, container, headers=None):
        self._start('head_container', container)
        return self._respond(204, self._container(container)['headers'])

    def post_container(self, container, headers, response_dict=None):
        self._start('post_container', container, headers=dict(headers))
        self._container(container)['headers'].update(headers)
        self._respond(204, {})


class ProviderTest(unittest.TestCase):
    """A provider whose swiftclient Connections talk to a FakeSwift."""

    def setUp(self):
        self.swift = FakeSwift()
        patcher = mock.patch.object(
            swiftclient.client, 'Connection',
            lambda **kw: FakeConnection(self.swift, **kw))
        patcher.start()
        self.addCleanup(patcher.stop)

    def provider(self, containers=('dest',), max_connections=10, **kw):
        for name in containers:
            self.swift.containers[name] = {'headers': {}, 'objects': {}}
        provider = SwiftProvider(make_mapping(**kw), None, max_connections)
        self.addCleanup(provider.close)
        return provider

    def sent(self, op='put_object', index=-1):
        return self.swift.ops(op)[index][-1]


class TestLayoutAndConnections(ProviderTest):

    def test_provider_for_swift(self):
        provider = provider_for(make_mapping(), max_connections=3)
        self.assertIsInstance(provider, SwiftProvider)
        self.assertEqual(3, provider.max_connections)

    def test_container_names(self):
        provider = SwiftProvider(make_mapping())
        self.assertEqual('dest', provider.remote_container('anything'))
        self.assertEqual('dest_segments',
                         provider.segments_container('anything'))
        per_account = SwiftProvider(make_mapping(container='/*',
                                                 aws_bucket='pre-'))
        self.assertEqual('pre-c1', per_account.remote_container('c1'))
        self.assertEqual('pre-\u00e9t\u00e9_segments',
                         per_account.segments_container('\u00e9t\u00e9'))

    def test_lazy_connections_v1_auth(self):
        provider = self.provider()
        self.assertEqual([], self.swift.connections)
        provider.head('c', 'o')
        kwargs = self.swift.connections[0].kwargs
        self.assertEqual(make_mapping().aws_endpoint, kwargs['authurl'])
        self.assertEqual('acct:user', kwargs['user'])
        self.assertEqual(SECRET, kwargs['key'])
        self.assertEqual('1', kwargs['auth_version'])
        self.assertEqual(1, kwargs['retries'])
        self.assertEqual(60, kwargs['timeout'])

    def test_keystone_v3_options(self):
        provider = self.provider(auth_type='keystone_v3', project_name='p',
                                 project_domain_name='pd',
                                 user_domain_name='ud')
        provider.head('c', 'o')
        kwargs = self.swift.connections[0].kwargs
        self.assertEqual('3', kwargs['auth_version'])
        self.assertEqual({'project_name': 'p', 'project_domain_name': 'pd',
                          'user_domain_name': 'ud'},
                         {k: kwargs['os_options'][k] for k in (
                             'project_name', 'project_domain_name',
                             'user_domain_name')})

    def test_remote_account_replaces_storage_url_account(self):
        provider = self.provider(remote_account='AUTH_\u00e9other')
        provider.head('c', 'o')
        conn = self.swift.connections[0]
        expected = 'http://remote.example.com:8080/v1/AUTH_%C3%A9other'
        self.assertEqual(expected, conn.url)
        self.assertEqual(expected, conn.os_options['object_storage_url'])
        self.assertEqual(
            'https://h/swift/v1/AUTH_b',
            swift_module._account_url('https://h/swift/v1/AUTH_a/', 'AUTH_b'))

    def test_pool_reuses_and_shares_the_token(self):
        provider = self.provider(max_connections=2)
        provider.put(make_local())
        provider.head('c', 'obj')
        self.assertEqual(1, len(self.swift.connections))
        self.assertEqual(1, len(self.swift.ops('get_auth')))
        # A body left open holds its connection; others are made meanwhile,
        # already authenticated with the shared token.
        bodies = [provider.get('c', 'obj')[2] for _ in range(3)]
        self.assertEqual(3, len(self.swift.connections))
        self.assertEqual(1, len(self.swift.ops('get_auth')))
        self.assertEqual(TOKEN, self.swift.connections[2].kwargs[
            'preauthtoken'])
        for body in bodies:
            self.assertEqual(b'hello', b''.join(body))
        self.assertEqual(1, sum(c.closed for c in self.swift.connections))
        provider.close()
        self.assertTrue(all(c.closed for c in self.swift.connections))


class TestHeaders(ProviderTest):
    META = {'mixed': 'MiXeD CaSe', 'percent': '100%25 sure',
            'unicode': '\u00fcn\u00efc\u00f6d\u00e9 \U0001F600',
            'tab': 'a\tb', 'empty': ''}

    def test_put_sends_metadata_exactly(self):
        provider = self.provider()
        local = make_local('d\u00e9j\u00e0', b'data', self.META,
                           content_type='text/x; charset=UTF-8;swift_bytes=9',
                           content_encoding='gzip', x_delete_at='1999999999',
                           x_object_sysmeta_foo='bar')
        provider.check(local)
        written = provider.put(local)
        sent = self.sent()
        self.assertEqual('text/x; charset=UTF-8', sent['content_type'])
        self.assertEqual(md5(b'data'), sent['etag'])
        self.assertEqual(4, sent['content_length'])
        self.assertEqual({
            'x-object-meta-mixed': 'MiXeD CaSe',
            'x-object-meta-percent': '100%25 sure',
            'x-object-meta-unicode': '\u00fcn\u00efc\u00f6d\u00e9 \U0001F600',
            'x-object-meta-tab': 'a\tb',
            'x-object-meta-swift-s3-sync-timestamp': TS,
            'content-encoding': 'gzip'}, sent['headers'])
        self.assertEqual(TS, written.timestamp)
        self.assertEqual(md5(b'data'), written.etag)

    def test_head_reads_raw_utf8_values(self):
        provider = self.provider()
        provider.put(make_local('o', b'data', self.META))
        remote = provider.head('c', 'o')
        self.assertEqual('100%25 sure',
                         remote.headers['x-object-meta-percent'])
        self.assertEqual('\u00fcn\u00efc\u00f6d\u00e9 \U0001F600',
                         remote.headers['x-object-meta-unicode'])
        self.assertEqual('MiXeD CaSe', remote.headers['x-object-meta-mixed'])
        self.assertNotIn('x-object-meta-swift-s3-sync-timestamp',
                         remote.headers)
        self.assertEqual(TS, remote.timestamp)
        self.assertEqual(md5(b'data'), remote.etag)
        self.assertEqual(4, remote.size)
        self.assertEqual(1700000000.0, remote.last_modified)
        self.assertIsNone(provider.head('c', 'missing'))

    def test_foreign_timestamp_ignored(self):
        provider = self.provider()
        provider.put(make_local('o'))
        self.swift.objects('dest')['o']['headers'][
            'x-object-meta-swift-s3-sync-timestamp'] = 'yesterday'
        self.assertIsNone(provider.head('c', 'o').timestamp)

    def test_propagate_expiration(self):
        provider = self.provider(propagate_expiration=True,
                                 propagate_expiration_offset=100)
        provider.put(make_local(x_delete_at='1999999000'))
        self.assertEqual('1999999100', self.sent()['headers']['x-delete-at'])
        provider.put(make_local())
        self.assertNotIn('x-delete-at', self.sent()['headers'])

    def test_no_expiration_unless_asked(self):
        provider = self.provider()
        provider.put(make_local(x_delete_at='1999999000'))
        self.assertNotIn('x-delete-at', self.sent()['headers'])

    def test_remote_delete_after_is_not_extended_by_post(self):
        provider = self.provider(remote_delete_after=3600)
        provider.put(make_local())
        self.assertEqual('3600', self.sent()['headers']['x-delete-after'])
        remote = provider.head('c', 'obj')
        delete_at = remote.headers['x-delete-at']
        provider.update_metadata(make_local(meta={'a': 'b'}), remote)
        self.assertEqual(delete_at,
                         self.sent('post_object')['headers']['x-delete-at'])

    def test_update_metadata_posts_everything(self):
        provider = self.provider()
        provider.put(make_local(meta={'old': '1'}, content_encoding='gzip'))
        remote = provider.head('c', 'obj')
        changed = make_local(meta={'new': 'Two'}, content_type='text/html',
                             content_encoding='gzip',
                             timestamp='1700000001.00000')
        self.assertEqual(METADATA, provider.compare(changed, remote))
        written = provider.update_metadata(changed, remote)
        self.assertEqual({
            'x-object-meta-new': 'Two', 'content-type': 'text/html',
            'content-encoding': 'gzip',
            'x-object-meta-swift-s3-sync-timestamp': '1700000001.00000'},
            self.sent('post_object')['headers'])
        self.assertEqual('1700000001.00000', written.timestamp)
        after = provider.head('c', 'obj')
        self.assertEqual(EQUAL, provider.compare(changed, after))
        self.assertEqual('1700000001.00000', after.timestamp)


class TestCompare(ProviderTest):

    def remote(self, etag, size, **headers):
        headers = dict({'content-type': 'text/plain'}, **headers)
        return RemoteObject('obj', etag, size, headers=headers)

    def test_decisions(self):
        provider = self.provider()
        local = make_local(meta={'k': 'Value'})
        same = self.remote(local.etag, 5, **{'x-object-meta-k': 'Value'})
        self.assertEqual(EQUAL, provider.compare(local, same))
        self.assertEqual(DATA, provider.compare(local, None))
        self.assertEqual(DATA, provider.compare(local, self.remote(
            md5(b'other'), 5, **{'x-object-meta-k': 'Value'})))
        self.assertEqual(DATA, provider.compare(local, self.remote(
            local.etag, 6, **{'x-object-meta-k': 'Value'})))
        self.assertEqual(METADATA, provider.compare(local, self.remote(
            local.etag, 5, **{'x-object-meta-k': 'value'})))
        self.assertEqual(METADATA, provider.compare(local, self.remote(
            local.etag, 5)))
        self.assertEqual(METADATA, provider.compare(local, self.remote(
            local.etag, 5, **{'x-object-meta-k': 'Value',
                              'x-object-meta-extra': 'x'})))
        self.assertEqual(METADATA, provider.compare(local, self.remote(
            local.etag, 5, **{'x-object-meta-k': 'Value',
                              'content-type': 'text/html'})))
        self.assertEqual(METADATA, provider.compare(local, self.remote(
            local.etag, 5, **{'x-object-meta-k': 'Value',
                              'content-disposition': 'inline'})))
        with self.assertRaises(ValueError):
            provider.compare(local, RemoteObject('obj', local.etag, 5))

    def test_quotes_case_and_empty_values(self):
        provider = self.provider()
        local = make_local(meta={'k': 'v', 'empty': ''},
                           content_type='text/plain;swift_bytes=5')
        remote = self.remote('"%s"' % local.etag.upper(), 5, **{
            'x-object-meta-k': 'v', 'x-object-meta-gone': '',
            'content-type': 'text/plain'})
        self.assertEqual(EQUAL, provider.compare(local, remote))

    def test_expiration(self):
        provider = self.provider(propagate_expiration=True,
                                 propagate_expiration_offset=10)
        local = make_local(x_delete_at='2000000000')
        self.assertEqual(EQUAL, provider.compare(local, self.remote(
            local.etag, 5, **{'x-delete-at': '2000000010'})))
        self.assertEqual(METADATA, provider.compare(local, self.remote(
            local.etag, 5, **{'x-delete-at': '2000000000'})))
        self.assertEqual(METADATA, provider.compare(local, self.remote(
            local.etag, 5)))
        self.assertEqual(METADATA, provider.compare(make_local(), self.remote(
            local.etag, 5, **{'x-delete-at': '2000000010'})))
        ignoring = self.provider()
        self.assertEqual(EQUAL, ignoring.compare(make_local(), self.remote(
            local.etag, 5, **{'x-delete-at': '2000000010'})))

    def test_slo_from_another_segment_container_is_equal(self):
        # 1space issue #169: the manifest differs, the SLO ETag does not.
        provider = self.provider()
        local = make_large(meta={'a': 'b'})
        remote = self.remote(
            '"%s"' % local.etag.strip('"'), 23, **{
                'content-type': 'application/x-big',
                'x-static-large-object': 'True', 'x-object-meta-a': 'b',
                'x-manifest-etag': md5(b'some other manifest')})
        self.assertEqual(EQUAL, provider.compare(local, remote))

    def test_large_object_kind(self):
        provider = self.provider()
        dlo = make_large(kind='dlo')
        as_slo = self.remote(dlo.etag, 23, **{
            'content-type': 'application/x-big',
            'x-static-large-object': 'True'})
        as_dlo = self.remote(dlo.etag, 23, **{
            'content-type': 'application/x-big',
            'x-object-manifest': 'dest_segments/big/%s/' % TS})
        self.assertEqual(DATA, provider.compare(dlo, as_slo))
        self.assertEqual(EQUAL, provider.compare(dlo, as_dlo))
        converting = self.provider(convert_dlo=True)
        self.assertEqual(EQUAL, converting.compare(dlo, as_slo))
        self.assertEqual(DATA, converting.compare(dlo, as_dlo))
        plain = self.remote(dlo.etag, 23, **{
            'content-type': 'application/x-big'})
        self.assertEqual(DATA, provider.compare(dlo, plain))


class TestCheck(ProviderTest):

    def assertRefused(self, local, words, provider=None):
        with self.assertRaises(RemoteError) as caught:
            (provider or self.provider()).check(local)
        self.assertTrue(caught.exception.permanent)
        self.assertIn(words, str(caught.exception))

    def test_name_length_in_bytes(self):
        provider = self.provider()
        provider.check(make_local('n' * 1024))
        self.assertRefused(make_local('n' * 1025), '1025 bytes')
        self.assertRefused(make_local('\u00e9' * 513), '1026 bytes')
        # Large objects also need room for "/<timestamp>/<index>".
        self.assertRefused(make_large('n' * 1000), 'segment names')

    def test_metadata_limits_count_our_key(self):
        provider = self.provider()
        provider.check(make_local(meta={'k%02d' % i: 'v' for i in range(89)}))
        self.assertRefused(make_local(meta={
            'k%02d' % i: 'v' for i in range(90)}), '91 metadata keys')
        provider.check(make_local(meta={'k' * 128: 'v' * 256}))
        self.assertRefused(make_local(meta={'k' * 129: 'v'}), 'key')
        self.assertRefused(make_local(meta={'k': 'v' * 257}), '257 bytes')
        self.assertRefused(make_local(meta={'k': '\u00e9' * 129}),
                           '258 bytes')
        # 15 * (3 + 256) + 3 + 169 + len('swift-s3-sync-timestamp') +
        # len(TS) == 4096: just fits, one byte more does not.
        full = {'k%02d' % i: 'v' * 256 for i in range(15)}
        provider.check(make_local(meta=dict(full, k15='v' * 169)))
        self.assertRefused(make_local(meta=dict(full, k15='v' * 170)),
                           '4097 bytes (with ours), Swift allows 4096')

    def test_reserved_and_unsendable(self):
        for key in ('swift-s3-sync-timestamp', 'swift-s3-sync-etag'):
            self.assertRefused(make_local(meta={key: '1'}), 'reserved')
        self.assertRefused(make_local(meta={'a_b': '1'}), 'cannot be stored')
        self.assertRefused(make_local(meta={'a b': '1'}), 'cannot be stored')
        for value in ('line\nbreak', ' lead', 'trail ', 'nul\x00',
                      'bad \udcff utf-8'):
            self.assertRefused(make_local(meta={'k': value}), 'HTTP header')
        self.assertRefused(make_local(content_disposition='a\r\nb'),
                           'HTTP header')

    def test_containers_and_segments(self):
        self.assertRefused(make_local(container='c' * 253),
                           'longer than 256',
                           self.provider(container='/*', aws_bucket='pre-'))
        self.assertRefused(make_large(), 'longer than 256',
                           self.provider(aws_bucket='b' * 250))
        many = make_large(pieces=[b'x'] * 1001)
        self.assertRefused(many, '1001 segments')
        self.provider().check(make_large(pieces=[b'x'] * 1001, kind='dlo'))
        joined = self.provider(convert_dlo=True, min_segment_size=2)
        joined.check(make_large(pieces=[b'x'] * 1001, kind='dlo'))


class TestErrors(ProviderTest):

    def error_for(self, exception, op='head_object'):
        provider = self.provider()
        self.swift.fail(op, exception)
        with self.assertRaises(RemoteError) as caught:
            if op == 'head_object':
                provider.head('c', 'o')
            else:
                provider.put(make_local())
        return caught.exception

    def test_classification(self):
        for status, permanent in ((500, False), (503, False), (507, False),
                                  (408, False), (429, False), (498, False),
                                  (401, False), (403, False), (409, False),
                                  (422, False), (400, True), (411, True),
                                  (413, True)):
            error = self.error_for(ClientException(
                'Object HEAD failed', http_status=status))
            self.assertEqual(status, error.status)
            self.assertEqual(permanent, error.permanent, status)
        for exception in (requests.exceptions.ConnectionError('refused'),
                          requests.exceptions.ReadTimeout('slow'),
                          socket.timeout('timed out'),
                          ConnectionResetError('reset'),
                          ClientException('no ability to reset contents')):
            error = self.error_for(exception)
            self.assertIsNone(error.status)
            self.assertFalse(error.permanent, exception)
        self.assertTrue(self.error_for(
            requests.exceptions.InvalidHeader('bad value')).permanent)

    def test_secrets_never_in_messages(self):
        error = self.error_for(ClientException(
            'Auth GET failed', http_status=401,
            http_response_content='key=%s token=%s' % (SECRET, TOKEN)))
        self.assertNotIn(SECRET, str(error))
        self.assertIn('***', str(error))
        provider = self.provider()
        provider.head('c', 'o')   # now the token is known
        self.swift.fail('put_object', requests.exceptions.ConnectionError(
            'lost with X-Auth-Token: %s and key %s' % (TOKEN, SECRET)))
        with self.assertRaises(RemoteError) as caught:
            provider.put(make_local())
        self.assertNotIn(TOKEN, str(caught.exception))
        self.assertNotIn(SECRET, str(caught.exception))
        self.assertNotIn(SECRET, repr(caught.exception))

    def test_swiftclient_logs_no_part_of_secrets(self):
        self.assertEqual('...', swiftclient.client.safe_value(
            'X-Auth-Token', TOKEN))
        self.assertEqual('...', swiftclient.client.safe_value(
            'X-Auth-Key', SECRET))

    def test_missing_object_on_post_is_transient(self):
        provider = self.provider()
        with self.assertRaises(RemoteError) as caught:
            provider.update_metadata(make_local(), None)
        self.assertEqual(404, caught.exception.status)
        self.assertFalse(caught.exception.permanent)


class TestContainers(ProviderTest):

    def test_created_on_first_404_then_remembered(self):
        provider = self.provider(containers=(), storage_policy='silver')
        Body.opened = 0
        provider.put(make_local('a'))
        self.assertEqual([('put_container', 'dest', {
            'headers': {'X-Storage-Policy': 'silver'}})],
            self.swift.ops('put_container'))
        self.assertEqual(2, Body.opened)   # read again for the second PUT
        self.assertEqual(b'hello', self.swift.objects('dest')['a']['body'])
        provider.put(make_local('b'))
        self.assertEqual(1, len(self.swift.ops('put_container')))
        self.assertEqual(3, len(self.swift.ops('put_object')))
        self.assertEqual([], self.swift.ops('head_container'))

    def test_container_deleted_behind_our_back_is_made_again(self):
        provider = self.provider(containers=())
        provider.put(make_local('a'))
        del self.swift.containers['dest']
        provider.put(make_local('b'))
        self.assertEqual(2, len(self.swift.ops('put_container')))
        self.assertEqual(['b'], list(self.swift.objects('dest')))

    def test_per_account_containers(self):
        provider = self.provider(containers=(), container='/*',
                                 aws_bucket='pre-')
        provider.put(make_local(container='one'))
        provider.put(make_local(container='two'))
        provider.put(make_local('again', container='one'))
        self.assertEqual(['pre-one', 'pre-two'], [
            c[1] for c in self.swift.ops('put_container')])
        self.assertEqual(['obj'], [o.name for o in provider.list('two')])

    def test_broken_connection_checks_the_container(self):
        provider = self.provider(containers=())
        self.swift.fail('put_object', requests.exceptions.ConnectionError(
            'broken pipe'))
        provider.put(make_local())
        self.assertEqual(1, len(self.swift.ops('head_container')))
        self.assertEqual(1, len(self.swift.ops('put_container')))
        # Container there: the error is the error.
        self.swift.fail('put_object', requests.exceptions.ConnectionError(
            'broken pipe'))
        with self.assertRaises(RemoteError):
            self.provider(containers=()).put(make_local())

    def test_container_metadata(self):
        provider = self.provider()
        headers = {'x-container-meta-a': 'B', 'x-container-read': '.r:*',
                   'x-container-write': 'u', 'x-container-object-count': '1'}
        self.assertFalse(provider.post_container_metadata('c', headers))
        meta_only = self.provider(sync_container_metadata=True)
        self.assertTrue(meta_only.post_container_metadata('c', headers))
        self.assertEqual({'x-container-meta-a': 'B'},
                         self.sent('post_container')['headers'])
        with_acl = self.provider(containers=(), sync_container_metadata=True,
                                 sync_container_acl=True, aws_bucket='new')
        with_acl.post_container_metadata('c', headers)
        self.assertEqual({'x-container-meta-a': 'B',
                          'x-container-read': '.r:*',
                          'x-container-write': 'u'},
                         self.swift.containers['new']['headers'])


class TestReading(ProviderTest):

    def test_list(self):
        provider = self.provider()
        for name in ('b', 'a', '\u00e9', 'c/1', 'c/2'):
            provider.put(make_local(name))
        provider.put(make_large('d'))
        listed = list(provider.list('c'))
        self.assertEqual(['a', 'b', 'c/1', 'c/2', 'd', '\u00e9'],
                         [o.name for o in listed])
        self.assertEqual(md5(b'hello'), listed[0].etag)
        self.assertEqual(make_large('d').etag.strip('"'), listed[4].etag)
        self.assertEqual(23, listed[4].size)
        self.assertAlmostEqual(1700000000.12345, listed[0].last_modified,
                               places=4)
        self.assertIsNone(listed[0].headers)

        def names(**kw):
            return [o.name for o in provider.list('c', **kw)]
        self.assertEqual(['c/1', 'c/2'], names(prefix='c/'))
        self.assertEqual(['c/2'], names(marker='c/1', end_marker='d'))
        self.assertEqual(['a', 'b'], names(limit=2))
        self.assertEqual([], names(limit=0))
        provider.page_size = 2
        self.swift.calls = []
        self.assertEqual(['b', 'c/1', 'c/2', 'd'], names(marker='a', limit=4))
        self.assertEqual(2, len(self.swift.ops('get_container')))
        self.assertEqual([], list(self.provider(
            containers=(), aws_bucket='none').list('c')))

    def test_listing_hash_parameters(self):
        provider = self.provider()
        with mock.patch.object(FakeConnection, 'get_container', lambda *a, **
                               k: ({}, [{'name': 'x', 'bytes': 3,
                                         'hash': '"abc"; s3_etag=def-2',
                                         'last_modified': 'bad'}])):
            listed = list(provider.list('c'))
        self.assertEqual('abc', listed[0].etag)
        self.assertIsNone(listed[0].last_modified)

    def test_get(self):
        provider = self.provider()
        local = make_local('g', b'0123456789')
        provider.put(local)
        status, headers, body = provider.get('c', 'g', {
            'Range': 'bytes=2-5', 'X-Other': 'dropped', 'If-Match': 'x'})
        self.assertEqual(206, status)
        self.assertEqual(b'2345', b''.join(body))
        self.assertEqual({'Range': 'bytes=2-5', 'If-Match': 'x'},
                         self.sent('get_object')['headers'])
        self.assertEqual('bytes 2-5/10', headers['content-range'])
        self.assertEqual(local.etag, headers['etag'])
        self.assertNotIn('x-object-meta-swift-s3-sync-timestamp', headers)
        status, _, body = provider.get('c', 'g', {
            'If-None-Match': local.etag})
        self.assertEqual((304, b''), (status, b''.join(body)))
        status, _, body = provider.get('c', 'missing')
        self.assertEqual((404, b''), (status, b''.join(body)))
        # Every connection is back in the pool.
        self.assertEqual(1, len(self.swift.connections))

    def test_delete(self):
        provider = self.provider()
        provider.put(make_local())
        self.assertTrue(provider.delete('c', 'obj'))
        self.assertEqual([None], [c[-1]['query_string'] for c in
                                  self.swift.ops('delete_object')])
        self.assertFalse(provider.delete('c', 'obj'))
        self.assertFalse(provider.delete('c', 'never'))

    def test_delete_of_an_object_headed_as_plain_is_one_request(self):
        provider = self.provider()
        provider.put(make_local())
        remote = provider.head('c', 'obj')
        before = len(self.swift.calls)
        self.assertTrue(provider.delete('c', 'obj', remote=remote))
        self.assertEqual(['delete_object'],
                         [c[0] for c in self.swift.calls[before:]])


class TestLargeObjects(ProviderTest):

    def setUp(self):
        super().setUp()
        self.p = self.provider(containers=('dest', 'dest_segments'))

    def segment_names(self):
        return sorted(self.swift.objects('dest_segments'))

    def test_slo_upload(self):
        local = make_large(meta={'k': 'V'})
        written = self.p.put(local)
        self.assertEqual(['big/%s/%08d' % (TS, i) for i in range(3)],
                         self.segment_names())
        puts = self.swift.ops('put_object')
        self.assertEqual([md5(b'a' * 10), md5(b'b' * 10), md5(b'c' * 3)],
                         [c[-1]['etag'] for c in puts[:3]])
        manifest = puts[-1][-1]
        self.assertEqual('multipart-manifest=put', manifest['query_string'])
        self.assertIsNone(manifest['etag'])
        self.assertEqual('application/x-big', manifest['content_type'])
        self.assertEqual({
            'x-object-meta-k': 'V',
            'x-object-meta-swift-s3-sync-timestamp': TS,
            'x-object-meta-swift-s3-sync-etag': local.etag.strip('"')},
            manifest['headers'])
        self.assertEqual([
            {'path': '/dest_segments/big/%s/%08d' % (TS, i),
             'etag': md5(d), 'size_bytes': len(d)}
            for i, d in enumerate((b'a' * 10, b'b' * 10, b'c' * 3))],
            json.loads(manifest['contents']))
        self.assertEqual(local.etag.strip('"'), written.etag)
        remote = self.p.head('c', 'big')
        self.assertEqual(EQUAL, self.p.compare(local, remote))
        self.assertEqual(b'a' * 10 + b'b' * 10 + b'c' * 3,
                         b''.join(self.p.get('c', 'big')[2]))

    def test_segments_already_there_are_not_sent_again(self):
        self.p.put(make_large())
        self.swift.calls = []
        self.p.put(make_large())
        self.assertEqual(['big'], [c[2] for c in self.swift.ops(
            'put_object')])
        self.assertEqual(1, len(self.swift.ops('get_container')) - 1)

    def test_failed_segment_means_no_manifest(self):
        self.swift.fail('put_object', ClientException(
            'Object PUT failed', http_status=503),
            when=lambda args, kw: args[1].endswith('00000001'))
        with self.assertRaises(RemoteError) as caught:
            self.p.put(make_large())
        self.assertFalse(caught.exception.permanent)
        self.assertNotIn('big', self.swift.objects('dest'))
        # Segments go in parallel: the others were sent all the same.
        self.assertEqual(['big/%s/00000000' % TS, 'big/%s/00000002' % TS],
                         self.segment_names())
        self.swift.calls = []
        self.p.put(make_large())   # the retry reuses segments 0 and 2
        self.assertEqual(['big/%s/00000001' % TS, 'big'],
                         [c[2] for c in self.swift.ops('put_object')])
        self.assertEqual(3, len(self.segment_names()))
        self.assertIn('big', self.swift.objects('dest'))

    def test_segments_container_created(self):
        del self.swift.containers['dest_segments']
        provider = self.provider(containers=('dest',), storage_policy='p')
        provider.put(make_large())
        self.assertEqual([('put_container', 'dest_segments', {
            'headers': {'X-Storage-Policy': 'p'}})],
            self.swift.ops('put_container'))

    def test_ranged_pieces_are_verified_by_md5(self):
        local = make_large(pieces=(b'abcdef', b'ghij'),
                           ranges=[(1, 6), None])
        self.p.put(local)
        first = self.swift.ops('put_object')[0][-1]
        self.assertIsNone(first['etag'])   # unknown in advance
        remote = self.p.head('c', 'big')
        self.assertEqual(local.etag.strip('"'), remote.etag)   # recorded
        self.assertEqual(EQUAL, self.p.compare(local, remote))
        # Other bytes stored than read: the segment is deleted, no manifest.
        original = FakeConnection.put_object

        def lying_put(conn, container, name, contents, **kw):
            etag = original(conn, container, name, contents, **kw)
            return 'f' * 32 if name.endswith('0/00000000') else etag
        self.swift.calls = []
        with mock.patch.object(FakeConnection, 'put_object', lying_put):
            with self.assertRaises(RemoteError) as caught:
                self.p.put(make_large(pieces=(b'abcdef', b'ghij'),
                                      ranges=[(1, 6), None],
                                      timestamp='1700000010.00000'))
        self.assertFalse(caught.exception.permanent)
        self.assertEqual(1, len(self.swift.ops('delete_object')))
        self.assertNotIn('big/1700000010.00000/00000000',
                         self.swift.objects('dest_segments'))

    def test_dlo_upload_and_metadata_update(self):
        local = make_large('d\u00e9', kind='dlo')
        self.p.put(local)
        manifest = self.swift.ops('put_object')[-1][-1]
        self.assertEqual('', manifest['contents'])
        self.assertEqual('dest_segments/d%C3%A9/' + TS + '/',
                         manifest['headers']['x-object-manifest'])
        remote = self.p.head('c', 'd\u00e9')
        self.assertEqual(EQUAL, self.p.compare(local, remote))
        changed = make_large('d\u00e9', kind='dlo', meta={'n': 'v'})
        self.p.update_metadata(changed, remote)
        self.assertEqual(manifest['headers']['x-object-manifest'],
                         self.sent('post_object')['headers'][
                             'x-object-manifest'])
        self.assertEqual(EQUAL, self.p.compare(
            changed, self.p.head('c', 'd\u00e9')))

    def test_convert_dlo_and_join_small_segments(self):
        provider = self.provider(containers=('dest', 'dest_segments'),
                                 convert_dlo=True, min_segment_size=15)
        local = make_large(kind='dlo', pieces=[b'%d' % i * 6
                                               for i in range(6)])
        provider.put(local)
        manifest = self.swift.ops('put_object')[-1][-1]
        self.assertEqual('multipart-manifest=put', manifest['query_string'])
        self.assertEqual([18, 18], [e['size_bytes'] for e in json.loads(
            manifest['contents'])])
        remote = provider.head('c', 'big')
        self.assertEqual(EQUAL, provider.compare(local, remote))
        self.assertEqual(b''.join(b'%d' % i * 6 for i in range(6)),
                         b''.join(provider.get('c', 'big')[2]))

    def test_old_versions_segments_deleted_others_kept(self):
        self.p.put(make_large('a', timestamp='1700000000.00000'))
        self.p.put(make_large('a/b', timestamp='1700000000.00000'))
        self.swift.objects('dest_segments')['a/not-ours/00000000'] = \
            self.swift.objects('dest_segments')['a/b/1700000000.00000/' +
                                                '00000000']
        self.p.put(make_large('a', timestamp='1700000001.00000'))
        names = self.segment_names()
        self.assertFalse([n for n in names if n.startswith(
            'a/1700000000.00000/')])
        self.assertEqual(3, len([n for n in names if n.startswith(
            'a/1700000001.00000/')]))
        self.assertEqual(3, len([n for n in names if n.startswith('a/b/')]))
        self.assertIn('a/not-ours/00000000', names)

    def test_delete_slo_dlo_and_foreign(self):
        self.p.put(make_large('s'))
        self.assertTrue(self.p.delete('c', 's'))
        self.assertEqual('multipart-manifest=delete', self.swift.ops(
            'delete_object')[-1][-1]['query_string'])
        self.assertEqual([], self.segment_names())

        self.p.put(make_large('d', kind='dlo'))
        self.assertTrue(self.p.delete('c', 'd'))
        self.assertEqual([], self.segment_names())
        self.assertNotIn('d', self.swift.objects('dest'))

        # An SLO we did not write: its segments are not ours to delete.
        self.p.put(make_large('f'))
        del self.swift.objects('dest')['f']['headers'][
            'x-object-meta-swift-s3-sync-timestamp']
        self.assertTrue(self.p.delete('c', 'f'))
        self.assertIsNone(self.swift.ops('delete_object')[-1][-1][
            'query_string'])
        self.assertEqual(3, len(self.segment_names()))

    def test_delete_of_an_slo_headed_first_still_takes_its_segments(self):
        self.p.put(make_large('s'))
        self.assertTrue(self.p.delete('c', 's', remote=self.p.head('c', 's')))
        self.assertEqual('multipart-manifest=delete', self.swift.ops(
            'delete_object')[-1][-1]['query_string'])
        self.assertEqual([], self.segment_names())

    def test_slo_delete_that_keeps_the_manifest_fails(self):
        # Swift answers 200 to ?multipart-manifest=delete even when a
        # segment could not be deleted, and then keeps the manifest.
        self.p.put(make_large('s'))
        with mock.patch.object(FakeConnection, 'delete_object',
                               lambda conn, *a, **kw: conn._start(
                                   'delete_object', *a, **kw)):
            with self.assertRaises(RemoteError) as caught:
                self.p.delete('c', 's')
        self.assertFalse(caught.exception.permanent)
        self.assertIn('not every segment', str(caught.exception))

    def test_expiration_change_reaches_segments(self):
        provider = self.provider(containers=('dest', 'dest_segments'),
                                 propagate_expiration=True)
        provider.put(make_large())
        self.assertNotIn('x-delete-at',
                         self.swift.objects('dest_segments')[
                             'big/%s/00000000' % TS]['headers'])
        local = make_large()
        local.headers['x-delete-at'] = '2000000000'
        remote = provider.head('c', 'big')
        self.assertEqual(METADATA, provider.compare(local, remote))
        provider.update_metadata(local, remote)
        for name in self.segment_names():
            self.assertEqual(str(2000000000 + 86400), self.swift.objects(
                'dest_segments')[name]['headers']['x-delete-at'])
        self.assertEqual(EQUAL, provider.compare(
            local, provider.head('c', 'big')))


if __name__ == '__main__':
    unittest.main()
