"""Propagated deletes on the real local world: one remote DELETE for a plain
object, and no saved SLO manifest left behind on S3 (deleted with its SLO,
or when a plain object replaces the SLO)."""

import botocore.exceptions

from test.integration.test_sync_daemon import SyncWorld
from test.integration.world import put_slo, s3_client


class TestDeleteRequests(SyncWorld):

    def setUp(self):
        super().setUp()
        self.segments = self.container + '_segments'
        self.conn.put_container(self.segments)
        self.addCleanup(self._drop_source)

    def _drop_source(self):
        for container in (self.container, self.segments):
            for obj in self.conn.get_container(container,
                                               full_listing=True)[1]:
                self.conn.delete_object(container, obj['name'])
            self.conn.delete_container(container)

    def put_slo(self, name, pieces):
        put_slo(self.conn, self.container, self.segments, name, pieces)

    def manifest_exists(self, name):
        """Whether the raw key of ``name``'s saved manifest is in the
        bucket (get_manifest would not say: it reads only beside SLOs)."""
        key = self.remote('moto').manifest_key(self.container, name)
        try:
            s3_client('moto').head_object(Bucket=self.buckets['moto'],
                                          Key=key)
        except botocore.exceptions.ClientError as err:
            if err.response['ResponseMetadata']['HTTPStatusCode'] == 404:
                return False
            raise
        return True

    def test_plain_delete_is_one_request_and_slo_manifests_go(self):
        self.conn.put_object(self.container, 'plain', b'plain bytes')
        self.put_slo('slo', [b'a' * 1024, b'b' * 1024])
        self.put_slo('swap', [b'c' * 1024, b'd' * 1024])
        daemons = self.make_daemons(
            [self.mapping('moto'), self.mapping('swift')],
            verification_slack=60)
        daemons.run_once()
        self.assertTrue(self.manifest_exists('slo'))
        self.assertTrue(self.manifest_exists('swap'))

        # A plain object: the engine's HEAD, then one DELETE.
        self.reset_counts()
        self.conn.delete_object(self.container, 'plain')
        daemons.run_once()
        for target in ('moto', 'swift'):
            counts = self.proxies[target].counts()
            self.assertEqual(1, counts.get('DELETE'), (target, counts))
            self.assertEqual(1, counts.get('HEAD'), (target, counts))
            self.assertIsNone(self.remote(target).head(self.container,
                                                       'plain'))

        # An SLO: its saved manifest goes with it.
        self.conn.delete_object(self.container, 'slo')
        daemons.run_once()
        self.assertIsNone(self.remote('moto').head(self.container, 'slo'))
        self.assertFalse(self.manifest_exists('slo'))

        # An SLO replaced by a plain object: its manifest goes at once, so
        # the plain object's later delete need not look for one.
        self.conn.put_object(self.container, 'swap', b'now plain')
        daemons.run_once()
        self.assertFalse(self.manifest_exists('swap'))
        _, _, body = self.remote('moto').get(self.container, 'swap')
        self.assertEqual(b'now plain', b''.join(body))
