"""swift-s3-sync-audit on the real local world, against every remote kind.

Like the provider conformance suite, :class:`AuditContract` is written once
and run per remote (Swift s3api, moto, radosgw, the target Swift).  Each
test fills a source container, lets the real daemons copy it (through a
counting proxy), plants differences by hand on either side, and runs the
audit as operators do: the console module, on a source node that holds a
replica of the container DB, with that node's daemon config.
"""
import concurrent.futures
import hashlib
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from swift.common.ring import Ring

from localworld import procs
from localworld.daemons import SyncDaemons, target_mapping
from swift_s3_sync.providers.base import LocalObject
from swift_s3_sync.swift_env import use_swift_dir
from test.integration.counting_proxy import CountingProxy
from test.integration.test_sync_daemon import provider_for_target
from test.integration.world import (
    get_world, s3_client, settle_container, swift_conn, unique, wait_listed)

# More than one listing page per side, so the count proves "per 1,000".
MANY = 1050
# The listing settles a name only for copies written this long after the
# change (sync.LISTING_CLOCK_MARGIN), so tests wait it out before copying.
MARGIN_WAIT = 2.5


def name_of(i):
    return 'd\u00e9j\u00e0/%04d \u2603' % i


def body_of(i):
    return ('audit body %d ' % i).encode() * 5


def planted(container, name, body, timestamp):
    """An object to put on the remote by hand, as the daemon would write
    it but with bytes and a recorded timestamp of the test's choosing."""
    return LocalObject(container, name,
                       {'content-type': 'application/x-planted'},
                       len(body), hashlib.md5(body).hexdigest(), timestamp,
                       lambda: io.BytesIO(body))


class AuditContract(object):
    TARGET = None

    # -- fixtures ------------------------------------------------------------
    def setUp(self):
        self.world = get_world()
        self.tmp = tempfile.mkdtemp(prefix='audit-test-')
        self.conn = swift_conn()
        self.account = self.conn.get_auth()[0].rsplit('/', 1)[1]
        self.container = unique('aud')
        self.conn.put_container(self.container)
        self.bucket = unique('aud')
        if self.TARGET == 'swift':
            swift_conn('target').put_container(self.bucket)
            upstream = self.world['target']['proxy_url']
        else:
            s3_client(self.TARGET).create_bucket(Bucket=self.bucket)
            upstream = (self.world['target']['s3'] if self.TARGET == 's3api'
                        else self.world[self.TARGET])['endpoint']
        self.proxy = CountingProxy(upstream)
        self.direct = provider_for_target(self.world, self.TARGET,
                                          self.bucket, self.container,
                                          account=self.account)

    def tearDown(self):
        if getattr(self, 'running', False):
            self.daemons.stop()
        self.proxy.close()
        self.direct.close()
        if self.TARGET == 'swift':
            conn = swift_conn('target')
            for name in (self.bucket, self.bucket + '_segments'):
                try:
                    for obj in conn.get_container(name,
                                                  full_listing=True)[1]:
                        conn.delete_object(name, obj['name'])
                    conn.delete_container(name)
                except Exception:
                    pass
        else:
            s3 = s3_client(self.TARGET)
            try:
                for page in s3.get_paginator('list_objects_v2').paginate(
                        Bucket=self.bucket):
                    for obj in page.get('Contents', []):
                        s3.delete_object(Bucket=self.bucket, Key=obj['Key'])
                s3.delete_bucket(Bucket=self.bucket)
            except s3.exceptions.NoSuchBucket:
                pass   # lost with a target restarted by another run
        shutil.rmtree(self.tmp, ignore_errors=True)

    def mapping(self, **extra):
        mapping = target_mapping(self.world, self.TARGET, self.bucket,
                                 self.container, account=self.account,
                                 **extra)
        mapping['aws_endpoint'] = self.proxy.url + (
            '/auth/v1.0' if self.TARGET == 'swift' else '')
        return mapping

    def sync(self, count, **extra):
        """``count`` objects written, then copied by the 4 daemons."""
        self._put(range(count))
        time.sleep(MARGIN_WAIT)
        self.daemons = SyncDaemons(self.world, self.tmp,
                                   [self.mapping(**extra)])
        self.daemons.run_once()

    def _put(self, indexes):
        def put(i):
            swift_conn().put_object(
                self.container, name_of(i), body_of(i),
                headers={'X-Object-Meta-Index': str(i)})
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, indexes))
        settle_container(self.conn, self.container)

    def nodes(self):
        """The source nodes the ring places the container DB on."""
        source = self.world['source']
        use_swift_dir(source['swift_dir'])
        ring = Ring(source['swift_dir'], ring_name='container')
        ports = {n['port'] for n in ring.get_nodes(self.account,
                                                   self.container)[1]}
        return [i + 1 for i, info in enumerate(source['nodes'])
                if info['ports']['container'] in ports]

    def audit(self, *flags):
        """(exit status, report) of the audit run as operators run it, on
        a node holding a replica (a replica may be missing when a server
        was restarted as the container was created: the next node then)."""
        for node in self.nodes():
            out = subprocess.run(
                [sys.executable, '-m', 'swift_s3_sync.audit', '--config',
                 self.daemons.paths[node], '--container', self.container,
                 '--json'] + list(flags),
                capture_output=True, text=True, cwd=procs.REPO_ROOT,
                timeout=600)
            if out.returncode != 2 or 'no DB replica' not in out.stderr:
                break
        self.assertNotIn('Traceback', out.stderr)
        self.assertIn(out.returncode, (0, 1), out.stderr)
        report = json.loads(out.stdout)
        self.assertEqual(1, len(report['containers']), report)
        return out.returncode, report['containers'][0]

    def kinds(self, container):
        found = {}
        for obj in container['objects']:
            found.setdefault(obj['kind'], set()).add(obj['name'])
        return found

    def remote_requests(self):
        """(method, path) the remote got, auth requests left out."""
        return [(kind, path) for kind, path in self.proxy.requests
                if not path.startswith('/auth/')]

    # -- the tests -----------------------------------------------------------
    def test_each_difference_found_then_repaired(self):
        self.sync(8)
        missing, deleted, stale, meta, newer, same = (
            name_of(i) for i in range(6))
        stray = 'stray \u00e9'
        old, future = '1500000000.00000', '%.5f' % (time.time() + 3600)
        # Planted on the remote, as the daemon would write them.
        self.direct.delete(self.container, missing)
        self.direct.put(planted(self.container, stale, b'older bytes', old))
        self.direct.put(planted(self.container, newer, b'newer bytes',
                               future))
        self.direct.put(planted(self.container, stray, b'stray', old))
        # Changed locally while no daemon runs.
        self.conn.delete_object(self.container, deleted)
        self.conn.post_object(self.container, meta,
                              headers={'X-Object-Meta-Colour': 'gr\u00fcn'})
        # The audit reads one DB replica: it must hold the changes; and the
        # remote's listing must show what was planted.
        settle_container(self.conn, self.container)
        wait_listed(lambda: {stray, stale, newer} <= {
            o.name for o in self.direct.list(self.container)} and
            missing not in {o.name for o in self.direct.list(
                self.container)})

        status, report = self.audit()
        self.assertEqual(1, status)
        self.assertEqual({'missing': {missing}, 'extra': {deleted, stray},
                          'stale': {stale}, 'metadata': {meta},
                          'remote_newer': {newer}}, self.kinds(report),
                         json.dumps(report, indent=1))
        self.assertEqual(6, report['total_differences'])
        self.assertEqual(3, report['policy']['in_sync'])   # same, 6 and 7
        self.assertNotIn(same, json.dumps(report['objects']))

        status, report = self.audit('--repair')
        self.assertEqual(1, status, 'remote_newer is never repaired')
        self.assertEqual(5, report['repaired'], report)
        self.assertEqual(1, report['remaining'], report)
        repairs = {o['name']: o['repair'] for o in report['objects']}
        self.assertFalse(repairs[newer]['fixed'])
        self.assertIn('no local object and no row', repairs[stray]['reason'])
        self.assertIn('deleted locally at', repairs[deleted]['reason'])

        status, report = self.audit()
        self.assertEqual({'remote_newer': {newer}}, self.kinds(report))
        self.assertEqual(7, report['policy']['in_sync'])
        self.assertEqual(1, status)
        # The remote now holds what the mapping promises.
        names = {o.name for o in self.direct.list(self.container,
                                                  limit=100)}
        self.assertEqual({name_of(i) for i in range(8)} - {deleted}, names)
        self.assertEqual(body_of(2), self._read(stale))
        self.assertEqual(b'newer bytes', self._read(newer))
        head = self.direct.head(self.container, meta)
        self.assertEqual('gr\u00fcn', head.headers['x-object-meta-colour'])

    def test_policy_and_large_objects(self):
        segments = self.container + '_segs'
        self.conn.put_container(segments)
        manifest = []
        for i in range(2):
            body = b'segment %d ' % i * 100
            self.conn.put_object(segments, 's%d' % i, body)
            manifest.append({'path': '/%s/s%d' % (segments, i),
                             'etag': hashlib.md5(body).hexdigest(),
                             'size_bytes': len(body)})
        self.conn.put_object(self.container, 'slo', json.dumps(manifest),
                             query_string='multipart-manifest=put')
        self.conn.put_object(self.container, 'dlo', b'', headers={
            'X-Object-Manifest': '%s/s' % segments})
        self.conn.put_object(self.container, 'skip/local', b'x')
        self.sync(2, exclude_pattern='^skip/', propagate_delete=False)
        # Expected by the policy: a delete not propagated, remote objects
        # without a local one, excluded names on either side.
        self.conn.delete_object(self.container, name_of(0))
        self.direct.put(planted(self.container, 'stray', b's', '1500000000'))
        self.direct.put(planted(self.container, 'skip/remote', b'r',
                                '1500000000'))
        self.assertEqual({name_of(0), name_of(1), 'slo', 'dlo', 'stray',
                          'skip/remote'},
                         {o.name for o in self.direct.list(self.container)})
        self.proxy.reset()
        status, report = self.audit()
        self.assertEqual(0, status, report)
        self.assertEqual({'in_sync': 3, 'kept': 2, 'excluded': 2},
                         {k: v for k, v in report['policy'].items() if v})
        # Only the large objects may need a HEAD: their listing ETags are
        # not Swift's on S3 (a remote Swift lists the same SLO ETag, and a
        # DLO manifest as its own empty body).
        self.assertLessEqual(report['remote_heads'], 2)
        # --metadata HEADs each object present on both sides, nothing else.
        status, report = self.audit('--metadata')
        self.assertEqual(0, status, report)
        self.assertEqual(3, report['remote_heads'])

        self.conn.post_object(self.container, 'slo',
                              headers={'X-Object-Meta-Colour': 'red'})
        status, report = self.audit('--repair')
        self.assertEqual({'metadata': {'slo'}}, self.kinds(report))
        self.assertEqual(0, status, report)
        self.assertEqual(
            'red', self.direct.head(self.container, 'slo').headers[
                'x-object-meta-colour'])
        status, report = self.audit()
        self.assertEqual(0, status, report)

    def _read(self, name):
        _, _, body = self.direct.get(self.container, name)
        return b''.join(body)


class ListingCost(object):
    """Over 1,000 names: one listing request per 1,000, no HEAD.  Run for
    one S3 store and for Swift: the S3 stores share the provider's paging,
    which the provider conformance suite checks on each of them."""

    def test_consistent_container_costs_one_listing_per_1000(self):
        self.sync(MANY)
        self.proxy.reset()
        status, report = self.audit()
        self.assertEqual(0, status, report)
        self.assertEqual(MANY, report['local_rows'])
        self.assertEqual(MANY, report['remote_listed'])
        self.assertEqual(MANY, report['policy']['in_sync'])
        self.assertEqual(0, report['total_differences'])
        self.assertEqual(0, report['remote_heads'])
        requests = self.remote_requests()
        self.assertEqual(['GET', 'GET'] if self.TARGET == 'swift'
                         else ['LIST', 'LIST'],
                         [kind for kind, _ in requests], requests)


class TestAuditS3api(AuditContract, unittest.TestCase):
    TARGET = 's3api'


class TestAuditMoto(ListingCost, AuditContract, unittest.TestCase):
    TARGET = 'moto'

    def test_archive_repairs_keep_local_data(self):
        archive = dict(retain_local=False, propagate_delete=False)
        self.sync(3, **archive)
        self.assertEqual([], self.conn.get_container(self.container)[1],
                         'the daemon archived every object')
        status, report = self.audit()
        self.assertEqual(0, status, report)
        self.assertEqual(3, report['policy']['kept'])
        # Written while no daemon runs: missing until the audit copies it,
        # and the audit never deletes it locally.
        self.conn.put_object(self.container, 'late', b'late bytes')
        status, report = self.audit('--repair')
        self.assertEqual({'missing': {'late'}}, self.kinds(report))
        self.assertEqual(0, status, report)
        self.assertEqual(b'late bytes', self._read('late'))
        self.assertEqual(b'late bytes',
                         self.conn.get_object(self.container, 'late')[1])

    def test_repair_while_the_daemons_run(self):
        """Writes, the running daemons and two --repair runs at once: when
        the writes stop, everything converges with nothing resurrected."""
        self.sync(30)
        self.daemons.start()
        self.running = True
        stop = threading.Event()
        rng = random.Random(13)

        def write():
            conn = swift_conn()
            i = 30
            while not stop.is_set():
                op = rng.choice(('put', 'put', 'post', 'delete'))
                name = name_of(rng.randrange(i + 1))
                try:
                    if op == 'put':
                        conn.put_object(self.container, name_of(i),
                                        body_of(i))
                        i += 1
                    elif op == 'post':
                        conn.post_object(self.container, name, headers={
                            'X-Object-Meta-Op': str(i)})
                    else:
                        conn.delete_object(self.container, name)
                except Exception:
                    pass   # a 404 for an object deleted already
                time.sleep(0.05)
        writer = threading.Thread(target=write)
        writer.start()
        try:
            for _ in range(2):
                status, report = self.audit('--repair')
                self.assertEqual(0, report['differences']['error'], report)
        finally:
            stop.set()
            writer.join()
        deadline = time.time() + 90
        while True:
            status, report = self.audit()
            if status == 0 or time.time() > deadline:
                break
            time.sleep(2)
        self.assertEqual(0, status, report)
        local = {o['name'] for o in self.conn.get_container(
            self.container, full_listing=True)[1]}
        remote = {o.name for o in self.direct.list(self.container,
                                                   limit=100000)}
        self.assertEqual(local, remote)


class TestAuditRadosgw(AuditContract, unittest.TestCase):
    TARGET = 'radosgw'


class TestAuditSwift(ListingCost, AuditContract, unittest.TestCase):
    TARGET = 'swift'
