"""swift-s3-migrator from a Swift source (the world's target cluster) into
the source cluster, on the real servers, beside test_migrator's S3 sources:
SLOs and DLOs stay large, symlinks stay symlinks, expiry is kept,
container metadata, ACLs and versioned writes follow the source (removals
too), and the account ACL a "/*" migration sets is the one the local
proxy's tempauth enforces.
"""
import hashlib
import time
import unittest
import urllib.error
import urllib.request
from urllib.parse import quote

import swiftclient

from test.integration.test_migrator import MigratorWorld, SwiftSource, \
    _decoded, object_name
from test.integration.world import put_slo, remove_container, swift_conn, \
    unique


class TestMigrateFromSwift(MigratorWorld):

    def test_target_swift_container(self):
        self.migrate_and_check(SwiftSource(self.world))

    def source_with_segments(self):
        """A Swift source, and a container of it for segments."""
        source = SwiftSource(self.world)
        self.sources.append(source)
        conn, segs = source.conn, source.bucket + '_segs'
        conn.put_container(segs)
        self.addCleanup(remove_container, conn, segs)
        return source, conn, segs

    def test_slo_and_dlo_stay_large_with_their_etags(self):
        source, conn, segs = self.source_with_segments()
        pieces = [b'slo-one ' * 100, b'slo-two ' * 50]
        body = put_slo(conn, source.bucket, segs, 'sl\u00f6', pieces,
                       headers={'X-Object-Meta-Kind': 'sl\u00f6'})
        for i, data in enumerate((b'dlo-a', b'dlo-bb', b'dlo-ccc')):
            conn.put_object(segs, 'dl\u00f6/%03d' % i, data)
        conn.put_object(source.bucket, 'dl\u00f6', b'', headers={
            'X-Object-Manifest': '%s/dl%%C3%%B6/' % segs})
        remote = {name: conn.head_object(source.bucket, name)
                  for name in ('sl\u00f6', 'dl\u00f6')}
        self.migrations = [source.migration(self.account, self.container)]
        total = self.run_pass(self.migrations)
        self.assertEqual(2, total.get('copied'), (total, self.failures()))
        slo = self.local.get_object(self.container, 'sl\u00f6')
        self.assertEqual(body, slo[1])
        self.assertEqual(remote['sl\u00f6']['etag'], slo[0]['etag'])
        self.assertEqual('True', slo[0]['x-static-large-object'])
        self.assertEqual('sl\u00f6', _decoded(slo[0]['x-object-meta-kind']))
        dlo = self.local.get_object(self.container, 'dl\u00f6')
        self.assertEqual(b'dlo-adlo-bbdlo-ccc', dlo[1])
        self.assertEqual(remote['dl\u00f6']['etag'], dlo[0]['etag'])
        self.assertTrue(dlo[0]['x-object-manifest'].startswith(
            self.container + '_segments/'))
        puts = self.counts['PUT']
        self.run_pass(self.migrations)
        self.assertEqual(puts, self.counts['PUT'])


    def test_symlinks_stay_symlinks(self):
        # From another account than the local one (AUTH_test2 there):
        # a symlink naming its own account names the local one here.
        source = SwiftSource(self.world, user='test2:tester2')
        self.sources.append(source)
        conn, bucket = source.conn, source.bucket
        self.assertNotEqual(self.account, conn.url.rsplit('/', 1)[1])
        conn.put_object(bucket, 'target', b'the target')
        etag = hashlib.md5(b'the target').hexdigest()
        links = {
            'link': {'X-Symlink-Target': bucket + '/target',
                     'X-Object-Meta-Kind': 'l\u00efnk'},
            'static': {'X-Symlink-Target': bucket + '/target',
                       'X-Symlink-Target-Etag': etag},
            'dangling': {'X-Symlink-Target': bucket + '/nowhere'},
            'account': {'X-Symlink-Target': bucket + '/target',
                        'X-Symlink-Target-Account':
                            conn.url.rsplit('/', 1)[1]}}
        for name, headers in links.items():
            conn.put_object(bucket, name, b'', headers=headers)
        self.migrations = [source.migration(self.account, self.container)]
        total = self.run_pass(self.migrations)
        self.assertEqual(5, total.get('copied'), (total, self.failures()))
        link = self.local.head_object(self.container, 'link',
                                      query_string='symlink=get')
        # Into the local container: the target was migrated beside it.
        self.assertEqual(self.container + '/target',
                         link['x-symlink-target'])
        self.assertEqual('l\u00efnk', _decoded(link['x-object-meta-kind']))
        self.assertEqual(b'the target',
                         self.local.get_object(self.container, 'link')[1])
        static = self.local.head_object(self.container, 'static',
                                        query_string='symlink=get')
        self.assertEqual(etag, static['x-symlink-target-etag'])
        self.assertEqual(b'the target',
                         self.local.get_object(self.container, 'static')[1])
        self.assertEqual(self.container + '/nowhere', self.local.head_object(
            self.container, 'dangling',
            query_string='symlink=get')['x-symlink-target'])
        listed = {e['name']: e for e in self.local.get_container(
            self.container)[1]}
        self.assertEqual('/v1/%s/%s/target' % (self.account, self.container),
                         listed['link']['symlink_path'])
        # The source's own account, named: the local account here.
        self.assertEqual(self.account, self.local.head_object(
            self.container, 'account',
            query_string='symlink=get')['x-symlink-target-account'])
        self.assertEqual(b'the target',
                         self.local.get_object(self.container, 'account')[1])
        puts = self.counts['PUT']
        total = self.run_pass(self.migrations)
        self.assertEqual(5, total.get('equal'), total)
        self.assertEqual(puts, self.counts['PUT'])
        # A symlink deleted at the source goes, its target stays.
        conn.delete_object(bucket, 'link')
        total = self.run_pass(self.migrations)
        self.assertEqual(1, total.get('deleted'), total)
        self.assertNotIn('link', self.local_objects())
        self.assertIn('target', self.local_objects())

    def test_versioned_writes_go_on_here(self):
        source = SwiftSource(self.world)
        self.sources.append(source)
        conn, bucket = source.conn, source.bucket
        versions = unique('versions')
        conn.put_container(versions)
        self.addCleanup(remove_container, conn, versions)
        self.addCleanup(remove_container, self.local, versions)
        conn.post_container(bucket, {'X-Versions-Location': versions})
        try:
            self.check_versioned_writes(conn, bucket, versions)
        finally:
            # Off before tearDown empties the containers (a DELETE in a
            # versioned container brings the previous version back).
            off = {'X-Remove-Versions-Location': 'x'}
            conn.post_container(bucket, off)
            self.local.post_container(self.container, off)

    def check_versioned_writes(self, conn, bucket, versions):
        conn.put_object(bucket, 'doc', b'v1')
        conn.put_object(bucket, 'doc', b'v2')   # v1 goes to "versions"
        self.assertEqual(1, len(conn.get_container(versions)[1]))
        kept = dict(self.sources[-1].migration(self.account, versions),
                    aws_bucket=versions)
        self.migrations = [self.sources[-1].migration(self.account,
                                                      self.container), kept]
        self.run_pass(self.migrations)
        self.run_pass(self.migrations)   # the versions container is here
        self.assertEqual(versions, self.local.head_container(
            self.container).get('x-versions-location'))
        # A client's overwrite here keeps the version it replaces.
        self.local.put_object(self.container, 'doc', b'v3')
        self.assertEqual(b'v3', self.local.get_object(self.container,
                                                      'doc')[1])
        archived = [self.local.get_object(versions, e['name'])[1]
                    for e in self.local.get_container(versions)[1]]
        self.assertEqual([b'v1', b'v2'], archived)

    def test_expiring_objects_expire_here_too(self):
        source = SwiftSource(self.world)
        self.sources.append(source)
        later = str(int(time.time()) + 3600)
        source.conn.put_object(source.bucket, 'later', b'for an hour',
                               headers={'X-Delete-At': later})
        source.conn.put_object(source.bucket, 'soon', b'for 2 seconds',
                               headers={'X-Delete-After': '2'})
        source.put(0)
        time.sleep(2.5)
        # Expired: the source still lists it, but no longer serves it.
        self.assertIn('soon', source.listing())
        self.migrations = [source.migration(self.account, self.container)]
        total = self.run_pass(self.migrations)
        self.assertEqual(2, total.get('copied'), (total, self.failures()))
        self.assertEqual(1, total.get('source_gone'), total)
        self.assertEqual(later, self.local.head_object(
            self.container, 'later')['x-delete-at'])
        self.assertNotIn('x-delete-at', self.local.head_object(
            self.container, object_name(0)))
        self.assertNotIn('soon', self.local_objects())
        self.assertEqual([], self.failures())

    def test_container_metadata_and_acls_follow_the_source(self):
        source, conn, segs = self.source_with_segments()
        conn.post_container(source.bucket, {
            'X-Container-Meta-Colour': 'bl\u00fc',
            'X-Container-Meta-Size': 'big',
            'X-Container-Read': '.r:*,.rlistings'})
        source.put(0)
        put_slo(conn, source.bucket, segs, 'large', [b'one ' * 100])
        self.migrations = [source.migration(self.account, self.container)]
        total = self.run_pass(self.migrations)
        self.assertEqual(2, total.get('copied'), (total, self.failures()))
        headers = self.local.head_container(self.container)
        self.assertEqual('bl\u00fc',
                         _decoded(headers['x-container-meta-colour']))
        self.assertEqual('.r:*,.rlistings', headers['x-container-read'])
        segments = self.container + '_segments'
        self.assertEqual('.r:*,.rlistings',
                         self.local.head_container(segments)[
                             'x-container-read'])
        self.assertEqual(200, self.anonymous_get(self.container,
                                                 object_name(0)))
        # A client here changes one value and adds one; the source
        # revokes the public read and drops a value.
        self.local.post_container(self.container, {
            'X-Container-Meta-Size': 'small', 'X-Container-Meta-Mine': 'yes'})
        conn.post_container(source.bucket, {'X-Container-Read': '',
                                            'X-Container-Meta-Colour': ''})
        self.run_pass(self.migrations)
        headers = self.local.head_container(self.container)
        self.assertNotIn('x-container-read', headers)
        self.assertNotIn('x-container-meta-colour', headers)
        self.assertEqual('small', headers['x-container-meta-size'])
        self.assertEqual('yes', headers['x-container-meta-mine'])
        self.assertNotIn('x-container-read',
                         self.local.head_container(segments))
        self.assertEqual(401, self.anonymous_get(self.container,
                                                 object_name(0)))
        self.assertEqual(401, self.anonymous_get(segments, ''))

    def anonymous_get(self, container, name):
        """The status of a GET without a token through the source proxy."""
        url = '%s/%s' % (self.local.url, quote(container))
        if name:
            url += '/' + quote(name)
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code


class TestAccountAcl(MigratorWorld):
    """The account ACL a "/*" migration of a Swift source sets, as its
    sysmeta, is the one the local proxy's tempauth enforces."""

    def test_readers_the_acl_names_get_in_then_out(self):
        from swift_s3_sync.migrator.daemon import Migrator
        from swift_s3_sync.migrator.source import ACCOUNT_ACL
        store = Migrator._make_store(self.node_config(1, []))
        url, token = swift_conn('source', user='test:tester3').get_auth()
        other = url.rsplit('/', 1)[0] + '/AUTH_test2'

        def status():
            try:
                swiftclient.client.head_account(other, token)
            except swiftclient.ClientException as err:
                return err.http_status
            return 200
        self.assertEqual(403, status())
        # As account_headers() gives it: Swift's own format.
        acl = {ACCOUNT_ACL: '{"read-only":["test:tester3"]}'}
        try:
            self.assertEqual([ACCOUNT_ACL],
                             store.follow_headers('AUTH_test2', None, acl))
            self.assertEqual(200, status())
        finally:
            store.follow_headers('AUTH_test2', None, {})
        self.assertEqual(403, status())


if __name__ == '__main__':
    unittest.main()
