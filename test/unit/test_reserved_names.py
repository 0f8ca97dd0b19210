"""What the providers keep for themselves, refused everywhere a client or a
local object could reach it: reserved user metadata, the S3 provider's
saved manifests, keys over the store's limit.  Real providers (S3 through
botocore's Stubber, Swift over the in-memory FakeSwift), the daemon's
RowSyncer, the shared POST of cloud-shunt and proxymc, and proxymc's
manifest requests."""
import hashlib
import json
import unittest

from botocore.stub import Stubber
from swift.common.swob import Request

from proxymc import large
from swift_s3_sync import remote_object
from swift_s3_sync.providers.base import (
    RESERVED_METADATA, Provider, RemoteError, RemoteObject,
    reserved_metadata)
from swift_s3_sync.providers.s3 import S3Provider
from swift_s3_sync.sync import FAILED, RowSyncer
from test.unit import test_s3_provider as s3_tests
from test.unit import test_swift_provider as swift_tests
from test.unit.test_proxymc import ProxyTestCase
from test.unit.test_shunt import FakeProvider
from test.unit.test_sync import FakeLocal, T1, local_headers, mapping, row

HEADERS = ('X-Object-Meta-Swift-S3-Sync-Timestamp',
           'X-Object-Meta-Swift-S3-Sync-Etag',
           'X-Object-Meta-Swift-S3-Sync-Large')


def manifest_name(name):
    """The object name that shares its key with ``name``'s saved manifest
    under a custom prefix."""
    return '.manifests/%s.swift_slo_manifest' % hashlib.sha256(
        name.encode('utf-8')).hexdigest()


class StubbedS3(unittest.TestCase):
    """An S3Provider whose every request must be one the test expects."""

    def s3(self, **mapping_kw):
        provider = S3Provider(s3_tests.make_mapping(**mapping_kw))
        stub = Stubber(provider.client)
        stub.activate()
        self.addCleanup(provider.close)
        self.addCleanup(stub.deactivate)
        # Runs before deactivate: every queued response was used.
        self.addCleanup(stub.assert_no_pending_responses)
        return provider, stub


class TestReservedMetadata(StubbedS3, swift_tests.ProviderTest):

    def providers(self):
        return (self.s3()[0], self.provider())

    def test_every_name_refused_by_every_provider(self):
        self.assertEqual(tuple(h.lower() for h in HEADERS),
                         RESERVED_METADATA)
        for provider in self.providers():
            for header in HEADERS:
                for spelling in (header, header.lower(), header.upper()):
                    local = s3_tests.make_local()
                    local.headers[spelling.lower()] = 'slo'
                    for check in (provider.check, provider.check_metadata):
                        with self.assertRaises(RemoteError) as caught:
                            check(local)
                        self.assertTrue(caught.exception.permanent)
                        self.assertEqual(
                            '%s is reserved for swift-s3-sync' % header,
                            str(caught.exception))

    def test_reason_names_the_header_as_clients_write_it(self):
        self.assertEqual(
            'X-Object-Meta-Swift-S3-Sync-Etag is reserved for swift-s3-sync',
            reserved_metadata({'x-object-meta-swift-s3-sync-etag': 'x'}))
        self.assertIsNone(reserved_metadata({
            'x-object-meta-swift-s3-sync-etagx': 'x',
            'x-object-meta-colour': 'blue', 'etag': 'abc'}))


class TestDaemonRows(StubbedS3, swift_tests.ProviderTest):
    """A local object the remote must not take is a FAILED row with the
    reason; nothing is sent (the metadata is not dropped: nothing lost)."""

    def sync(self, provider, name='obj', **headers):
        local = FakeLocal(local_headers(**headers), others={
            name: local_headers(**headers)})
        syncer = RowSyncer(mapping(), provider, local, 'AUTH_test', 'c')
        return syncer.handle(row(name, ts=T1))

    def test_reserved_metadata(self):
        for provider in (self.s3()[0], self.provider()):
            self.swift.calls[:] = []
            for header in HEADERS:
                out = self.sync(provider, **{header.lower(): 'slo'})
                self.assertEqual(FAILED, out.status, header)
                self.assertIn(header, out.reason)
            self.assertEqual([], self.swift.calls)

    def test_manifest_names_under_a_custom_prefix(self):
        for prefix in ('', 'p'):
            out = self.sync(self.s3(custom_prefix=prefix)[0],
                            manifest_name('obj'))
            self.assertEqual(FAILED, out.status)
            self.assertIn('.manifests/', out.reason)


class TestNamesTheRemoteCannotHold(StubbedS3, swift_tests.ProviderTest):
    """Reads find nothing and make no request (a Stubber without queued
    responses fails any request); writes are refused."""

    def assertUnreachable(self, provider, name, words, container='c'):
        self.assertIsNone(provider.head(container, name))
        status, headers, body = provider.get(container, name,
                                             {'range': 'x'})
        self.assertEqual((404, {}, []), (status, headers, list(body)))
        self.assertFalse(provider.delete(container, name))
        local = s3_tests.make_local(name, container=container)
        for write in (provider.check, provider.put,
                      lambda local: provider.update_metadata(
                          local, RemoteObject(name, 'e', 5, headers={}))):
            with self.assertRaises(RemoteError) as caught:
                write(local)
            self.assertTrue(caught.exception.permanent)
            self.assertIn(words, str(caught.exception))

    def test_s3_key_over_1024_bytes(self):
        provider, _ = self.s3()
        room = 1024 - len(provider.key_prefix('c'))
        self.assertIsNone(provider.name_problem('c', 'x' * room))
        self.assertUnreachable(provider, 'x' * (room + 1),
                               'S3 allows 1024')
        self.assertUnreachable(provider, '\u00e9' * (room // 2 + 1),
                               'S3 allows 1024')

    def test_s3_manifest_namespace(self):
        for prefix in ('', 'p', 'a/b'):
            provider, _ = self.s3(custom_prefix=prefix)
            for name in (manifest_name('victim'), '.manifests/anything'):
                self.assertUnreachable(provider, name, '".manifests/"')
        # The default layout keeps manifests outside the container's keys.
        provider, _ = self.s3()
        self.assertIsNone(provider.name_problem('c',
                                                manifest_name('victim')))

    def test_swift_names_over_its_limits(self):
        provider = self.provider()
        self.assertIsNone(provider.name_problem('c', 'n' * 1024))
        self.assertUnreachable(provider, 'n' * 1025, 'Swift allows 1024')
        per_account = self.provider(container='/*', aws_bucket='pre-')
        self.assertUnreachable(per_account, 'obj', 'longer than 256',
                               container='c' * 253)
        self.assertEqual([], self.swift.calls)


class TestSavedManifests(StubbedS3):
    """A saved manifest is read only for an object marked as an SLO."""

    def head_response(self, provider, stub, name, large=None):
        meta = {'swift-s3-sync-large': large} if large else {}
        stub.add_response(
            'head_object',
            {'ContentLength': 5, 'ETag': '"e"', 'Metadata': meta,
             'ResponseMetadata': {'HTTPStatusCode': 200, 'HTTPHeaders': dict(
                 {'content-length': '5', 'etag': '"e"'},
                 **{'x-amz-meta-' + k: v for k, v in meta.items()})}},
            {'Bucket': 'bucket', 'Key': provider.key_for('c', name)})

    def test_plain_object_has_none(self):
        provider, stub = self.s3(custom_prefix='p')
        for large_kind in (None, 'dlo'):
            self.head_response(provider, stub, 'plain', large_kind)
            self.assertIsNone(provider.get_manifest('c', 'plain'))
        stub.add_client_error('head_object', '404', 'Not Found', 404,
                              expected_params={
                                  'Bucket': 'bucket', 'Key': 'p/gone'})
        self.assertIsNone(provider.get_manifest('c', 'gone'))

    def test_slo_has_its_manifest(self):
        provider, stub = self.s3(custom_prefix='p')
        self.head_response(provider, stub, 'big', 'slo')
        body = s3_tests.FakeRaw(b'[{"name": "/s/1"}]')
        stub.add_response('get_object', {'Body': body}, {
            'Bucket': 'bucket', 'Key': provider.manifest_key('c', 'big')})
        self.assertEqual('[{"name": "/s/1"}]',
                         provider.get_manifest('c', 'big'))
        # With the object's HEAD given, no second HEAD.
        stub.add_response('get_object', {'Body': s3_tests.FakeRaw(b'[]')}, {
            'Bucket': 'bucket', 'Key': provider.manifest_key('c', 'big')})
        remote = RemoteObject('big', 'e', 5, headers={
            'x-static-large-object': 'True'})
        self.assertEqual('[]', provider.get_manifest('c', 'big', remote))


class Names(FakeProvider, Provider):
    """FakeProvider with names it cannot hold and a metadata limit."""

    def name_problem(self, container, name):
        return 'no such names here' if name.startswith('bad') else None

    def check_metadata(self, local):
        super().check_metadata(local)
        if 'x-object-meta-huge' in local.headers:
            raise RemoteError('metadata is too large', permanent=True)


class TestPost(unittest.TestCase):
    """remote_object.post, which cloud-shunt and proxymc both use."""

    def setUp(self):
        self.remote = Names()
        self.remote.put_object('c', 'obj', b'data', {
            'content-type': 'text/plain'})

    def post(self, name, **headers):
        req = Request.blank('/v1/a/c/' + name, method='POST')
        return remote_object.post(req, self.remote, 'c', name, headers,
                                  'not found', {'X-Trans-Id': 'tx'})

    def test_reserved_metadata_is_400_before_any_request(self):
        for header in HEADERS:
            resp = self.post('obj', **{header.lower(): 'x'})
            self.assertEqual(400, resp.status_int)
            self.assertEqual(('%s is reserved for swift-s3-sync\n' % header)
                             .encode(), resp.body)
            self.assertEqual('tx', resp.headers['X-Trans-Id'])
        self.assertEqual([], self.remote.calls)

    def test_name_the_remote_cannot_hold(self):
        resp = self.post('bad-name', **{'x-object-meta-a': 'b'})
        self.assertEqual((400, b'no such names here\n'),
                         (resp.status_int, resp.body))
        self.assertEqual([], self.remote.calls)

    def test_metadata_the_remote_cannot_store(self):
        resp = self.post('obj', **{'x-object-meta-huge': 'x'})
        self.assertEqual((400, b'metadata is too large\n'),
                         (resp.status_int, resp.body))
        self.assertEqual(['head'], [c[0] for c in self.remote.calls])

    def test_allowed_post_goes_through(self):
        self.assertEqual(202, self.post('obj', **{
            'x-object-meta-a': 'b'}).status_int)
        self.assertEqual('b', self.remote.updated.headers['x-object-meta-a'])


class TestProxyMC(ProxyTestCase):
    """proxymc: reserved names and metadata refused before any body is
    read; a manifest is only used for an object marked as an SLO."""

    def setUp(self):
        super().setUp()
        self.remote = self.remotes['photos']

    def test_put_and_post_refuse_reserved_metadata(self):
        self.assertEqual(201, self.status('photos/obj', 'PUT', body=b'x'))
        for header in HEADERS:
            for method in ('PUT', 'POST'):
                resp = self.request('photos/obj', method, body=b'y',
                                    headers={header: 'slo'})
                self.assertEqual(400, resp.status_int, (method, header))
                self.assertEqual(('%s is reserved for swift-s3-sync\n' %
                                  header).encode(), resp.body)
        self.assertEqual(b'x', self.remote.body('photos', 'obj'))
        self.assertNotIn('x-static-large-object',
                         self.remote.headers('photos', 'obj'))

    def test_names_the_remote_cannot_hold(self):
        self.remote.name_problem = lambda c, n: (
            'reserved for manifests' if n.startswith('.manifests/') else None)
        name = manifest_name('victim')
        for method in ('PUT', 'POST'):
            resp = self.request('photos/' + name, method, body=b'x')
            self.assertEqual((400, b'reserved for manifests\n'),
                             (resp.status_int, resp.body), method)
        self.assertNotIn(('photos', name), self.remote.objects)
        self.assertFalse(self.remote.ops() & {'put', 'check',
                                              'update_metadata'})

    def plant(self, name, segments):
        """A manifest beside a plain object, as a writer could once leave
        one by writing the manifest's key as an object."""
        self.remote.put_object('photos', name, b'plain')
        self.remote.manifests[('photos', name)] = json.dumps(
            [{'name': '/segs/%s' % s, 'bytes': 1, 'hash': 'h'}
             for s in segments])

    def test_planted_manifest_is_not_read(self):
        self.plant('plain', ['victim'])
        resp = self.request('photos/plain?multipart-manifest=get')
        self.assertEqual((200, b'plain'), (resp.status_int, resp.body))
        self.assertNotIn('X-Static-Large-Object', resp.headers)

    def test_planted_manifest_deletes_nothing_else(self):
        self.remotes['segs'].put_object('segs', 'victim', b'v')
        self.plant('plain', ['victim'])
        resp = self.request('photos/plain?multipart-manifest=delete',
                            'DELETE')
        self.assertEqual(204, resp.status_int)
        self.assertIn(('segs', 'victim'), self.remotes['segs'].objects)
        self.assertNotIn(('photos', 'plain'), self.remote.objects)

    def test_saved_manifest_must_be_a_list(self):
        self.remote.put_object('photos', 'big', b'x', {
            'x-static-large-object': 'True'})
        for text in ('{"a": 1}', 'not json', '[1]', ''):
            self.remote.manifests[('photos', 'big')] = text
            self.assertIsNone(large.saved_manifest(self.remote, 'photos',
                                                   'big'), text)
        self.remote.manifests[('photos', 'big')] = '[{"data": "eA=="}]'
        self.assertEqual([{'data': 'eA=='}], large.saved_manifest(
            self.remote, 'photos', 'big'))


if __name__ == '__main__':
    unittest.main()
