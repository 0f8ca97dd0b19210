"""Large objects (SLO, DLO) and symlinks synced by the daemon to every
target of the local world."""
import hashlib
import json
import os
import signal

from test.integration.test_sync_daemon import METADATA_WRITE, TARGETS, \
    SyncWorld
from test.integration.world import S3_TARGETS, put_slo, s3_client

MiB = 1024 * 1024


def md5(data):
    return hashlib.md5(data).hexdigest()


class LargeObjectWorld(SyncWorld):

    def setUp(self):
        super().setUp()
        self.segments = self.container + '_segments'
        self.conn.put_container(self.segments)

    def put_slo(self, name, pieces, headers=None):
        return put_slo(self.conn, self.container, self.segments, name,
                       pieces, headers)

    def put_dlo(self, name, pieces):
        for index, data in enumerate(pieces):
            self.conn.put_object(self.segments, '%s/%03d' % (name, index),
                                 data)
        self.conn.put_object(self.container, name, b'', headers={
            'X-Object-Manifest': '%s/%s/' % (self.segments, name)})
        return b''.join(pieces)

    def remote_body(self, target, name):
        status, _, body = self.remote(target).get(self.container, name)
        self.assertEqual(200, status, (target, name))
        return b''.join(body)

    def raw_etag(self, target, name):
        key = self.remote(target).key_for(self.container, name)
        return s3_client(target).head_object(
            Bucket=self.buckets[target], Key=key)['ETag'].strip('"')


class TestLargeObjectsToEveryTarget(LargeObjectWorld):

    def test_slos_dlo_and_symlink(self):
        big_pieces = [os.urandom(6 * MiB) for _ in range(3)]
        big = self.put_slo('big-slo', big_pieces,
                           headers={'X-Object-Meta-Colour': 'blue'})
        small = self.put_slo('small-slo',
                             [os.urandom(MiB) for _ in range(7)])
        dlo = self.put_dlo('a-dlo', [os.urandom(300 * 1024)
                                     for _ in range(3)])
        self.conn.put_object(self.container, 'plain', b'target bytes')
        self.conn.put_object(self.container, 'link', b'', headers={
            'X-Symlink-Target': '%s/plain' % self.container})
        daemons = self.make_daemons(
            [self.mapping(t) for t in TARGETS], verification_slack=60)
        daemons.run_once()
        expected_etag = hashlib.md5(b''.join(
            hashlib.md5(p).digest() for p in big_pieces)).hexdigest() + '-3'
        for target in TARGETS:
            self.assertEqual(big, self.remote_body(target, 'big-slo'))
            self.assertEqual(small, self.remote_body(target, 'small-slo'))
            self.assertEqual(dlo, self.remote_body(target, 'a-dlo'))
            self.assertEqual(b'target bytes',
                             self.remote_body(target, 'link'))
            head = self.remote(target).head(self.container, 'big-slo')
            self.assertEqual('True', head.headers['x-static-large-object'])
            self.assertEqual('blue', head.headers['x-object-meta-colour'])
        for target in S3_TARGETS:
            # One part per segment: the remote ETag is the predicted one.
            self.assertEqual(expected_etag,
                             self.raw_etag(target, 'big-slo'), target)
            # The manifest is saved beside the object.
            manifest = json.loads(self.remote(target).get_manifest(
                self.container, 'big-slo'))
            self.assertEqual([md5(p) for p in big_pieces],
                             [entry['hash'] for entry in manifest])

        # Re-reading every row makes no remote writes.
        self.assert_reread_makes_no_writes(daemons)

        # A metadata change on the SLO sends no data.
        self.conn.post_object(self.container, 'big-slo',
                              headers={'X-Object-Meta-Colour': 'green'})
        daemons.run_once()
        for target in TARGETS:
            counts = self.proxies[target].counts()
            self.assertEqual(1, counts.get(METADATA_WRITE[target]),
                             (target, counts))
            for write in {'PUT', 'PART', 'COPY', 'POST'} - {
                    METADATA_WRITE[target]}:
                self.assertNotIn(write, counts, (target, counts))
            head = self.remote(target).head(self.container, 'big-slo')
            self.assertEqual('green', head.headers['x-object-meta-colour'])
            self.assertEqual(big, self.remote_body(target, 'big-slo'))

        # Deleting the SLO removes it (and on S3 its saved manifest).
        self.conn.delete_object(self.container, 'big-slo')
        daemons.run_once()
        for target in TARGETS:
            self.assertIsNone(self.remote(target).head(self.container,
                                                       'big-slo'))
        for target in S3_TARGETS:
            self.assertIsNone(self.remote(target).get_manifest(
                self.container, 'big-slo'))


class TestInterruptedUpload(LargeObjectWorld):

    def test_killed_daemon_leaves_no_multipart_upload(self):
        target = 'moto'
        self.proxies[target].close()
        from test.integration.counting_proxy import CountingProxy
        settings = self.world[target]
        self.proxies[target] = CountingProxy(settings['endpoint'],
                                             part_delay=1.0)
        data = self.put_slo('slow', [os.urandom(5 * MiB) for _ in range(4)])
        daemons = self.make_daemons([self.mapping(target)],
                                    verification_slack=60)
        daemons.start()
        self.wait_for(lambda: self.proxies[target].counts().get('PART'),
                      what='a part upload')
        for node in daemons.nodes:
            os.kill(daemons.pid(node), signal.SIGKILL)
        daemons.stop()
        s3 = s3_client(target)
        self.wait_for(lambda: s3.list_multipart_uploads(
            Bucket=self.buckets[target]).get('Uploads'),
            what='the interrupted upload to be listed')
        self.proxies[target].part_delay = 0
        daemons.run_once()
        self.assertEqual([], s3.list_multipart_uploads(
            Bucket=self.buckets[target]).get('Uploads', []))
        self.assertEqual(data, self.remote_body(target, 'slow'))


class TestS3apiUploadsInTheSource(LargeObjectWorld):

    def test_multipart_upload_made_through_s3api_syncs(self):
        # The source cluster's own s3api: its MPUs become SLOs whose
        # container rows carry "; s3_etag=...; slo_etag=..." parameters.
        import boto3
        import botocore.config
        source = self.world['source']['s3']
        s3 = boto3.client(
            's3', endpoint_url=source['endpoint'],
            aws_access_key_id=source['access_key'],
            aws_secret_access_key=source['secret_key'],
            region_name=source['region'],
            config=botocore.config.Config(s3={'addressing_style': 'path'}))
        parts = [os.urandom(5 * MiB), os.urandom(1000)]
        upload = s3.create_multipart_upload(Bucket=self.container, Key='mpu')
        done = []
        for number, data in enumerate(parts, 1):
            resp = s3.upload_part(Bucket=self.container, Key='mpu',
                                  PartNumber=number, Body=data,
                                  UploadId=upload['UploadId'])
            done.append({'PartNumber': number, 'ETag': resp['ETag']})
        s3.complete_multipart_upload(
            Bucket=self.container, Key='mpu', UploadId=upload['UploadId'],
            MultipartUpload={'Parts': done})
        _, listing = self.conn.get_container(self.container)
        self.assertIn('slo_etag', listing[0])
        daemons = self.make_daemons([self.mapping('radosgw')])
        daemons.run_once()
        self.assertEqual(b''.join(parts), self.remote_body('radosgw', 'mpu'))
        self.reset_counts()
        self.forget_progress()
        daemons.run_once()
        self.assertEqual({}, {k: v for k, v in
                              self.proxies['radosgw'].counts().items()
                              if k not in ('HEAD', 'GET', 'LIST')})
