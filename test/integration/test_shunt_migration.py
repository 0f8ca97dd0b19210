"""cloud-shunt during a migration, in the source cluster's real proxy, with
moto as the migration's source and the real migrators of the 4 nodes.

Checked through the proxy: objects not migrated yet are read (whole,
ranged, conditional, HEAD) with their metadata and listed beside local
ones; a whole read writes the object into Swift as the migrator would
(the migrator then finds it equal and copies only the others); a POST
brings the object in first and keeps the client's metadata; a DELETE hides
the source's copy for good; once the migrators have marked the container
migrated, the shunt no longer asks the source (an object that appears
there later is not served).  A "/*" migration lists its buckets in the
account listing and a bucket without a local container as a container.
"""
import json
import os
import time

import swiftclient
from swift.common.utils import Timestamp

from test.integration import test_migrator as tm
from test.integration.test_shunt import log_size, shunt_conf_file, \
    swift_conn, wait_for_log, write_atomically
from test.integration.world import remove_container, unique

BYPASS = {'X-Cloud-Shunt-Bypass': 'true'}
COUNT = 6


def use_migrations(world, migrations, tmp):
    """The shunt's config: no mappings, these migrations."""
    path = shunt_conf_file(world)
    offset = log_size(world)
    write_atomically(path, json.dumps({
        'containers': [], 'migrations': migrations,
        'status_dir': os.path.join(os.path.dirname(path), 'status'),
        'migrator_settings': {'status_dir': os.path.join(tmp, 'shunt')}}))
    wait_for_log(world, 'mapping(s) from', offset)


class ShuntMigrationWorld(tm.MigratorWorld):

    def setUp(self):
        super().setUp()
        self.local = swift_conn()   # the proxy under test

    def tearDown(self):
        use_migrations(self.world, [], self.tmp)
        super().tearDown()

    def status_of(self, container, name, headers=None):
        try:
            return self.local.head_object(container, name,
                                          headers=headers)
        except swiftclient.ClientException as err:
            return err.http_status


class TestShuntDuringMigration(ShuntMigrationWorld):

    def setUp(self):
        super().setUp()
        self.source = tm.S3Source(self.world, 'moto')
        self.sources.append(self.source)
        for i in range(COUNT):
            self.source.put(i)
        self.local.put_container(self.container)
        self.local.put_object(self.container, 'local-only', b'here')
        self.migrations = [self.source.migration(self.account,
                                                 self.container)]
        use_migrations(self.world, self.migrations, self.tmp)

    def name(self, i):
        return tm.object_name(i)

    def test_read_listed_restored_then_left_alone(self):
        name = self.name(0)
        etag, stamp = self.source.listing()[name]
        head = self.local.head_object(self.container, name)
        self.assertEqual(etag, head['etag'].strip('"'))
        self.assertEqual('migrating', head['x-object-sync-status'])
        self.assertEqual(tm.dessert(0),
                         tm._decoded(head['x-object-meta-dessert']))
        self.assertEqual('text/x-test-0', head['content-type'])

        # A ranged read and a conditional one write nothing locally.
        _, part = self.local.get_object(self.container, name,
                                        headers={'Range': 'bytes=2-9'})
        self.assertEqual(tm.body_of(0)[2:10], part)
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.local.get_object(self.container, name,
                                  headers={'If-None-Match': etag})
        self.assertEqual(304, caught.exception.http_status)
        self.assertEqual(404, self.status_of(self.container, name, BYPASS))

        # Listed beside the local object, in pages.
        _, listing = self.local.get_container(self.container, limit=4,
                                              full_listing=True)
        self.assertEqual(sorted([self.name(i) for i in range(COUNT)] +
                                ['local-only']),
                         [e['name'] for e in listing])

        # A whole read brings it in as the migrator would.
        _, body = self.local.get_object(self.container, name)
        self.assertEqual(tm.body_of(0), body)
        local = self.local.head_object(self.container, name, headers=BYPASS)
        self.assertEqual(stamp, Timestamp(local['x-timestamp']))
        self.assertEqual(etag, local['etag'].strip('"'))
        self.assertEqual(tm.dessert(0),
                         tm._decoded(local['x-object-meta-dessert']))

        # The migrators copy the others only, and a source delete removes
        # the restored copy too (it carries the migrator's marker).
        total = self.run_pass(self.migrations)
        self.assertEqual(COUNT - 1, self.counts['PUT'], total)
        self.assertEqual(1, total.get('equal'), total)
        self.source.delete(0)
        total = self.run_pass(self.migrations)
        self.assertEqual(1, total.get('deleted'), total)
        self.assertEqual(404, self.status_of(self.container, name))

        # Migrated and marked so: a name the source gains now is not
        # asked for until the next sweep brings it.
        self.source.put(COUNT)
        late = self.name(COUNT)
        self.assertEqual(404, self.status_of(self.container, late))
        _, listing = self.local.get_container(self.container,
                                              full_listing=True)
        self.assertNotIn(late, [e['name'] for e in listing])
        self.run_pass(self.migrations)
        self.assertEqual(
            tm.body_of(COUNT),
            self.local.get_object(self.container, late, headers=BYPASS)[1])

    def test_post_brings_it_in_and_delete_hides_it(self):
        post, gone = self.name(1), self.name(2)
        self.local.post_object(self.container, post,
                               {'X-Object-Meta-Local': 'yes'})
        local = self.local.head_object(self.container, post, headers=BYPASS)
        self.assertEqual('yes', local['x-object-meta-local'])
        self.assertEqual(tm.body_of(1), self.local.get_object(
            self.container, post, headers=BYPASS)[1])

        self.local.delete_object(self.container, gone)
        self.assertEqual(404, self.status_of(self.container, gone))
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.local.get_object(self.container, gone)
        self.assertEqual(404, caught.exception.http_status)

        # The migrators keep the client's POST and never bring the
        # deleted object back.
        self.run_pass(self.migrations)
        local = self.local.head_object(self.container, post)
        self.assertEqual('yes', local['x-object-meta-local'])
        self.assertEqual(404, self.status_of(self.container, gone))
        _, listing = self.local.get_container(self.container,
                                              full_listing=True)
        self.assertNotIn(gone, [e['name'] for e in listing])

    def test_a_container_not_made_yet_is_the_sources(self):
        fresh = unique('not-yet')
        self.migrations = [self.source.migration(self.account, fresh)]
        use_migrations(self.world, self.migrations, self.tmp)
        headers = self.local.head_container(fresh)
        self.assertEqual('0', headers['x-container-object-count'])
        _, listing = self.local.get_container(fresh, full_listing=True)
        self.assertEqual(sorted(self.name(i) for i in range(COUNT)),
                         [e['name'] for e in listing])
        self.assertEqual(tm.body_of(3), self.local.get_object(
            fresh, self.name(3))[1])
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.local.head_container(unique('not-mapped'))
        self.assertEqual(404, caught.exception.http_status)

    def test_names_outside_the_prefix_are_not_served(self):
        self.migrations[0]['prefix'] = 'd\u00eer-1/'
        use_migrations(self.world, self.migrations, self.tmp)
        self.assertEqual(404, self.status_of(self.container, self.name(0)))
        self.assertEqual(tm.dessert(1), tm._decoded(self.local.head_object(
            self.container, self.name(1))['x-object-meta-dessert']))
        _, listing = self.local.get_container(self.container,
                                              full_listing=True)
        self.assertEqual(sorted([self.name(i) for i in range(1, COUNT, 2)] +
                                ['local-only']),
                         [e['name'] for e in listing])


class TestShuntSwiftSource(ShuntMigrationWorld):

    def test_a_restored_object_keeps_its_expiry(self):
        source = tm.SwiftSource(self.world)
        self.sources.append(source)
        later = str(int(time.time()) + 3600)
        source.conn.put_object(source.bucket, 'later', b'for an hour',
                               headers={'X-Delete-At': later,
                                        'X-Object-Meta-Kind': 'temp'})
        self.local.put_container(self.container)
        use_migrations(self.world, [source.migration(self.account,
                                                     self.container)],
                       self.tmp)
        _, body = self.local.get_object(self.container, 'later')
        self.assertEqual(b'for an hour', body)
        local = self.local.head_object(self.container, 'later',
                                       headers=BYPASS)
        self.assertEqual(later, local['x-delete-at'])
        self.assertEqual('temp', local['x-object-meta-kind'])


    def test_symlinks_followed_only_within_the_container(self):
        source = tm.SwiftSource(self.world)
        self.sources.append(source)
        conn, bucket = source.conn, source.bucket
        other = unique('other')
        conn.put_container(other)
        self.addCleanup(remove_container, conn, other)
        conn.put_object(bucket, 'target', b'0123456789')
        conn.put_object(other, 'secret', b'not for local readers')
        links = {
            'near': {'X-Symlink-Target': bucket + '/target'},
            'chain': {'X-Symlink-Target': bucket + '/near'},
            'static': {'X-Symlink-Target': bucket + '/target',
                       'X-Symlink-Target-Etag':
                           conn.head_object(bucket, 'target')['etag']},
            'far': {'X-Symlink-Target': other + '/secret'},
            'via': {'X-Symlink-Target': bucket + '/far'}}
        for name, headers in links.items():
            conn.put_object(bucket, name, b'', headers=headers)
        self.local.put_container(self.container)
        use_migrations(self.world, [source.migration(self.account,
                                                     self.container)],
                       self.tmp)
        for name in ('near', 'chain', 'static'):
            headers, body = self.local.get_object(self.container, name)
            self.assertEqual(b'0123456789', body, name)
            self.assertEqual('/v1/%s/%s/target' % (self.account,
                                                   self.container),
                             headers['content-location'])
            _, part = self.local.get_object(self.container, name,
                                            headers={'Range': 'bytes=2-5'})
            self.assertEqual(b'2345', part)
            self.assertEqual('10', self.local.head_object(
                self.container, name)['content-length'])
            # Left to the migrator: it copies the symlink, not the bytes.
            self.assertEqual(404, self.status_of(self.container, name,
                                                 BYPASS))
        # Not through the migration's credentials into another container.
        for name in ('far', 'via'):
            self.assertEqual(404, self.status_of(self.container, name))
            with self.assertRaises(swiftclient.ClientException) as caught:
                self.local.get_object(self.container, name)
            self.assertEqual(404, caught.exception.http_status)


class TestShuntEveryBucket(ShuntMigrationWorld):
    """A "/*" migration from a moto account of its own into the world's
    second account."""

    def setUp(self):
        super().setUp()
        self.local = swift_conn('test2:tester2')
        self.account = self.local.get_auth()[0].rsplit('/', 1)[1]
        self.s3, keys = tm.TestMigrateEveryBucket.own_account(self)
        self.buckets = [unique('every'), unique('every')]
        for bucket in self.buckets:
            self.s3.create_bucket(Bucket=bucket)
        self.s3.put_object(Bucket=self.buckets[0], Key='a', Body=b'alpha')
        self.migrations = [{
            'account': self.account, 'aws_bucket': '/*',
            'aws_endpoint': self.world['moto']['endpoint'],
            'aws_identity': keys['aws_access_key_id'],
            'aws_secret': keys['aws_secret_access_key'],
            'aws_session_token': keys['aws_session_token']}]
        self.unmark_account()
        use_migrations(self.world, self.migrations, self.tmp)

    def unmark_account(self):
        """Take away the "/*" mark an earlier run left on the account (the
        migration's signature does not depend on its credentials)."""
        self.migrator(1, self.migrations)   # makes node 1's store
        self.stores[1].mark_account_migrated(self.account, None)

    def tearDown(self):
        use_migrations(self.world, [], self.tmp)
        self.unmark_account()
        for bucket in self.buckets:
            remove_container(self.local, bucket)
            for item in self.s3.list_objects_v2(Bucket=bucket).get(
                    'Contents', []):
                self.s3.delete_object(Bucket=bucket, Key=item['Key'])
            self.s3.delete_bucket(Bucket=bucket)

    def test_buckets_listed_before_their_containers_exist(self):
        _, containers = self.local.get_account(full_listing=True)
        names = [c['name'] for c in containers]
        for bucket in self.buckets:
            self.assertIn(bucket, names)
        self.assertEqual(sorted(names), names)
        _, listing = self.local.get_container(self.buckets[0])
        self.assertEqual(['a'], [e['name'] for e in listing])
        self.assertEqual(b'alpha', self.local.get_object(
            self.buckets[0], 'a')[1])
        self.local.head_container(self.buckets[1])
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.local.head_container(unique('no-such-bucket'))
        self.assertEqual(404, caught.exception.http_status)

        # Once every bucket has its container the account listing is
        # Swift's own: a bucket made now is not listed.
        self.run_pass(self.migrations)
        late = unique('every')
        self.s3.create_bucket(Bucket=late)
        self.buckets.append(late)
        _, containers = self.local.get_account(full_listing=True)
        names = [c['name'] for c in containers]
        self.assertNotIn(late, names)
        self.assertIn(self.buckets[1], names)
