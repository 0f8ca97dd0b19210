"""Names and metadata the remote keeps for itself, through the world's
proxymc and the source cluster's cloud-shunt (python-swiftclient against
real servers):

* reserved metadata (``X-Object-Meta-Swift-S3-Sync-*``) is refused on PUT
  and POST with a one-line 400 naming the header, and later reads show the
  object unchanged;
* with a ``custom_prefix`` the keys of saved SLO manifests are no object
  names (400 on writes, 404 on reads), and a manifest left beside a plain
  object is neither shown nor used to delete segments;
* a name whose key would exceed the store's limit is 404 on reads and 400
  on writes, with no error logged.

Each class runs a proxymc of its own (as test_proxymc_limits does), so the
world's proxymc and its config are left alone; the source cluster's shunt
serves the same mappings.
"""
import hashlib
import json
import os
import unittest

import swiftclient

from test.integration.test_proxymc import (
    ProxyMCWorld, wait_for_log, write_atomically)
from test.integration.test_proxymc_limits import (
    KEY, USER, OwnProxyMC, json_config)
from test.integration.test_shunt import proxy_log, write_shunt_config
from test.integration.world import put_slo, s3_client, swift_conn, unique

HEADERS = ('X-Object-Meta-Swift-S3-Sync-Timestamp',
           'X-Object-Meta-Swift-S3-Sync-Etag',
           'X-Object-Meta-Swift-S3-Sync-Large')


def md5(data):
    return hashlib.md5(data).hexdigest()


def manifest_name(name):
    return '.manifests/%s.swift_slo_manifest' % hashlib.sha256(
        name.encode('utf-8')).hexdigest()


class LogTail(object):
    """The lines a log file gets from now on."""

    def __init__(self, path):
        self.path = path
        self.start = os.path.getsize(path)

    def lines(self):
        with open(self.path, errors='replace') as f:
            f.seek(self.start)
            return f.read().splitlines()


class NamesWorld(ProxyMCWorld):
    """ProxyMCWorld's buckets and containers, served by our own proxymc."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.own = OwnProxyMC().start()

    @classmethod
    def tearDownClass(cls):
        cls.own.remove()
        super().tearDownClass()

    def setUp(self):
        self.source = swift_conn()
        self.pmc = swiftclient.Connection(self.own.url('/auth/v1.0'), USER,
                                          KEY, retries=0)
        self.container = unique('pmc')
        self.segments = self.container + '_segments'
        self.source.put_container(self.container)
        self.use_mappings([self.mapping(self.container),
                           self.mapping(self.segments)])

    def assertStatus(self, status, call, *args, **kwargs):
        with self.assertRaises(swiftclient.ClientException) as caught:
            call(*args, **kwargs)
        self.assertEqual(status, caught.exception.http_status)
        return caught.exception.http_response_content

    def use_mappings(self, mappings):
        """Serve ``mappings`` from the shunt and our proxymc."""
        self.mappings = mappings
        log = self.own.server.log_path()
        offset = os.path.getsize(log)
        write_atomically(self.own.server.sync_conf_path(),
                         json_config(mappings, self.own.dir))
        write_shunt_config(self.world, mappings)
        # Every worker reloads on its own: all of them must serve these.
        wait_for_log(log, offset, '%d mapping(s)' % len(mappings),
                     count=self.own.server.default_options['workers'])


class ReservedMetadataTests(object):

    def test_reserved_metadata_refused(self):
        body = b'plain bytes'
        self.pmc.put_object(self.container, 'obj', body,
                            headers={'X-Object-Meta-Keep': 'me'})
        # The object is remote only: the source cluster's POST reaches it
        # through the shunt, proxymc's directly.
        for conn in (self.pmc, self.source):
            for header in HEADERS:
                reason = self.assertStatus(
                    400, conn.post_object, self.container, 'obj',
                    headers={header: 'slo'})
                self.assertEqual(('%s is reserved for swift-s3-sync\n' %
                                  header).encode(), reason)
        for header in HEADERS:
            reason = self.assertStatus(
                400, self.pmc.put_object, self.container, 'new', b'x',
                headers={header: 'slo'})
            self.assertIn(header.encode(), reason)
        for conn in (self.pmc, self.source):
            headers = conn.head_object(self.container, 'obj')
            self.assertEqual(md5(body), headers['etag'])
            self.assertEqual('me', headers['x-object-meta-keep'])
            self.assertNotIn('x-static-large-object', headers)
            self.assertFalse([k for k in headers if 'swift-s3-sync' in k])
        self.assertStatus(404, self.pmc.head_object, self.container, 'new')


class TestReservedMetadataMoto(ReservedMetadataTests, NamesWorld):
    target = 'moto'


class TestReservedMetadataSwift(ReservedMetadataTests, NamesWorld):
    target = 'swift'


class TestManifestNamespace(NamesWorld):
    """A mapping with a custom prefix keeps saved manifests among its
    objects' keys."""
    target = 'moto'

    def setUp(self):
        super().setUp()
        prefix = unique('cp')
        self.use_mappings([
            self.mapping(self.container, custom_prefix=prefix),
            self.mapping(self.segments, custom_prefix=prefix + '-segs')])
        self.s3 = s3_client(self.target)

    def put_slo(self, name, pieces):
        put_slo(self.pmc, self.container, self.segments, name, pieces)

    def manifest_of(self, name):
        return json.loads(self.pmc.get_object(
            self.container, name, query_string='multipart-manifest=get')[1])

    def test_manifest_keys_are_no_object_names(self):
        self.put_slo('victim', [b'abc', b'def'])
        before = self.manifest_of('victim')
        name = manifest_name('victim')
        forged = json.dumps([{'name': '/%s/elsewhere' % self.segments,
                              'hash': md5(b''), 'bytes': 0}])
        for conn in (self.pmc, self.source):
            reason = self.assertStatus(
                400, conn.post_object, self.container, name,
                headers={'X-Object-Meta-A': 'b'})
            self.assertIn(b'.manifests/', reason)
            self.assertStatus(404, conn.get_object, self.container, name)
            self.assertStatus(404, conn.head_object, self.container, name)
        reason = self.assertStatus(400, self.pmc.put_object, self.container,
                                   name, forged)
        self.assertIn(b'reserved for large-object manifests', reason)
        self.assertStatus(404, self.pmc.delete_object, self.container, name)
        self.assertEqual(before, self.manifest_of('victim'))
        self.assertEqual(b'abcdef',
                         self.pmc.get_object(self.container, 'victim')[1])

    def test_manifest_beside_a_plain_object_is_not_used(self):
        self.pmc.put_object(self.segments, 'kept', b'not yours')
        self.pmc.put_object(self.container, 'plain', b'plain bytes')
        # Left by an older version that let clients write manifest keys.
        provider = self.provider(self.container)
        self.s3.put_object(
            Bucket=self.bucket,
            Key=provider.manifest_key(self.container, 'plain'),
            Body=json.dumps([{'name': '/%s/kept' % self.segments,
                              'hash': md5(b'not yours'), 'bytes': 9}]))
        headers, body = self.pmc.get_object(
            self.container, 'plain', query_string='multipart-manifest=get')
        self.assertEqual(b'plain bytes', body)
        self.assertNotIn('x-static-large-object', headers)
        self.pmc.delete_object(self.container, 'plain',
                               query_string='multipart-manifest=delete')
        self.assertStatus(404, self.pmc.head_object, self.container, 'plain')
        self.assertEqual(b'not yours',
                         self.pmc.get_object(self.segments, 'kept')[1])


class TestKeyOverTheStoresLimit(NamesWorld):
    """radosgw answers 400 for keys over 1024 bytes: the default layout
    adds ``<hash>/AUTH_test/<container>/`` to a name Swift accepts."""
    target = 'radosgw'

    def test_not_found_on_reads_refused_on_writes(self):
        name = 'n' * 1000
        self.assertGreater(len(self.provider(self.container).key_for(
            self.container, name)), 1024)
        logs = [LogTail(self.own.server.log_path()),
                LogTail(proxy_log(self.world))]
        for conn in (self.pmc, self.source):
            for _ in range(2):
                self.assertStatus(404, conn.get_object, self.container, name)
                self.assertStatus(404, conn.head_object, self.container,
                                  name)
            self.assertStatus(404, conn.delete_object, self.container, name)
            reason = self.assertStatus(400, conn.post_object, self.container,
                                       name, headers={'X-Object-Meta-A': 'b'})
            self.assertIn(b'S3 allows 1024', reason)
        reason = self.assertStatus(400, self.pmc.put_object, self.container,
                                   name, b'x')
        self.assertIn(b'S3 allows 1024', reason)
        # No error line per request (access log lines name the path with
        # its "/v1/" in front; failure lines name "<method> AUTH_test/...").
        what = ' AUTH_test/%s/nnnnnnnn' % self.container
        for log in logs:
            self.assertEqual([], [line for line in log.lines()
                                  if what in line])


if __name__ == '__main__':
    unittest.main()
