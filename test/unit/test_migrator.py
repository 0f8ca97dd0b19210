"""swift-s3-migrator without servers: config validation, the listing merge,
the node split and the progress files.  The copying side (fakes for the
source and the local cluster) is in test_migrator_copy.py."""
import json
import os
import shutil
import tempfile
import unittest

from swift.common.utils import Timestamp

from swift_s3_sync.config import ConfigError, parse_config
from swift_s3_sync.crawler.rows import owner
from swift_s3_sync.migrator import plan, split
from swift_s3_sync.migrator.source import source_mapping
from swift_s3_sync.migrator.status import MigrationProgress, ProgressFiles
from swift_s3_sync.providers.base import RemoteObject

SECRET = 'mig-secret-value-0123456789'


def migration(**overrides):
    entry = {'account': 'AUTH_test', 'aws_bucket': 'bucket',
             'aws_identity': 'id', 'aws_secret': SECRET}
    entry.update(overrides)
    return entry


def document(*migrations, **settings):
    doc = {'status_dir': '/var/lib/s3-sync', 'migrations': list(migrations)}
    doc.update(settings)
    return doc


def parse(doc):
    return parse_config(json.dumps(doc))


def error_of(doc):
    try:
        parse(doc)
    except ConfigError as err:
        return str(err)
    raise AssertionError('config was accepted: %r' % (doc,))


class TestDefaultCredentialChain(unittest.TestCase):
    """aws_identity/aws_secret null on an s3 remote: boto3's own chain,
    optionally with aws_profile (migrations and mappings alike)."""

    def test_null_keys_and_profile_accepted_for_s3(self):
        m = parse(document(migration(aws_identity=None, aws_secret=None,
                                     aws_profile='backup'))).migrations[0]
        self.assertIsNone(m.aws_identity)
        self.assertEqual('backup', m.aws_profile)
        # The source provider's mapping carries the profile along.
        self.assertEqual('backup', source_mapping(m, 'bucket',
                                                  'bucket').aws_profile)

    def test_refused_combinations_name_the_keys(self):
        cases = [
            (migration(aws_secret=None),
             "'aws_identity' needs 'aws_secret'"),
            (migration(aws_identity=None),
             "'aws_secret' needs 'aws_identity'"),
            (migration(aws_identity=None, aws_secret=None, protocol='swift',
                       aws_endpoint='http://127.0.0.1:1/auth/v1.0'),
             "protocol 'swift' needs 'aws_identity' and 'aws_secret'"),
            (migration(aws_profile='p'),
             "'aws_profile' is for boto3's default credential chain"),
            (migration(aws_identity=None, aws_secret=None, aws_profile='p',
                       protocol='swift',
                       aws_endpoint='http://127.0.0.1:1/auth/v1.0'),
             "protocol 'swift' needs"),
            (migration(aws_identity=None, aws_secret=None,
                       aws_session_token='t0k3n'),
             "'aws_session_token' needs 'aws_identity' and 'aws_secret'"),
        ]
        for entry, wanted in cases:
            with self.subTest(wanted=wanted):
                message = error_of(document(entry))
                self.assertIn('migrations[0] (AUTH_test/bucket): ' + wanted,
                              message)
                self.assertNotIn('t0k3n', message)

    def test_left_out_keys_mean_the_default_chain_for_s3(self):
        entry = migration(aws_profile='backup')
        del entry['aws_identity'], entry['aws_secret']
        m = parse(document(entry)).migrations[0]
        self.assertIsNone(m.aws_identity)
        self.assertIsNone(m.aws_secret)
        self.assertEqual('backup', m.aws_profile)
        provider_mapping = source_mapping(m, 'bucket', 'bucket')
        self.assertIsNone(provider_mapping.aws_identity)
        # Omitted and explicit nulls are the same migration.
        explicit = parse(document(migration(
            aws_identity=None, aws_secret=None,
            aws_profile='backup'))).migrations[0]
        self.assertEqual(explicit.signature(), m.signature())
        # Mappings too.
        mapping = {'account': 'AUTH_test', 'container': 'c',
                   'aws_bucket': 'b'}
        conf = parse({'status_dir': '/s', 'containers': [mapping]})
        self.assertIsNone(conf.mappings[0].aws_identity)

    def test_one_left_out_key_is_named(self):
        for kept, missing in (('aws_identity', 'aws_secret'),
                              ('aws_secret', 'aws_identity')):
            with self.subTest(kept=kept):
                entry = migration()
                del entry[missing]
                self.assertIn(
                    "migrations[0] (AUTH_test/bucket): '%s' needs '%s'" % (
                        kept, missing), error_of(document(entry)))
                self.assertNotIn(SECRET, error_of(document(entry)))
                mapping = {'account': 'AUTH_test', 'container': 'c',
                           'aws_bucket': 'b', kept: 'x'}
                self.assertIn(
                    "containers[0] (AUTH_test/c): '%s' needs '%s'" % (
                        kept, missing),
                    error_of({'status_dir': '/s', 'containers': [mapping]}))

    def test_swift_remotes_still_need_both_keys(self):
        entry = migration(protocol='swift',
                          aws_endpoint='http://127.0.0.1:1/auth/v1.0')
        del entry['aws_identity'], entry['aws_secret']
        self.assertIn("migrations[0] (AUTH_test/bucket): protocol 'swift' "
                      "needs 'aws_identity' and 'aws_secret'",
                      error_of(document(entry)))
        mapping = {'account': 'AUTH_test', 'container': 'c',
                   'aws_bucket': 'b', 'protocol': 'swift',
                   'aws_endpoint': 'http://127.0.0.1:1/auth/v1.0'}
        self.assertIn("containers[0] (AUTH_test/c): protocol 'swift' needs "
                      "'aws_identity' and 'aws_secret'",
                      error_of({'status_dir': '/s', 'containers': [mapping]}))

    def test_mapping_rules_and_unchanged_settings_hash(self):
        import hashlib
        base = {'account': 'AUTH_test', 'container': 'c',
                'aws_bucket': 'b', 'aws_identity': 'id', 'aws_secret': 's'}
        doc = {'status_dir': '/s', 'containers': [base]}
        m = parse(doc).mappings[0]
        # Mappings that do not use aws_profile keep the hash they had
        # before the key existed (idle containers stay idle on upgrade).
        before = {k: v for k, v in m.redacted().items()
                  if k != 'aws_profile'}
        self.assertEqual(hashlib.sha256(json.dumps(
            before, sort_keys=True).encode()).hexdigest()[:16],
            m.settings_hash())
        chain = dict(base, aws_identity=None, aws_secret=None,
                     aws_profile='backup')
        other = parse({'status_dir': '/s', 'containers': [chain]})
        self.assertNotEqual(m.settings_hash(),
                            other.mappings[0].settings_hash())
        bad = dict(base, protocol='swift', aws_endpoint='http://h/auth',
                   aws_profile='p')
        self.assertIn("'aws_profile' is only for protocol 's3'",
                      error_of({'status_dir': '/s', 'containers': [bad]}))

    def test_s3_provider_reads_the_profile_from_the_shared_file(self):
        from swift_s3_sync.providers.s3 import S3Provider
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, 'credentials')
        with open(path, 'w') as f:
            f.write('[backup]\naws_access_key_id = AKIAFROMPROFILE\n'
                    'aws_secret_access_key = profile-secret\n')
        m = parse(document(migration(
            aws_identity=None, aws_secret=None, aws_profile='backup',
            aws_endpoint='http://127.0.0.1:9'))).migrations[0]
        env = {'AWS_SHARED_CREDENTIALS_FILE': path,
               'AWS_CONFIG_FILE': os.path.join(tmp, 'none')}
        from unittest import mock
        with mock.patch.dict(os.environ, env):
            for key in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
                        'AWS_PROFILE'):
                os.environ.pop(key, None)
            provider = S3Provider(source_mapping(m, 'bucket', 'bucket'))
            credentials = provider.client._request_signer._credentials
            self.assertEqual('AKIAFROMPROFILE', credentials.access_key)
            self.assertEqual('profile-secret', credentials.secret_key)
            provider.close()
        # Keys given in the file win over the environment's, as before.
        with mock.patch.dict(os.environ, {'AWS_ACCESS_KEY_ID': 'ENVKEY',
                                          'AWS_SECRET_ACCESS_KEY': 'e'}):
            given = parse(document(migration(
                aws_endpoint='http://127.0.0.1:9'))).migrations[0]
            provider = S3Provider(source_mapping(given, 'bucket', 'bucket'))
            self.assertEqual(
                'id', provider.client._request_signer._credentials.access_key)
            provider.close()


class TestMigrationConfig(unittest.TestCase):

    def test_migrations_without_containers_are_valid(self):
        conf = parse(document(migration()))
        self.assertEqual([], conf.mappings)
        self.assertEqual(1, len(conf.migrations))
        m = conf.migrations[0]
        self.assertEqual('migrations[0] (AUTH_test/bucket)', m.label)
        self.assertEqual('bucket', m.local_container)
        self.assertEqual('', m.prefix)
        self.assertEqual(0, m.older_than)
        self.assertEqual('s3', m.protocol)

    def test_neither_containers_nor_migrations_is_still_an_error(self):
        self.assertEqual("sync.json: missing required key 'containers'",
                         error_of({'status_dir': '/s'}))

    def test_container_renames_the_local_container(self):
        m = parse(document(migration(container='photos'))).migrations[0]
        self.assertEqual('photos', m.local_container)
        self.assertEqual('bucket', m.aws_bucket)

    def test_errors_name_the_migration_and_key(self):
        cases = [
            (migration(older_than=-1),
             "sync.json: migrations[0] (AUTH_test/bucket): 'older_than' "
             "must be a number >= 0, got -1"),
            (migration(prefix=3),
             "sync.json: migrations[0] (AUTH_test/bucket): 'prefix' must "
             "be a string, got 3"),
            (migration(aws_bucket='a/b'),
             "sync.json: migrations[0] (AUTH_test/a/b): 'aws_bucket' must "
             "be a bucket or container name without \"/\", or \"/*\" for "
             "every bucket of the source, got \"a/b\""),
            (migration(copy_after=5),
             "sync.json: migrations[0] (AUTH_test/bucket): unknown key "
             "'copy_after'"),
            (migration(protocol='swift'),
             "sync.json: migrations[0] (AUTH_test/bucket): protocol "
             "'swift' needs 'aws_endpoint' (the remote cluster's auth URL)"),
            (migration(aws_bucket='/*', container='c'),
             "sync.json: migrations[0] (AUTH_test/*): 'container' must be "
             "null with 'aws_bucket': \"/*\" (every bucket keeps its name)"),
            (migration(container='x/y'),
             "sync.json: migrations[0] (AUTH_test/bucket): 'container' "
             "must be a container name without \"/\" or null, got \"x/y\""),
        ]
        for entry, message in cases:
            with self.subTest(message=message):
                self.assertEqual(message, error_of(document(entry)))

    def test_second_migration_is_named_by_index(self):
        message = error_of(document(migration(), migration(
            aws_bucket='other', account='AUTH_b', aws_identity=5)))
        self.assertTrue(message.startswith(
            'sync.json: migrations[1] (AUTH_b/other): '), message)
        self.assertIn("'aws_identity'", message)

    def test_missing_required_key(self):
        entry = migration()
        del entry['account']
        self.assertEqual(
            "sync.json: migrations[0]: missing required key 'account'",
            error_of(document(entry)))
        entry = migration()
        del entry['aws_secret']   # half a pair: named, never a fallback
        self.assertEqual(
            "sync.json: migrations[0] (AUTH_test/bucket): 'aws_identity' "
            "needs 'aws_secret' (an s3 remote may leave out both, for "
            "boto3's default credential chain)", error_of(document(entry)))

    def test_secret_never_in_errors(self):
        message = error_of(document(migration(aws_secret=12345)))
        self.assertIn("'aws_secret' must be a non-empty string", message)
        self.assertNotIn('12345', message)
        m = parse(document(migration())).migrations[0]
        self.assertNotIn(SECRET, repr(m))

    def test_two_migrations_into_one_container_refused(self):
        message = error_of(document(
            migration(), migration(aws_bucket='b2', container='bucket')))
        self.assertEqual(
            'sync.json: migrations[1] (AUTH_test/b2) copies into the same '
            'local account and container as migrations[0]', message)

    def test_keystone_needs_names(self):
        message = error_of(document(migration(
            protocol='swift', aws_endpoint='https://ks.example.com/v3',
            auth_type='keystone_v3', project_name='p')))
        self.assertIn("'project_domain_name', 'user_domain_name'", message)

    def test_migrator_settings_defaults_and_errors(self):
        conf = parse(document(migration()))
        self.assertIsNone(conf.migrator_settings)
        self.assertEqual('/var/lib/swift-s3-migrator',
                         conf.migrator.status_dir)
        self.assertEqual(1000, conf.migrator.items_chunk)
        self.assertEqual(3600, conf.migrator.takeover_slack)
        conf = parse(document(migration(), migrator_settings={
            'workers': 3, 'status_dir': '/m', 'takeover_slack': 0.5}))
        self.assertEqual(3, conf.migrator.workers)
        self.assertEqual(0.5, conf.migrator_settings.takeover_slack)
        self.assertEqual(
            "sync.json: migrator_settings: 'workers' must be an integer "
            ">= 1, got 0",
            error_of(document(migrator_settings={'workers': 0})))
        self.assertEqual(
            "sync.json: migrator_settings: unknown key 'prefix' (a "
            "migration key; it belongs in an object of 'migrations')",
            error_of(document(migrator_settings={'prefix': 'x'})))
        self.assertEqual(
            "sync.json: 'migrator_settings' must be an object or null, "
            "got a list", error_of(document(migrator_settings=[])))
        self.assertEqual(
            "sync.json: 'migrations' must be a list of migration objects, "
            "got an object", error_of({'status_dir': '/s',
                                       'migrations': {}}))

    def test_migrator_status_dir_apart_from_sync_status_dir(self):
        message = error_of(document(migration(), status_dir='/var/lib/s',
                                    migrator_settings={
                                        'status_dir': '/var/lib/s/m'}))
        self.assertIn("migrator_settings: 'status_dir' \"/var/lib/s/m\" "
                      "must not be the sync daemon's 'status_dir'", message)
        # A sibling whose name starts the same is fine.
        parse(document(migration(), status_dir='/var/lib/s',
                       migrator_settings={'status_dir': '/var/lib/s2'}))

    def test_migration_signature_ignores_credentials(self):
        a = parse(document(migration())).migrations[0]
        b = parse(document(migration(aws_secret='other',
                                     aws_identity='x'))).migrations[0]
        c = parse(document(migration(prefix='p/'))).migrations[0]
        self.assertEqual(a.signature(), b.signature())
        self.assertNotEqual(a.signature(), c.signature())

    def test_source_mapping_reads_native_names(self):
        m = parse(document(migration(
            aws_endpoint='http://s3.local:9000', container='local',
            storage_policy='gold'))).migrations[0]
        mapping = source_mapping(m, 'bucket', 'local')
        self.assertEqual('', mapping.custom_prefix)
        self.assertEqual('bucket', mapping.aws_bucket)
        self.assertEqual('local', mapping.container)
        self.assertEqual(SECRET, mapping.aws_secret)
        self.assertIsNone(mapping.storage_policy)
        self.assertFalse(mapping.per_account)
        self.assertFalse(mapping.is_aws())


def remote(name, last_modified, etag='0' * 32, size=1):
    return RemoteObject(name, etag, size, last_modified=last_modified)


def local(name, ts):
    return {'name': name, 'hash': '0' * 32, 'bytes': 1,
            'content_type': 'text/plain',
            'last_modified': Timestamp(ts).isoformat}


class TestMerge(unittest.TestCase):
    NOW = 1700000000.0

    def actions(self, source, locals_, older_than=0):
        return [(d.name, d.action) for d in plan.merge(
            source, locals_, self.NOW, older_than)]

    def test_every_case(self):
        source = [remote('a', 100.5), remote('b', 200.25),
                  remote('c', 300.125), remote('e', 500.0)]
        locals_ = [local('b', 200.25), local('c', 299.0), local('d', 1.0),
                   local('e', 600.0), local('f', 1.0)]
        self.assertEqual([('a', plan.COPY), ('b', plan.EQUAL),
                          ('c', plan.COPY), ('d', plan.GONE),
                          ('e', plan.LOCAL_NEWER), ('f', plan.GONE)],
                         self.actions(source, locals_))

    def test_millisecond_source_time_equals_copy(self):
        # The copy is given Timestamp(listing time): the next pass must
        # find them equal.
        lm = 1700000000.123
        copy_ts = plan.source_timestamp(remote('x', lm))
        self.assertEqual([('x', plan.EQUAL)],
                         self.actions([remote('x', lm)],
                                      [local('x', copy_ts.internal)]))

    def test_older_than_leaves_young_objects_and_their_local_copy(self):
        source = [remote('old', self.NOW - 100), remote('young',
                                                        self.NOW - 10)]
        locals_ = [local('young', 1.0)]
        self.assertEqual([('old', plan.COPY), ('young', plan.TOO_YOUNG)],
                         self.actions(source, locals_, older_than=60))
        self.assertEqual([('old', plan.COPY), ('young', plan.COPY)],
                         self.actions(source, locals_, older_than=0))

    def test_unicode_order(self):
        source = [remote('z', 1.0), remote('\u00e9t\u00e9', 1.0)]
        decisions = plan.merge(sorted(source, key=lambda r: r.name), [],
                               self.NOW)
        self.assertEqual(['z', '\u00e9t\u00e9'], [d.name for d in decisions])

    def test_page_end(self):
        page = [remote('a', 1), remote('b', 1)]
        self.assertEqual('b', plan.page_end(page, 2))
        self.assertIsNone(plan.page_end(page, 3))
        self.assertTrue(plan.in_range('b', 'b'))
        self.assertFalse(plan.in_range('c', 'b'))
        self.assertTrue(plan.in_range('zzz', None))


class TestShare(unittest.TestCase):

    def test_each_name_has_one_owner_among_nodes(self):
        names = ['obj-%d' % i for i in range(200)]
        shares = [split.Share([i], 3) for i in range(3)]
        for name in names:
            ranks = sorted(s.rank(name) for s in shares)
            self.assertEqual([0, 1, 2], ranks, name)
            self.assertEqual(0, shares[owner(name, 3)].rank(name))
        counts = [sum(1 for n in names if s.rank(n) == 0) for s in shares]
        self.assertTrue(all(c > 30 for c in counts), counts)

    def test_node_with_every_replica_owns_everything(self):
        share = split.Share([0, 1, 2], 3)
        self.assertTrue(all(share.rank('o%d' % i) == 0 for i in range(50)))
        self.assertEqual([], share.stand_in_ranks())

    def test_node_without_replica_does_nothing(self):
        share = split.Share([], 3)
        self.assertFalse(share.participates)
        self.assertIsNone(share.rank('x'))
        self.assertEqual([], share.stand_in_ranks())

    def test_stand_in_ranks(self):
        self.assertEqual([1, 2], split.Share([1], 3).stand_in_ranks())
        self.assertEqual([1], split.Share([0, 1], 3).stand_in_ranks())

    def test_share_from_ring(self):
        class Ring(object):
            def get_nodes(self, account, container):
                self.asked = (account, container)
                return 7, [{'ip': 'a'}, {'ip': 'b'}, {'ip': 'c'}]
        ring = Ring()
        share = split.share_from_ring(ring, 'AUTH_t', 'c',
                                      lambda node: node['ip'] == 'b')
        self.assertEqual(('AUTH_t', 'c'), ring.asked)
        self.assertEqual([1], share.my_indexes)
        self.assertEqual(3, share.replicas)


class TestWalks(unittest.TestCase):
    SLACK = 600

    def walks(self, state=None, max_rank=2):
        return split.Walks({} if state is None else state, self.SLACK,
                           max_rank)

    def test_walk_moves_and_wraps(self):
        w = self.walks()
        self.assertEqual({'sweep': 0, 'marker': ''}, w.walk)
        w.walked('m', 1000)
        self.assertEqual({'sweep': 0, 'marker': 'm'}, w.walk)
        w.walked(None, 1100)
        self.assertEqual({'sweep': 1, 'marker': ''}, w.walk)

    def test_stand_in_waits_rank_times_slack(self):
        w = self.walks()
        w.walked('m', 1000)
        self.assertIsNone(w.stand_in_window(1, 1000 + self.SLACK - 1))
        self.assertEqual(('', 'm'), w.stand_in_window(1, 1000 + self.SLACK))
        self.assertIsNone(w.stand_in_window(2, 1000 + 2 * self.SLACK - 1))
        self.assertEqual(('', 'm'),
                         w.stand_in_window(2, 1000 + 2 * self.SLACK))

    def test_stand_in_follows_and_catches_up(self):
        w = self.walks()
        w.walked('g', 1000)
        w.walked('p', 2000)
        window = w.stand_in_window(1, 2000 + self.SLACK)
        self.assertEqual(('', 'p'), window)
        w.stood_in(1, 'p')
        self.assertIsNone(w.stand_in_window(1, 2000 + self.SLACK))

    def test_stand_in_uses_newest_old_enough_checkpoint(self):
        w = self.walks()
        w.walked('g', 1000)
        w.walked('p', 1000 + split.CHECKPOINT_SPACING + 1)
        self.assertEqual(('', 'g'), w.stand_in_window(1, 1000 + self.SLACK))

    def test_close_checkpoints_merge_but_never_early(self):
        w = self.walks()
        w.walked('a', 1000)
        w.walked('b', 1001)
        w.walked('c', 1002)
        self.assertEqual(2, len(w.state['checkpoints']))
        # 'c' was reached at 1002: not before 1002 + slack.
        self.assertEqual(('', 'a'), w.stand_in_window(1, 1001 + self.SLACK))
        self.assertEqual(('', 'c'), w.stand_in_window(1, 1002 + self.SLACK))

    def test_sweep_end_and_next_sweep(self):
        w = self.walks()
        w.walked(None, 1000)            # sweep 0 done
        self.assertEqual(('', None), w.stand_in_window(1, 1000 + self.SLACK))
        w.stood_in(1, None)
        self.assertEqual({'sweep': 1, 'marker': ''}, w.stand_in(1))
        self.assertIsNone(w.stand_in_window(1, 1000 + self.SLACK))
        w.walked('k', 2000)
        self.assertEqual(('', 'k'), w.stand_in_window(1, 2000 + self.SLACK))

    def test_stand_in_finishes_an_older_sweep_first(self):
        w = self.walks()
        w.walked('k', 1000)
        w.stood_in(1, 'f')              # half-way through sweep 0
        w.walked(None, 1100)
        w.walked('c', 5000)             # sweep 1
        self.assertEqual(('f', None), w.stand_in_window(1, 5000 + self.SLACK))

    def test_old_checkpoints_are_dropped(self):
        w = self.walks(max_rank=1)
        for i in range(50):
            w.walked('n%02d' % i, 1000 + i * 100)
        newest = 1000 + 49 * 100
        self.assertLessEqual(
            len(w.state['checkpoints']),
            self.SLACK // split.CHECKPOINT_SPACING + 2)
        # The newest checkpoint old enough for rank 1 is still there.
        self.assertEqual(('', 'n43'),
                         w.stand_in_window(1, newest))


class TestProgressFiles(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.files = ProgressFiles(os.path.join(self.tmp, 'status'))
        self.migration = parse(document(migration())).migrations[0]

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_round_trip_and_unicode_names(self):
        p = self.files.open(self.migration, 'AUTH_t\u00e9', 'c/\u00e9')
        self.assertIsNone(p.problem)
        p.state['walk']['marker'] = 'caf\u00e9'
        p.count('copied', 2)
        p.record_failure('x', 'boom', False, 50.0, 10.0)
        self.assertTrue(p.save())
        self.assertFalse(p.save())     # unchanged: not written again
        again = self.files.open(self.migration, 'AUTH_t\u00e9', 'c/\u00e9')
        self.assertEqual('caf\u00e9', again.state['walk']['marker'])
        self.assertEqual(2, again.state['totals']['copied'])
        self.assertEqual(['x'], again.due_retries(50.0))
        self.assertEqual([], again.due_retries(49.0))
        entries = list(self.files.entries())
        self.assertEqual([(self.migration.signature(), 'AUTH_t\u00e9',
                           'c/\u00e9')], [e[:3] for e in entries])
        # No temporary file left behind.
        directory = os.path.dirname(entries[0][3])
        self.assertEqual([os.path.basename(entries[0][3])],
                         os.listdir(directory))

    def test_corrupt_file_starts_over_with_a_problem(self):
        path = self.files.path(self.migration.signature(), 'AUTH_test', 'c')
        os.makedirs(os.path.dirname(path))
        for text in ('{"walk": ', '[]', '{"walk": {"sweep": "x"}}'):
            with open(path, 'w') as f:
                f.write(text)
            p = self.files.open(self.migration, 'AUTH_test', 'c')
            self.assertIn('corrupted', p.problem)
            self.assertEqual({'sweep': 0, 'marker': ''}, p.state['walk'])
            self.assertTrue(p.save())
            self.assertIsNone(
                self.files.open(self.migration, 'AUTH_test', 'c').problem)

    def test_sweep_rotation(self):
        p = MigrationProgress(os.path.join(self.tmp, 'p.json'), 'label')
        p.sweep_started(10.0)
        p.count('scanned', 5)
        p.count('copied', 3)
        p.sweep_finished(20.0)
        self.assertEqual(5, p.state['last_sweep']['scanned'])
        self.assertEqual(10.0, p.state['last_sweep']['started'])
        self.assertEqual(20.0, p.state['last_sweep']['finished'])
        self.assertEqual(0, p.state['sweep']['scanned'])
        self.assertIsNone(p.state['sweep']['started'])
        self.assertEqual(5, p.state['totals']['scanned'])

    def test_prune_removes_unconfigured_migrations(self):
        p = self.files.open(self.migration, 'AUTH_test', 'c')
        p.save()
        os.makedirs(os.path.join(self.files.status_dir, 'gone'))
        self.assertEqual(['gone'], self.files.prune(
            {self.migration.signature()}))
        self.assertEqual(1, len(list(self.files.entries())))


if __name__ == '__main__':
    unittest.main()
