"""swift-s3-sync-verify against the real local world: a mapping to moto
and a mapping to the target Swift, read-write (a test object written,
read, updated, listed and deleted, nothing left behind), a migration
source read-only, and credentials the target Swift refuses."""
import io
import json
import os
import shutil
import tempfile
import unittest

import swiftclient

from localworld.daemons import s3_mapping, swift_mapping
from swift_s3_sync import verify
from test.integration.world import get_world, remove_container, s3_client, \
    swift_conn, unique

STEPS_RW = ['credentials', 'bucket', 'write', 'read', 'metadata', 'list',
            'delete']


class VerifyWorld(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.world = get_world()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='verify-test-')
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def verify(self, doc, *args):
        doc = dict(doc, status_dir=os.path.join(self.tmp, 'status'))
        path = os.path.join(self.tmp, 'sync.json')
        with open(path, 'w') as f:
            json.dump(doc, f)
        out = io.StringIO()
        code = verify.main(['--config', path] + list(args), out=out)
        return code, out.getvalue()

    def assert_steps(self, out, wanted, result='OK'):
        lines = [line for line in out.splitlines()
                 if line.split(' ', 1)[0] in ('OK', 'FAIL', 'SKIP')]
        self.assertEqual(['%-4s  %s' % (result, step) for step in wanted],
                         [line.split(':', 1)[0] for line in lines], out)


class TestVerifyMoto(VerifyWorld):

    def test_mapping_read_write_and_migration_read_only(self):
        s3 = s3_client('moto')
        bucket = unique('verify')
        s3.create_bucket(Bucket=bucket)
        self.addCleanup(s3.delete_bucket, Bucket=bucket)
        mapping = s3_mapping(self.world, 'moto', bucket, 'photos')
        code, out = self.verify({'containers': [mapping]}, '--mapping', '0')
        self.assertEqual(0, code, out)
        self.assert_steps(out, STEPS_RW)
        self.assertEqual(0, s3.list_objects_v2(Bucket=bucket)['KeyCount'])
        self.assertNotIn(mapping['aws_secret'], out)

        s3.put_object(Bucket=bucket, Key='k\u00e9y', Body=b'x' * 2000)
        self.addCleanup(s3.delete_object, Bucket=bucket, Key='k\u00e9y')
        migration = dict(mapping, container=None)
        code, out = self.verify({'migrations': [migration]},
                                '--migration', '0')
        self.assertEqual(0, code, out)
        self.assert_steps(out, ['credentials', 'bucket', 'list', 'head',
                                'get'])
        self.assertIn("'k\u00e9y': read its first 1024 bytes", out)

        missing = dict(mapping, aws_bucket=unique('verify-missing'))
        code, out = self.verify({'containers': [missing]}, '--mapping', '0')
        self.assertEqual(1, code, out)
        self.assertIn('does not exist (the daemon does not create buckets)',
                      out)


class TestVerifySwift(VerifyWorld):

    def test_mapping_read_write_creates_and_removes_its_container(self):
        container = unique('verify')
        conn = swift_conn('target')
        self.addCleanup(remove_container, conn, container)
        mapping = swift_mapping(self.world, container, 'photos')
        code, out = self.verify({'containers': [mapping]}, '--mapping', '0')
        self.assertEqual(0, code, out)
        self.assert_steps(out, STEPS_RW)
        self.assertIn("container %r does not exist yet" % container, out)
        with self.assertRaises(swiftclient.ClientException) as caught:
            conn.head_container(container)
        self.assertEqual(404, caught.exception.http_status)

        wrong = dict(mapping, aws_secret='n0t-the-r1ght-key')
        code, out = self.verify({'containers': [wrong]}, '--mapping', '0')
        self.assertEqual(1, code, out)
        self.assertIn('FAIL  credentials: keys from the config file; '
                      'refused: 401', out)
        self.assertNotIn('n0t-the-r1ght-key', out)


if __name__ == '__main__':
    unittest.main()
