"""The local world is real: Swift, three S3 servers and container DBs."""
import hashlib
import os
import unittest

from swift.common.ring import Ring
from swift.common.utils import hash_path
from swift.container.backend import ContainerBroker, DATADIR

from swift_s3_sync.swift_env import use_swift_dir
from localworld import procs
from localworld import world as localworld
from test.integration.world import (
    get_world, remove_container, s3_client, swift_conn, unique,
    update_account_stats)

MiB = 1024 * 1024


class TestSourceSwift(unittest.TestCase):

    def setUp(self):
        self.world = get_world()
        self.conn = swift_conn()
        self.container = unique('world')
        self.conn.put_container(self.container)
        self.addCleanup(remove_container, self.conn, self.container)

    def test_account_statistics_on_demand(self):
        self.conn.put_object(self.container, 'a', b'abc')
        self.conn.put_object(self.container, 'b', b'de')
        account = self.conn.get_auth()[0].rsplit('/', 1)[1]
        update_account_stats(account, self.container)
        _, listing = self.conn.get_account(prefix=self.container)
        self.assertEqual([(self.container, 2, 5)], [
            (c['name'], c['count'], c['bytes']) for c in listing])

    def test_quiet_at_rest(self):
        # No background daemon: the world's processes (servers, S3 stores,
        # Ceph) cost at most 5% of one core while nothing asks them.  Work
        # the tests before left (Ceph freeing deleted data) may take a
        # little while to end: up to four windows are measured.
        get_world()
        window, used = 10.0, []
        for _ in range(4):
            used.append(procs.idle_cpu(localworld.world_dir(), window))
            if used[-1] / window <= localworld.IDLE_BUDGET:
                return
        self.fail('CPU seconds of the world in %.0f s windows: %s' % (
            window, ', '.join('%.2f' % u for u in used)))

    def test_put_get_delete(self):
        body = os.urandom(4096)
        etag = self.conn.put_object(
            self.container, 'obj\u00e9', body,
            headers={'X-Object-Meta-Colour': 'blue'})
        self.assertEqual(hashlib.md5(body).hexdigest(), etag)
        headers, got = self.conn.get_object(self.container, 'obj\u00e9')
        self.assertEqual(body, got)
        self.assertEqual('blue', headers['x-object-meta-colour'])
        self.conn.delete_object(self.container, 'obj\u00e9')
        _, listing = self.conn.get_container(self.container)
        self.assertEqual([], listing)

    def test_large_metadata_fits(self):
        # Device dirs must take big xattrs: ext4 would answer 507 here.
        meta = {'X-Object-Meta-K%02d' % i: 'v' * 250 for i in range(16)}
        self.conn.put_object(self.container, 'fat', b'x', headers=meta)
        headers = self.conn.head_object(self.container, 'fat')
        self.assertEqual('v' * 250, headers['x-object-meta-k15'])

    def _brokers(self):
        info = self.world['source']
        use_swift_dir(info['swift_dir'])
        account = self.conn.get_auth()[0].rsplit('/', 1)[1]
        ring = Ring(info['swift_dir'], ring_name='container')
        part, nodes = ring.get_nodes(account, self.container)
        chash = hash_path(account, self.container)
        brokers = []
        for node in nodes:
            devices = next(n['devices'] for n in info['nodes']
                           if n['ports']['container'] == node['port'])
            path = os.path.join(
                devices, node['device'], DATADIR, str(part), chash[-3:],
                chash, chash + '.db')
            brokers.append(ContainerBroker(path, account=account,
                                           container=self.container))
        return brokers

    def test_container_rows_on_every_replica(self):
        self.conn.put_object(self.container, 'row-obj', b'abc')
        self.conn.delete_object(self.container, 'row-obj')
        brokers = self._brokers()
        self.assertEqual(3, len(brokers))
        for broker in brokers:
            rows = broker.get_items_since(0, 10)
            self.assertEqual(['row-obj'], [r['name'] for r in rows])
            self.assertEqual(1, rows[0]['deleted'])
            self.assertEqual('noetag', rows[0]['etag'])
        ids = {b.get_info()['id'] for b in brokers}
        self.assertEqual(3, len(ids), 'each replica has its own DB id')


class S3TargetChecks(object):
    target = None

    def setUp(self):
        self.s3 = s3_client(self.target)
        self.bucket = unique('bucket')
        self.s3.create_bucket(Bucket=self.bucket)

    def tearDown(self):
        for obj in self.s3.list_objects(Bucket=self.bucket).get(
                'Contents', []):
            self.s3.delete_object(Bucket=self.bucket, Key=obj['Key'])
        self.s3.delete_bucket(Bucket=self.bucket)

    def test_put_get(self):
        body = os.urandom(1000)
        self.s3.put_object(Bucket=self.bucket, Key='k\u00e9y', Body=body,
                           Metadata={'colour': 'blue'})
        got = self.s3.get_object(Bucket=self.bucket, Key='k\u00e9y')
        self.assertEqual(body, got['Body'].read())
        self.assertEqual({'colour': 'blue'}, got['Metadata'])

    def test_multipart(self):
        parts = [os.urandom(5 * MiB), os.urandom(1000)]
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key='mpu')
        done = []
        for number, data in enumerate(parts, 1):
            resp = self.s3.upload_part(
                Bucket=self.bucket, Key='mpu', PartNumber=number,
                UploadId=upload['UploadId'], Body=data)
            done.append({'PartNumber': number, 'ETag': resp['ETag']})
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key='mpu', UploadId=upload['UploadId'],
            MultipartUpload={'Parts': done})
        head = self.s3.head_object(Bucket=self.bucket, Key='mpu')
        expected = hashlib.md5(b''.join(
            hashlib.md5(p).digest() for p in parts)).hexdigest() + '-2'
        self.assertEqual('"%s"' % expected, head['ETag'])
        body = self.s3.get_object(Bucket=self.bucket, Key='mpu')['Body']
        self.assertEqual(b''.join(parts), body.read())


class TestS3api(S3TargetChecks, unittest.TestCase):
    target = 's3api'


class TestMoto(S3TargetChecks, unittest.TestCase):
    target = 'moto'


class TestRadosgw(S3TargetChecks, unittest.TestCase):
    target = 'radosgw'



class TestLauncher(unittest.TestCase):

    def test_second_up_is_a_no_op(self):
        import io
        from localworld import world as localworld
        get_world()
        out = io.StringIO()
        before = localworld.procs.recorded(localworld.world_dir())
        localworld.up(out=out)
        self.assertIn('already up', out.getvalue())
        self.assertEqual(before,
                         localworld.procs.recorded(localworld.world_dir()))

    def test_port_in_use_is_one_line(self):
        import subprocess
        import sys
        import tempfile
        get_world()
        with tempfile.TemporaryDirectory() as other:
            proc = subprocess.run(
                [sys.executable, '-m', 'localworld', 'up'],
                env=dict(os.environ, SWIFT_S3_SYNC_WORLD=other),
                capture_output=True, text=True, timeout=60)
        self.assertEqual(1, proc.returncode)
        self.assertEqual(1, len(proc.stderr.strip().splitlines()),
                         proc.stderr)
        self.assertIn('already in use', proc.stderr)
