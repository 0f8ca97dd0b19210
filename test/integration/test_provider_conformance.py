"""One provider contract, checked unchanged against every remote of the
local world: Swift s3api, moto and radosgw (S3Provider) and the target Swift
cluster (SwiftProvider).  Nothing is mocked.

:class:`ProviderContract` is written only against the Provider API; a
backend subclass says how to make a fresh remote (bucket or container), a
provider for it (through a config parsed from JSON, so mappings are real),
and how to list every name the backend stores there (for "nothing left
behind" checks).  :class:`CredentialContract` joins every backend that
checks credentials (all but moto).  :class:`SharedLargeObjectContract`
(SLO and DLO round trips, metadata changes without data) runs on every
backend; :class:`LargeObjectContract` adds what only a remote Swift keeps
(segments reused and cleaned up, DLOs converted).  The Swift backend also
has a few checks of its documented remote layout, options and logging.
"""
import hashlib
import io
import json
import logging
import time
import unittest

from swift_s3_sync.config import parse_config
from swift_s3_sync.providers import provider_for
from swift_s3_sync.providers.base import (
    DATA, EQUAL, METADATA, LocalObject, RemoteError, Segment)
from test.integration.conformance_names import (
    ReservedNamesContract, SavedManifestContract)
from test.integration.test_s3_provider import Unseekable
from test.integration.world import (
    get_world, s3_client, s3_settings, swift_conn, unique)

ACCOUNT = 'AUTH_test'
NAME = 'd\u00e9j\u00e0/vu \U0001F600.txt'
MiB = 1024 * 1024
META = {
    'colour': 'blue',
    'space': 'two words',
    'mixed': 'MiXeD CaSe Value',
    'tab': 'a\tb',
    'percent': '100%25 done',
    'word': '=?UTF-8?Q?x?=',
    'unicode': '\u00fcn\u00efc\u00f6d\u00e9',
    'emoji': '\U0001F680 launch',
}
CONTENT = {
    'content-type': 'text/plain; charset=utf-8',
    'content-encoding': 'gzip',
    'content-disposition': 'attachment; filename="r\u00e9sum\u00e9.txt"',
    'content-language': 'fr-CA',
    'cache-control': 'max-age=60',
}


def md5(data):
    return hashlib.md5(data).hexdigest()


def mapping_from_json(**settings):
    """A real Mapping, parsed from sync.json text."""
    entry = {'account': ACCOUNT, 'container': 'c'}
    entry.update(settings)
    text = json.dumps({'status_dir': '/nonexistent', 'containers': [entry]})
    return parse_config(text, 'conformance.json').mappings[0]


def local_object(name, body, meta=None, timestamp='1700000000.12345',
                 container='c', **headers):
    hdrs = {'content-type': 'application/octet-stream'}
    hdrs.update(('x-object-meta-' + k, v) for k, v in (meta or {}).items())
    hdrs.update((k.replace('_', '-'), v) for k, v in headers.items())
    return LocalObject(container, name, hdrs, len(body), md5(body), timestamp,
                       lambda: Unseekable(body))


def tricky(body=b'0123456789' * 100, meta=META, timestamp='1700000000.12345',
           **extra):
    headers = dict(CONTENT)
    headers.update((k.replace('_', '-'), v) for k, v in extra.items())
    return LocalObject('c', NAME, dict(headers, **{
        'x-object-meta-' + k: v for k, v in meta.items()}), len(body),
        md5(body), timestamp, lambda: Unseekable(body))


class CapturedLogs(logging.Handler):
    """Every record logged anywhere, formatted, while installed."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))

    def __enter__(self):
        root = logging.getLogger()
        self._saved = root.level, root.handlers[:]
        root.handlers[:] = [self]   # and nothing else prints them
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc):
        root = logging.getLogger()
        root.setLevel(self._saved[0])
        root.handlers[:] = self._saved[1]


class ProviderContract(object):
    """What every provider promises, whatever the backend."""

    # What delete() of a name that is already gone returns: S3 answers 204
    # either way, so S3Provider says True (s3.py documents it); Swift 404s.
    DELETE_ABSENT = False
    # Whether listings carry each object's content type (Swift's do).
    lists_content_types = False

    # -- backend hooks ---------------------------------------------------
    def make_remote(self):
        """Create a fresh bucket/container; return its mapping settings."""
        raise NotImplementedError

    def destroy_remote(self):
        raise NotImplementedError

    def stored_names(self):
        """Every key/object the backend holds for this test's remote."""
        raise NotImplementedError

    # -- fixtures --------------------------------------------------------
    def setUp(self):
        self.providers = []
        self.settings = self.make_remote()
        self.provider = self.make_provider()

    def tearDown(self):
        for provider in self.providers:
            provider.close()
        self.destroy_remote()

    def make_provider(self, **overrides):
        settings = dict(self.settings, **overrides)
        provider = provider_for(mapping_from_json(**settings))
        self.providers.append(provider)
        return provider

    def put(self, local, provider=None):
        provider = provider or self.provider
        provider.check(local)
        return provider.put(local)

    def read(self, name, provider=None, headers=None):
        status, headers, body = (provider or self.provider).get(
            'c', name, headers)
        return status, headers, b''.join(body)

    def assertRecent(self, when):
        self.assertIsInstance(when, float)
        self.assertLess(abs(when - time.time()), 300)

    # -- round trips -----------------------------------------------------
    def test_put_head_round_trip(self):
        local = tricky(expires='Thu, 01 Dec 2033 16:00:00 GMT')
        written = self.put(local)
        self.assertEqual(local.etag, written.etag)

        remote = self.provider.head('c', NAME)
        self.assertEqual(NAME, remote.name)
        self.assertEqual(local.etag, remote.etag)
        self.assertEqual(1000, remote.size)
        self.assertEqual('1700000000.12345', remote.timestamp)
        self.assertRecent(remote.last_modified)
        for key, value in META.items():
            self.assertEqual(value, remote.headers['x-object-meta-' + key],
                             key)
        for key, value in CONTENT.items():
            self.assertEqual(value, remote.headers[key], key)
        self.assertEqual('Thu, 01 Dec 2033 16:00:00 GMT',
                         remote.headers['expires'])
        self.assertFalse([k for k in remote.headers if 'swift-s3-sync' in k])
        self.assertEqual(b'0123456789' * 100, self.read(NAME)[2])

    def test_compare_equal_after_put_and_on_second_head(self):
        local = tricky()
        self.put(local)
        self.assertEqual(EQUAL, self.provider.compare(
            local, self.provider.head('c', NAME)))
        # A fresh provider (no state from the upload) agrees.
        other = self.make_provider()
        self.assertEqual(EQUAL, other.compare(local, other.head('c', NAME)))
        self.assertEqual(DATA, self.provider.compare(local, None))

    def test_metadata_change_then_update(self):
        self.put(tricky())
        remote = self.provider.head('c', NAME)
        changed = tricky(meta=dict(META, emoji='\U0001F6F8 landed',
                                   mixed='mixed case value', new='yes'),
                         timestamp='1700000001.00000_0000000000000001')
        self.assertEqual(METADATA, self.provider.compare(changed, remote))
        dropped = tricky(meta={k: v for k, v in META.items()
                               if k != 'colour'})
        self.assertEqual(METADATA, self.provider.compare(dropped, remote))
        recased = tricky(meta=dict(META, mixed='MIXED CASE VALUE'))
        self.assertEqual(METADATA, self.provider.compare(recased, remote))
        for header, value in (('content-type', 'text/html'),
                              ('content-encoding', 'identity'),
                              ('cache-control', 'no-cache')):
            other = tricky(**{header.replace('-', '_'): value})
            self.assertEqual(METADATA, self.provider.compare(other, remote),
                             header)

        self.provider.update_metadata(changed, remote)
        after = self.provider.head('c', NAME)
        self.assertEqual(remote.etag, after.etag)
        self.assertEqual(remote.size, after.size)
        self.assertEqual('1700000001.00000_0000000000000001', after.timestamp)
        self.assertEqual('\U0001F6F8 landed',
                         after.headers['x-object-meta-emoji'])
        self.assertEqual('yes', after.headers['x-object-meta-new'])
        self.assertEqual('gzip', after.headers['content-encoding'])
        self.assertEqual(EQUAL, self.provider.compare(changed, after))
        self.assertEqual(METADATA, self.provider.compare(tricky(), after))
        self.assertEqual(b'0123456789' * 100, self.read(NAME)[2])

    def test_data_change(self):
        local = local_object('d', b'first bytes')
        self.put(local)
        remote = self.provider.head('c', 'd')
        self.assertEqual(EQUAL, self.provider.compare(local, remote))
        self.assertEqual(DATA, self.provider.compare(
            local_object('d', b'other bytes'), remote))   # same size
        self.assertEqual(DATA, self.provider.compare(
            local_object('d', b'longer other bytes'), remote))
        self.put(local_object('d', b'longer other bytes'))
        self.assertEqual(md5(b'longer other bytes'),
                         self.provider.head('c', 'd').etag)

    def test_empty_object(self):
        local = local_object('empty', b'')
        self.put(local)
        remote = self.provider.head('c', 'empty')
        self.assertEqual(0, remote.size)
        self.assertEqual(md5(b''), remote.etag)
        self.assertEqual(EQUAL, self.provider.compare(local, remote))
        self.assertEqual(b'', self.read('empty')[2])

    def test_timestamp_recorded(self):
        self.put(local_object('t', b'v1', timestamp='1700000000.00001'))
        self.assertEqual('1700000000.00001',
                         self.provider.head('c', 't').timestamp)
        self.put(local_object('t', b'v2',
                              timestamp='1700000002.00000_00000000000000ff'))
        self.assertEqual('1700000002.00000_00000000000000ff',
                         self.provider.head('c', 't').timestamp)
        self.assertIsNone(list(self.provider.list('c'))[0].timestamp)

    # -- deletes, listings, reads -----------------------------------------
    def test_delete(self):
        self.put(local_object('gone', b'x'))
        self.assertTrue(self.provider.delete('c', 'gone'))
        self.assertIsNone(self.provider.head('c', 'gone'))
        self.assertIs(self.DELETE_ABSENT, self.provider.delete('c', 'gone'))
        self.assertIs(self.DELETE_ABSENT,
                      self.provider.delete('c', 'never-there'))
        self.assertEqual([], self.stored_names())

    def test_list(self):
        names = ['a', 'b/1', 'b/2', 'c', '\u00e9t\u00e9', '\U0001F600']
        for name in reversed(names):
            self.put(local_object(name, b'x'))
        listed = list(self.provider.list('c'))
        self.assertEqual(names, [o.name for o in listed])
        self.assertEqual(md5(b'x'), listed[0].etag)
        self.assertEqual(1, listed[0].size)
        self.assertRecent(listed[0].last_modified)
        self.assertIsNone(listed[0].headers)

        def names_of(**kw):
            return [o.name for o in self.provider.list('c', **kw)]
        self.assertEqual(['b/1', 'b/2'], names_of(prefix='b/'))
        self.assertEqual(['b/2', 'c', '\u00e9t\u00e9', '\U0001F600'],
                         names_of(marker='b/1'))
        self.assertEqual(['a', 'b/1', 'b/2'], names_of(end_marker='c'))
        self.assertEqual(['b/2'], names_of(marker='b/1', end_marker='c'))
        self.assertEqual(['a', 'b/1'], names_of(limit=2))
        self.assertEqual(['\U0001F600'], names_of(marker='\u00e9t\u00e9'))
        self.assertEqual([], names_of(limit=0))
        self.assertEqual([], names_of(prefix='zz'))
        self.provider.page_size = 2   # several requests (both providers)
        self.assertEqual(names, names_of())
        self.assertEqual(names[1:6], names_of(marker='a', limit=5))

    def test_listing_content_type(self):
        # Shown in merged listings: the real type where the remote's
        # listing carries it (Swift), none where it cannot (S3).
        self.put(local_object('typed', b'x', content_type='image/x-test'))
        listed = list(self.provider.list('c', prefix='typed'))
        self.assertEqual(
            'image/x-test' if self.lists_content_types else None,
            listed[0].content_type)

    def test_get_range_and_conditions(self):
        local = local_object('g', b'0123456789')
        self.put(local)
        status, headers, body = self.read('g', headers={'Range': 'bytes=2-5'})
        self.assertEqual(206, status)
        self.assertEqual(b'2345', body)
        self.assertEqual('bytes 2-5/10', headers['content-range'])
        self.assertEqual(local.etag, headers['etag'])

        status, headers, body = self.read('g')
        self.assertEqual(200, status)
        self.assertEqual(b'0123456789', body)
        self.assertEqual('10', headers['content-length'])

        for request, expected in (
                ({'If-None-Match': local.etag}, 304),
                ({'If-None-Match': '"%s"' % local.etag}, 304),
                ({'If-Match': 'f' * 32}, 412),
                ({'Range': 'bytes=20-30'}, 416)):
            status, _, body = self.read('g', headers=request)
            self.assertEqual(expected, status, request)
            self.assertEqual(b'', body)
        status, _, body = self.read('missing')
        self.assertEqual(404, status)
        self.assertEqual(b'', body)

    # -- refusals and errors ----------------------------------------------
    def assertRefused(self, local, words):
        with self.assertRaises(RemoteError) as caught:
            self.provider.check(local)
        self.assertTrue(caught.exception.permanent)
        self.assertIn(words, str(caught.exception))

    def test_check_refuses_what_cannot_be_stored(self):
        self.provider.check(tricky())
        self.assertRefused(local_object('fat', b'x', {
            'k%02d' % i: 'v' * 200 for i in range(100)}), 'metadata')
        self.assertRefused(local_object('n' * 1025, b'x'), 'bytes')
        self.assertRefused(local_object('r', b'x', {
            'swift-s3-sync-timestamp': '1'}), 'reserved')

class CredentialContract(object):
    """For backends that check credentials (moto accepts any key)."""

    def test_bad_credentials(self):
        secret = 'not-the-secret-' + unique('s')
        provider = self.make_provider(aws_secret=secret)
        with CapturedLogs() as logs:
            with self.assertRaises(RemoteError) as caught:
                provider.put(local_object('o', b'x'))
        self.assertIn(caught.exception.status, (401, 403))
        self.assertFalse(caught.exception.permanent)
        self.assertNotIn(secret, str(caught.exception))
        self.assertTrue(logs.lines)   # the capture works
        self.assertFalse([line for line in logs.lines if secret in line])


class SharedLargeObjectContract(object):
    """Large objects, whatever the remote makes of them: the bytes, the
    ETag Swift knows them by, metadata changes without data."""

    @staticmethod
    def large(name, sizes, timestamp='1700000000.00000', kind='slo',
              seed=b'', meta=None):
        datas = [(seed + b'%d:' % i) * (size // len(seed + b'%d:' % i)) +
                 b'.' * (size % len(seed + b'%d:' % i))
                 for i, size in enumerate(sizes)]
        segments = [Segment('c_segments', '%s/src/%03d' % (name, i), md5(d),
                            len(d)) for i, d in enumerate(datas)]
        by_name = {s.name: d for s, d in zip(segments, datas)}
        etag = md5(''.join(s.etag for s in segments).encode('ascii'))
        headers = {'content-type': 'application/x-large',
                   'etag': '"%s"' % etag}
        headers.update(('x-object-meta-' + k, v)
                       for k, v in (meta or {}).items())
        if kind == 'slo':
            headers['x-static-large-object'] = 'True'
        else:
            headers['x-object-manifest'] = 'c_segments/%s/src/' % name
        local = LocalObject(
            'c', name, headers, sum(sizes), etag, timestamp,
            lambda: Unseekable(b''.join(datas)), large=kind,
            segments=segments,
            open_segment=lambda s: Unseekable(by_name[s.name]))
        return local, b''.join(datas)

    def check_copy(self, local, data, provider=None):
        provider = provider or self.provider
        remote = provider.head('c', local.name)
        self.assertEqual(local.etag, remote.etag)
        self.assertEqual(len(data), remote.size)
        self.assertEqual(local.timestamp, remote.timestamp)
        self.assertEqual(EQUAL, provider.compare(local, remote))
        status, _, body = self.read(local.name, provider)
        self.assertEqual(200, status)
        self.assertEqual(md5(data), md5(body))
        return remote

    def test_large_round_trip(self):
        local, data = self.large('big \u00e9', [5 * MiB, 5 * MiB, 1024],
                                 meta={'mixed': 'KeEp CaSe'})
        self.put(local)
        remote = self.check_copy(local, data)
        self.assertEqual('KeEp CaSe', remote.headers['x-object-meta-mixed'])
        edge = 5 * MiB
        status, _, body = self.read(local.name, headers={
            'Range': 'bytes=%d-%d' % (edge - 10, edge + 9)})
        self.assertEqual(206, status)
        self.assertEqual(data[edge - 10:edge + 10], body)

    def test_large_metadata_change_keeps_the_bytes(self):
        local, data = self.large('seven', [MiB] * 7)
        self.put(local)
        self.check_copy(local, data)
        changed, _ = self.large('seven', [MiB] * 7, meta={'new': 'Value'},
                                timestamp='1700000005.00000')
        remote = self.provider.head('c', 'seven')
        self.assertEqual(METADATA, self.provider.compare(changed, remote))
        self.provider.update_metadata(changed, remote)
        after = self.check_copy(changed, data)
        self.assertEqual('Value', after.headers['x-object-meta-new'])

    def test_large_dlo_round_trip_and_delete(self):
        local, data = self.large('dyn', [MiB, MiB, 5], kind='dlo')
        self.put(local)
        self.check_copy(local, data)
        self.assertTrue(self.provider.delete('c', 'dyn'))
        self.assertIsNone(self.provider.head('c', 'dyn'))


    def test_large_from_objects_the_store_holds(self):
        # proxymc's manifest PUTs: the segments are objects of the same
        # store already, and the object is made from them there.
        local, data = self.large('held', [5 * MiB, 5 * MiB, 1024])
        holder = self.make_provider()
        self.assertEqual(self.provider.store_key(), holder.store_key())
        for seg in local.segments:
            piece = local.open_segment(seg).read()
            self.put(LocalObject(seg.container, seg.name, {}, len(piece),
                                 md5(piece), '1700000000.00000',
                                 lambda piece=piece: io.BytesIO(piece)))

        def no_reading(*args):
            raise AssertionError('the bytes were read through us')
        local.open_body = local.open_segment = no_reading
        self.provider.check(local)
        self.provider.put_manifest(local, [holder] * len(local.segments))
        self.check_copy(local, data)


class LargeObjectContract(SharedLargeObjectContract):
    """How a remote Swift keeps large objects: segments, reuse, cleanup."""

    def test_slo_three_segments(self):
        local, data = self.large('big \u00e9', [5 * MiB, 5 * MiB, 1024],
                                 meta={'mixed': 'KeEp CaSe'})
        self.put(local)
        remote = self.check_copy(local, data)
        self.assertEqual('KeEp CaSe', remote.headers['x-object-meta-mixed'])
        listed = list(self.provider.list('c'))
        self.assertEqual([(local.name, local.etag, len(data))],
                         [(o.name, o.etag, o.size) for o in listed])
        edge = 5 * MiB
        status, _, body = self.read(local.name, headers={
            'Range': 'bytes=%d-%d' % (edge - 10, edge + 9)})
        self.assertEqual(206, status)
        self.assertEqual(data[edge - 10:edge + 10], body)
        self.assertEqual(4, len(self.stored_names()))

    def test_slo_seven_segments_unchanged_and_metadata(self):
        local, data = self.large('seven', [MiB] * 7)
        self.put(local)
        self.check_copy(local, data)
        before = sorted(self.stored_names())
        self.assertEqual(8, len(before))
        self.put(local)   # again: segments reused, nothing new stored
        self.assertEqual(before, sorted(self.stored_names()))
        self.check_copy(local, data)

        changed, _ = self.large('seven', [MiB] * 7, meta={'new': 'Value'},
                                timestamp='1700000005.00000')
        remote = self.provider.head('c', 'seven')
        self.assertEqual(METADATA, self.provider.compare(changed, remote))
        self.provider.update_metadata(changed, remote)
        after = self.check_copy(changed, data)
        self.assertEqual('Value', after.headers['x-object-meta-new'])
        self.assertEqual(before, sorted(self.stored_names()))

    def test_new_version_replaces_segments(self):
        old, _ = self.large('v', [MiB, MiB], timestamp='1700000000.00000')
        self.put(old)
        new, data = self.large('v', [MiB, 2 * MiB, 10], seed=b'new',
                               timestamp='1700000009.00000')
        self.assertEqual(DATA, self.provider.compare(
            new, self.provider.head('c', 'v')))
        self.put(new)
        self.check_copy(new, data)
        self.assertEqual(4, len(self.stored_names()))

    def test_large_delete_takes_segments(self):
        local, _ = self.large('del', [MiB, MiB, 3])
        self.put(local)
        self.assertTrue(self.provider.delete('c', 'del'))
        self.assertIsNone(self.provider.head('c', 'del'))
        self.assertEqual([], self.stored_names())
        self.assertIs(self.DELETE_ABSENT, self.provider.delete('c', 'del'))

    def test_failed_upload_leaves_no_manifest(self):
        local, data = self.large('broken', [MiB, MiB, MiB])
        good = local.segments[1]
        local.segments[1] = Segment(good.container, good.name, md5(b'lie'),
                                    good.size)
        with self.assertRaises(RemoteError) as caught:
            self.put(local)
        self.assertFalse(caught.exception.permanent)
        self.assertIsNone(self.provider.head('c', 'broken'))
        self.assertEqual([], list(self.provider.list('c')))
        local.segments[1] = good
        self.put(local)
        self.check_copy(local, data)

    def test_dlo(self):
        local, data = self.large('dyn', [MiB, MiB, 5], kind='dlo',
                                 meta={'a': 'B'})
        self.put(local)
        remote = self.check_copy(local, data)
        changed, _ = self.large('dyn', [MiB, MiB, 5], kind='dlo',
                                meta={'a': 'C'})
        self.assertEqual(METADATA, self.provider.compare(changed, remote))
        self.provider.update_metadata(changed, remote)
        self.check_copy(changed, data)   # still a working large object
        self.assertTrue(self.provider.delete('c', 'dyn'))
        self.assertEqual([], self.stored_names())

    def test_dlo_converted_to_slo(self):
        converting = self.make_provider(convert_dlo=True,
                                        min_segment_size=3 * MiB)
        local, data = self.large('conv', [MiB] * 7, kind='dlo')
        self.put(local, converting)
        remote = self.check_copy(local, data, converting)
        # 3 joined segments (3 + 3 + 1 MiB) and the manifest.
        self.assertEqual(4, len(self.stored_names()))
        # Without convert_dlo the same local object wants a DLO copy.
        self.assertEqual(DATA, self.provider.compare(local, remote))
        self.put(local, converting)   # again: nothing new
        self.assertEqual(4, len(self.stored_names()))
        self.assertTrue(converting.delete('c', 'conv'))
        self.assertEqual([], self.stored_names())


# -- S3 backends ------------------------------------------------------------

class S3Backend(ProviderContract, SharedLargeObjectContract,
                ReservedNamesContract, SavedManifestContract):
    target = None
    DELETE_ABSENT = True

    def make_remote(self):
        settings = s3_settings(self.target)
        self.s3 = s3_client(self.target)
        self.bucket = unique('conform')
        self.s3.create_bucket(Bucket=self.bucket)
        return {'protocol': 's3', 'aws_bucket': self.bucket,
                'aws_endpoint': settings['endpoint'],
                'aws_identity': settings['access_key'],
                'aws_secret': settings['secret_key'],
                'aws_region': settings['region']}

    def stored_names(self):
        names = []
        pages = self.s3.get_paginator('list_objects_v2').paginate(
            Bucket=self.bucket)
        for page in pages:
            names.extend(o['Key'] for o in page.get('Contents', []))
        return names

    def destroy_remote(self):
        for key in self.stored_names():
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.s3.delete_bucket(Bucket=self.bucket)


class TestS3apiConformance(S3Backend, CredentialContract, unittest.TestCase):
    target = 's3api'


class TestMotoConformance(S3Backend, unittest.TestCase):
    target = 'moto'


class TestRadosgwConformance(S3Backend, CredentialContract,
                             unittest.TestCase):
    target = 'radosgw'


# -- Swift backend ----------------------------------------------------------

class TestSwiftConformance(ProviderContract, CredentialContract,
                           LargeObjectContract, ReservedNamesContract,
                           unittest.TestCase):
    DELETE_ABSENT = False
    lists_content_types = True

    def make_remote(self):
        self.info = get_world()['target']
        self.swift = swift_conn('target')
        self.container = unique('conform')
        self.containers = [self.container, self.container + '_segments']
        return {'protocol': 'swift', 'aws_bucket': self.container,
                'aws_endpoint': self.info['auth_url'],
                'aws_identity': 'test:tester', 'aws_secret': 'testing'}

    def stored_names(self, conn=None):
        conn = conn or self.swift
        names = []
        for container in self.containers:
            try:
                listing = conn.get_container(container, full_listing=True)[1]
            except Exception as err:
                if getattr(err, 'http_status', None) == 404:
                    continue
                raise
            names.extend('%s/%s' % (container, o['name']) for o in listing)
        return names

    def destroy_remote(self, conn=None):
        conn = conn or self.swift
        for path in self.stored_names(conn):
            container, name = path.split('/', 1)
            conn.delete_object(container, name)
        for container in self.containers:
            try:
                conn.delete_container(container)
            except Exception as err:
                if getattr(err, 'http_status', None) != 404:
                    raise

    # -- Swift only ---------------------------------------------------------
    def test_token_not_logged(self):
        with CapturedLogs() as logs:
            self.put(local_object('o', b'x'))
            self.provider.head('c', 'o')
        token = self.provider._auth[1]
        self.assertTrue(token)
        self.assertTrue([line for line in logs.lines if 'Token' in line])
        self.assertFalse([line for line in logs.lines if token in line])
        self.assertFalse([line for line in logs.lines if 'testing' in line])

    def test_raw_layout(self):
        self.put(tricky())
        raw = self.swift.head_object(self.container, NAME)
        self.assertEqual('1700000000.12345',
                         raw['x-object-meta-swift-s3-sync-timestamp'])
        self.assertEqual('MiXeD CaSe Value', raw['x-object-meta-mixed'])
        local, _ = self.large('big', [MiB, 10])
        self.put(local)
        self.assertEqual(sorted([
            self.container + '/' + NAME, self.container + '/big',
            self.container + '_segments/big/1700000000.00000/00000000',
            self.container + '_segments/big/1700000000.00000/00000001']),
            sorted(self.stored_names()))
        raw = self.swift.head_object(self.container, 'big')
        self.assertEqual('True', raw['x-static-large-object'])
        self.assertEqual(local.etag,
                         raw['x-object-meta-swift-s3-sync-etag'])

    def test_per_account_mapping_creates_containers(self):
        prefix = unique('acct') + '-'
        self.containers += [prefix + 'c1', prefix + 'c1_segments',
                            prefix + 'c2']
        provider = self.make_provider(container='/*', aws_bucket=prefix,
                                      storage_policy='silver')
        for container in ('c1', 'c2'):
            local = local_object('o', container.encode(),
                                 container=container)
            self.put(local, provider)
            self.assertEqual(md5(container.encode()),
                             provider.head(container, 'o').etag)
        big, _ = self.large('big', [MiB, 1])
        big.container = 'c1'
        self.put(big, provider)
        for container in (prefix + 'c1', prefix + 'c1_segments',
                          prefix + 'c2'):
            headers = self.swift.head_container(container)
            self.assertEqual('silver', headers['x-storage-policy'])
        self.assertEqual(['big', 'o'], [o.name for o in provider.list('c1')])

    def test_remote_account(self):
        info = self.info['users']['test2:tester2']
        owner = swift_conn('target', 'test2:tester2')
        self.addCleanup(self.destroy_remote, owner)
        owner.put_container(self.container, headers={
            'X-Container-Read': 'test:tester',
            'X-Container-Write': 'test:tester'})
        provider = self.make_provider(remote_account=info['account'])
        local = local_object('theirs', b'cross-account', {'k': 'V'})
        self.put(local, provider)
        self.assertEqual('V', owner.head_object(
            self.container, 'theirs')['x-object-meta-k'])
        self.assertEqual(EQUAL, provider.compare(
            local, provider.head('c', 'theirs')))
        self.assertIsNone(self.provider.head('c', 'theirs'))

    def test_propagate_expiration(self):
        provider = self.make_provider(propagate_expiration=True,
                                      propagate_expiration_offset=60)
        delete_at = int(time.time()) + 3600
        local = local_object('exp', b'x', x_delete_at=str(delete_at))
        self.put(local, provider)
        remote = provider.head('c', 'exp')
        self.assertEqual(str(delete_at + 60), remote.headers['x-delete-at'])
        self.assertEqual(EQUAL, provider.compare(local, remote))
        kept = local_object('exp', b'x')
        self.assertEqual(METADATA, provider.compare(kept, remote))
        provider.update_metadata(kept, remote)
        remote = provider.head('c', 'exp')
        self.assertNotIn('x-delete-at', remote.headers)
        self.assertEqual(EQUAL, provider.compare(kept, remote))

    def test_remote_delete_after(self):
        provider = self.make_provider(remote_delete_after=3600)
        local = local_object('rda', b'x')
        self.put(local, provider)
        remote = provider.head('c', 'rda')
        delete_at = int(remote.headers['x-delete-at'])
        self.assertLess(abs(delete_at - 3600 - time.time()), 120)
        self.assertEqual(EQUAL, provider.compare(local, remote))
        changed = local_object('rda', b'x', {'k': 'v'})
        provider.update_metadata(changed, remote)
        self.assertEqual(str(delete_at), provider.head(
            'c', 'rda').headers['x-delete-at'])   # not extended


if __name__ == '__main__':
    unittest.main()
