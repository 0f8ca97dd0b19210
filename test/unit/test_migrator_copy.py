"""swift-s3-migrator copying, with a fake source provider and a fake local
cluster behind the InternalClient interface (objects, timestamps,
transient sysmeta, 409 for older writes, listings)."""
import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import unittest
from unittest import mock

import eventlet
from swift.common.internal_client import UnexpectedResponse
from swift.common.swob import Response, str_to_wsgi, wsgi_to_str
from swift.common.utils import Timestamp

from swift_s3_sync.config import parse_config
from swift_s3_sync.migrator import copier, daemon, large, local
from swift_s3_sync.local_swift import LocalError
from swift_s3_sync.migrator.local import MIGRATED_HEADER, LocalStore
from swift_s3_sync.migrator.runner import ContainerMigration
from swift_s3_sync.migrator.split import Share, Walks
from swift_s3_sync.migrator.status import MigrationProgress
from swift_s3_sync.providers import s3_metadata
from swift_s3_sync.providers.base import RemoteError, RemoteObject

NOW = 1700000000.0
MIGRATED = MIGRATED_HEADER.lower()


def md5(data):
    return hashlib.md5(data).hexdigest()


# -- the fake source ---------------------------------------------------------

class FakeSource(object):
    """A provider over {name: (bytes, headers, last_modified)}."""

    def __init__(self):
        self.objects = {}
        self.gets = []
        self.lists = []
        self.fail_get = {}
        self.closed = False

    def add(self, name, data=b'x', last_modified=NOW - 3600, headers=None,
            etag=None):
        headers = dict(headers or {})
        headers.setdefault('content-type', 'application/octet-stream')
        self.objects[name] = (data, headers, last_modified,
                              etag or md5(data))

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        self.lists.append((container, prefix, marker, limit))
        names = sorted(n for n in self.objects
                       if n.startswith(prefix) and n > marker)
        for name in names[:limit]:
            data, _, lm, etag = self.objects[name]
            yield RemoteObject(name, etag, len(data), last_modified=lm)

    def get(self, container, name, headers=None, part_number=None,
            query_string=None):
        self.gets.append((container, name))
        if name in self.fail_get:
            raise self.fail_get[name]
        if name not in self.objects:
            return 404, {}, iter(())
        data, meta, lm, etag = self.objects[name]
        out = dict(meta, etag=etag, **{'content-length': str(len(data))})
        return 200, out, iter([data[i:i + 3] for i in range(0, len(data),
                                                             3)])

    def head(self, container, name, part_number=None):
        if name not in self.objects:
            return None
        data, meta, lm, etag = self.objects[name]
        return RemoteObject(name, etag, len(data), last_modified=lm,
                            headers=dict(meta, etag=etag))

    def close(self):
        self.closed = True


# -- the fake local cluster --------------------------------------------------

ACCOUNT_ACL_SYSMETA = 'x-account-sysmeta-core-access-control'


class FakeSwift(object):
    """Enough of InternalClient for LocalStore and LocalSwift."""

    def __init__(self, clock=lambda: NOW):
        self.clock = clock
        self.containers = {}     # (account, container) -> {name: obj}
        self.container_headers = {}
        self.metadata = {}       # (account, container or None) -> sysmeta
        self.requests = []

    def make_path(self, account, container=None, obj=None):
        return (account, container, obj)

    def container_exists(self, account, container):
        return (account, container) in self.containers

    def _fail(self, status, body=b''):
        resp = Response(status=status, body=body)
        raise UnexpectedResponse('Unexpected response: %s' % resp.status,
                                 resp)

    def make_request(self, method, path, headers, acceptable_statuses,
                     body_file=None, params=None):
        account, container, obj = path
        self.requests.append((method, container, obj))
        # Like swob: headers and query values travel as WSGI strings.
        headers = {k: wsgi_to_str(v) for k, v in headers.items()}
        params = {k: wsgi_to_str(v) for k, v in (params or {}).items()}
        resp = getattr(self, '_%s_%s' % (method.lower(),
                                         'object' if obj else 'container'))(
            account, container, obj, dict(headers), body_file, params)
        if resp.status_int in acceptable_statuses or \
                resp.status_int // 100 in acceptable_statuses:
            return resp
        self._fail(resp.status_int)

    # containers
    def _put_container(self, account, container, obj, headers, body, params):
        key = (account, container)
        created = key not in self.containers
        self.containers.setdefault(key, {})
        if created:
            self.container_headers[key] = headers
        return Response(status=201 if created else 202)

    def _post_container(self, account, container, obj, headers, body,
                        params):
        """A container POST (an account POST when ``container`` is None):
        sysmeta as the migrator's marks use it, '' removes a key."""
        if container is not None and (account, container) not in \
                self.containers:
            return Response(status=404)
        meta = self.metadata.setdefault((account, container), {})
        created = self.container_headers.get((account, container), {})
        for key, value in headers.items():
            for made in [k for k in created if k.lower() == key.lower()]:
                del created[made]
            if value:
                meta[key.lower()] = value
            else:
                meta.pop(key.lower(), None)
        return Response(status=204)

    def _metadata(self, key, prefix):
        return {k[len(prefix):]: v for k, v in self.metadata.get(
            key, {}).items() if k.startswith(prefix.lower())}

    def get_container_metadata(self, account, container, metadata_prefix=''):
        return self._metadata((account, container), metadata_prefix)

    def get_account_metadata(self, account, metadata_prefix=''):
        return self._metadata((account, None), metadata_prefix)

    def _head_container(self, account, container, *args):
        """A container's HEAD (the account's with ``container`` None): its
        creation headers and sysmeta as they are now."""
        if container is not None and (account, container) not in \
                self.containers:
            return Response(status=404)
        headers = dict(self.container_headers.get((account, container), {}))
        headers.update(self.metadata.get((account, container), {}))
        if container is None and ACCOUNT_ACL_SYSMETA in headers:
            # As the proxy shows an account ACL to the account's owner.
            headers['x-account-access-control'] = headers.pop(
                ACCOUNT_ACL_SYSMETA)
        return Response(status=204, headers={
            k: str_to_wsgi(v) for k, v in headers.items()})

    def _get_container(self, account, container, obj, headers, body,
                       params):
        objects = self.containers.get((account, container))
        if objects is None:
            return Response(status=404)
        marker, prefix = params.get('marker', ''), params.get('prefix', '')
        limit = int(params.get('limit', 10000))
        names = sorted(n for n in objects if n > marker and
                       n.startswith(prefix))[:limit]
        listing = [{'name': n, 'hash': objects[n]['etag'],
                    'bytes': len(objects[n]['data']),
                    'content_type': objects[n]['headers'].get(
                        'content-type', ''),
                    'last_modified': max(objects[n]['ts'],
                                         objects[n]['meta_ts']).isoformat}
                   for n in names]
        return Response(status=200, body=json.dumps(listing).encode(),
                        content_type='application/json')

    # objects
    def _objects(self, account, container):
        return self.containers.get((account, container))

    def _put_object(self, account, container, name, headers, body, params):
        objects = self._objects(account, container)
        if objects is None:
            return Response(status=404)
        headers = {k.lower(): v for k, v in headers.items()}
        current = objects.get(name)
        given = headers.pop('x-timestamp', None)
        ts = Timestamp(given or self.clock())
        if given is None and current and current['ts'] >= ts:
            ts = Timestamp(current['ts'], delta=1)   # a later "now"
        if current and max(current['ts'], current['meta_ts']) >= ts:
            return Response(status=202)   # the proxy's answer to a 409
        length = int(headers.pop('content-length'))
        data = body.read(length)
        if len(data) != length:
            return Response(status=499)
        etag = headers.pop('etag', None)
        if etag and etag != md5(data):
            return Response(status=422)
        objects[name] = {'data': data, 'etag': md5(data), 'ts': ts,
                         'meta_ts': ts, 'headers': headers}
        return Response(status=201, headers={'Etag': md5(data)})

    def post(self, account, container, name, meta):
        """A client POST: replaces metadata and transient sysmeta."""
        obj = self._objects(account, container)[name]
        kept = {k: v for k, v in obj['headers'].items()
                if not k.startswith('x-object-meta-') and
                not k.startswith('x-object-transient-sysmeta-')}
        kept.update(meta)
        obj['headers'] = kept
        obj['meta_ts'] = Timestamp(self.clock())

    def _head_object(self, account, container, name, *args):
        obj = (self._objects(account, container) or {}).get(name)
        if obj is None:
            return Response(status=404)
        headers = dict(obj['headers'])
        headers.update({
            'etag': obj['etag'], 'content-length': str(len(obj['data'])),
            'x-timestamp': obj['ts'].normal,
            'x-backend-timestamp': max(obj['ts'], obj['meta_ts']).internal})
        resp = Response(status=200, headers={
            k: str_to_wsgi(v) for k, v in headers.items()})
        resp.headers['content-length'] = str(len(obj['data']))
        return resp

    def _delete_object(self, account, container, name, headers, *args):
        objects = self._objects(account, container) or {}
        obj = objects.get(name)
        if obj is None:
            return Response(status=404)
        ts = Timestamp(headers.get('X-Timestamp') or
                       Timestamp(max(obj['ts'], Timestamp(self.clock())),
                                 delta=1))
        if obj['ts'] >= ts:
            return Response(status=409)
        del objects[name]
        return Response(status=204)

    # for tests
    def put_local(self, account, container, name, data, ts, headers=None):
        self.containers.setdefault((account, container), {})[name] = {
            'data': data, 'etag': md5(data), 'ts': Timestamp(ts),
            'meta_ts': Timestamp(ts), 'headers': dict(headers or {})}

    def object(self, account, container, name):
        return (self._objects(account, container) or {}).get(name)

    def count(self, method, name=None):
        return sum(1 for m, _, o in self.requests
                   if m == method and (name is None or o == name) and o)


class Logger(object):
    def __init__(self):
        self.lines = []

    def _log(self, level):
        def log(msg, *args, **kwargs):
            self.lines.append((level, msg % args if args else msg))
        return log

    def __getattr__(self, level):
        if level in ('debug', 'info', 'warning', 'error', 'exception'):
            return self._log(level)
        raise AttributeError(level)

    def update_stats(self, metric, value):
        self.lines.append(('stats', '%s %s' % (metric, value)))

    def text(self, level=None):
        return '\n'.join(m for lv, m in self.lines
                         if level is None or lv == level)


def migration_config(**overrides):
    entry = {'account': 'AUTH_test', 'aws_bucket': 'bucket',
             'aws_identity': 'id', 'aws_secret': 'secret'}
    entry.update(overrides)
    return parse_config(json.dumps({
        'status_dir': '/var/lib/s3-sync', 'migrations': [entry]}))


class MigrationTestCase(unittest.TestCase):
    ACCOUNT, CONTAINER = 'AUTH_test', 'bucket'

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.now = NOW
        self.source = FakeSource()
        self.swift = FakeSwift(clock=lambda: self.now)
        self.store = LocalStore(self.swift)
        self.logger = Logger()
        self.progress_path = os.path.join(self.tmp, 'progress.json')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def runner(self, share=None, chunk=1000, slack=600, **overrides):
        self.migration = migration_config(**overrides).migrations[0]
        self.progress = MigrationProgress(self.progress_path,
                                          self.migration.label)
        share = share or Share([0], 1)
        ranks = share.stand_in_ranks()
        walks = Walks(self.progress.state, slack, max(ranks or [0]))
        return ContainerMigration(
            self.migration, self.source, self.store,
            self.migration.local_container, share, walks, self.progress,
            eventlet.GreenPool(4), self.logger, items_chunk=chunk,
            retry_delays=(5, 300), source_container='bucket',
            clock=lambda: self.now)

    def sweep(self, runner):
        """Steps until the normal walk reaches the source's end."""
        for _ in range(1000):
            done = runner.step()
            self.progress.save()
            if done:
                return
        self.fail('sweep never ended')

    def local(self, name, container=None):
        return self.swift.object(self.ACCOUNT, container or self.CONTAINER,
                                 name)


class TestCopyObject(MigrationTestCase):

    def test_copy_keeps_bytes_etag_headers_metadata_and_time(self):
        data = b'hello migrator' * 10
        self.source.add('caf\u00e9/\u00e9t\u00e9.txt', data,
                        last_modified=1600000000.123, headers={
                            'content-type': 'text/plain; charset=utf-8',
                            'content-encoding': 'gzip',
                            'content-disposition': 'attachment',
                            'cache-control': 'no-cache',
                            'expires': 'Wed, 21 Oct 2015 07:28:00 GMT',
                            'x-object-meta-colour': 'bl\u00e9u',
                            'x-amz-request-id': 'dropped',
                            'last-modified': 'dropped too'})
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        entry = next(self.source.list('bucket'))
        copied = copier.copy_object(self.source, self.store, self.ACCOUNT,
                                    self.CONTAINER, entry, 'bucket')
        self.assertEqual(len(data), copied)
        obj = self.local('caf\u00e9/\u00e9t\u00e9.txt')
        self.assertEqual(data, obj['data'])
        self.assertEqual(Timestamp(1600000000.123), obj['ts'])
        self.assertEqual({
            'content-type': 'text/plain; charset=utf-8',
            'content-encoding': 'gzip',
            'content-disposition': 'attachment',
            'cache-control': 'no-cache',
            'expires': 'Wed, 21 Oct 2015 07:28:00 GMT',
            'x-object-meta-colour': 'bl\u00e9u',
            MIGRATED: Timestamp(1600000000.123).internal}, obj['headers'])

    def test_rfc2047_metadata_from_s3_arrives_decoded(self):
        wire = {'x-amz-meta-name': '=?UTF-8?B?%s?=' % 'w6l0w6k=',
                'x-amz-meta-q': '=?utf-8?q?caf=C3=A9_au_lait?=',
                'x-amz-meta-plain': 'ascii',
                'content-type': 'text/plain'}
        headers, _, _ = s3_metadata.swift_headers(wire)
        put = copier.put_headers(dict(headers, etag=md5(b'')),
                                 Timestamp(5))
        self.assertEqual('\u00e9t\u00e9', put['x-object-meta-name'])
        self.assertEqual('caf\u00e9 au lait', put['x-object-meta-q'])
        self.assertEqual('ascii', put['x-object-meta-plain'])
        self.assertEqual(Timestamp(5).internal, put['x-timestamp'])

    def test_metadata_swift_refuses_is_a_permanent_failure(self):
        self.source.add('long', b'x', headers={
            'x-object-meta-long': 'v\u00e9' * 150})   # 450 bytes
        self.source.add('many', b'x', headers={
            'x-object-meta-m%d' % i: 'v' for i in range(91)})
        self.source.add('fine', b'x', headers={
            'x-object-meta-ok': 'v' * 256})
        runner = self.runner()
        self.sweep(runner)
        self.assertEqual(1, runner.counters.actions['copied'])
        failures = self.progress.failures
        self.assertEqual({'long', 'many'}, set(failures))
        self.assertTrue(all(f['permanent'] for f in failures.values()))
        self.assertIn('Metadata value longer than 256: x-object-meta-Long',
                      failures['long']['reason'])
        self.assertIn('Too many metadata items; max 90',
                      failures['many']['reason'])
        self.assertEqual(1, self.swift.count('PUT'))
        # Not read again until the source object changes.
        gets = len(self.source.gets)
        self.sweep(self.runner())
        self.assertEqual(gets, len(self.source.gets))

    def test_sse_kms_and_sse_c_etags_are_not_checked_as_md5(self):
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        for name, sse in (
                ('kms', {'x-amz-server-side-encryption': 'aws:kms'}),
                ('sse-c', {'x-amz-server-side-encryption-customer-'
                           'algorithm': 'AES256'})):
            self.source.add(name, b'encrypted at rest', headers=sse,
                            etag='f' * 32)   # not the MD5
            entry = [e for e in self.source.list('bucket')
                     if e.name == name][0]
            copier.copy_object(self.source, self.store, self.ACCOUNT,
                               self.CONTAINER, entry, 'bucket')
            self.assertEqual(b'encrypted at rest', self.local(name)['data'])
        # SSE-S3 (AES256) ETags are the MD5: still checked.
        self.source.add('aes', b'x', headers={
            'x-amz-server-side-encryption': 'AES256'}, etag='f' * 32)
        entry = [e for e in self.source.list('bucket')
                 if e.name == 'aes'][0]
        with self.assertRaises(LocalError):
            copier.copy_object(self.source, self.store, self.ACCOUNT,
                               self.CONTAINER, entry, 'bucket')

    def test_an_sse_kms_object_swift_s3_sync_wrote_keeps_its_etag(self):
        # Archived by the sync daemon with SSE-KMS: S3 lists an ETag of
        # its own; the Swift ETag (the MD5) rides in metadata.
        data = b'archived, coming back'
        wire = {'etag': '"%s"' % ('0' * 32), 'content-length': str(len(data)),
                'x-amz-server-side-encryption': 'aws:kms',
                'x-amz-meta-swift-s3-sync-etag': md5(data)}
        self.source.add('back', data, etag='0' * 32)
        self.source.get = lambda *a, **k: (
            200, s3_metadata.swift_headers(wire)[0], iter([data]))
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        copier.copy_object(self.source, self.store, self.ACCOUNT,
                           self.CONTAINER, next(self.source.list('bucket')),
                           'bucket')
        self.assertEqual(md5(data), self.local('back')['etag'])
        # ... and it was checked: other bytes are refused.
        self.swift.containers[(self.ACCOUNT, self.CONTAINER)].clear()
        self.source.get = lambda *a, **k: (
            200, s3_metadata.swift_headers(wire)[0], iter([b'X' * len(data)]))
        with self.assertRaises(LocalError):
            copier.copy_object(self.source, self.store, self.ACCOUNT,
                               self.CONTAINER,
                               next(self.source.list('bucket')), 'bucket')

    def test_an_expiring_source_object_expires_here_too(self):
        delete_at = str(int(time.time()) + 3600)
        self.source.add('temp', b'for an hour', headers={
            'x-delete-at': delete_at, 'x-object-meta-a': 'b'})
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        copier.copy_object(self.source, self.store, self.ACCOUNT,
                           self.CONTAINER, next(self.source.list('bucket')),
                           'bucket')
        self.assertEqual(delete_at, self.local('temp')['headers'][
            'x-delete-at'])

    def test_a_source_object_past_its_expiry_is_not_copied(self):
        self.source.add('gone', b'expired', headers={
            'x-delete-at': str(int(time.time()) - 5)})
        self.source.add('kept', b'no expiry')
        runner = self.runner()
        self.sweep(runner)
        self.assertIsNone(self.local('gone'))
        self.assertIsNotNone(self.local('kept'))
        self.assertEqual(1, runner.counters.actions['expired'])
        self.assertEqual(1, runner.counters.actions['copied'])
        self.assertEqual({}, self.progress.failures)

    def test_source_changed_between_listing_and_get(self):
        self.source.add('a', b'one')
        entry = next(self.source.list('bucket'))
        self.source.add('a', b'two')
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        with self.assertRaises(copier.SourceChanged):
            copier.copy_object(self.source, self.store, self.ACCOUNT,
                               self.CONTAINER, entry, 'bucket')
        self.assertIsNone(self.local('a'))

    def test_local_write_after_listing_wins(self):
        self.source.add('a', b'source', last_modified=NOW - 100)
        entry = next(self.source.list('bucket'))
        self.swift.put_local(self.ACCOUNT, self.CONTAINER, 'a', b'client',
                             NOW - 10)
        with self.assertRaises(copier.LocalNewer):
            copier.copy_object(self.source, self.store, self.ACCOUNT,
                               self.CONTAINER, entry, 'bucket')
        self.assertEqual(b'client', self.local('a')['data'])

    def test_bytes_not_matching_etag_store_nothing(self):
        self.source.add('a', b'right', etag=md5(b'wrong'))
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        with self.assertRaises(local.LocalError) as caught:
            copier.copy_object(self.source, self.store, self.ACCOUNT,
                               self.CONTAINER,
                               next(self.source.list('bucket')), 'bucket')
        self.assertIn('422', str(caught.exception))
        self.assertIsNone(self.local('a'))

    def test_multipart_object_without_part_sizes_is_refused(self):
        # This source answers part requests with the whole object and no
        # parts count: the parts cannot be copied exactly.
        self.source.add('mpu', b'x', etag='a' * 32 + '-3')
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        with self.assertRaises(copier.Unsupported) as caught:
            copier.copy_object(self.source, self.store, self.ACCOUNT,
                               self.CONTAINER,
                               next(self.source.list('bucket')), 'bucket')
        self.assertIn('3 parts', str(caught.exception))
        self.assertIn('no part sizes', str(caught.exception))
        self.assertIsNone(self.local('mpu'))
        self.assertFalse(self.swift.containers.get(
            (self.ACCOUNT, self.CONTAINER + '_segments')))

    def test_s3_object_marked_slo_is_a_plain_copy(self):
        # An S3 object carrying the sync daemon's "large" marker is one
        # object in S3: copied as such.
        self.source.add('slo', b'whole', headers={
            'x-static-large-object': 'True'})
        self.store.ensure_container(self.ACCOUNT, self.CONTAINER)
        copier.copy_object(self.source, self.store, self.ACCOUNT,
                           self.CONTAINER, next(self.source.list('bucket')),
                           'bucket')
        self.assertEqual(b'whole', self.local('slo')['data'])
        self.assertNotIn('x-static-large-object',
                         self.local('slo')['headers'])


class TestLocalStore(MigrationTestCase):

    def test_list_range_pages_and_stops_at_end(self):
        for i in range(7):
            self.swift.put_local('A', 'c', 'o%d' % i, b'', 1)
        names = [e['name'] for e in self.store.list_range(
            'A', 'c', 'o1', 'o5', page=2)]
        self.assertEqual(['o2', 'o3', 'o4', 'o5'], names)
        gets = [r for r in self.swift.requests if r[0] == 'GET']
        self.assertEqual(2, len(gets))   # not the whole container
        self.assertEqual([], list(self.store.list_range('A', 'nope', '',
                                                        None)))

    def test_ensure_container_with_policy_once(self):
        self.store.ensure_container('A', 'c', 'gold')
        self.store.ensure_container('A', 'c', 'gold')
        self.assertEqual({'X-Storage-Policy': 'gold'},
                         self.swift.container_headers[('A', 'c')])
        self.assertEqual(1, sum(1 for r in self.swift.requests
                                if r[0] == 'PUT'))

    def test_delete_only_the_migrators_untouched_copy(self):
        ts = Timestamp(1000)
        self.swift.put_local('A', 'c', 'ours', b'1', ts,
                             {MIGRATED: ts.internal})
        self.swift.put_local('A', 'c', 'clients', b'2', ts)
        self.swift.put_local('A', 'c', 'posted', b'3', ts,
                             {MIGRATED: ts.internal})
        self.now = 2000
        self.swift.post('A', 'c', 'posted', {'x-object-meta-a': 'b'})
        self.assertEqual(local.DELETED,
                         self.store.delete_if_ours('A', 'c', 'ours'))
        self.assertEqual(local.KEPT,
                         self.store.delete_if_ours('A', 'c', 'clients'))
        self.assertEqual(local.KEPT,
                         self.store.delete_if_ours('A', 'c', 'posted'))
        self.assertEqual(local.ABSENT,
                         self.store.delete_if_ours('A', 'c', 'ours'))
        self.assertIsNone(self.swift.object('A', 'c', 'ours'))
        self.assertIsNotNone(self.swift.object('A', 'c', 'clients'))
        self.assertIsNotNone(self.swift.object('A', 'c', 'posted'))

    def test_marker_with_other_timestamp_is_kept(self):
        # Overwritten by someone copying the header along: the timestamps
        # no longer agree.
        self.swift.put_local('A', 'c', 'o', b'1', 2000,
                             {MIGRATED: Timestamp(1000).internal})
        self.assertEqual(local.KEPT, self.store.delete_if_ours('A', 'c', 'o'))


class TestLocalStoreOnTheWire(unittest.TestCase):
    """LocalStore through Swift's real InternalClient.make_request and swob,
    with a stub WSGI app in place of the proxy: what reaches the proxy."""

    def setUp(self):
        from swift.common.internal_client import InternalClient
        from swift.common.swob import Request
        self.seen = []
        self.listing = []

        def app(env, start_response):
            req = Request(env)
            body = req.body_file.read() if req.method == 'PUT' else b''
            self.seen.append((req.method, req.path, req.query_string,
                              dict(req.headers), body))
            if req.method == 'GET':
                start_response('200 OK',
                               [('Content-Type', 'application/json')])
                return [json.dumps(self.listing).encode()]
            start_response('201 Created', [('Etag', md5(body))])
            return [b'']
        client = InternalClient.__new__(InternalClient)
        client.app = app
        client.user_agent = 'test'
        client.request_tries = 1
        client.use_replication_network = False
        self.store = LocalStore(client)

    def test_listing_query_is_utf8(self):
        self.listing = [{'name': 'caf\u00e9/\u2603', 'hash': 'h',
                         'bytes': 0, 'last_modified': '2024-01-01T00:00:00'}]
        entries = list(self.store.list_range('AUTH_t', 'c', 'caf\u00e9/',
                                             None, prefix='caf\u00e9/'))
        self.assertEqual(['caf\u00e9/\u2603'], [e['name'] for e in entries])
        query = self.seen[0][2]
        self.assertIn('marker=caf%C3%A9%2F', query)
        self.assertIn('prefix=caf%C3%A9%2F', query)

    def test_put_sends_unicode_metadata_timestamp_and_body(self):
        body = b'bytes of the object'
        headers = copier.put_headers(
            {'etag': md5(body), 'x-object-meta-name': '\u00e9t\u00e9 \u2603',
             'content-type': 'text/plain'}, Timestamp(1600000000.5))
        headers['content-length'] = str(len(body))
        resp = self.store.put('AUTH_t', 'c', '\u00e9t\u00e9',
                              large.ChunkReader([body[:5], body[5:]]), headers)
        self.assertEqual(201, resp.status_int)
        method, path, _, sent, received = self.seen[0]
        self.assertEqual('PUT', method)
        self.assertEqual(body, received)
        self.assertEqual('\u00e9t\u00e9 \u2603',
                         wsgi_to_str(sent['X-Object-Meta-Name']))
        self.assertEqual('1600000000.50000', sent['X-Timestamp'])
        self.assertEqual('1600000000.50000',
                         sent['X-Object-Transient-Sysmeta-Swift-S3-'
                              'Migrator-Source'])
        self.assertEqual(md5(body), sent['Etag'])


class TestMigrationSteps(MigrationTestCase):

    def test_first_sweep_copies_everything_second_writes_nothing(self):
        for i in range(25):
            self.source.add('obj-\u00e9-%02d' % i, b'data%d' % i,
                            last_modified=NOW - 1000 + i + 0.25,
                            headers={'x-object-meta-i': str(i)})
        runner = self.runner(chunk=10, storage_policy='gold')
        self.sweep(runner)
        self.assertEqual(25, runner.counters.actions['copied'])
        self.assertEqual(25, self.swift.count('PUT'))
        self.assertEqual({'X-Storage-Policy': 'gold'},
                         self.swift.container_headers[
                             (self.ACCOUNT, self.CONTAINER)])
        obj = self.local('obj-\u00e9-07')
        self.assertEqual(b'data7', obj['data'])
        self.assertEqual('7', obj['headers']['x-object-meta-i'])
        self.assertEqual(Timestamp(NOW - 1000 + 7.25), obj['ts'])
        state = self.progress.state
        self.assertEqual(25, state['last_sweep']['copied'])
        self.assertEqual(25, state['last_sweep']['scanned'])
        self.assertEqual({'sweep': 1, 'marker': ''}, state['walk'])
        # Second sweep: every object is EQUAL, no write, no GET.
        gets = len(self.source.gets)
        runner = self.runner(chunk=10, storage_policy='gold')
        self.sweep(runner)
        self.assertEqual(25, self.swift.count('PUT'))
        self.assertEqual(gets, len(self.source.gets))
        self.assertEqual(25, runner.counters.actions['equal'])

    def test_newer_source_is_copied_again_newer_local_never(self):
        self.source.add('a', b'v1', last_modified=NOW - 500)
        self.source.add('b', b'v1', last_modified=NOW - 500)
        self.sweep(self.runner())
        self.source.add('a', b'v2', last_modified=NOW - 100)
        self.swift.put_local(self.ACCOUNT, self.CONTAINER, 'b', b'mine',
                             NOW - 50)
        self.source.add('b', b'v3', last_modified=NOW - 60)
        runner = self.runner()
        self.sweep(runner)
        self.assertEqual(b'v2', self.local('a')['data'])
        self.assertEqual(b'mine', self.local('b')['data'])
        self.assertEqual(1, runner.counters.actions['local_newer'])
        self.assertEqual(0, self.swift.count('PUT', 'b') - 1)

    def test_source_delete_removes_only_untouched_copies(self):
        for name in ('keep', 'gone', 'posted', 'overwritten'):
            self.source.add(name, name.encode())
        self.swift.put_local(self.ACCOUNT, self.CONTAINER, 'local-only',
                             b'client data', NOW - 9999)
        self.sweep(self.runner())
        self.now += 10
        self.swift.post(self.ACCOUNT, self.CONTAINER, 'posted',
                        {'x-object-meta-tag': 'mine'})
        self.swift.put_local(self.ACCOUNT, self.CONTAINER, 'overwritten',
                             b'new', self.now)
        for name in ('gone', 'posted', 'overwritten'):
            del self.source.objects[name]
        runner = self.runner()
        self.sweep(runner)
        self.assertIsNotNone(self.local('keep'))
        self.assertIsNone(self.local('gone'))
        self.assertIsNotNone(self.local('posted'))
        self.assertEqual(b'new', self.local('overwritten')['data'])
        self.assertIsNotNone(self.local('local-only'))
        self.assertEqual(1, runner.counters.actions['deleted'])
        self.assertEqual(3, runner.counters.actions['kept'])
        self.assertEqual(1, self.progress.state['totals']['deleted'])

    def test_prefix_and_older_than(self):
        self.source.add('in/old', last_modified=NOW - 1000)
        self.source.add('in/young', last_modified=NOW - 10)
        self.source.add('out/old', last_modified=NOW - 1000)
        self.swift.put_local(self.ACCOUNT, self.CONTAINER, 'out/mine', b'm',
                             1, {MIGRATED: Timestamp(1).internal})
        runner = self.runner(prefix='in/', older_than=60)
        self.sweep(runner)
        self.assertIsNotNone(self.local('in/old'))
        self.assertIsNone(self.local('in/young'))
        self.assertIsNone(self.local('out/old'))
        # Outside the prefix nothing is touched, even with the marker.
        self.assertIsNotNone(self.local('out/mine'))
        self.assertTrue(all(prefix == 'in/' for _, prefix, _, _ in
                            self.source.lists))
        self.assertEqual(1, runner.counters.actions['too_young'])
        self.now += 100
        self.sweep(self.runner(prefix='in/', older_than=60))
        self.assertIsNotNone(self.local('in/young'))

    def test_restart_continues_from_the_marker(self):
        for i in range(30):
            self.source.add('o%02d' % i)
        runner = self.runner(chunk=10)
        runner.step()
        self.progress.save()
        self.assertEqual('o09', self.progress.state['walk']['marker'])
        # A new process (the old one was killed) reads the file.
        runner = self.runner(chunk=10)
        self.assertEqual('o09', self.progress.state['walk']['marker'])
        self.sweep(runner)
        self.assertEqual(30, self.swift.count('PUT'))
        self.assertEqual(20, runner.counters.actions['copied'])
        # The new process listed from the saved marker, and its first GET
        # was the first object after it.
        self.assertEqual('o09', self.source.lists[1][2])
        self.assertEqual('o10', self.source.gets[10][1])

    def test_killed_mid_page_copies_nothing_twice(self):
        for i in range(10):
            self.source.add('o%d' % i)
        runner = self.runner(chunk=10)
        runner.step()   # copied, but the process dies before saving
        self.assertEqual(10, self.swift.count('PUT'))
        runner = self.runner(chunk=10)
        self.assertEqual('', self.progress.state['walk']['marker'])
        self.sweep(runner)
        self.assertEqual(10, self.swift.count('PUT'))
        self.assertEqual(10, runner.counters.actions['equal'])

    def test_stopping_mid_page_keeps_the_marker_before_it(self):
        for i in range(10):
            self.source.add('o%d' % i)
        runner = self.runner(chunk=10)
        asked = []

        def stopping():   # SIGTERM arrives after three objects started
            asked.append(1)
            return len(asked) > 3
        runner.stopping = stopping
        self.assertFalse(runner.step())
        self.assertEqual(3, self.swift.count('PUT'))
        self.assertEqual('', self.progress.state['walk']['marker'])
        self.assertEqual([], self.progress.state['checkpoints'])
        runner = self.runner(chunk=10)
        self.sweep(runner)
        self.assertEqual(10, self.swift.count('PUT'))

    def test_only_this_nodes_share_then_stand_in_after_slack(self):
        names = ['n%03d' % i for i in range(60)]
        for name in names:
            self.source.add(name)
        share = Share([0], 3)           # node 0 of 3; nodes 1 and 2 down
        runner = self.runner(share=share, slack=600)
        self.sweep(runner)
        mine = {n for n in names if share.rank(n) == 0}
        self.assertTrue(0 < len(mine) < 60)
        self.assertEqual(mine, {n for n in names if self.local(n)})
        # Before the slack: still only its own share.
        self.now += 599
        self.sweep(self.runner(share=share, slack=600))
        self.assertEqual(mine, {n for n in names if self.local(n)})
        # After one slack it stands in for rank-1 names...
        self.now += 1
        self.sweep(self.runner(share=share, slack=600))
        rank1 = {n for n in names if share.rank(n) == 1}
        self.assertEqual(mine | rank1, {n for n in names if self.local(n)})
        # ...after two, for rank 2 as well: everything is there.
        self.now += 600
        self.sweep(self.runner(share=share, slack=600))
        self.assertEqual(set(names), {n for n in names if self.local(n)})
        self.assertEqual(60, self.swift.count('PUT'))

    def test_live_owner_means_stand_in_copies_nothing(self):
        for i in range(40):
            self.source.add('n%02d' % i)
        shares = [Share([i], 3) for i in range(3)]
        # All three nodes walk at the same time.
        for share in shares:
            self.progress_path = os.path.join(self.tmp, 'p%d.json' %
                                              share.my_indexes[0])
            self.sweep(self.runner(share=share, slack=60))
        self.assertEqual(40, self.swift.count('PUT'))
        self.now += 200
        for share in shares:
            self.progress_path = os.path.join(self.tmp, 'p%d.json' %
                                              share.my_indexes[0])
            self.sweep(self.runner(share=share, slack=60))
        self.assertEqual(40, self.swift.count('PUT'))

    def test_failure_recorded_and_retried_before_next_sweep(self):
        self.source.add('a', b'A')
        self.source.add('b', b'B')
        self.source.fail_get['a'] = RemoteError('SlowDown (get_object)', 503)
        runner = self.runner()
        self.sweep(runner)
        failure = self.progress.failures['a']
        self.assertIn('SlowDown', failure['reason'])
        self.assertFalse(failure['permanent'])
        self.assertEqual(NOW + 5, failure['retry_at'])
        self.assertIn('AUTH_test/bucket', self.logger.text('warning'))
        self.assertIsNotNone(self.local('b'))
        # Not due yet: nothing retried.
        runner.retry_failures(NOW + 4)
        self.assertIsNone(self.local('a'))
        del self.source.fail_get['a']
        self.now += 5
        runner = self.runner()
        runner.retry_failures(self.now)
        self.assertEqual(b'A', self.local('a')['data'])
        self.assertEqual({}, self.progress.failures)

    def test_a_change_after_the_listing_is_retried_and_shown(self):
        self.source.add('a', b'A')
        self.source.add('b', b'B')
        served = self.source.get

        def get_other_version(container, name, **kwargs):
            status, headers, body = served(container, name, **kwargs)
            if name == 'a':
                headers = dict(headers, etag=md5(b'other'))
            return status, headers, body
        self.source.get = get_other_version
        runner = self.runner()
        self.sweep(runner)
        # Counted, not a failure yet, but kept for a retry: the container
        # is not marked migrated without it.
        self.assertEqual(1, runner.counters.actions['source_changed'])
        self.assertEqual(0, runner.counters.actions['failed'])
        self.assertIn('changed at the source', self.progress.failures['a'][
            'reason'])
        self.assertEqual('', self.logger.text('warning'))
        self.assertFalse(self.swift.metadata.get(
            (self.ACCOUNT, self.CONTAINER)))
        # Served so again: a failure, with its reason.
        self.now += 5
        runner = self.runner()
        runner.retry_failures(self.now)
        self.assertEqual(1, runner.counters.actions['failed'])
        self.assertIn('not copied: changed at the source',
                      self.logger.text('warning'))
        self.assertEqual(2, self.progress.failures['a']['attempts'])
        # Served as listed: copied, and the sweep marks the container.
        self.source.get = served
        self.now += 10
        runner = self.runner()
        runner.retry_failures(self.now)
        self.assertEqual(b'A', self.local('a')['data'])
        self.assertEqual({}, self.progress.failures)
        self.sweep(runner)
        self.assertTrue(self.swift.metadata.get(
            (self.ACCOUNT, self.CONTAINER)))

    def test_listed_but_not_served_is_nothing_to_copy(self):
        self.source.add('a', b'A')
        self.source.add('ghost', b'G')
        served = self.source.get

        def not_found(container, name, **kwargs):
            if name == 'ghost':
                return 404, {}, iter(())
            return served(container, name, **kwargs)
        self.source.get = not_found
        runner = self.runner()
        self.sweep(runner)
        self.assertEqual(1, runner.counters.actions['source_gone'])
        self.assertEqual({}, self.progress.failures)

    def test_retry_backs_off(self):
        self.source.add('a', b'A')
        self.source.fail_get['a'] = RemoteError('boom', 500)
        runner = self.runner()
        runner.step()
        runner.retry_failures(NOW + 5)
        self.assertEqual(2, self.progress.failures['a']['attempts'])
        self.assertEqual(NOW + 10, self.progress.failures['a']['retry_at'])

    def test_permanent_failure_not_retried_until_source_changes(self):
        self.source.add('slo', b'x', etag='c' * 32 + '-2')
        runner = self.runner()
        self.sweep(runner)
        self.assertTrue(self.progress.failures['slo']['permanent'])
        self.assertIn('no part sizes',
                      self.progress.failures['slo']['reason'])
        gets = len(self.source.gets)
        self.sweep(self.runner())
        self.assertEqual(gets, len(self.source.gets))
        self.source.add('slo', b'plain now', last_modified=NOW - 5)
        self.sweep(self.runner())
        self.assertEqual(b'plain now', self.local('slo')['data'])
        self.assertNotIn('slo', self.progress.failures)


class FakeLocator(object):
    def __init__(self, replicas=1, mine=(0,)):
        self.replicas = replicas
        self.mine = mine
        outer = self

        class Ring(object):
            def get_nodes(self, account, container):
                return 0, [{'id': i} for i in range(outer.replicas)]
        self.ring = Ring()

    def _is_mine(self, node):
        return node['id'] in self.mine


class TestDaemon(MigrationTestCase):

    def config(self, migrations, **settings):
        settings.setdefault('status_dir', os.path.join(self.tmp, 'mig'))
        return parse_config(json.dumps({
            'status_dir': os.path.join(self.tmp, 'sync'),
            'migrations': migrations, 'migrator_settings': settings}))

    def migrator(self, config, locator=None):
        self.made = []

        def factory(migration, bucket, container):
            self.made.append((migration.label, bucket, container))
            return self.sources[bucket]
        return daemon.Migrator('sync.json', config, self.logger,
                               store=self.store,
                               locator=locator or FakeLocator(),
                               provider_factory=factory,
                               clock=lambda: self.now)

    def test_run_once_does_every_migration_to_the_end(self):
        first, second = FakeSource(), FakeSource()
        for i in range(12):
            first.add('a%02d' % i)
        for i in range(3):
            second.add('b%d' % i)
        self.sources = {'one': first, 'two': second}
        config = self.config([
            {'account': 'AUTH_test', 'aws_bucket': 'one', 'container': 'c1',
             'aws_identity': 'i', 'aws_secret': 's'},
            {'account': 'AUTH_test', 'aws_bucket': 'two',
             'aws_identity': 'i', 'aws_secret': 's'}], items_chunk=5)
        m = self.migrator(config)
        total = m.run_once()
        self.assertEqual(15, total.actions['copied'])
        self.assertEqual(12, len(self.swift.containers[('AUTH_test',
                                                        'c1')]))
        self.assertEqual(3, len(self.swift.containers[('AUTH_test',
                                                       'two')]))
        self.assertEqual('', self.logger.text('error'))
        self.assertIn('pass done in', self.logger.text('info'))
        self.assertIn('copied=15', self.logger.text('info'))
        stats = self.logger.text('stats')
        self.assertIn('migration0.copied_objects 5', stats)
        self.assertIn('migration1.scanned 3', stats)
        files = list(m.files.entries())
        self.assertEqual({('AUTH_test', 'c1'), ('AUTH_test', 'two')},
                         {(a, c) for _, a, c, _ in files})
        # Pages took turns: the second source was listed before the first
        # was done.
        self.assertLess(len(first.lists), 4)

    def test_a_pass_retrying_permanent_failures(self):
        source = FakeSource()
        source.add('long', b'x', headers={'x-object-meta-long': 'v' * 300})
        source.add('fine', b'y')
        self.sources = {'one': source}
        config = self.config([
            {'account': 'AUTH_test', 'aws_bucket': 'one',
             'aws_identity': 'i', 'aws_secret': 's'}])
        self.migrator(config).run_once()
        [(name, failure)] = self.migrator(config).files.open(
            config.migrations[0], 'AUTH_test', 'one').failures.items()
        self.assertEqual('long', name)
        self.assertTrue(failure['permanent'])
        # The operator fixed the cause (here: the source's metadata).
        source.objects['long'] = (b'x', {}) + source.objects['long'][2:]
        gets = len(source.gets)
        self.migrator(config).run_once()
        self.assertEqual(gets, len(source.gets))   # not tried again
        m = self.migrator(config)
        m.retry_permanent = True
        total = m.run_once()
        self.assertEqual(1, total.actions['copied'])
        self.assertIn('one: permanent failures tried again',
                      self.logger.text('info'))
        self.assertFalse(m.retry_permanent)   # the first pass only
        self.assertEqual({}, m.files.open(config.migrations[0], 'AUTH_test',
                                          'one').failures)
        self.assertEqual(b'x', self.swift.object('AUTH_test', 'one',
                                                 'long')['data'])

    def test_node_without_replica_does_nothing(self):
        self.sources = {'one': FakeSource()}
        self.sources['one'].add('x')
        config = self.config([{'account': 'AUTH_test', 'aws_bucket': 'one',
                               'aws_identity': 'i', 'aws_secret': 's'}])
        self.migrator(config, FakeLocator(replicas=3, mine=())).run_once()
        self.assertEqual([], self.made)
        self.assertEqual({}, self.swift.containers)

    def test_corrupt_progress_is_one_warning_and_starts_over(self):
        self.sources = {'one': FakeSource()}
        self.sources['one'].add('x')
        config = self.config([{'account': 'AUTH_test', 'aws_bucket': 'one',
                               'aws_identity': 'i', 'aws_secret': 's'}])
        m = self.migrator(config)
        path = m.files.path(config.migrations[0].signature(), 'AUTH_test',
                            'one')
        os.makedirs(os.path.dirname(path))
        with open(path, 'w') as f:
            f.write('{not json')
        m.run_once()
        warnings = [m for lv, m in self.logger.lines if lv == 'warning']
        self.assertEqual(1, len(warnings))
        self.assertIn('corrupted', warnings[0])
        self.assertIsNotNone(self.swift.object('AUTH_test', 'one', 'x'))
        with open(path) as f:
            self.assertEqual({'sweep': 1, 'marker': ''},
                             json.load(f)['walk'])

    def test_source_listing_error_is_one_line_and_others_go_on(self):
        broken, fine = FakeSource(), FakeSource()
        fine.add('y')

        def fail(*args, **kwargs):
            raise RemoteError('AccessDenied (list_objects_v2)', 403)
        broken.list = fail
        self.sources = {'bad': broken, 'good': fine}
        config = self.config([
            {'account': 'AUTH_test', 'aws_bucket': 'bad',
             'aws_identity': 'i', 'aws_secret': 's'},
            {'account': 'AUTH_test', 'aws_bucket': 'good',
             'aws_identity': 'i', 'aws_secret': 's'}])
        self.migrator(config).run_once()
        self.assertIn('AccessDenied', self.logger.text('error'))
        self.assertIsNotNone(self.swift.object('AUTH_test', 'good', 'y'))

    def test_stopping_saves_and_ends_the_pass(self):
        self.sources = {'one': FakeSource()}
        for i in range(20):
            self.sources['one'].add('o%02d' % i)
        config = self.config([{'account': 'AUTH_test', 'aws_bucket': 'one',
                               'aws_identity': 'i', 'aws_secret': 's'}],
                             items_chunk=5)
        m = self.migrator(config)
        original = m._step

        def step_then_stop(job):
            done = original(job)
            m.stopping = True
            return done
        m._step = step_then_stop
        m.run_once()
        self.assertEqual(5, self.swift.count('PUT'))
        entries = list(m.files.entries())
        with open(entries[0][3]) as f:
            self.assertEqual('o04', json.load(f)['walk']['marker'])

    def test_prune_removes_progress_of_removed_migrations(self):
        self.sources = {'one': FakeSource()}
        config = self.config([{'account': 'AUTH_test', 'aws_bucket': 'one',
                               'aws_identity': 'i', 'aws_secret': 's'}])
        m = self.migrator(config)
        os.makedirs(os.path.join(m.files.status_dir, 'old-signature'))
        m.run_once()
        self.assertEqual([config.migrations[0].signature()],
                         os.listdir(m.files.status_dir))


class TestCommandLine(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, 'sync.json')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_main(self, config):
        with open(self.path, 'w') as f:
            f.write(config if isinstance(config, str) else json.dumps(config))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = daemon.main(['--config', self.path, '--once'])
        return code, err.getvalue()

    def test_bad_migration_named_exit_2_secret_kept(self):
        code, err = self.run_main({'status_dir': self.tmp, 'migrations': [{
            'account': 'AUTH_a', 'aws_bucket': 'b', 'aws_identity': 'i',
            'aws_secret': 's3cr3t-value', 'older_than': 'soon'}]})
        self.assertEqual(2, code)
        self.assertIn("migrations[0] (AUTH_a/b): 'older_than'", err)
        self.assertNotIn('s3cr3t-value', err)

    def test_missing_swift_dir_is_one_line(self):
        code, err = self.run_main({
            'status_dir': self.tmp, 'swift_dir': os.path.join(self.tmp, 'x'),
            'migrations': []})
        self.assertEqual(2, code)
        self.assertIn("swift_dir", err)
        self.assertEqual(1, len(err.strip().splitlines()))

    def test_unknown_storage_policy_stops_start_up(self):
        config = parse_config(json.dumps({
            'status_dir': '/s', 'migrations': [{
                'account': 'A', 'aws_bucket': 'b', 'aws_identity': 'i',
                'aws_secret': 's', 'storage_policy': 'no-such-policy'}]}))
        with self.assertRaises(daemon.StartupError) as caught:
            daemon.check_storage_policies(config)
        self.assertIn("migrations[0] (A/b): 'storage_policy' "
                      "'no-such-policy'", str(caught.exception))

    def test_status_after_a_pass(self):
        status_dir = os.path.join(self.tmp, 'mig')
        doc = {'status_dir': os.path.join(self.tmp, 'sync'),
               'migrator_settings': {'status_dir': status_dir},
               'migrations': [{
                   'account': 'AUTH_a', 'aws_bucket': 'b',
                   'aws_identity': 'i', 'aws_secret': 's3cr3t-value'}]}
        config = parse_config(json.dumps(doc))
        source = FakeSource()
        source.add('ok', b'12345')
        source.add('mpu', b'x', etag='b' * 32 + '-2')
        m = daemon.Migrator('f', config, Logger(),
                            store=LocalStore(FakeSwift()),
                            locator=FakeLocator(),
                            provider_factory=lambda *a: source)
        m.run_once()
        out = io.StringIO()
        with open(self.path, 'w') as f:
            json.dump(doc, f)
        with contextlib.redirect_stdout(out):
            code = daemon.main(['--config', self.path, '--status'])
        self.assertEqual(0, code)
        text = out.getvalue()
        self.assertIn('migrations[0] (AUTH_a/b) <- s3 AWS S3/b', text)
        self.assertIn('AUTH_a/b: between sweeps', text)
        self.assertIn('): scanned 2, copied 1 (5 bytes), deleted 0, '
                      'failed 1\n', text)
        self.assertIn('since the start: copied 1 objects (5 bytes), '
                      'deleted 0, 1 failures now', text)
        self.assertIn('FAILED mpu: multipart upload (2 parts): the source '
                      'reports no part sizes', text)
        self.assertNotIn('s3cr3t-value', text)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            daemon.main(['--config', self.path, '--status', '--json'])
        report = json.loads(out.getvalue())
        self.assertEqual(1, report[0]['containers'][0]['totals']['copied'])
        self.assertEqual('mpu',
                         report[0]['containers'][0]['failures'][0]['object'])

    def test_parse_args(self):
        args = daemon.parse_args(['--config', 'f', '--once'])
        self.assertTrue(args.once)
        self.assertEqual('f', args.config)
        self.assertFalse(args.retry_permanent)
        self.assertTrue(daemon.parse_args([
            '--config', 'f', '--retry-permanent']).retry_permanent)
        with mock.patch('sys.stderr', io.StringIO()):
            with self.assertRaises(SystemExit):
                daemon.parse_args([])


if __name__ == '__main__':
    unittest.main()
