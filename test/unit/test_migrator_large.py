"""swift-s3-migrator and large objects, with fake sources (an S3 server
that knows multipart parts to various degrees, a Swift cluster with SLOs
and DLOs) and the fake local cluster of test_migrator_copy."""
import binascii
import hashlib
import json
import unittest
from unittest import mock

import eventlet
from swift.common.utils import Timestamp

from swift_s3_sync.migrator import copier, large, local, s3_parts
from swift_s3_sync.migrator.copier import CopyOptions
from swift_s3_sync.providers.base import RemoteError, RemoteObject
from test.unit.test_migrator_copy import MIGRATED, NOW, FakeSource, \
    MigrationTestCase, md5

ACCOUNT, CONTAINER, SEGMENTS = 'AUTH_test', 'bucket', 'bucket_segments'


def mpu_etag(parts):
    digest = hashlib.md5(b''.join(binascii.unhexlify(md5(p))
                                  for p in parts))
    return '%s-%d' % (digest.hexdigest(), len(parts))


def _chunks(data, size=4):
    for i in range(0, len(data), size):
        eventlet.sleep(0)   # let other parts run: concurrency is visible
        yield data[i:i + size]


def _range(data, header):
    start, end = header[len('bytes='):].split('-')
    return data[int(start):int(end) + 1], int(start)


class FakeS3(FakeSource):
    """An S3 server with multipart objects.  ``parts_by``: 'get' (part
    GETs answer 206 with the part and part HEADs its size, as AWS and
    s3api), 'head' (only part HEADs know parts, as moto) or 'nothing' (as
    radosgw 16)."""

    def __init__(self, parts_by='get'):
        super().__init__()
        self.parts_by = parts_by
        self.parts = {}
        self.requests = []
        self.fail_part = {}
        self.range_if_match = []   # Range of the GETs with If-Match
        self.in_flight = self.most_in_flight = 0

    def add_mpu(self, name, parts, last_modified=NOW - 3600, headers=None):
        self.add(name, b''.join(parts), last_modified, headers,
                 etag=mpu_etag(parts))
        self.parts[name] = parts

    def _part_of(self, name, number):
        parts = self.parts[name]
        start = sum(len(p) for p in parts[:number - 1])
        return parts[number - 1], start

    def head(self, container, name, part_number=None):
        self.requests.append(('HEAD', name, part_number, None))
        remote = super().head(container, name)
        if remote and part_number and self.parts_by in ('get', 'head'):
            part, _ = self._part_of(name, part_number)
            remote.size = len(part)
            if self.parts_by == 'head':
                # moto: the part's own ETag and headers, no metadata
                remote.etag = md5(part)
                remote.headers = {'etag': md5(part),
                                  'content-type': 'binary/octet-stream'}
            remote.headers['x-amz-mp-parts-count'] = str(
                len(self.parts[name]))
        return remote

    def _body(self, data):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            for chunk in _chunks(data):
                yield chunk
        finally:
            self.in_flight -= 1

    def get(self, container, name, headers=None, part_number=None,
            query_string=None):
        headers = headers or {}
        self.requests.append(('GET', name, part_number,
                              headers.get('Range')))
        self.gets.append((container, name))
        if headers.get('If-Match'):
            self.range_if_match.append(headers.get('Range'))
        if (name, part_number or headers.get('Range')) in self.fail_part:
            raise self.fail_part[(name, part_number or headers['Range'])]
        if name not in self.objects:
            return 404, {}, iter(())
        data, meta, lm, etag = self.objects[name]
        if headers.get('If-Match') not in (None, etag):
            return 412, {}, iter(())
        out = dict(meta, etag=etag)
        if part_number and self.parts_by == 'get':
            data, start = self._part_of(name, part_number)
            out['content-range'] = 'bytes %d-%d/%d' % (
                start, start + len(data) - 1,
                len(self.objects[name][0]))
            status = 206
        elif headers.get('Range'):
            data, start = _range(data, headers['Range'])
            out['content-range'] = 'bytes %d-%d/*' % (start,
                                                      start + len(data) - 1)
            status = 206
        else:
            status = 200
        out['content-length'] = str(len(data))
        return status, out, self._body(data)


class LargeTestCase(MigrationTestCase):

    def setUp(self):
        super().setUp()
        self.store.ensure_container(ACCOUNT, CONTAINER)

    def copy(self, source, name, **options):
        remote = [r for r in source.list('bucket') if r.name == name][0]
        return copier.copy_object(source, self.store, ACCOUNT, CONTAINER,
                                  remote, 'bucket', CopyOptions(**options))

    def segments(self):
        return dict(self.swift.containers.get((ACCOUNT, SEGMENTS), {}))

    def manifest(self, name):
        return json.loads(self.local(name)['data'])

    def assemble(self, name):
        """The bytes a GET through SLO would serve."""
        out = b''
        for entry in self.manifest(name):
            seg = entry['name'].split('/', 2)[2]
            data = self.segments()[seg]['data']
            self.assertEqual(md5(data), entry['hash'])
            self.assertEqual(len(data), entry['bytes'])
            out += data
        return out


class TestMultipartUploads(LargeTestCase):
    PARTS = [b'a' * 50, b'b' * 50, b'c' * 7]

    def check_slo(self, source, name='mpu'):
        obj = self.local(name)
        headers = obj['headers']
        etag = mpu_etag(self.PARTS)
        self.assertEqual('True', headers['x-static-large-object'])
        self.assertEqual(etag, headers[large.SLO_ETAG.lower()])
        self.assertEqual(etag, headers[large.S3API_ETAG.lower()])
        self.assertEqual('107', headers[large.SLO_SIZE.lower()])
        self.assertIn('s3_etag=%s' % etag, headers[large.OVERRIDE_ETAG
                                                   .lower()])
        self.assertEqual('video/mp4', headers['content-type'])
        self.assertEqual('\u00e9t\u00e9', headers['x-object-meta-season'])
        self.assertEqual(Timestamp(NOW - 3600), obj['ts'])
        self.assertEqual(Timestamp(NOW - 3600).internal, headers[MIGRATED])
        self.assertEqual(b''.join(self.PARTS), self.assemble(name))
        prefix = '%s/%s/' % (name, Timestamp(NOW - 3600).internal)
        self.assertEqual([prefix + '%08d' % i for i in range(3)],
                         sorted(self.segments()))

    def assert_parts_by_range(self, source):
        ranges = sorted(r[3] for r in source.requests
                        if r[0] == 'GET' and r[3])
        self.assertEqual(['bytes=0-49', 'bytes=100-106', 'bytes=50-99'],
                         ranges)

    def add(self, source):
        source.add_mpu('mpu', self.PARTS, headers={
            'content-type': 'video/mp4',
            'x-object-meta-season': '\u00e9t\u00e9'})

    def test_runs_of_parts_by_range_in_parallel_with_if_match(self):
        source = FakeS3('get')
        self.add(source)
        copied = self.copy(source, 'mpu', part_workers=2)
        self.assertEqual(107, copied)
        self.check_slo(source)
        # One HEAD of part 1 gives the layout; two runs of parts, read at
        # the same time, each cut into its segments.
        self.assertEqual([('GET', 'mpu', None, 'bytes=0-99'),
                          ('GET', 'mpu', None, 'bytes=100-106'),
                          ('HEAD', 'mpu', 1, None)],
                         sorted(source.requests, key=str))
        self.assertEqual(2, source.most_in_flight)
        self.assertEqual(['bytes=0-99', 'bytes=100-106'], sorted(
            r for r in source.range_if_match if r))

    def test_metadata_swift_refuses_leaves_no_object_nor_segment(self):
        source = FakeS3('get')
        source.add_mpu('mpu', self.PARTS, headers={
            'x-object-meta-long': 'v' * 300})
        with self.assertRaises(copier.Unsupported) as caught:
            self.copy(source, 'mpu')
        self.assertIn('Metadata value longer than 256: '
                      'x-object-meta-Long', str(caught.exception))
        self.assertIsNone(self.local('mpu'))
        self.assertEqual({}, self.segments())

    def test_parts_by_head_and_range_when_part_gets_are_ignored(self):
        source = FakeS3('head')   # like moto
        self.add(source)
        self.copy(source, 'mpu')
        self.check_slo(source)
        self.assert_parts_by_range(source)

    def test_parts_of_several_sizes_found_by_heads(self):
        # Part 1's size would fit "equal parts and a shorter last one";
        # the ETag shows it wrong, every part is HEADed, and the copy is
        # made again with the real sizes.
        self.PARTS = [b'a' * 50, b'b' * 30, b'c' * 27]
        source = FakeS3('head')
        self.add(source)
        self.copy(source, 'mpu')
        obj = self.local('mpu')
        self.assertEqual(mpu_etag(self.PARTS),
                         obj['headers'][large.SLO_ETAG.lower()])
        self.assertEqual(b''.join(self.PARTS), self.assemble('mpu'))
        self.assertEqual([50, 30, 27], [e['bytes'] for e in
                                        self.manifest('mpu')])
        self.assertEqual(3, len(self.segments()))   # the wrong ones gone
        self.assertEqual([1, 1, 2, 3], sorted(
            r[2] for r in source.requests if r[0] == 'HEAD'))

    def test_no_part_sizes_and_no_usual_size_is_permanent(self):
        source = FakeS3('nothing')   # like radosgw 16
        self.add(source)
        with self.assertRaises(copier.Unsupported) as caught:
            self.copy(source, 'mpu')
        self.assertIn('no part sizes', str(caught.exception))
        self.assertIsNone(self.local('mpu'))
        self.assertEqual({}, self.segments())

    def test_no_part_sizes_the_usual_size_that_makes_the_etag(self):
        source = FakeS3('nothing')
        self.add(source)
        # 36 bytes also cuts 107 into 3 parts, but not into these.
        with mock.patch.object(s3_parts, 'COMMON_PART_SIZES', (36, 50, 60)):
            self.assertEqual([36, 50], s3_parts.candidate_part_sizes(107, 3))
            self.copy(source, 'mpu')
        self.check_slo(source)
        self.assert_parts_by_range(source)

    def test_candidate_part_sizes(self):
        mib = s3_parts.MiB
        self.assertEqual([8 * mib, 10 * mib, 7 * mib],
                         s3_parts.candidate_part_sizes(20 * mib + 3, 3))
        self.assertEqual([5 * mib], s3_parts.candidate_part_sizes(
            5 * mib * 4 + 1, 5))
        self.assertEqual([], s3_parts.candidate_part_sizes(10, 30))

    def test_a_failed_part_leaves_no_object_and_no_segment(self):
        source = FakeS3('get')
        self.add(source)
        source.fail_part[('mpu', 'bytes=100-106')] = RemoteError('SlowDown',
                                                                 503)
        with self.assertRaises(RemoteError):
            self.copy(source, 'mpu', part_workers=2)
        self.assertIsNone(self.local('mpu'))
        self.assertEqual({}, self.segments())
        # The next attempt copies it.
        del source.fail_part[('mpu', 'bytes=100-106')]
        self.copy(source, 'mpu')
        self.check_slo(source)

    def test_bytes_not_making_the_etag_leave_nothing(self):
        source = FakeS3('get')
        self.add(source)
        data, meta, lm, etag = source.objects['mpu']
        source.objects['mpu'] = (data[:60] + b'B' + data[61:], meta, lm,
                                 etag)
        with self.assertRaises(copier.CopyError) as caught:
            self.copy(source, 'mpu')
        self.assertIn('make ETag', str(caught.exception))
        self.assertIsNone(self.local('mpu'))
        self.assertEqual({}, self.segments())

    def test_the_one_usual_size_not_making_the_etag_is_permanent(self):
        source = FakeS3('nothing')
        self.PARTS = [b'a' * 50, b'b' * 30, b'c' * 27]
        self.add(source)
        with mock.patch.object(s3_parts, 'COMMON_PART_SIZES', (50,)):
            with self.assertRaises(copier.Unsupported) as caught:
                self.copy(source, 'mpu')
        self.assertIn('none of the usual part sizes', str(caught.exception))
        self.assertIsNone(self.local('mpu'))
        self.assertEqual({}, self.segments())

    def test_changed_at_the_source_meanwhile(self):
        source = FakeS3('get')
        self.add(source)
        remote = next(source.list('bucket'))
        source.add_mpu('mpu', [b'x' * 10, b'y'])
        with self.assertRaises(copier.SourceChanged):
            copier.copy_object(source, self.store, ACCOUNT, CONTAINER,
                               remote, 'bucket', CopyOptions())
        self.assertEqual({}, self.segments())

    def test_newer_local_object_keeps_and_segments_go(self):
        source = FakeS3('get')
        self.add(source)
        self.swift.put_local(ACCOUNT, CONTAINER, 'mpu', b'client', NOW)
        with self.assertRaises(copier.LocalNewer):
            self.copy(source, 'mpu')
        self.assertEqual(b'client', self.local('mpu')['data'])
        self.assertEqual({}, self.segments())

    def test_new_version_replaces_segments_of_the_old(self):
        source = FakeS3('get')
        self.add(source)
        self.copy(source, 'mpu')
        # A segment of another object whose name starts the same is not
        # touched, nor is a segment of another shape.
        self.swift.put_local(ACCOUNT, SEGMENTS, 'mpu/other/00000000', b'o',
                             NOW)
        self.PARTS = [b'n' * 30, b'e' * 30, b'w' * 47]
        source.add_mpu('mpu', self.PARTS, last_modified=NOW - 60, headers={
            'content-type': 'video/mp4',
            'x-object-meta-season': '\u00e9t\u00e9'})
        self.copy(source, 'mpu')
        new_prefix = 'mpu/%s/' % Timestamp(NOW - 60).internal
        self.assertEqual(
            sorted([new_prefix + '%08d' % i for i in range(3)] +
                   ['mpu/other/00000000']), sorted(self.segments()))
        self.assertEqual(b''.join(self.PARTS), self.assemble('mpu'))

    def fail_manifest_put(self, stored):
        """The manifest PUT raises; ``stored``: after an object server
        kept it (a lost answer)."""
        original = self.store.put

        def put(account, container, name, body, headers):
            if container == CONTAINER:
                if stored:
                    original(account, container, name, body, headers)
                raise local.LocalError('PUT: 503 Service Unavailable')
            return original(account, container, name, body, headers)
        self.store.put = put

    def test_manifest_put_failing_takes_its_segments(self):
        source = FakeS3('get')
        self.add(source)
        self.fail_manifest_put(stored=False)
        with self.assertRaises(local.LocalError):
            self.copy(source, 'mpu')
        self.assertIsNone(self.local('mpu'))
        self.assertEqual({}, self.segments())

    def test_manifest_stored_despite_an_error_keeps_its_segments(self):
        source = FakeS3('get')
        self.add(source)
        self.fail_manifest_put(stored=True)
        with self.assertRaises(local.LocalError):
            self.copy(source, 'mpu')
        self.assertEqual(b''.join(self.PARTS), self.assemble('mpu'))

    def test_source_delete_removes_manifest_and_segments(self):
        source = FakeS3('get')
        self.add(source)
        self.copy(source, 'mpu')
        self.assertEqual(local.DELETED, self.store.delete_if_ours(
            ACCOUNT, CONTAINER, 'mpu'))
        self.assertEqual({}, self.segments())

    def test_through_the_runner_second_sweep_is_free(self):
        source = self.source = FakeS3('get')
        self.add(source)
        self.sweep(self.runner())
        self.assertEqual(1, self.progress.state['last_sweep']['copied'])
        self.assertEqual(107, self.progress.state['last_sweep']['bytes'])
        requests = len(source.requests)
        puts = self.swift.count('PUT')
        self.sweep(self.runner())
        self.assertEqual(requests, len(source.requests))
        self.assertEqual(puts, self.swift.count('PUT'))


class TestObjectsAboveMaximumSize(LargeTestCase):

    def test_becomes_an_slo_of_segment_size_pieces_with_its_etag(self):
        source = FakeS3()
        data = bytes(range(256)) * 4   # 1024 bytes
        source.add('big', data, headers={'content-type': 'x/y'})
        copied = self.copy(source, 'big', max_object_size=1000,
                           segment_size=300, part_workers=3)
        self.assertEqual(1024, copied)
        headers = self.local('big')['headers']
        self.assertEqual(md5(data), headers[large.SLO_ETAG.lower()])
        self.assertNotIn(large.S3API_ETAG.lower(), headers)
        self.assertEqual(data, self.assemble('big'))
        self.assertEqual([300, 300, 300, 124],
                         [e['bytes'] for e in self.manifest('big')])
        # Three runs of segments (one per worker), each cut as it streams.
        ranges = sorted(r[3] for r in source.requests if r[3])
        self.assertEqual(['bytes=0-299', 'bytes=300-899', 'bytes=900-1023'],
                         ranges)

    def test_segments_container_created_with_policy_and_acls(self):
        source = FakeS3()
        source.add('big', b'q' * 700)
        asked = []

        def acls():
            asked.append(1)
            return {'x-container-read': '.r:*'}
        self.copy(source, 'big', max_object_size=500, segment_size=300,
                  storage_policy='gold', segments_headers=acls)
        self.assertEqual({'X-Storage-Policy': 'gold',
                          'x-container-read': '.r:*',
                          local.FOLLOWED['container']: local.followed_record(
                              {'x-container-read': '.r:*'})},
                         self.swift.container_headers[(ACCOUNT, SEGMENTS)])
        source.add('big2', b'r' * 700)
        self.copy(source, 'big2', max_object_size=500, segment_size=300,
                  storage_policy='gold', segments_headers=acls)
        self.assertEqual(1, len(asked))   # only when it is created

    def test_at_the_maximum_is_a_plain_object(self):
        source = FakeS3()
        source.add('edge', b'z' * 1000)
        self.copy(source, 'edge', max_object_size=1000)
        self.assertEqual(b'z' * 1000, self.local('edge')['data'])
        self.assertEqual({}, self.segments())


class FakeSwiftSource(object):
    """A Swift cluster: containers of objects, SLO manifests (served with
    multipart-manifest=get) and DLO manifests."""

    def __init__(self):
        self.containers = {}
        self.requests = []

    def put(self, container, name, data, headers=None, lm=NOW - 3600):
        self.containers.setdefault(container, {})[name] = {
            'data': data, 'headers': dict(headers or {}), 'lm': lm,
            'etag': md5(data)}

    def put_slo(self, container, name, manifest, headers=None):
        self.put(container, name, json.dumps(manifest).encode(),
                 dict(headers or {}, **{'x-static-large-object': 'True'}))
        self.containers[container][name]['etag'] = large.slo_etag(manifest)

    def bound(self, container):
        """The provider the migrator opens for another container."""
        return self

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        objects = self.containers.get(container, {})
        for name in sorted(n for n in objects
                           if n.startswith(prefix) and n > marker)[:limit]:
            obj = objects[name]
            yield RemoteObject(name, obj['etag'], len(obj['data']),
                               last_modified=obj['lm'])

    def get(self, container, name, headers=None, query_string=None):
        headers = headers or {}
        self.requests.append((container, name, query_string,
                              headers.get('Range'), headers.get('If-Match')))
        obj = self.containers.get(container, {}).get(name)
        if obj is None:
            return 404, {}, iter(())
        slo = obj['headers'].get('x-static-large-object')
        if slo and 'multipart-manifest=get' not in \
                (query_string or '').split('&'):
            raise AssertionError('the migrator reads manifests')
        data = obj['data']
        etag = md5(data) if slo else obj['etag']
        if headers.get('If-Match') not in (None, etag):
            return 412, {}, iter(())
        status = 200
        if headers.get('Range'):
            data, _ = _range(data, headers['Range'])
            status = 206
        out = dict(obj['headers'], etag=etag,
                   **{'content-length': str(len(data))})
        return status, out, iter([data])

    def close(self):
        pass


class TestSwiftLargeObjects(LargeTestCase):

    def setUp(self):
        super().setUp()
        self.src = FakeSwiftSource()
        self.opened = []

    def open_source(self, container):
        self.opened.append(container)
        return self.src

    def copy_swift(self, name):
        remote = [r for r in self.src.list('bucket') if r.name == name][0]
        return copier.copy_object(
            self.src, self.store, ACCOUNT, CONTAINER, remote, 'bucket',
            CopyOptions(swift_source=True, open_source=self.open_source))

    def test_slo_stays_an_slo_with_its_etag_ranges_included(self):
        one, two = b'1' * 20, b'2' * 30
        self.src.put('segs', 's/1', one)
        self.src.put('segs', 's/2', two)
        manifest = [
            {'name': '/segs/s/1', 'hash': md5(one), 'bytes': 20},
            {'name': '/segs/s/2', 'hash': md5(two), 'bytes': 30,
             'range': '5-14'}]
        self.src.put_slo('bucket', 'slo', manifest, {
            'content-type': 'text/plain', 'x-object-meta-k': 'v\u00e9'})
        copied = self.copy_swift('slo')
        self.assertEqual(30, copied)
        headers = self.local('slo')['headers']
        self.assertEqual(large.slo_etag(manifest),
                         headers[large.SLO_ETAG.lower()])
        self.assertEqual('v\u00e9', headers['x-object-meta-k'])
        self.assertEqual('text/plain', headers['content-type'])
        self.assertEqual(one + two[5:15], self.assemble('slo'))
        self.assertEqual({'segs'}, set(self.opened))
        segment_gets = [r for r in self.src.requests if r[0] == 'segs']
        self.assertEqual({('s/1', None, md5(one)),
                          ('s/2', 'bytes=5-14', md5(two))},
                         {(r[1], r[3], r[4]) for r in segment_gets})

    def test_slo_inline_data_segment_kept_inline(self):
        self.src.put('segs', 's/1', b'body')
        manifest = [{'data': 'aGVhZA=='},   # b'head'
                    {'name': '/segs/s/1', 'hash': md5(b'body'),
                     'bytes': 4}]
        self.src.put_slo('bucket', 'slo', manifest)
        self.assertEqual(8, self.copy_swift('slo'))
        entries = self.manifest('slo')
        self.assertEqual({'data': 'aGVhZA=='}, entries[0])
        self.assertEqual('8', self.local('slo')['headers'][
            large.SLO_SIZE.lower()])
        self.assertEqual(large.slo_etag(manifest), self.local('slo')[
            'headers'][large.SLO_ETAG.lower()])

    def test_slo_manifest_changed_since_listed_is_not_copied(self):
        self.src.put('segs', 's/1', b'1')
        self.src.put_slo('bucket', 'slo', [
            {'name': '/segs/s/1', 'hash': md5(b'1'), 'bytes': 1}])
        remote = next(self.src.list('bucket'))
        self.src.put_slo('bucket', 'slo', [
            {'name': '/segs/s/1', 'hash': md5(b'1'), 'bytes': 1},
            {'name': '/segs/s/1', 'hash': md5(b'1'), 'bytes': 1}])
        with self.assertRaises(copier.SourceChanged):
            copier.copy_object(
                self.src, self.store, ACCOUNT, CONTAINER, remote, 'bucket',
                CopyOptions(swift_source=True,
                            open_source=self.open_source))
        self.assertIsNone(self.local('slo'))

    def test_missing_segment_leaves_nothing(self):
        self.src.put('segs', 's/1', b'1' * 10)
        self.src.put_slo('bucket', 'slo', [
            {'name': '/segs/s/1', 'hash': md5(b'1' * 10), 'bytes': 10},
            {'name': '/segs/s/gone', 'hash': md5(b'x'), 'bytes': 1}])
        with self.assertRaises(copier.SourceChanged):
            self.copy_swift('slo')
        self.assertIsNone(self.local('slo'))
        self.assertEqual({}, self.segments())

    def test_dlo_stays_a_dlo_over_copies_of_its_segments(self):
        pieces = [b'x' * 5, b'y' * 6, b'z' * 7]
        for i, data in enumerate(pieces):
            self.src.put('dsegs', 'movie/%03d' % i, data)
        self.src.put('dsegs', 'moviz', b'not mine')
        self.src.put('bucket', 'movie', b'', {
            'x-object-manifest': 'dsegs/movie/',
            'x-object-meta-k': 'v', 'content-type': 'video/x'})
        copied = self.copy_swift('movie')
        self.assertEqual(18, copied)
        obj = self.local('movie')
        prefix = 'movie/%s/' % Timestamp(NOW - 3600).internal
        self.assertEqual('%s/%s' % (SEGMENTS, prefix),
                         obj['headers']['x-object-manifest'])
        self.assertEqual(b'', obj['data'])
        self.assertEqual('v', obj['headers']['x-object-meta-k'])
        segs = self.segments()
        self.assertEqual(pieces, [segs[n]['data'] for n in sorted(segs)])
        # The local DLO's ETag (MD5 of its segments' ETags, in order) is
        # the source's.
        self.assertEqual(
            hashlib.md5(''.join(md5(p) for p in pieces).encode()).hexdigest(),
            hashlib.md5(''.join(segs[n]['etag'] for n in sorted(segs))
                        .encode()).hexdigest())

    def test_plain_swift_object_read_once_with_manifest_query(self):
        self.src.put('bucket', 'plain', b'just bytes')
        self.copy_swift('plain')
        self.assertEqual(b'just bytes', self.local('plain')['data'])
        self.assertEqual([('bucket', 'plain',
                           'multipart-manifest=get&symlink=get',
                           None, None)], self.src.requests)


class TestProviderAdditions(unittest.TestCase):
    """What the migrator added to the providers: part requests on S3,
    a query string on Swift GETs; callers that do not ask see no change."""

    def s3(self):
        from swift_s3_sync.config import parse_config
        from swift_s3_sync.providers.s3 import S3Provider
        conf = parse_config(json.dumps({'status_dir': '/s', 'containers': [{
            'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b',
            'custom_prefix': '', 'aws_endpoint': 'http://127.0.0.1:9',
            'aws_identity': 'i', 'aws_secret': 's'}]}))
        provider = S3Provider(conf.mappings[0])
        calls = []

        def call(op, expect=(), **params):
            calls.append((op, params))
            headers = {'etag': '"%s-3"' % ('a' * 32), 'content-length': '5',
                       'x-amz-mp-parts-count': '3'}
            return {'ResponseMetadata': {'HTTPStatusCode': 206,
                                         'HTTPHeaders': headers},
                    'Body': None}
        provider._call = call
        return provider, calls

    def test_s3_part_head_and_get(self):
        provider, calls = self.s3()
        head = provider.head('c', 'k', part_number=2)
        self.assertEqual(2, calls[-1][1]['PartNumber'])
        self.assertEqual('3', head.headers['x-amz-mp-parts-count'])
        self.assertEqual(5, head.size)
        status, headers, _ = provider.get('c', 'k', headers={
            'If-Match': 'x'}, part_number=3)
        self.assertEqual(3, calls[-1][1]['PartNumber'])
        self.assertEqual('3', headers['x-amz-mp-parts-count'])
        # Plain calls: no PartNumber, no parts count.
        head = provider.head('c', 'k')
        self.assertNotIn('PartNumber', calls[-1][1])
        self.assertNotIn('x-amz-mp-parts-count', head.headers)
        _, headers, _ = provider.get('c', 'k')
        self.assertNotIn('PartNumber', calls[-1][1])
        self.assertNotIn('x-amz-mp-parts-count', headers)

    def test_swift_get_query_string(self):
        from swift_s3_sync.config import parse_config
        from swift_s3_sync.providers.swift import SwiftProvider
        from swift_s3_sync.providers.swift_wire import _Reply
        conf = parse_config(json.dumps({'status_dir': '/s', 'containers': [{
            'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b',
            'protocol': 'swift', 'aws_endpoint': 'http://127.0.0.1:9/auth',
            'aws_identity': 'i', 'aws_secret': 's'}]}))
        provider = SwiftProvider(conf.mappings[0])
        calls = []

        def call(op, *args, **kwargs):
            calls.append(kwargs)
            return _Reply(None, 200, {'etag': '"e"'})
        provider._call = call
        provider.get('c', 'o', query_string='multipart-manifest=get')
        self.assertEqual('multipart-manifest=get', calls[-1]['query_string'])
        provider.get('c', 'o')
        self.assertNotIn('query_string', calls[-1])


if __name__ == '__main__':
    unittest.main()
