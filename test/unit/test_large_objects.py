"""Large-object planning and reading, without servers."""
import hashlib
import io
import json
import unittest

import eventlet

from swift_s3_sync.local_objects import ConcatenatedReader, LocalObjects
from swift_s3_sync.local_swift import ChangedWhileReading, VerifiedStream
from swift_s3_sync.providers import s3_multipart as multipart
from swift_s3_sync.providers.base import LocalObject, Segment

MiB = 1024 * 1024


def seg(size, **kw):
    return Segment('c', 's', 'e' * 32, size, **kw)


class TestPlanning(unittest.TestCase):

    def test_segments_that_are_valid_parts(self):
        self.assertTrue(multipart.one_part_per_segment(
            [seg(5 * MiB), seg(6 * MiB), seg(1)]))

    def test_segments_that_are_not(self):
        for segments in ([seg(MiB), seg(MiB)],               # too small
                         [seg(5 * MiB, range=(0, 10)), seg(1)],
                         [seg(6 * 1024 * MiB)],               # over 5 GiB
                         [seg(5 * MiB)] * 10001,              # too many
                         []):
            self.assertFalse(multipart.one_part_per_segment(segments))

    def test_part_size_keeps_within_ten_thousand_parts(self):
        self.assertEqual(8 * MiB, multipart.part_size_for(100 * MiB))
        huge = 200 * 1024 * 1024 * MiB
        self.assertLessEqual(huge / multipart.part_size_for(huge), 10000)

    def test_multipart_etag(self):
        parts = [b'a' * 10, b'b' * 3]
        expected = hashlib.md5(b''.join(
            hashlib.md5(p).digest() for p in parts)).hexdigest() + '-2'
        self.assertEqual(expected, multipart.multipart_etag(
            [hashlib.md5(p).hexdigest() for p in parts]))

    def test_streamed_parts_cut_the_whole_stream(self):
        data = bytes(range(256)) * 40000  # about 9.8 MiB
        local = LocalObject('c', 'o', {}, len(data), 'x', '1',
                            lambda: io.BytesIO(data), large='slo')
        parts = [(body.read(), size, md5) for body, size, md5 in
                 multipart.streamed_parts(local)]
        self.assertEqual([8 * MiB, len(data) - 8 * MiB],
                         [size for _, size, _ in parts])
        self.assertEqual(data, b''.join(p for p, _, _ in parts))
        for body, _, md5 in parts:
            self.assertEqual(hashlib.md5(body).hexdigest(), md5)


class Body(io.BytesIO):
    closed_ones = []

    def close(self):
        Body.closed_ones.append(self.getvalue())
        super().close()


class FakeS3(object):
    """The boto calls of a multipart upload; parts take a little while so
    that several are in flight at once; ``fail_part`` fails one."""

    def __init__(self, fail_part=None):
        self.fail_part = fail_part
        self.in_flight = self.most_in_flight = 0
        self.calls = []

    def __call__(self, op, **params):
        self.calls.append((op, params.get('PartNumber')))
        if op == 'create_multipart_upload':
            return {'UploadId': 'u1'}
        if op in ('upload_part', 'upload_part_copy'):
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            eventlet.sleep(0.01 * (5 - params['PartNumber'] % 5))
            self.in_flight -= 1
            if params['PartNumber'] == self.fail_part:
                raise multipart.RemoteError('part failed', 500)
            etag = '"p%d"' % params['PartNumber']
            if op == 'upload_part_copy':
                return {'CopyPartResult': {'ETag': etag}}
            return {'ETag': etag}
        if op == 'complete_multipart_upload':
            self.completed = params['MultipartUpload']['Parts']
            return {'ETag': '"done-%d"' % len(self.completed)}
        return {}


class TestMultipartUpload(unittest.TestCase):

    def parts(self, count):
        for i in range(count):
            data = b'%d' % i
            yield Body(data), len(data), hashlib.md5(data).hexdigest()

    def test_parts_in_flight_together_and_completed_in_order(self):
        s3 = FakeS3()
        uploader = multipart.MultipartUploader(s3, 'b', 'k')
        etag = uploader.upload({}, self.parts(10), False, concurrency=3)
        self.assertEqual('done-10', etag)
        self.assertEqual(3, s3.most_in_flight)
        self.assertEqual(list(range(1, 11)),
                         [p['PartNumber'] for p in s3.completed])
        self.assertEqual(['"p%d"' % n for n in range(1, 11)],
                         [p['ETag'] for p in s3.completed])

    def test_a_failed_part_aborts_and_closes_every_body(self):
        Body.closed_ones = []
        s3 = FakeS3(fail_part=2)
        uploader = multipart.MultipartUploader(s3, 'b', 'k')
        with self.assertRaises(multipart.RemoteError):
            uploader.upload({}, self.parts(20), False, concurrency=2)
        ops = [op for op, _ in s3.calls]
        self.assertEqual('abort_multipart_upload', ops[-1])
        self.assertNotIn('complete_multipart_upload', ops)
        sent = [n for op, n in s3.calls if op == 'upload_part']
        self.assertLess(max(sent), 20)   # stopped early
        # Every body read from the parts was closed, sent or not.
        self.assertEqual(len(sent) + 1, len(Body.closed_ones))

    def test_segments_are_read_in_parallel_in_memory_and_bounded(self):
        s3 = FakeS3()
        reading = {'now': 0, 'most': 0}

        class Slow(io.BytesIO):
            def read(self, *args):
                reading['now'] += 1
                reading['most'] = max(reading['most'], reading['now'])
                eventlet.sleep(0.01)
                reading['now'] -= 1
                return super().read(*args)
        local = LocalObject('c', 'o', {}, 0, 'x', '1', None, large='slo',
                            segments=[seg(1) for _ in range(12)],
                            open_segment=lambda s: Slow(b'x'))
        uploader = multipart.MultipartUploader(s3, 'b', 'k')
        uploader.upload({}, multipart.segment_parts(local), False,
                        concurrency=4)
        self.assertEqual(4, reading['most'])   # read by the parts' threads
        self.assertEqual(12, len(s3.completed))
        # Two uploads at once hold no more parts than the process allows.
        s3 = FakeS3()
        pool = eventlet.GreenPool()
        for key in ('k1', 'k2'):
            pool.spawn(multipart.MultipartUploader(s3, 'b', key).upload,
                       {}, multipart.segment_parts(local), False, 4)
        pool.waitall()
        self.assertEqual(multipart.PARTS_IN_MEMORY, s3.most_in_flight)

    def test_a_segment_that_changed_aborts_the_upload(self):
        s3 = FakeS3()
        segments = [Segment('c', 's%d' % i, hashlib.md5(b'x').hexdigest(), 1)
                    for i in range(3)]

        def open_segment(segment):
            body = b'y' if segment.name == 's1' else b'x'
            return VerifiedStream([body], segment.etag, segment.name)
        local = LocalObject('c', 'o', {}, 3, 'x', '1', None, large='slo',
                            segments=segments, open_segment=open_segment)
        with self.assertRaises(ChangedWhileReading):
            multipart.MultipartUploader(s3, 'b', 'k').upload(
                {}, multipart.segment_parts(local), False)
        ops = [op for op, _ in s3.calls]
        self.assertEqual('abort_multipart_upload', ops[-1])
        self.assertNotIn('complete_multipart_upload', ops)
        self.assertNotIn(2, [n for op, n in s3.calls if op == 'upload_part'])

    def test_big_segments_are_streamed_in_smaller_parts(self):
        self.assertFalse(multipart.one_part_per_segment(
            [seg(multipart.IN_MEMORY_PART + 1), seg(1)]))

    def test_copied_parts_are_copied_by_the_server(self):
        s3 = FakeS3()
        segments = [seg(5 * MiB), seg(1)]
        parts = multipart.copied_parts(segments, [{'Key': 'a'},
                                                  {'Key': 'b'}])
        multipart.MultipartUploader(s3, 'b', 'k').upload({}, parts, False)
        self.assertEqual(['upload_part_copy'] * 2, [
            op for op, n in s3.calls if n])


class FakeClient(object):
    def __init__(self, objects, listing=()):
        self.objects = objects
        self.listing = listing

    def get_object(self, account, container, name, headers=None):
        return 200, {}, [self.objects[(container, name)]]

    def iter_objects(self, account, container, prefix=''):
        return iter(self.listing)


class TestStructure(unittest.TestCase):

    def objects(self, objects, listing=()):
        local = type('Local', (), {})()
        local.client = FakeClient(objects, listing)
        return LocalObjects(local)

    def test_nested_and_ranged_slo_is_flattened(self):
        inner = [{'name': '/segs/a', 'hash': 'a' * 32, 'bytes': 10},
                 {'name': '/segs/b', 'hash': 'b' * 32, 'bytes': 10}]
        outer = [{'name': '/c/inner', 'hash': 'i' * 32, 'bytes': 20,
                  'sub_slo': True, 'range': '5-14'},
                 {'name': '/segs/c', 'hash': 'c' * 32, 'bytes': 8,
                  'range': '2-5'},
                 {'data': 'aGk='}]
        objects = self.objects({('c', 'outer'): json.dumps(outer).encode(),
                                ('c', 'inner'): json.dumps(inner).encode()})
        _, segments = objects.slo_segments('AUTH_a', 'c', 'outer')
        self.assertEqual(
            [('a', 5, (5, 9)), ('b', 5, (0, 4)), ('c', 4, (2, 5)),
             (None, 2, None)],
            [(s.name and s.name[-1], s.size, s.range) for s in segments])
        self.assertEqual(b'hi', segments[-1].data)

    def test_slo_segment_names_are_taken_as_stored(self):
        # Swift stores SLO segment names unquoted: a '%' is a '%'.
        manifest = [{'name': '/segs/per%cent/50/0', 'hash': 'a' * 32,
                     'bytes': 3}]
        objects = self.objects({('c', 'slo'): json.dumps(manifest).encode()})
        _, segments = objects.slo_segments('AUTH_a', 'c', 'slo')
        self.assertEqual([('segs', 'per%cent/50/0')],
                         [(s.container, s.name) for s in segments])

    def test_self_referencing_dlo_leaves_itself_out(self):
        listing = [{'name': 'part-1', 'hash': 'a' * 32, 'bytes': 3},
                   {'name': 'part-manifest', 'hash': 'b' * 32, 'bytes': 0}]
        objects = self.objects({}, listing)
        segments = objects.dlo_segments('AUTH_a', 'c', 'part-manifest',
                                        'c/part-')
        self.assertEqual(['part-1'], [s.name for s in segments])

    def test_concatenated_reader_rewinds(self):
        reader = ConcatenatedReader([lambda: io.BytesIO(b'abc'),
                                     lambda: io.BytesIO(b''),
                                     lambda: io.BytesIO(b'de')])
        self.assertEqual(b'abcde', reader.read())
        reader.seek(0)
        self.assertEqual(b'ab', reader.read(2))
        self.assertEqual(2, reader.tell())


class TestVerifiedStream(unittest.TestCase):

    def test_pieces_then_the_check_at_the_end(self):
        data = b'abcdefgh' * 1000
        closed = []

        class Body(list):
            def close(self):
                closed.append(True)
        stream = VerifiedStream(Body([data[:3000], data[3000:]]),
                                hashlib.md5(data).hexdigest(), 'c/o')
        got = b''
        while True:
            chunk = stream.read(1000)
            if not chunk:
                break
            self.assertLessEqual(len(chunk), 1000)
            got += chunk
        self.assertEqual(data, got)
        self.assertTrue(closed)

    def test_other_bytes_fail_at_the_end(self):
        stream = VerifiedStream([b'ab', b'cd'], hashlib.md5(b'abce')
                                .hexdigest(), 'c/o')
        self.assertEqual(b'ab', stream.read(2))
        with self.assertRaises(ChangedWhileReading):
            stream.read()

    def test_ranges_are_not_checked(self):
        self.assertEqual(b'abcd', VerifiedStream([b'ab', b'cd'], None,
                                                 'c/o').read())

    def test_readinto_fills_across_chunks_and_keeps_the_rest(self):
        data = bytes(range(256)) * 10
        stream = VerifiedStream([data[:700], data[700:1900], data[1900:]],
                                hashlib.md5(data).hexdigest(), 'c/o')
        first = bytearray(1000)
        self.assertEqual(1000, stream.readinto(first))
        self.assertEqual(data[:1000], bytes(first))
        self.assertEqual(data[1000:1500], stream.read(500))
        rest = bytearray(5000)
        self.assertEqual(len(data) - 1500, stream.readinto(rest))
        self.assertEqual(data[1500:], bytes(rest[:len(data) - 1500]))
        self.assertEqual(b'', stream.read(1))

    def test_readinto_checks_the_md5_at_the_end(self):
        stream = VerifiedStream([b'abcd'], hashlib.md5(b'abce').hexdigest(),
                                'c/o')
        with self.assertRaises(ChangedWhileReading):
            stream.readinto(bytearray(10))


class TestPartsInMemory(unittest.TestCase):

    def stream(self, data, md5=None):
        return VerifiedStream([data[i:i + 64] for i in range(0, len(data),
                                                             64)],
                              md5 or hashlib.md5(data).hexdigest(), 'c/o')

    def test_a_part_is_read_once_and_read_back_in_pieces(self):
        data = bytes(range(256)) * 3
        body = multipart._in_memory(self.stream(data), len(data))
        self.assertEqual(len(data), len(body))
        self.assertEqual(data[:100], body.read(100))
        self.assertEqual(100, body.tell())
        self.assertEqual(data[100:], body.read())
        body.seek(0)
        self.assertEqual(data, body.read())
        body.seek(-10, io.SEEK_END)
        self.assertEqual(data[-10:], body.read())
        body.close()

    def test_a_longer_or_shorter_body_fails_the_part(self):
        data = b'x' * 300
        for size in (200, 400):
            with self.assertRaises(multipart.RemoteError):
                multipart._in_memory(self.stream(data), size)

    def test_a_changed_segment_fails_while_read_into_memory(self):
        with self.assertRaises(ChangedWhileReading):
            multipart._in_memory(self.stream(b'abc' * 100, 'f' * 32), 300)
