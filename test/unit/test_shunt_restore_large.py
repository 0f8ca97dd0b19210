"""cloud-shunt restores of large objects (shunt_restore_large) against the
fake Swift of test_shunt, with Swift's real SLO code writing manifests."""
import json
import os
from unittest import mock

from swift.common import constraints
from swift.common.swob import Request, Response
from swift.common.utils import Timestamp

from swift_s3_sync import shunt, shunt_restore_large
from swift_s3_sync.local_objects import _clean_content_type
from swift_s3_sync.providers import provider_for
from swift_s3_sync.providers.base import EQUAL, LocalObject, RemoteError
from swift_s3_sync.config import parse_config
from test.unit.test_shunt import (
    ACCOUNT, FakeProvider, FakeSwift, ShuntTestCase, mapping, md5)


def slo_etag(pieces):
    return md5(''.join(md5(p) for p in pieces).encode('ascii'))


class LargeFakeSwift(FakeSwift):
    """FakeSwift that keeps what SLO writes (sysmeta, the SLO marker),
    refuses PUTs into missing containers, creates containers, records
    each PUT's headers and can fail chosen PUTs."""

    def __init__(self):
        super().__init__()
        self.puts = []
        self.policies = {}
        self.fail = {}          # object name -> status of its PUT
        self.on_put = None      # called with the object name first

    def __call__(self, env, start_response):
        req = Request(env)
        parts = req.split_path(2, 4, True)
        if len(parts) == 4 and parts[2] and not parts[3] and \
                req.method in ('HEAD', 'PUT'):
            self.calls.append((req.method, req.path, req.query_string))
            return self._container(req, parts[2])(env, start_response)
        return super().__call__(env, start_response)

    def _container(self, req, container):
        if req.method == 'PUT':
            if container not in self.brokers:
                self.add_container(container)
            self.policies[container] = req.headers.get('X-Storage-Policy')
            return Response(status=201)
        if container not in self.brokers:
            return Response(status=404)
        return Response(status=204, headers={
            'X-Storage-Policy': self.policies.get(container) or 'gold'})

    def _put(self, req, container, obj):
        self.puts.append((container, obj, dict(req.headers)))
        if self.on_put:
            self.on_put(obj)
        if container not in self.brokers:
            return Response(status=404)
        if obj in self.fail:
            return Response(status=self.fail[obj])
        resp = super()._put(req, container, obj)
        if resp.status_int == 201:
            headers, _ = self.objects[(container, obj)]
            headers.update({k: v for k, v in req.headers.items()
                            if k.lower().startswith('x-object-sysmeta-')
                            or k.lower() == 'x-static-large-object'})
        return resp

    def names(self, container):
        return sorted(n for c, n in self.objects if c == container)


class ProviderWithoutManifests(FakeProvider):
    """A provider whose remote keeps no SLO manifests."""
    get_manifest = property(lambda self: self._no_such_method())

    def _no_such_method(self):
        raise AttributeError('get_manifest')


class ManifestProvider(FakeProvider):
    """FakeProvider with saved SLO manifests (only for objects marked as
    SLOs, as the providers' contract says) and recorded ETags."""

    def __init__(self, mapping=None, logger=None):
        super().__init__(mapping, logger)
        self.manifests = {}
        self.manifest_error = None

    def _headers(self, container, name):
        out, body, modified = super()._headers(container, name)
        recorded = self.objects[(container, name)][0].get('etag')
        if recorded:
            out['etag'] = recorded
        return out, body, modified

    def get_manifest(self, container, name, remote=None):
        self._call('get_manifest', container, name)
        if self.manifest_error:
            raise self.manifest_error
        if remote is None:
            remote = self.head(container, name)
        if remote is None or remote.headers.get(
                'x-static-large-object') != 'True':
            return None
        return self.manifests.get((container, name))


class LargeRestoreCase(ShuntTestCase):
    conf = {}

    def setUp(self):
        super().setUp()
        self.swift = LargeFakeSwift()
        self.swift.add_container('photos')
        self.write_config([mapping(restore_object=True)])
        self.reload()
        self.app = self.make_app()

    def make_app(self, **conf):
        return shunt.CloudShunt(
            self.swift, dict(self.conf, conf_file=self.conf_file, **conf),
            logger=self.logger, table=self.table)

    provider_class = ManifestProvider

    def _provider(self, m, logger=None, **options):
        provider = self.provider_class(m, logger)
        self.providers[m.container] = provider
        return provider

    def get(self, path='photos/big', headers=None):
        resp = self.request(path, headers=headers)
        body = resp.body
        self.settle()
        return resp, body

    def segment_puts(self):
        return [(c, o, h) for c, o, h in self.swift.puts
                if c != 'photos']


class TestSloRestore(LargeRestoreCase):

    def setUp(self):
        super().setUp()
        self.pieces = [os.urandom(40), os.urandom(25), os.urandom(13)]
        self.body = b''.join(self.pieces)
        self.seg_names = ['big/%03d' % i for i in range(3)]
        self.manifest = [
            {'name': '/photos_segments/%s' % name, 'hash': md5(piece),
             'bytes': len(piece), 'content_type': 'application/x-seg',
             'last_modified': '2024-01-01T00:00:00.000000'}
            for name, piece in zip(self.seg_names, self.pieces)]
        self.put_remote_slo()

    def put_remote_slo(self, manifest=None, etag=None):
        self.remote.put_object('photos', 'big', self.body, {
            'content-type': 'video/x-test', 'x-object-meta-color': 'blue',
            'x-static-large-object': 'True',
            'etag': etag or slo_etag(self.pieces)})
        self.remote.manifests[('photos', 'big')] = json.dumps(
            self.manifest if manifest is None else manifest)

    def assert_nothing_restored(self, kept=()):
        self.assertNotIn(('photos', 'big'), self.swift.objects)
        self.assertEqual(sorted(kept), self.swift.names('photos_segments'))

    def test_segments_and_manifest_come_back(self):
        resp, body = self.get()
        self.assertEqual(200, resp.status_int)
        self.assertEqual(self.body, body)
        self.assertEqual(self.seg_names,
                         self.swift.names('photos_segments'))
        for (container, name, headers), piece in zip(self.segment_puts(),
                                                     self.pieces):
            self.assertEqual(md5(piece), headers['Etag'])
            self.assertEqual(str(len(piece)), headers['Content-Length'])
            self.assertEqual('*', headers['If-None-Match'])
            self.assertEqual('application/x-seg', headers['Content-Type'])
            self.assertEqual(piece, self.swift.objects[(container, name)][1])
        headers, stored = self.swift.objects[('photos', 'big')]
        self.assertEqual('True', headers['X-Static-Large-Object'])
        self.assertEqual(slo_etag(self.pieces),
                         headers['X-Object-Sysmeta-Slo-Etag'])
        self.assertEqual(str(len(self.body)),
                         headers['X-Object-Sysmeta-Slo-Size'])
        self.assertEqual('video/x-test;swift_bytes=%d' % len(self.body),
                         headers['Content-Type'])
        self.assertEqual('blue', headers['X-Object-Meta-Color'])
        self.assertEqual(
            [(e['name'], e['hash'], e['bytes']) for e in self.manifest],
            [(e['name'], e['hash'], e['bytes'])
             for e in json.loads(stored)])
        manifest_put = [h for c, o, h in self.swift.puts if o == 'big'][0]
        self.assertEqual('*', manifest_put['If-None-Match'])
        self.assertIn('restored AUTH_test/photos/big as a static large '
                      'object (3 segments, 3 written)', self.logger.text())
        self.assertEqual(1, sum(1 for call in self.remote.calls
                                if call[0] == 'get_manifest'))
        # the segments container was missing: made in the container's policy
        self.assertEqual('gold', self.swift.policies['photos_segments'])

    def test_restored_slo_compares_equal_to_its_remote_copy(self):
        """What the daemon does next: describe the local SLO and compare
        it with the S3 copy it archived: equal, nothing is uploaded."""
        self.get()
        headers, _ = self.swift.objects[('photos', 'big')]
        headers = _clean_content_type(
            {k.lower(): v for k, v in headers.items()})
        restored = LocalObject('photos', 'big', headers,
                               int(headers['x-object-sysmeta-slo-size']),
                               headers['x-object-sysmeta-slo-etag'],
                               Timestamp.now().internal, None, large='slo')
        s3 = provider_for(parse_config(json.dumps({
            'status_dir': self.tmp, 'containers': [dict(
                mapping(), protocol='s3', aws_endpoint='http://127.0.0.1:1')
            ]})).mappings[0])
        original = LocalObject(
            'photos', 'big', {'content-type': 'video/x-test',
                              'x-object-meta-color': 'blue'},
            len(self.body), slo_etag(self.pieces), '1700000000.00000',
            None, large='slo')
        archived = s3._written(original, md5(b'multipart') + '-3')
        self.assertEqual(EQUAL, s3.compare(restored, archived))

    def test_segments_already_there_are_kept(self):
        self.swift.add_container('photos_segments')
        self.swift.add('photos_segments', 'big/000', self.pieces[0],
                       timestamp='1600000000.00000')
        _, body = self.get()
        self.assertEqual(self.body, body)
        self.assertEqual('1600000000.00000', self.swift.objects[
            ('photos_segments', 'big/000')][0]['X-Timestamp'])
        self.assertIn('True', self.swift.objects[('photos', 'big')][0][
            'X-Static-Large-Object'])
        self.assertIn('(3 segments, 2 written)', self.logger.text())

    def test_a_segment_there_with_other_bytes_stops_the_restore(self):
        self.swift.add_container('photos_segments')
        self.swift.add('photos_segments', 'big/001', b'other bytes')
        _, body = self.get()
        self.assertEqual(self.body, body)
        # ours deleted, the one that was there kept, no manifest
        self.assert_nothing_restored(kept=['big/001'])
        self.assertIn('restoring AUTH_test/photos/big failed: manifest: '
                      '400', self.logger.text())

    def test_client_going_away_removes_written_segments(self):
        req = Request.blank('/v1/%s/photos/big' % ACCOUNT)
        app_iter = self.app(req.environ, lambda *a: None)
        it = iter(app_iter)
        got = b''
        while len(got) < 50:     # into the second segment
            got += next(it)
        self.assertEqual(['big/000'], self.swift.names('photos_segments'))
        app_iter.close()
        self.settle()
        self.assert_nothing_restored()
        self.assertIn('abandoned', self.logger.text())

    def test_short_remote_stream_leaves_nothing(self):
        self.remote.short = True
        _, body = self.get()
        self.assertEqual(self.body[:-1], body)
        self.assert_nothing_restored()

    def test_failed_segment_put_leaves_nothing(self):
        self.swift.fail['big/001'] = 503
        _, body = self.get()
        self.assertEqual(self.body, body)   # the client gets it all
        self.assert_nothing_restored()
        self.assertIn('segment photos_segments/big/001: 503',
                      self.logger.text())
        self.assertNotIn('big/002', [o for _, o, _ in self.swift.puts])

    def test_remote_etag_other_than_the_segments_give(self):
        self.put_remote_slo(etag=md5(b'not this one'))
        _, body = self.get()
        self.assertEqual(self.body, body)
        self.assert_nothing_restored()
        self.assertIn('manifest: 422', self.logger.text())

    def test_object_written_meanwhile_is_kept(self):
        def write_it(name):
            if name == 'big/002':
                self.swift.add('photos', 'big', b'newer')
        self.swift.on_put = write_it
        _, body = self.get()
        self.assertEqual(self.body, body)
        self.assertEqual(b'newer', self.swift.objects[('photos', 'big')][1])
        self.assertEqual([], self.swift.names('photos_segments'))
        self.assertIn('written locally meanwhile', self.logger.text())

    def test_slo_written_meanwhile_keeps_the_segments(self):
        # another restore of the same SLO won: it may use our segments
        def write_it(name):
            if name == 'big/002':
                self.swift.add('photos', 'big', b'[]', headers={
                    'X-Static-Large-Object': 'True'})
        self.swift.on_put = write_it
        self.get()
        self.assertEqual(self.seg_names,
                         self.swift.names('photos_segments'))
        self.assertIn('keeping 3 segments', self.logger.text())

    def test_unusable_manifests_are_served_not_restored(self):
        def changed(**entry):
            return [dict(self.manifest[0], **entry)] + self.manifest[1:]
        cases = [
            (changed(range='0-9'), 'ranged segments'),
            (changed(sub_slo=True), 'nested SLO segments'),
            ([{'data': 'aGk='}] + self.manifest, 'inline data segments'),
            (changed(bytes=41), 'adds up to 79 bytes, the object has 78'),
            ([], 'lists no segments'),
            ({'not': 'a list'}, 'lists no segments'),
            (changed(name='/photos/big'), 'names the object itself'),
            (changed(hash=None), 'invalid entry'),
        ]
        for manifest, reason in cases:
            self.put_remote_slo(manifest)
            _, body = self.get()
            self.assertEqual(self.body, body)
            self.assertEqual([], self.swift.puts, reason)
            self.assertIn('not restoring AUTH_test/photos/big: ',
                          self.logger.text())
            self.assertIn(reason, self.logger.text())
        self.remote.manifests[('photos', 'big')] = 'not json'
        self.get()
        self.assertIn('saved manifest is not JSON', self.logger.text())
        del self.remote.manifests[('photos', 'big')]
        self.get()
        self.assertIn('no saved SLO manifest', self.logger.text())
        self.assertEqual([], self.swift.puts)

    def test_too_many_segments_for_slo(self):
        with mock.patch.object(shunt_restore_large, 'slo_limits',
                               return_value=(2, 8 << 20)):
            self.get()
        self.assertEqual([], self.swift.puts)
        self.assertIn('3 segments, an SLO may have 2', self.logger.text())

    def test_remote_failure_while_asking_for_the_manifest(self):
        self.remote.manifest_error = RemoteError('boom', 500)
        resp, body = self.get()
        self.assertEqual(self.body, body)
        self.assertEqual([], self.swift.puts)
        self.assertIn('not restoring AUTH_test/photos/big: preparing it '
                      'failed: 500 boom', self.logger.text())

    def test_remote_without_saved_manifests(self):
        # a provider without get_manifest (the Swift provider saves none)
        self.provider_class = ProviderWithoutManifests
        self.write_config([mapping(restore_object=True, aws_bucket='b')])
        self.reload()
        self.remote.put_object('photos', 'big', self.body, {
            'x-static-large-object': 'True'})
        _, body = self.get()
        self.assertEqual(self.body, body)
        self.assertEqual([], self.swift.puts)
        self.assertIn('its remote keeps no SLO manifest', self.logger.text())

    def test_ranges_heads_and_no_restore_object_ask_nothing(self):
        self.request('photos/big', headers={'Range': 'bytes=0-9'})
        self.request('photos/big', 'HEAD')
        self.write_config([mapping()])
        self.reload()
        self.put_remote_slo()
        self.get()
        self.settle()
        self.assertEqual([], self.swift.puts)
        self.assertNotIn('get_manifest', [c[0] for c in self.remote.calls])


class TestAboveMaxFileSize(LargeRestoreCase):
    conf = {'restore_segment_size': '30'}

    def setUp(self):
        patcher = mock.patch.object(constraints, 'MAX_FILE_SIZE', 100)
        patcher.start()
        self.addCleanup(patcher.stop)
        super().setUp()
        self.body = os.urandom(250)
        self.remote.put_object('photos', 'pic', self.body, {
            'content-type': 'image/x-big', 'x-object-meta-color': 'red'})

    def test_restored_as_an_slo(self):
        self.swift.policies['photos'] = 'silver'
        resp, body = self.get('photos/pic')
        self.assertEqual(self.body, body)
        names = self.swift.names('photos_segments')
        self.assertEqual(9, len(names))
        first = names[0].split('/')
        self.assertEqual(['pic', '250', '30', '00000000'],
                         [first[0]] + first[2:])
        Timestamp(first[1])   # the restore's timestamp
        pieces = [self.swift.objects[('photos_segments', n)][1]
                  for n in names]
        self.assertEqual(self.body, b''.join(pieces))
        self.assertEqual([30] * 8 + [10], [len(p) for p in pieces])
        headers, _ = self.swift.objects[('photos', 'pic')]
        self.assertEqual('True', headers['X-Static-Large-Object'])
        self.assertEqual('250', headers['X-Object-Sysmeta-Slo-Size'])
        self.assertEqual(slo_etag(pieces),
                         headers['X-Object-Sysmeta-Slo-Etag'])
        self.assertEqual('red', headers['X-Object-Meta-Color'])
        self.assertEqual('silver', self.swift.policies['photos_segments'])
        self.assertIn('restored AUTH_test/photos/pic as a static large '
                      'object (9 segments, 9 written)', self.logger.text())

    def test_segments_grow_to_stay_within_slo_limits(self):
        with mock.patch.object(shunt_restore_large, 'slo_limits',
                               return_value=(4, 8 << 20)):
            self.get('photos/pic')
        sizes = [len(self.swift.objects[('photos_segments', n)][1])
                 for n in self.swift.names('photos_segments')]
        self.assertEqual([63, 63, 63, 61], sizes)

    def test_not_when_segments_would_be_over_max_file_size(self):
        with mock.patch.object(shunt_restore_large, 'slo_limits',
                               return_value=(2, 8 << 20)):
            _, body = self.get('photos/pic')
        self.assertEqual(self.body, body)
        self.assertEqual([], self.swift.puts)
        self.assertIn('segments over max_file_size', self.logger.text())

    def test_bytes_other_than_the_remote_etag_leave_nothing(self):
        headers = self.remote.objects[('photos', 'pic')][0]
        headers['etag'] = md5(b'other bytes')
        _, body = self.get('photos/pic')
        self.assertEqual(self.body, body)
        self.assertNotIn(('photos', 'pic'), self.swift.objects)
        self.assertEqual([], self.swift.names('photos_segments'))
        self.assertIn('do not match the remote ETag', self.logger.text())

    def test_client_going_away_leaves_nothing(self):
        req = Request.blank('/v1/%s/photos/pic' % ACCOUNT)
        app_iter = self.app(req.environ, lambda *a: None)
        it = iter(app_iter)
        for _ in range(20):     # 100 bytes: three segments written
            next(it)
        app_iter.close()
        self.settle()
        self.assertNotIn(('photos', 'pic'), self.swift.objects)
        self.assertEqual([], self.swift.names('photos_segments'))
        self.assertEqual(3, sum(1 for c, _, _ in self.swift.puts
                                if c == 'photos_segments') - 1)

    def test_segment_names_too_long(self):
        name = 'n' * (constraints.MAX_OBJECT_NAME_LENGTH - 20)
        self.remote.put_object('photos', name, self.body)
        _, body = self.get('photos/' + name)
        self.assertEqual(self.body, body)
        self.assertEqual([], self.swift.puts)
        self.assertIn('segment names would be too long', self.logger.text())

    def test_objects_up_to_max_file_size_stay_plain(self):
        self.remote.put_object('photos', 'small', self.body[:100])
        self.get('photos/small')
        headers, body = self.swift.objects[('photos', 'small')]
        self.assertEqual(self.body[:100], body)
        self.assertNotIn('X-Static-Large-Object', headers)


class TestSegmentSizeOption(LargeRestoreCase):

    def test_default_and_limits(self):
        self.assertEqual(1024 ** 3, self.app.restorer.segment_size)
        with mock.patch.object(constraints, 'MAX_FILE_SIZE', 1000):
            self.assertEqual(1000, self.make_app().restorer.segment_size)
            self.assertEqual(999, self.make_app(
                restore_segment_size='999').restorer.segment_size)
            for bad in ('1001', '0', '-5', 'big', '1.5'):
                with self.assertRaises(ValueError) as caught:
                    self.make_app(restore_segment_size=bad)
                self.assertIn('restore_segment_size', str(caught.exception))
