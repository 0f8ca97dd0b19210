"""swift-s3-migrator on the real local world: buckets of moto and of the
target cluster's s3api, and a container of the target Swift, migrated into
the source cluster by the migrators of its 4 nodes (run in this process,
each with its node's config: its own devices, port and progress files).

What is checked, against the servers themselves: bytes, ETag, content type,
unicode (RFC 2047 on S3) metadata and the source's Last-Modified as the
local X-Timestamp; a second pass writes nothing (the local PUTs the
migrators make are counted, and the local timestamps do not move); a local
overwrite or POST is never overwritten nor deleted; a source delete removes
the untouched copy; a pass stopped after its first page continues from its
saved marker without copying anything twice; an S3 multipart upload
becomes an SLO with the source's ETag and one segment per part; a "/*"
migration brings every bucket of its source into containers of the same
names, created with the migration's storage policy.  What only a Swift
source has (large objects, symlinks, expiry, container metadata, ACLs and
versioned writes) is in test_migrator_swift, which uses the helpers here.
"""
import base64
import hashlib
import json
import os
import shutil
import tempfile
import time
import unittest
import uuid

import boto3
import botocore.config
import botocore.exceptions
from swift.common.utils import Timestamp

from localworld.daemons import s3_mapping, swift_mapping
from swift_s3_sync.config import parse_config
from test.integration.world import get_world, remove_container, \
    s3_client, swift_conn, unique

OBJECTS = 8
CHUNK = 3          # names per page: several pages, a stop mid-way
PART = 5 * 1024 * 1024


def wait_past(timestamp):
    while time.time() <= timestamp:
        time.sleep(0.05)


def object_name(i):
    return 'd\u00eer-%d/\u00f6bj\u00e9t %02d \u2603' % (i % 2, i)


def body_of(i):
    return ('object %d ' % i).encode() * (i + 1)


def rfc2047(text):
    return '=?UTF-8?B?%s?=' % base64.b64encode(text.encode()).decode()


def dessert(i):
    return 'cr\u00e8me br\u00fbl\u00e9e %d' % i


class S3Source(object):
    """A bucket of one of the world's S3 servers."""

    def __init__(self, world, target):
        self.world = world
        self.target = target
        self.s3 = s3_client(target)
        self.bucket = unique('mig')
        self.s3.create_bucket(Bucket=self.bucket)

    def migration(self, account, container):
        m = s3_mapping(self.world, self.target, self.bucket, container,
                       account=account)
        m['container'] = container
        return m

    def put(self, i, data=None):
        # Non-ASCII metadata travels RFC 2047-encoded, as S3 tools send it.
        self.s3.put_object(
            Bucket=self.bucket, Key=object_name(i),
            Body=body_of(i) if data is None else data,
            ContentType='text/x-test-%d' % i,
            Metadata={'dessert': rfc2047(dessert(i)), 'index': str(i)})

    def delete(self, i):
        self.s3.delete_object(Bucket=self.bucket, Key=object_name(i))

    def listing(self):
        """{name: (etag, Timestamp)} as the source lists them."""
        out = {}
        for page in self.s3.get_paginator('list_objects_v2').paginate(
                Bucket=self.bucket):
            for item in page.get('Contents', []):
                out[item['Key']] = (item['ETag'].strip('"'),
                                    Timestamp(item['LastModified']
                                              .timestamp()))
        return out

    def put_mpu(self, name, parts):
        up = self.s3.create_multipart_upload(
            Bucket=self.bucket, Key=name, ContentType='video/x-test',
            Metadata={'dessert': rfc2047(dessert(99))})
        done = []
        for number, data in enumerate(parts, 1):
            resp = self.s3.upload_part(
                Bucket=self.bucket, Key=name, PartNumber=number,
                UploadId=up['UploadId'], Body=data)
            done.append({'PartNumber': number, 'ETag': resp['ETag']})
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=name, UploadId=up['UploadId'],
            MultipartUpload={'Parts': done})

    def remove(self):
        for page in self.s3.get_paginator('list_objects_v2').paginate(
                Bucket=self.bucket):
            for item in page.get('Contents', []):
                self.s3.delete_object(Bucket=self.bucket, Key=item['Key'])
        self.s3.delete_bucket(Bucket=self.bucket)


class SwiftSource(object):
    """A container of the world's target Swift cluster."""

    def __init__(self, world, user='test:tester'):
        self.world = world
        self.user = user
        self.conn = swift_conn('target', user=user)
        self.bucket = unique('mig')
        self.conn.put_container(self.bucket)

    def migration(self, account, container):
        m = swift_mapping(self.world, self.bucket, container,
                          account=account, aws_identity=self.user,
                          aws_secret=self.world['target']['users'][
                              self.user]['key'])
        m['container'] = container
        return m

    def put(self, i, data=None):
        self.conn.put_object(
            self.bucket, object_name(i),
            body_of(i) if data is None else data,
            content_type='text/x-test-%d' % i,
            headers={'X-Object-Meta-Dessert': dessert(i),
                     'X-Object-Meta-Index': str(i)})

    def delete(self, i):
        self.conn.delete_object(self.bucket, object_name(i))

    def listing(self):
        _, items = self.conn.get_container(self.bucket, full_listing=True)
        return {item['name']: (item['hash'], Timestamp.from_isoformat(
            item['last_modified'])) for item in items}

    def remove(self):
        remove_container(self.conn, self.bucket)


class CountingStore(object):
    """Wraps a node's LocalStore: counts the PUTs and DELETEs it sends."""

    def __init__(self, store, counts):
        self._store = store
        self.counts = counts

    def put(self, *args, **kwargs):
        self.counts['PUT'] += 1
        return self._store.put(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self.counts['DELETE'] += 1
        return self._store.delete(*args, **kwargs)

    def delete_if_ours(self, *args, **kwargs):
        self.counts['delete_if_ours'] += 1
        return self._store.delete_if_ours(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._store, name)


class RecordingProvider(object):
    """Wraps a source provider: records its GETs and HEADs as (method,
    name, part number, Range)."""

    def __init__(self, provider, requests):
        self._provider = provider
        self.requests = requests

    def get(self, container, name, headers=None, **kwargs):
        self.requests.append(('GET', name, kwargs.get('part_number'),
                              (headers or {}).get('Range')))
        return self._provider.get(container, name, headers, **kwargs)

    def head(self, container, name, **kwargs):
        self.requests.append(('HEAD', name, kwargs.get('part_number'),
                              None))
        return self._provider.head(container, name, **kwargs)

    def __getattr__(self, name):
        return getattr(self._provider, name)


class MigratorWorld(unittest.TestCase):
    """The source cluster's 4 nodes, each with its own migrator."""

    @classmethod
    def setUpClass(cls):
        cls.world = get_world()
        from swift_s3_sync.migrator.daemon import check_surroundings
        cls.tmp = tempfile.mkdtemp(prefix='migrator-test-')
        cls.local = swift_conn('source')
        cls.account = cls.local.get_auth()[0].rsplit('/', 1)[1]
        check_surroundings(cls.node_config(1, []))
        cls.stores = {}

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get('KEEP_TMP'):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.counts = {'PUT': 0, 'DELETE': 0, 'delete_if_ours': 0}
        self.source_requests = []
        self.container = unique('migrated')
        self.sources = []

    def tearDown(self):
        for source in self.sources:
            source.remove()
        for name in (self.container, self.container + '_segments'):
            remove_container(self.local, name)

    @classmethod
    def node_config(cls, node, migrations, **settings):
        return parse_config(json.dumps(cls.node_settings(
            node, migrations, **settings)))

    @classmethod
    def node_settings(cls, node, migrations, **settings):
        """The sync.json of a node's migrator, as a dict."""
        info = cls.world['source']['nodes'][node - 1]
        settings.setdefault('status_dir', os.path.join(
            cls.tmp, 'migrator-node%d' % node))
        settings.setdefault('items_chunk', CHUNK)
        settings.setdefault('workers', 4)
        settings.setdefault('takeover_slack', 3600)
        return {
            'status_dir': os.path.join(cls.tmp, 'sync-node%d' % node),
            'swift_dir': cls.world['source']['swift_dir'],
            'devices': info['devices'], 'swift_bind_ip': info['ip'],
            'swift_bind_port': info['ports']['container'],
            'migrations': migrations, 'migrator_settings': settings}

    def migrator(self, node, migrations):
        from swift_s3_sync.migrator.daemon import Migrator
        config = self.node_config(node, migrations)
        if node not in self.stores:   # one in-process proxy per node
            self.stores[node] = Migrator._make_store(config)
        store = CountingStore(self.stores[node], self.counts)

        def providers(migration, bucket, container):
            from swift_s3_sync.migrator.source import source_provider
            return RecordingProvider(source_provider(
                migration, bucket, container), self.source_requests)
        return Migrator('sync-node%d.json' % node, config,
                        _QuietLogger(), store=store,
                        provider_factory=providers)

    def run_pass(self, migrations, stop_after_first_step=False,
                 retry_permanent=False):
        """One pass of every node's migrator; the summed counters."""
        total = {}
        for node in range(1, len(self.world['source']['nodes']) + 1):
            m = self.migrator(node, migrations)
            m.retry_permanent = retry_permanent
            if stop_after_first_step:
                _stop_after_first_step(m)
            counters = m.run_once()
            m._close_providers()
            for action, count in counters.actions.items():
                total[action] = total.get(action, 0) + count
        return total

    # -- checks ------------------------------------------------------------
    def local_objects(self):
        _, items = self.local.get_container(self.container,
                                            full_listing=True)
        return {item['name']: item for item in items}

    def assert_copied(self, source, i):
        name = object_name(i)
        etag, ts = source.listing()[name]
        headers, body = self.local.get_object(self.container, name)
        self.assertEqual(body_of(i), body, name)
        self.assertEqual(etag, headers['etag'].strip('"'))
        self.assertEqual('text/x-test-%d' % i, headers['content-type'])
        self.assertEqual(dessert(i),
                         _decoded(headers['x-object-meta-dessert']))
        self.assertEqual(str(i), headers['x-object-meta-index'])
        self.assertEqual(ts, Timestamp(headers['x-timestamp']), name)

    def local_timestamps(self):
        return {name: self.local.head_object(self.container, name)[
            'x-timestamp'] for name in self.local_objects()}

    def status_of(self, node=1):
        from swift_s3_sync.migrator.status import collect
        return collect(self.node_config(node, self.migrations))

    def failures(self):
        return [f for node in (1, 2, 3, 4)
                for e in self.status_of(node) for c in e['containers']
                for f in c['failures']]

    # -- the scenario --------------------------------------------------------
    def migrate_and_check(self, source):
        self.sources.append(source)
        for i in range(OBJECTS):
            source.put(i)
        self.migrations = [source.migration(self.account, self.container)]

        # First pass: everything copied once, each by one node.
        total = self.run_pass(self.migrations)
        self.assertEqual(OBJECTS, total.get('copied'), total)
        self.assertEqual(OBJECTS, self.counts['PUT'])
        for i in range(OBJECTS):
            self.assert_copied(source, i)
        stamps = self.local_timestamps()

        # Second pass: nothing written, no timestamp moved.
        total = self.run_pass(self.migrations)
        self.assertEqual(OBJECTS, total.get('equal'), total)
        self.assertEqual(OBJECTS, self.counts['PUT'])
        self.assertEqual(stamps, self.local_timestamps())

        # A client overwrites 0 and POSTs 1 locally; the source then
        # deletes 0, 1 and 2: only 2 (untouched) goes locally.  The copies
        # are dated with the source's Last-Modified, which s3api rounds up
        # to the next second: a local write is newer once the clock has
        # passed that (Swift refuses an older one with 409).
        wait_past(max(float(t) for t in stamps.values()))
        self.local.put_object(self.container, object_name(0), b'mine')
        self.local.post_object(self.container, object_name(1),
                               {'X-Object-Meta-Local': 'yes'})
        for i in (0, 1, 2):
            source.delete(i)
        self.run_pass(self.migrations)
        names = set(self.local_objects())
        self.assertNotIn(object_name(2), names)
        self.assertEqual(b'mine', self.local.get_object(
            self.container, object_name(0))[1])
        self.assertEqual('yes', self.local.head_object(
            self.container, object_name(1))['x-object-meta-local'])
        self.assertEqual(OBJECTS, self.counts['PUT'])

        # The source writes 3 again before a local write: the local one is
        # newer and stays; 4 changes at the source only: copied again.
        source.put(3, b'new at the source')
        # s3api lists Last-Modified rounded up to the second: the local
        # write must come after that second.
        time.sleep(1.02 - time.time() % 1)
        self.local.put_object(self.container, object_name(3), b'local')
        source.put(4, b'changed')
        self.run_pass(self.migrations)
        self.assertEqual(b'local', self.local.get_object(
            self.container, object_name(3))[1])
        self.assertEqual(b'changed', self.local.get_object(
            self.container, object_name(4))[1])
        self.assertEqual(OBJECTS + 1, self.counts['PUT'])

        # Restart: a pass stopped after its first page saved its marker;
        # the next pass goes on from there and copies each new object once.
        for i in range(OBJECTS, OBJECTS + 2 * CHUNK):
            source.put(i)
        self.run_pass(self.migrations, stop_after_first_step=True)
        stopped_at = self.counts['PUT']
        self.assertLess(stopped_at, OBJECTS + 1 + 2 * CHUNK)
        markers = [c['walk']['marker'] for node in (1, 2, 3, 4)
                   for e in self.status_of(node)
                   for c in e['containers']]
        self.assertTrue(any(markers), markers)
        total = self.run_pass(self.migrations)
        self.assertEqual(OBJECTS + 1 + 2 * CHUNK, self.counts['PUT'],
                         total)
        for i in range(OBJECTS, OBJECTS + 2 * CHUNK):
            self.assert_copied(source, i)
        self.assertEqual([], self.failures())

    def migrate_mpu_and_check(self, source):
        self.sources.append(source)
        parts = [bytes([65 + n]) * PART for n in range(3)]
        name = 'vid\u00e9o/\u2603.bin'
        source.put_mpu(name, parts)
        etag, ts = source.listing()[name]
        self.assertTrue(etag.endswith('-3'), etag)
        self.migrations = [source.migration(self.account, self.container)]
        total = self.run_pass(self.migrations)
        self.assertEqual(1, total.get('copied'), (total, self.failures()))
        self.mpu_requests = [r[:1] + r[2:] for r in self.source_requests
                             if r[1] == name]
        # 3 segments and the manifest: 4 local PUTs.
        self.assertEqual(4, self.counts['PUT'])
        headers = self.local.head_object(self.container, name)
        self.assertEqual(etag, headers['etag'].strip('"'))
        self.assertEqual('True', headers['x-static-large-object'])
        self.assertEqual(str(3 * PART), headers['content-length'])
        self.assertEqual('video/x-test', headers['content-type'])
        self.assertEqual(dessert(99),
                         _decoded(headers['x-object-meta-dessert']))
        self.assertEqual(ts, Timestamp(headers['x-timestamp']))
        _, body = self.local.get_object(self.container, name)
        self.assertEqual(b''.join(parts), body)
        _, manifest = self.local.get_object(
            self.container, name, query_string='multipart-manifest=get')
        manifest = json.loads(manifest)
        self.assertEqual([hashlib.md5(p).hexdigest() for p in parts],
                         [e['hash'] for e in manifest])
        segments = self.local.get_container(self.container + '_segments')[1]
        self.assertEqual(['%s/%s/%08d' % (name, ts.internal, i)
                          for i in range(3)],
                         [e['name'] for e in segments])
        # Listed with both ETags, as s3api lists its own multipart objects.
        listed = self.local_objects()[name]
        self.assertEqual(3 * PART, listed['bytes'])
        self.assertEqual(etag, listed['s3_etag'].strip('"'))
        self.assertEqual(etag, listed['slo_etag'].strip('"'))

        # A second pass writes nothing; a source delete removes the SLO and
        # its segments.
        self.run_pass(self.migrations)
        self.assertEqual(4, self.counts['PUT'])
        source.s3.delete_object(Bucket=source.bucket, Key=name)
        self.run_pass(self.migrations)
        self.assertEqual({}, self.local_objects())
        self.assertEqual([], self.local.get_container(
            self.container + '_segments')[1])


class TestMigrateFromMoto(MigratorWorld):

    def test_moto_bucket(self):
        self.migrate_and_check(S3Source(self.world, 'moto'))

    def test_multipart_upload_becomes_an_slo_with_its_etag(self):
        # moto answers a PartNumber HEAD with part 1's size (and the
        # part's own headers): the parts are read by Range, and the
        # metadata comes from those GETs.
        self.migrate_mpu_and_check(S3Source(self.world, 'moto'))
        self.assertEqual([('GET', None, 'bytes=0-5242879'),
                          ('GET', None, 'bytes=10485760-15728639'),
                          ('GET', None, 'bytes=5242880-10485759'),
                          ('HEAD', 1, None)], sorted(
                              self.mpu_requests, key=str))


    def test_archived_object_copied_once_restored(self):
        source = S3Source(self.world, 'moto')
        self.sources.append(source)
        source.s3.put_object(Bucket=source.bucket, Key='cold', Body=b'ice',
                             StorageClass='GLACIER')
        self.migrations = [source.migration(self.account, self.container)]
        total = self.run_pass(self.migrations)
        [failure] = self.failures()
        self.assertTrue(failure['permanent'])
        self.assertIn('InvalidObjectState', failure['reason'])
        source.s3.restore_object(Bucket=source.bucket, Key='cold',
                                 RestoreRequest={'Days': 1})
        self.run_pass(self.migrations)
        self.assertEqual(0, self.counts['PUT'])   # not tried again
        total = self.run_pass(self.migrations, retry_permanent=True)
        self.assertEqual(1, total.get('copied'), (total, self.failures()))
        self.assertEqual(b'ice', self.local.get_object(self.container,
                                                       'cold')[1])
        self.assertEqual([], self.failures())

    def test_metadata_swift_refuses_is_reported_not_retried(self):
        source = S3Source(self.world, 'moto')
        self.sources.append(source)
        source.put(0)
        source.s3.put_object(Bucket=source.bucket, Key='long', Body=b'x',
                             Metadata={'long': 'v' * 300})   # S3 allows
        self.migrations = [source.migration(self.account, self.container)]
        total = self.run_pass(self.migrations)
        self.assertEqual(1, total.get('copied'), total)
        self.assert_copied(source, 0)
        [failure] = self.failures()
        self.assertTrue(failure['permanent'])
        self.assertIn('Swift refuses its metadata: Metadata value longer '
                      'than 256', failure['reason'])
        total = self.run_pass(self.migrations)
        self.assertEqual(1, total.get('unsupported'), total)
        self.assertEqual(1, self.counts['PUT'])


class TestKilledMigrators(MigratorWorld):
    """The real ``swift-s3-migrator`` processes of the 4 nodes, SIGKILLed
    in the middle of their first pass and started again: the migration
    completes and each object is read from the source (so PUT locally)
    about once.  The source is moto behind a counting proxy that holds each
    GET a little, so that the kill lands mid-pass."""
    COUNT = 200

    def test_sigkill_mid_pass_then_restart(self):
        import signal
        import subprocess
        import sys
        from test.integration.counting_proxy import CountingProxy
        source = S3Source(self.world, 'moto')
        self.sources.append(source)
        for i in range(self.COUNT):
            source.s3.put_object(Bucket=source.bucket, Key='k%04d' % i,
                                 Body=b'%d' % i)
        counting = CountingProxy(self.world['moto']['endpoint'],
                                 get_delay=0.05)
        self.addCleanup(counting.close)
        migration = source.migration(self.account, self.container)
        migration['aws_endpoint'] = counting.url
        configs = []
        for node in range(1, len(self.world['source']['nodes']) + 1):
            settings = self.node_settings(
                node, [migration], items_chunk=20, workers=2,
                poll_interval=1, log_file=os.path.join(
                    self.tmp, 'killed-node%d.log' % node))
            path = os.path.join(self.tmp, 'killed-node%d.json' % node)
            with open(path, 'w') as f:
                json.dump(settings, f)
            configs.append(path)

        def start(*extra):
            return [subprocess.Popen(
                [sys.executable, '-m', 'swift_s3_sync.migrator.daemon',
                 '--config', path] + list(extra),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for path in configs]

        def local_count():
            try:
                return len(self.local_objects())
            except Exception:
                return 0

        procs = start()
        try:
            deadline = time.time() + 60
            while local_count() < self.COUNT // 4:
                self.assertLess(time.time(), deadline, 'nothing copied')
                time.sleep(0.05)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        at_kill = local_count()
        self.assertLess(at_kill, self.COUNT, 'the pass ended before the '
                        'kill: nothing was tested')
        for proc in start('--once'):
            self.assertEqual(0, proc.wait(timeout=120))
        deadline = time.time() + 30
        while local_count() < self.COUNT and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.COUNT, local_count())
        gets = [path for kind, path in counting.requests if kind == 'GET']
        per_object = len(gets) / self.COUNT
        self.assertLessEqual(per_object, 1.05, (at_kill, len(gets)))
        self.assertEqual(self.COUNT, len(set(gets)))


class TestMigrateFromRadosgw(MigratorWorld):

    def test_radosgw_bucket(self):
        self.migrate_and_check(S3Source(self.world, 'radosgw'))

    def test_multipart_upload_without_part_sizes(self):
        # radosgw 16 reports no part sizes (part GETs and HEADs answer for
        # the whole object): 5 MiB, the one usual part size that cuts it
        # into 3 parts, is assumed; the parts come by Range, and their
        # ETags prove the split before the manifest is written.
        self.migrate_mpu_and_check(S3Source(self.world, 'radosgw'))
        ranged = sorted(r[2] for r in self.mpu_requests
                        if r[0] == 'GET' and r[2])
        self.assertEqual(['bytes=0-5242879', 'bytes=10485760-15728639',
                          'bytes=5242880-10485759'], ranged)


class TestMigrateFromS3api(MigratorWorld):

    def test_target_s3api_bucket(self):
        self.migrate_and_check(S3Source(self.world, 's3api'))

    def test_multipart_upload_by_part_head_and_ranges(self):
        # s3api answers a PartNumber HEAD with part 1's size: the parts
        # are then read by Range, one GET per run of parts.
        self.migrate_mpu_and_check(S3Source(self.world, 's3api'))
        self.assertEqual([('GET', None, 'bytes=0-5242879'),
                          ('GET', None, 'bytes=10485760-15728639'),
                          ('GET', None, 'bytes=5242880-10485759'),
                          ('HEAD', 1, None)], sorted(
                              self.mpu_requests, key=str))


class TestMigrateEveryBucket(MigratorWorld):
    """"aws_bucket": "/*" on moto: every bucket of the source into a local
    container of the same name.  The buckets live in a moto account of
    their own (an STS role of a fresh account id), so the buckets other
    tests and benchmarks keep in moto are not part of the source."""

    def own_account(self):
        moto = self.world['moto']
        account_id = '%012d' % (uuid.uuid4().int % 10 ** 12)
        sts = boto3.client(
            'sts', endpoint_url=moto['endpoint'],
            aws_access_key_id=moto['access_key'],
            aws_secret_access_key=moto['secret_key'],
            region_name=moto['region'])
        creds = sts.assume_role(
            RoleArn='arn:aws:iam::%s:role/migrator-test' % account_id,
            RoleSessionName=unique('every-bucket'))['Credentials']
        keys = {'aws_access_key_id': creds['AccessKeyId'],
                'aws_secret_access_key': creds['SecretAccessKey'],
                'aws_session_token': creds['SessionToken']}
        s3 = boto3.client(
            's3', endpoint_url=moto['endpoint'], region_name=moto['region'],
            config=botocore.config.Config(
                signature_version='s3v4', s3={'addressing_style': 'path'}),
            **keys)
        return s3, keys

    def test_every_bucket_into_containers_of_the_same_names(self):
        s3, keys = self.own_account()
        buckets = {unique('every'): 3, unique('every'): 2}
        for bucket, count in buckets.items():
            s3.create_bucket(Bucket=bucket)
            self.addCleanup(_remove_bucket, s3, bucket)
            self.addCleanup(remove_container, self.local, bucket)
            for i in range(count):
                s3.put_object(Bucket=bucket, Key=object_name(i),
                              Body=body_of(i),
                              Metadata={'dessert': rfc2047(dessert(i))})
        self.assertEqual(sorted(buckets), sorted(
            b['Name'] for b in s3.list_buckets()['Buckets']))
        self.migrations = [{
            'account': self.account, 'aws_bucket': '/*',
            'aws_endpoint': self.world['moto']['endpoint'],
            'aws_identity': keys['aws_access_key_id'],
            'aws_secret': keys['aws_secret_access_key'],
            'aws_session_token': keys['aws_session_token'],
            'storage_policy': 'silver'}]
        total = self.run_pass(self.migrations)
        self.assertEqual(5, total.get('copied'), (total, self.failures()))
        self.assertEqual(5, self.counts['PUT'])
        for bucket, count in buckets.items():
            headers, items = self.local.get_container(bucket)
            self.assertEqual('silver', headers['x-storage-policy'])
            self.assertEqual(sorted(object_name(i) for i in range(count)),
                             [item['name'] for item in items])
            got, body = self.local.get_object(bucket, object_name(1))
            self.assertEqual(body_of(1), body)
            self.assertEqual(dessert(1),
                             _decoded(got['x-object-meta-dessert']))
        # Progress per container; a second pass writes nothing.
        containers = {c['container'] for node in (1, 2, 3, 4)
                      for e in self.status_of(node) for c in e['containers']}
        self.assertEqual(set(buckets), containers)
        total = self.run_pass(self.migrations)
        self.assertEqual(5, total.get('equal'), total)
        self.assertEqual(5, self.counts['PUT'])
        # A bucket deleted at the source takes its copies, not what a
        # client wrote beside them.
        gone, count = sorted(buckets.items())[0]
        self.local.put_object(gone, 'written-here', b'mine')
        _remove_bucket(s3, gone)
        total = self.run_pass(self.migrations)
        self.assertEqual(count, total.get('deleted'), total)
        self.assertEqual(['written-here'], [
            e['name'] for e in self.local.get_container(gone)[1]])
        total = self.run_pass(self.migrations)
        self.assertEqual({'equal': 5 - count}, total)


def _remove_bucket(s3, bucket):
    """Its objects, then the bucket (one already gone is fine)."""
    try:
        for page in s3.get_paginator('list_objects_v2').paginate(
                Bucket=bucket):
            for item in page.get('Contents', []):
                s3.delete_object(Bucket=bucket, Key=item['Key'])
        s3.delete_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as err:
        if err.response.get('Error', {}).get('Code') != 'NoSuchBucket':
            raise


def _decoded(value):
    # swiftclient hands header values over as they came (UTF-8 as latin-1
    # on some paths): normalise to text.
    try:
        return value.encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _stop_after_first_step(migrator):
    original = migrator._step

    def step_then_stop(job):
        done = original(job)
        migrator.stopping = True
        return done
    migrator._step = step_then_stop


class _QuietLogger(object):
    """The logger interface the Migrator uses; warnings and errors are
    kept so a failing test can show them."""

    def __init__(self):
        self.lines = []

    def _keep(self, level):
        def log(msg, *args, **kwargs):
            self.lines.append((level, msg % args if args else msg))
        return log

    def __getattr__(self, level):
        if level in ('debug', 'info', 'warning', 'error', 'exception'):
            return self._keep(level)
        raise AttributeError(level)

    def update_stats(self, *args, **kwargs):
        pass

    def increment(self, *args, **kwargs):
        pass


if __name__ == '__main__':
    unittest.main()
