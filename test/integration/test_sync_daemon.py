"""The sync daemon on the real local world: 4 source nodes, 3 S3 targets
and the target Swift cluster."""
import concurrent.futures
import json
import os
import shutil
import signal
import tempfile
import time
import unittest

from localworld.daemons import SyncDaemons, target_mapping
from swift_s3_sync.config import parse_config
from swift_s3_sync.providers import provider_for
from test.integration.counting_proxy import CountingProxy
from test.integration.world import S3_TARGETS, get_world, s3_client, \
    settle_container, swift_conn, unique

OBJECTS = 200
TARGETS = S3_TARGETS + ('swift',)
# Requests that write to a remote, as the counting proxy names them.
WRITES = ('PUT', 'PART', 'COPY', 'POST', 'DELETE')
# How each target is asked to change metadata in place.
METADATA_WRITE = {'s3api': 'COPY', 'moto': 'COPY', 'radosgw': 'COPY',
                  'swift': 'POST'}


def object_name(i):
    return 'dir-%d/\u00f6bj\u00e9t-%03d \u2603' % (i % 4, i)


def object_meta(i):
    return {'X-Object-Meta-Index': str(i),
            'X-Object-Meta-Dessert': 'cr\u00e8me br\u00fbl\u00e9e %d' % i,
            'X-Object-Meta-Spaced': 'two  spaces, a comma'}


def body_of(i):
    return ('object %d ' % i).encode() * 10


def put_many(conn_factory, container, indexes, workers=8):
    def put(i):
        conn = conn_factory()
        conn.put_object(container, object_name(i), body_of(i),
                        content_type='text/x-test-%d' % (i % 3),
                        headers=object_meta(i))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(put, indexes))
    # Each replica's daemon handles the rows it owns: all must have them.
    settle_container(conn_factory(), container)


def provider_for_target(world, target, bucket, container,
                        account='AUTH_test'):
    """A provider to read what the daemon wrote, through the project's own
    key layout and metadata decoding."""
    text = json.dumps({'status_dir': '/tmp', 'containers': [target_mapping(
        world, target, bucket, container, account=account)]})
    return provider_for(parse_config(text).mappings[0])


class SyncWorld(unittest.TestCase):
    """Common setup: a source container, a bucket per target behind a
    counting proxy, and daemon configs for the 4 source nodes."""

    def setUp(self):
        self.world = get_world()
        self.tmp = tempfile.mkdtemp(prefix='sync-test-')
        self.conn = swift_conn()
        self.account = self.conn.get_auth()[0].rsplit('/', 1)[1]
        self.container = unique('src')
        self.conn.put_container(self.container)
        self.buckets = {}
        self.proxies = {}
        for target in TARGETS:
            bucket = unique('dst')
            self.buckets[target] = bucket
            if target == 'swift':
                swift_conn('target').put_container(bucket)
                upstream = self.world['target']['proxy_url']
            else:
                s3_client(target).create_bucket(Bucket=bucket)
                upstream = (self.world['target']['s3'] if target == 's3api'
                            else self.world[target])['endpoint']
            self.proxies[target] = CountingProxy(upstream)
        self.daemons = None

    def tearDown(self):
        if self.daemons:
            self.daemons.stop()
        for proxy in self.proxies.values():
            proxy.close()
        for target, bucket in self.buckets.items():
            if target == 'swift':
                self._empty_swift(bucket)
                continue
            s3 = s3_client(target)
            for page in s3.get_paginator('list_objects_v2').paginate(
                    Bucket=bucket):
                for obj in page.get('Contents', []):
                    s3.delete_object(Bucket=bucket, Key=obj['Key'])
            s3.delete_bucket(Bucket=bucket)
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def _empty_swift(container):
        conn = swift_conn('target')
        for name in (container, container + '_segments'):
            try:
                for obj in conn.get_container(name, full_listing=True)[1]:
                    conn.delete_object(name, obj['name'])
                conn.delete_container(name)
            except Exception:
                pass  # never created

    def mapping(self, target, **extra):
        extra.setdefault('account', self.account)
        container = extra.pop('container', self.container)
        mapping = target_mapping(self.world, target, self.buckets[target],
                                 container, **extra)
        mapping['aws_endpoint'] = self.proxies[target].url + (
            '/auth/v1.0' if target == 'swift' else '')
        return mapping

    def make_daemons(self, mappings, **overrides):
        self.daemons = SyncDaemons(self.world, self.tmp, mappings,
                                   **overrides)
        return self.daemons

    def forget_progress(self):
        """Make the next pass re-read every row, as after a rebuilt DB:
        only the comparison with the remote can then avoid writes."""
        for entry in os.listdir(self.tmp):
            if entry.startswith('status-node'):
                shutil.rmtree(os.path.join(self.tmp, entry))

    def reset_counts(self):
        for proxy in self.proxies.values():
            proxy.reset()

    def assert_reread_makes_no_writes(self, daemons, targets=TARGETS):
        """Every row read again (progress forgotten): only comparing with
        the remote can spare the writes, and it must spare them all."""
        self.reset_counts()
        self.forget_progress()
        daemons.run_once()
        for target in targets:
            counts = self.proxies[target].counts()
            for write in WRITES:
                self.assertNotIn(write, counts, (target, counts))

    def remote(self, target):
        return provider_for_target(self.world, target, self.buckets[target],
                                   self.container)

    def remote_names(self, target):
        return {o.name for o in self.remote(target).list(
            self.container, limit=100000)}

    def wait_for(self, check, timeout=60, what='condition'):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if check():
                return
            time.sleep(0.5)
        self.fail('timed out waiting for %s' % what)


class TestSyncToEveryTarget(SyncWorld):

    def test_objects_metadata_and_single_put(self):
        put_many(swift_conn, self.container, range(OBJECTS))
        daemons = self.make_daemons(
            [self.mapping(t) for t in TARGETS], verification_slack=60)
        daemons.run_once()
        expected = {object_name(i) for i in range(OBJECTS)}
        for target in TARGETS:
            remote = self.remote(target)
            self.assertEqual(expected, self.remote_names(target), target)
            for i in (0, 7, OBJECTS - 1):
                status, headers, body = remote.get(self.container,
                                                   object_name(i))
                self.assertEqual(200, status)
                self.assertEqual(body_of(i), b''.join(body))
                self.assertEqual('text/x-test-%d' % (i % 3),
                                 headers['content-type'])
                for key, value in object_meta(i).items():
                    self.assertEqual(value, headers[key.lower()],
                                     (target, key))
            counts = self.proxies[target].counts()
            self.assertEqual(OBJECTS, counts.get('PUT'), (target, counts))
            self.assertNotIn(METADATA_WRITE[target], counts, target)
            self.assertLess(counts.get('HEAD', 0), OBJECTS // 4,
                            (target, counts))

        # POST changes metadata only: an in-place copy, no data upload.
        self.reset_counts()
        self.conn.post_object(self.container, object_name(3),
                              headers={'X-Object-Meta-New': 'n\u00fc'})
        daemons.run_once()
        for target in TARGETS:
            counts = self.proxies[target].counts()
            self.assertEqual(1, counts.get(METADATA_WRITE[target]),
                             (target, counts))
            self.assertNotIn('PUT', counts, (target, counts))
            head = self.remote(target).head(self.container, object_name(3))
            self.assertEqual('n\u00fc', head.headers['x-object-meta-new'])
            self.assertNotIn('x-object-meta-index', head.headers)

        # Re-reading every row of unchanged objects makes no remote writes.
        self.assert_reread_makes_no_writes(daemons)


class TestDeletes(SyncWorld):

    def test_delete_propagates_unless_disabled(self):
        put_many(swift_conn, self.container, range(6))
        daemons = self.make_daemons([
            self.mapping('moto'),
            self.mapping('radosgw', propagate_delete=False)])
        daemons.run_once()
        self.conn.delete_object(self.container, object_name(2))
        settle_container(self.conn, self.container)
        daemons.run_once()
        self.assertNotIn(object_name(2), self.remote_names('moto'))
        self.assertEqual(6, len(self.remote_names('moto')) + 1)
        self.assertIn(object_name(2), self.remote_names('radosgw'))


class TestArchive(SyncWorld):

    def test_archive_after_copy_after(self):
        copy_after = 15
        put_many(swift_conn, self.container, range(5))
        written = time.time()
        daemons = self.make_daemons([self.mapping(
            's3api', copy_after=copy_after, retain_local=False,
            propagate_delete=False)])
        daemons.run_once()
        self.assertLess(time.time(), written + copy_after, 'test too slow')
        self.assertEqual(set(), self.remote_names('s3api'),
                         'nothing is copied before copy_after')
        time.sleep(written + copy_after + 0.5 - time.time())
        daemons.run_once()
        self.assertEqual({object_name(i) for i in range(5)},
                         self.remote_names('s3api'))
        _, listing = self.conn.get_container(self.container)
        self.assertEqual([], listing, 'local copies were archived')
        status, _, body = self.remote('s3api').get(self.container,
                                                   object_name(1))
        self.assertEqual(body_of(1), b''.join(body))
        # The archive's own deletes are not propagated: a later pass
        # leaves the remote copies alone.
        daemons.run_once()
        self.assertEqual(5, len(self.remote_names('s3api')))

    def test_overwrite_during_the_window_survives(self):
        from swift_s3_sync.local_swift import LocalSwift, \
            make_internal_client
        from swift_s3_sync.swift_env import use_swift_dir
        use_swift_dir(self.world['source']['swift_dir'])
        local = LocalSwift(make_internal_client(
            self.world['source']['swift_dir']))
        self.conn.put_object(self.container, 'v', b'version 1')
        v1 = local.head(self.account, self.container, 'v')['x-timestamp']
        self.conn.put_object(self.container, 'v', b'version 2')
        # The archive's delete of version 1 arrives after version 2.
        self.assertFalse(local.delete_version(self.account, self.container,
                                              'v', v1))
        self.assertEqual(b'version 2',
                         self.conn.get_object(self.container, 'v')[1])


class TestFailuresAndNodes(SyncWorld):

    def test_oversized_metadata_is_reported_and_others_sync(self):
        put_many(swift_conn, self.container, range(5))
        big = {'X-Object-Meta-Big%d' % i: 'x' * 200 for i in range(12)}
        self.conn.put_object(self.container, 'too-much-metadata', b'x',
                             headers=big)
        daemons = self.make_daemons([self.mapping('moto')])
        daemons.run_once()
        self.assertEqual({object_name(i) for i in range(5)},
                         self.remote_names('moto'))
        failures = [f for node in daemons.nodes
                    for entry in daemons.status(node)
                    for c in entry['containers'] for f in c['failures']]
        self.assertEqual(1, len(failures), failures)
        self.assertEqual('too-much-metadata', failures[0]['object'])
        self.assertTrue(failures[0]['permanent'])
        self.assertIn('2048', failures[0]['reason'])
        text = daemons.status(1, as_json=False) + daemons.status(
            2, as_json=False) + daemons.status(3, as_json=False) + \
            daemons.status(4, as_json=False)
        self.assertIn('too-much-metadata', text)
        self.assertNotIn(self.world['moto']['secret_key'], text)

    def test_stopped_node_rows_synced_by_others_after_slack(self):
        put_many(swift_conn, self.container, range(30))
        daemons = self.make_daemons([self.mapping('moto')],
                                    verification_slack=0.05)
        alive = [1, 2, 3]  # node 4's daemon is "down"
        daemons.run_once(alive)
        time.sleep(3.5)
        daemons.run_once(alive)
        self.assertEqual({object_name(i) for i in range(30)},
                         self.remote_names('moto'))

    def test_sigkill_mid_run_converges(self):
        daemons = self.make_daemons([self.mapping('radosgw')],
                                    verification_slack=60, workers=2)
        daemons.start()
        put_many(swift_conn, self.container, range(60), workers=4)
        victim = 1
        os.kill(daemons.pid(victim), signal.SIGKILL)
        daemons.stop([victim])
        put_many(swift_conn, self.container, range(60, 80), workers=4)
        daemons.start([victim])
        expected = {object_name(i) for i in range(80)}
        self.wait_for(lambda: self.remote_names('radosgw') == expected,
                      timeout=90, what='convergence after SIGKILL')


class TestSignals(SyncWorld):

    def test_sigterm_exits_cleanly_with_progress_saved(self):
        put_many(swift_conn, self.container, range(10))
        daemons = self.make_daemons([self.mapping('moto')])
        daemons.start([1, 2, 3, 4])
        self.wait_for(lambda: len(self.remote_names('moto')) == 10,
                      what='sync')
        pids = [daemons.pid(n) for n in daemons.nodes]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 15
        from localworld.procs import alive
        while time.time() < deadline and any(alive(p) for p in pids):
            time.sleep(0.1)
        self.assertFalse(any(alive(p) for p in pids))
        for node in daemons.nodes:
            with open(os.path.join(self.tmp, 'sync-node%d.log' % node)) as f:
                self.assertIn('stopped', f.read())


class StatsdSink(object):
    """A UDP socket on 127.0.0.1 collecting statsd lines."""

    def __init__(self):
        import socket
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    def lines(self):
        import socket
        found = []
        while True:
            try:
                found.append(self.sock.recv(65536).decode())
            except socket.timeout:
                return found

    def close(self):
        self.sock.close()


class TestReloadMetricsAndLogs(SyncWorld):

    def test_sighup_reload_statsd_and_no_secret_in_logs(self):
        sink = StatsdSink()
        self.addCleanup(sink.close)
        put_many(swift_conn, self.container, range(8))
        daemons = self.make_daemons(
            [self.mapping('moto')], log_statsd_host='127.0.0.1',
            log_statsd_port=sink.port, log_level='debug')
        daemons.start()
        self.wait_for(lambda: len(self.remote_names('moto')) == 8,
                      what='first mapping')
        # A second destination appears in the config: SIGHUP picks it up.
        daemons.write([self.mapping('moto'), self.mapping('s3api')],
                      log_statsd_host='127.0.0.1', log_statsd_port=sink.port,
                      log_level='debug')
        for node in daemons.nodes:
            os.kill(daemons.pid(node), signal.SIGHUP)
        self.wait_for(lambda: len(self.remote_names('s3api')) == 8,
                      what='mapping added by SIGHUP')
        lines = ''.join(sink.lines())
        self.assertIn('swift-s3-sync.mapping0.copied_objects:', lines)
        self.assertIn('swift-s3-sync.mapping1.copied_objects:', lines)
        self.assertIn('rows_behind:', lines)
        for node in daemons.nodes:
            with open(os.path.join(self.tmp, 'sync-node%d.log' % node)) as f:
                log = f.read()
            self.assertIn('config reloaded', log)
            for target in ('moto', 's3api'):
                settings = (self.world['target']['s3'] if target == 's3api'
                            else self.world[target])
                self.assertNotIn(settings['secret_key'], log)


class TestPerAccountMapping(SyncWorld):

    def test_every_container_of_the_account(self):
        conn = swift_conn(user='test2:tester2')
        account = conn.get_auth()[0].rsplit('/', 1)[1]
        containers = [unique('acct-a'), unique('acct-b')]
        for container in containers:
            conn.put_container(container)
            conn.put_object(container, 'same-name', container.encode())
        mapping = self.mapping('moto', account=account, container='/*')
        daemons = self.make_daemons([mapping])
        daemons.run_once()
        remote = provider_for_target(self.world, 'moto',
                                     self.buckets['moto'], containers[0],
                                     account=account)
        for container in containers:
            status, _, body = remote.get(container, 'same-name')
            self.assertEqual(200, status)
            self.assertEqual(container.encode(), b''.join(body))
            # The default layout keeps containers apart in one bucket.
            self.assertIn('/%s/%s/' % (account, container),
                          remote.key_for(container, 'same-name'))
        for container in containers:
            conn.delete_object(container, 'same-name')
            conn.delete_container(container)


class TestContainerMetadata(SyncWorld):

    def test_container_metadata_and_acls_reach_the_swift_target(self):
        self.conn.post_container(self.container, headers={
            'X-Container-Meta-Colour': 'bl\u00fc', 'X-Container-Read': '.r:*'})
        self.conn.put_object(self.container, 'o', b'x')
        daemons = self.make_daemons([self.mapping(
            'swift', sync_container_metadata=True, sync_container_acl=True)])
        daemons.run_once()
        target = swift_conn('target')
        headers = target.head_container(self.buckets['swift'])
        self.assertEqual('bl\u00fc', headers['x-container-meta-colour'])
        self.assertEqual('.r:*', headers['x-container-read'])
        # A removed key is removed remotely; unchanged metadata is not
        # sent again.
        self.conn.post_container(self.container, headers={
            'X-Container-Meta-Colour': ''})
        daemons.run_once()
        headers = target.head_container(self.buckets['swift'])
        self.assertNotIn('x-container-meta-colour', headers)
        self.proxies['swift'].reset()
        daemons.run_once()
        self.assertNotIn('POST', self.proxies['swift'].counts())
