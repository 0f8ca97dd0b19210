"""swift-s3-migrator, "aws_bucket": "/*": every bucket (container) of the
source into the local container of the same name, with fakes for the
source and the local cluster (see test_migrator_copy)."""
import json
import os
import shutil
import tempfile
import unittest

from swift_s3_sync.config import parse_config
from swift_s3_sync.migrator import daemon, source
from swift_s3_sync.migrator.local import FOLLOWED, LocalStore, \
    followed_record
from swift_s3_sync.providers.base import RemoteError
from test.unit.test_migrator_copy import NOW, FakeSource, FakeSwift, Logger


class BucketLister(object):
    """The source's account: what list_buckets and container_headers ask
    the provider made for bucket ""."""

    def __init__(self, buckets, headers=None, account=None):
        self.buckets = buckets
        self.headers = headers or {}
        self.account = account or {}
        self.listed = 0
        self.headed = []
        self.closed = False

    def list_buckets(self):
        self.listed += 1
        if isinstance(self.buckets, Exception):
            raise self.buckets
        return list(self.buckets)

    def container_headers(self, container):
        self.headed.append(container)
        return dict(self.headers.get(container, {}))

    def account_headers(self):
        return dict(self.account)

    def close(self):
        self.closed = True


class PerContainerLocator(object):
    """A 3-replica ring where this node holds the replicas of the
    containers in ``mine`` (a one-host cluster) and none of the others."""

    def __init__(self, mine):
        self.mine = set(mine)
        outer = self

        class Ring(object):
            def get_nodes(self, account, container):
                held = container in outer.mine
                return 0, [{'id': i, 'mine': held} for i in range(3)]
        self.ring = Ring()

    @staticmethod
    def _is_mine(node):
        return node['mine']


class AllLocator(object):
    def __init__(self):
        class Ring(object):
            def get_nodes(self, account, container):
                return 0, [{'id': 0}]
        self.ring = Ring()

    @staticmethod
    def _is_mine(node):
        return True


class EveryBucketTestCase(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.swift = FakeSwift(clock=lambda: NOW)
        self.store = LocalStore(self.swift)
        self.logger = Logger()
        self.sources = {}
        self.made = []

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def config(self, *migrations, **settings):
        settings.setdefault('status_dir', os.path.join(self.tmp, 'mig'))
        return parse_config(json.dumps({
            'status_dir': os.path.join(self.tmp, 'sync'),
            'migrations': list(migrations), 'migrator_settings': settings}))

    def migrator(self, config, locator=None):
        def factory(migration, bucket, container):
            self.made.append((bucket, container))
            return self.sources[bucket]
        return daemon.Migrator('sync.json', config, self.logger,
                               store=self.store,
                               locator=locator or AllLocator(),
                               provider_factory=factory,
                               clock=lambda: NOW)

    def bucket(self, name, *objects):
        fake = FakeSource()
        # The source's container metadata, as the account's lister has it.
        fake.container_headers = \
            lambda container: self.sources[''].container_headers(container)
        for obj in objects:
            fake.add(obj, obj.encode())
        self.sources[name] = fake
        return fake

    def local_names(self, container):
        return sorted(self.swift.containers.get(('AUTH_test', container),
                                                {}))


S3_ALL = {'account': 'AUTH_test', 'aws_bucket': '/*',
          'aws_endpoint': 'http://s3.example.com',
          'aws_identity': 'i', 'aws_secret': 's3cr3t'}
SWIFT_ALL = {'account': 'AUTH_test', 'aws_bucket': '/*', 'protocol': 'swift',
             'aws_endpoint': 'http://swift.example.com/auth/v1.0',
             'aws_identity': 'u', 'aws_secret': 's3cr3t'}


class TestEveryBucketOfS3(EveryBucketTestCase):

    def test_each_bucket_into_its_own_container_empty_ones_too(self):
        self.sources[''] = BucketLister(['alpha', 'beta', 'empty'])
        self.bucket('alpha', 'a1', 'a2', 'a3')
        self.bucket('beta', 'b1')
        self.bucket('empty')
        config = self.config(dict(S3_ALL, storage_policy='gold'),
                             items_chunk=2)
        total = self.migrator(config).run_once()
        self.assertEqual(4, total.actions['copied'])
        self.assertEqual(['a1', 'a2', 'a3'], self.local_names('alpha'))
        self.assertEqual(['b1'], self.local_names('beta'))
        self.assertEqual([], self.local_names('empty'))
        self.assertIn(('AUTH_test', 'empty'), self.swift.containers)
        # Created with the migration's policy; S3 buckets have no
        # container metadata to bring.
        for name in ('alpha', 'beta', 'empty'):
            self.assertEqual({'X-Storage-Policy': 'gold'},
                             self.swift.container_headers[
                                 ('AUTH_test', name)])
        self.assertEqual([], self.sources[''].headed)
        # The bucket listing is one request per pass; each bucket its own
        # provider, its own progress file.
        self.assertEqual(1, self.sources[''].listed)
        self.assertEqual({('', ''), ('alpha', 'alpha'), ('beta', 'beta'),
                          ('empty', 'empty')}, set(self.made))
        files = {(a, c) for _, a, c, _ in self._files(config).entries()}
        self.assertEqual({('AUTH_test', 'alpha'), ('AUTH_test', 'beta'),
                          ('AUTH_test', 'empty')}, files)
        stats = self.logger.text('stats')
        self.assertIn('migration0.copied_objects', stats)
        self.assertEqual('', self.logger.text('error'))

        # A second pass writes nothing; a new bucket is picked up.
        puts = self.swift.count('PUT')
        self.sources[''].buckets.append('gamma')
        self.bucket('gamma', 'g1')
        total = self.migrator(config).run_once()
        self.assertEqual(1, total.actions['copied'])
        self.assertEqual(4, total.actions['equal'])
        self.assertEqual(puts + 1, self.swift.count('PUT'))
        self.assertEqual(['g1'], self.local_names('gamma'))

    def test_a_bucket_gone_from_the_source_takes_its_copies(self):
        self.sources[''] = BucketLister(['docs', 'pics'])
        self.bucket('docs', 'd1', 'd2')
        self.bucket('pics', 'p1')
        config = self.config(S3_ALL)
        self.migrator(config).run_once()
        # A client writes one object here and changes a copy.
        self.swift.put_local('AUTH_test', 'docs', 'mine', b'here', NOW - 1)
        self.swift.post('AUTH_test', 'docs', 'd2', {'x-object-meta-a': 'b'})
        # "pics" is missing from a lagging listing only; "docs" is gone.
        self.sources[''].buckets = []
        self.sources['docs'].bucket_gone = lambda bucket: True
        self.sources['pics'].bucket_gone = lambda bucket: False
        total = self.migrator(config).run_once()
        self.assertEqual(1, total.actions['deleted'])
        self.assertEqual(2, total.actions['kept'])   # d2, mine
        self.assertEqual(['d2', 'mine'], self.local_names('docs'))
        self.assertEqual(['p1'], self.local_names('pics'))
        self.assertIn('docs: gone from the source', self.logger.text('info'))
        files = {c for _, _, c, _ in self._files(config).entries()}
        self.assertEqual({'pics'}, files)
        # Not swept again: what is left is the clients'.
        heads = self.swift.count('HEAD')
        total = self.migrator(config).run_once()
        self.assertEqual(heads, self.swift.count('HEAD'))
        self.assertEqual(['d2', 'mine'], self.local_names('docs'))
        # Back at the source: migrated again.
        self.sources[''].buckets = ['docs', 'pics']
        total = self.migrator(config).run_once()
        self.assertEqual(1, total.actions['copied'])
        self.assertEqual(['d1', 'd2', 'mine'], self.local_names('docs'))

    def _files(self, config):
        from swift_s3_sync.migrator.status import ProgressFiles
        return ProgressFiles(config.migrator.status_dir)

    def test_existing_local_container_is_used_as_it_is(self):
        self.swift.put_local('AUTH_test', 'alpha', 'mine', b'local', NOW)
        self.swift.container_headers[('AUTH_test', 'alpha')] = {'old': 'x'}
        self.sources[''] = BucketLister(['alpha'])
        self.bucket('alpha', 'a1')
        self.migrator(self.config(dict(S3_ALL, storage_policy='gold')))\
            .run_once()
        self.assertEqual(['a1', 'mine'], self.local_names('alpha'))
        self.assertEqual({'old': 'x'}, self.swift.container_headers[
            ('AUTH_test', 'alpha')])
        self.assertEqual(0, sum(1 for m, c, o in self.swift.requests
                                if m == 'PUT' and o is None))

    def test_split_across_nodes_by_each_containers_ring(self):
        self.sources[''] = BucketLister(['alpha', 'beta'])
        self.bucket('alpha', 'a1')
        self.bucket('beta', 'b1')
        self.migrator(self.config(S3_ALL),
                      PerContainerLocator(['beta'])).run_once()
        self.assertEqual(['b1'], self.local_names('beta'))
        self.assertNotIn(('AUTH_test', 'alpha'), self.swift.containers)
        self.assertNotIn(('alpha', 'alpha'), self.made)

    def test_bucket_listing_error_is_one_line_others_go_on(self):
        self.sources[''] = BucketLister(RemoteError(
            'AccessDenied (list_buckets)', 403))
        self.bucket('one', 'x')
        config = self.config(S3_ALL, {
            'account': 'AUTH_test', 'aws_bucket': 'one',
            'aws_identity': 'i', 'aws_secret': 's3cr3t'})
        self.migrator(config).run_once()
        errors = self.logger.text('error')
        self.assertIn('migrations[0] (AUTH_test/*): skipped this pass: '
                      '403 AccessDenied (list_buckets)', errors)
        self.assertNotIn('s3cr3t', errors)
        self.assertEqual(['x'], self.local_names('one'))

    def test_a_name_swift_cannot_hold_is_skipped_with_a_line(self):
        self.sources[''] = BucketLister(['x' * 300, 'ok'])
        self.bucket('ok', 'o')
        self.migrator(self.config(S3_ALL)).run_once()
        self.assertIn('longer than 256 bytes', self.logger.text('error'))
        self.assertEqual(['o'], self.local_names('ok'))

    def test_a_failing_bucket_does_not_stop_the_others(self):
        self.sources[''] = BucketLister(['bad', 'good'])
        self.bucket('good', 'g')
        broken = self.bucket('bad', 'b')

        def fail(*args, **kwargs):
            raise RemoteError('NoSuchBucket (list_objects_v2)', 404)
        broken.list = fail
        self.migrator(self.config(S3_ALL)).run_once()
        self.assertIn('bad: pass stopped: 404 NoSuchBucket',
                      self.logger.text('error'))
        self.assertEqual(['g'], self.local_names('good'))


class TestEveryContainerOfSwift(EveryBucketTestCase):

    def test_created_containers_get_metadata_and_acls(self):
        self.sources[''] = BucketLister(['docs', 'pics'], headers={
            'docs': {'x-container-meta-colour': 'bl\u00fc',
                     'x-container-read': '.r:*,.rlistings',
                     'x-container-write': 'AUTH_other'},
            'pics': {}})
        self.bucket('docs', 'readme')
        self.bucket('pics')
        self.migrator(self.config(dict(SWIFT_ALL, storage_policy='gold')))\
            .run_once()
        docs = {'x-container-meta-colour': 'bl\u00fc',
                'x-container-read': '.r:*,.rlistings',
                'x-container-write': 'AUTH_other'}
        self.assertEqual(dict(docs, **{
            'X-Storage-Policy': 'gold',
            FOLLOWED['container']: followed_record(docs)}),
            self.swift.container_headers[('AUTH_test', 'docs')])
        self.assertEqual({'X-Storage-Policy': 'gold'},
                         self.swift.container_headers[('AUTH_test', 'pics')])
        self.assertEqual(['readme'], self.local_names('docs'))
        # Asked when a container is created and once per sweep after
        # that, not per object.
        self.migrator(self.config(SWIFT_ALL)).run_once()
        self.assertEqual(['docs'] * 3 + ['pics'] * 3,
                         sorted(self.sources[''].headed))

    def test_changes_at_the_source_are_followed(self):
        self.sources[''] = BucketLister(['docs'], headers={
            'docs': {'x-container-meta-colour': 'blue'}},
            account={'x-account-meta-team': 'r\u00e9seau'})
        self.bucket('docs', 'readme')
        self.migrator(self.config(SWIFT_ALL)).run_once()
        posts = [r for r in self.swift.requests if r[0] == 'POST']
        self.sources[''].headers['docs'] = {
            'x-container-meta-colour': 'gr\u00fcn',
            'x-container-read': '.r:*'}
        self.migrator(self.config(SWIFT_ALL)).run_once()
        meta = self.swift.metadata[('AUTH_test', 'docs')]
        self.assertEqual('gr\u00fcn', meta['x-container-meta-colour'])
        self.assertEqual('.r:*', meta['x-container-read'])
        self.assertEqual('r\u00e9seau',
                         self.swift.metadata[('AUTH_test', None)][
                             'x-account-meta-team'])
        # Unchanged values cost no POST: one for the container's change.
        self.migrator(self.config(SWIFT_ALL)).run_once()
        self.assertEqual(len(posts) + 1, len(
            [r for r in self.swift.requests if r[0] == 'POST']))

    def test_removed_at_the_source_removed_here_unless_changed_here(self):
        self.sources[''] = BucketLister(['docs'], headers={'docs': {
            'x-container-meta-colour': 'blue',
            'x-container-meta-size': 'big',
            'x-container-meta-owner': 'ops',
            'x-container-read': '.r:*,.rlistings'}},
            account={'x-account-meta-team': 'red',
                     'x-account-meta-floor': '3',
                     source.ACCOUNT_ACL: '{"read-only":["AUTH_r"]}'})
        self.bucket('docs', 'readme')
        self.migrator(self.config(SWIFT_ALL)).run_once()
        # A client here changes one value, adds one and removes one.
        self.swift.make_request('POST', ('AUTH_test', 'docs', None), {
            'x-container-meta-size': 'small',
            'x-container-meta-local': 'mine',
            'x-container-meta-owner': ''}, (2,))
        self.swift.make_request('POST', ('AUTH_test', None, None), {
            'x-account-meta-floor': '4'}, (2,))
        # The source revokes its public read and drops its metadata.
        self.sources[''].headers['docs'] = {}
        self.sources[''].account = {}
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test', 'docs').headers
        self.assertNotIn('x-container-read', headers)
        self.assertNotIn('x-container-meta-colour', headers)
        self.assertNotIn('x-container-meta-owner', headers)
        self.assertEqual('small', headers['x-container-meta-size'])
        self.assertEqual('mine', headers['x-container-meta-local'])
        account = self.swift.metadata[('AUTH_test', None)]
        self.assertNotIn('x-account-meta-team', account)
        self.assertNotIn(source.ACCOUNT_ACL, account)
        self.assertEqual('4', account['x-account-meta-floor'])
        self.assertIn(('info', "migrations[0] (AUTH_test/*): docs: followed "
                       "the source's "
                       "x-container-meta-colour (removed), "
                       "x-container-read (removed)"), self.logger.lines)

    def test_a_change_here_stands_until_the_source_changes(self):
        self.sources[''] = BucketLister(['docs'], headers={'docs': {
            'x-container-meta-colour': 'blue',
            'x-container-read': '.r:*'}})
        self.bucket('docs', 'readme')
        self.migrator(self.config(SWIFT_ALL)).run_once()
        self.swift.make_request('POST', ('AUTH_test', 'docs', None), {
            'x-container-meta-colour': 'red', 'x-container-read': ''}, (2,))
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test', 'docs').headers
        self.assertEqual('red', headers['x-container-meta-colour'])
        self.assertNotIn('x-container-read', headers)
        # Changed at the source after that: the source's is newer.
        self.sources[''].headers['docs'] = {
            'x-container-meta-colour': 'green', 'x-container-read': '.r:*'}
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test', 'docs').headers
        self.assertEqual('green', headers['x-container-meta-colour'])
        self.assertNotIn('x-container-read', headers)

    def test_segments_containers_follow_the_acls(self):
        self.sources[''] = BucketLister(['docs'], headers={'docs': {
            'x-container-meta-colour': 'blue',
            'x-container-read': '.r:*', 'x-container-write': 'AUTH_w'}})
        self.bucket('docs', 'readme')
        self.swift.put_local('AUTH_test', 'docs_segments', 'x/1/00000000',
                             b'seg', NOW - 100)
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test',
                                             'docs_segments').headers
        self.assertEqual('.r:*', headers['x-container-read'])
        self.assertEqual('AUTH_w', headers['x-container-write'])
        self.assertNotIn('x-container-meta-colour', headers)
        self.sources[''].headers['docs'] = {'x-container-write': 'AUTH_w'}
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test',
                                             'docs_segments').headers
        self.assertNotIn('x-container-read', headers)
        self.assertEqual('AUTH_w', headers['x-container-write'])

    def test_a_segments_container_that_is_a_source_bucket_is_its_own(self):
        self.sources[''] = BucketLister(['docs', 'docs_segments'], headers={
            'docs': {'x-container-read': '.r:*'},
            'docs_segments': {'x-container-read': 'AUTH_seg'}})
        self.bucket('docs', 'readme')
        self.bucket('docs_segments', 'part')
        for _ in range(2):
            self.migrator(self.config(SWIFT_ALL)).run_once()
            headers = self.swift._head_container('AUTH_test',
                                                 'docs_segments').headers
            self.assertEqual('AUTH_seg', headers['x-container-read'])

    def test_versioned_writes_once_the_versions_container_is_here(self):
        versioning = {source.VERSIONS_LOCATION: 'docs_versions',
                      source.VERSIONS_MODE: 'history'}
        self.sources[''] = BucketLister(['docs'], headers={
            'docs': dict(versioning)})
        self.bucket('docs', 'readme')
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test', 'docs').headers
        self.assertNotIn(source.VERSIONS_LOCATION, headers)
        self.assertIn('docs_versions, which is not here yet',
                      self.logger.text('warning'))
        # The versions container migrated (or made) here: set.
        self.swift.put_local('AUTH_test', 'docs_versions', 'v', b'', NOW)
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test', 'docs').headers
        self.assertEqual('docs_versions', headers[source.VERSIONS_LOCATION])
        self.assertEqual('history', headers[source.VERSIONS_MODE])
        # Turned off at the source: off here.
        self.sources[''].headers['docs'] = {}
        self.migrator(self.config(SWIFT_ALL)).run_once()
        headers = self.swift._head_container('AUTH_test', 'docs').headers
        self.assertNotIn(source.VERSIONS_LOCATION, headers)
        self.assertNotIn(source.VERSIONS_MODE, headers)

    def test_versioning_as_sysmeta(self):
        self.assertEqual({source.VERSIONS_LOCATION: 'v',
                          source.VERSIONS_MODE: 'stack'},
                         source.versioning_sysmeta({
                             'x-versions-location': 'v'}))
        self.assertEqual({source.VERSIONS_LOCATION: 'h',
                          source.VERSIONS_MODE: 'history'},
                         source.versioning_sysmeta({
                             'x-history-location': 'h'}))
        self.assertEqual({}, source.versioning_sysmeta({
            'x-versions-location': ''}))

    def test_single_container_migration_brings_them_too(self):
        lister = BucketLister([], headers={
            'reports': {'x-container-meta-owner': 'finance',
                        'x-container-read': 'AUTH_audit'}})
        self.bucket('reports', 'q1')
        self.sources['reports'].container_headers = lister.container_headers
        self.migrator(self.config(dict(SWIFT_ALL, aws_bucket='reports')))\
            .run_once()
        reports = {'x-container-meta-owner': 'finance',
                   'x-container-read': 'AUTH_audit'}
        self.assertEqual(dict(reports, **{
            FOLLOWED['container']: followed_record(reports)}),
            self.swift.container_headers[('AUTH_test', 'reports')])

    def test_segments_containers_get_the_acls_only(self):
        m = daemon.Migrator('sync.json', self.config(SWIFT_ALL), Logger(),
                            store=self.store, locator=AllLocator(),
                            provider_factory=lambda *a: None)
        options = m._copy_options(m.config.migrations[0], lambda: {
            'x-container-meta-a': 'b', 'x-container-read': 'AUTH_x',
            'x-container-write': 'AUTH_y'})
        self.assertEqual({'x-container-read': 'AUTH_x',
                          'x-container-write': 'AUTH_y'},
                         options.segments_headers())
        self.assertIsNone(m._copy_options(
            m.config.migrations[0]).segments_headers)

    def test_migrator_segments_in_a_segments_container_are_left_alone(self):
        # The source account has "docs_segments" (its own segments); the
        # migrator keeps the segments of the large objects it copied into
        # "docs" there too.  Those are not deleted, not even HEADed.
        ours = 'big/1699990000.00000/00000000'
        self.swift.put_local('AUTH_test', 'docs_segments', ours, b'seg',
                             NOW - 100)
        self.sources[''] = BucketLister(['docs_segments'])
        self.bucket('docs_segments', 'big/1/2/00000000')
        total = self.migrator(self.config(SWIFT_ALL)).run_once()
        self.assertEqual(1, total.actions['copied'])
        self.assertEqual(1, total.actions['kept'])
        self.assertEqual(['big/1/2/00000000', ours],
                         self.local_names('docs_segments'))
        self.assertEqual(0, self.swift.count('HEAD', ours))


class TestEnsureContainer(unittest.TestCase):

    def test_headers_asked_only_for_a_container_it_creates(self):
        swift = FakeSwift()
        store = LocalStore(swift)
        asked = []

        def headers():
            asked.append(1)
            return {'x-container-meta-n\u00e4me': 'v\u00e4lue'}
        self.assertTrue(store.ensure_container('A', 'new', 'gold', headers))
        self.assertFalse(store.ensure_container('A', 'new', 'gold', headers))
        self.assertEqual({'X-Storage-Policy': 'gold',
                          'x-container-meta-n\u00e4me': 'v\u00e4lue',
                          FOLLOWED['container']: followed_record(
                              {'x-container-meta-n\u00e4me': 'v\u00e4lue'})},
                         swift.container_headers[('A', 'new')])
        swift.put_local('A', 'old', 'x', b'x', NOW)
        self.assertFalse(LocalStore(swift).ensure_container(
            'A', 'old', 'gold', headers))
        self.assertEqual(1, len(asked))


class FakeCall(object):
    """Stands in for a provider's _call: answers by operation."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, op, *args, **kwargs):
        self.calls.append((op, args, kwargs))
        answer = self.answers[op]
        return answer.pop(0) if isinstance(answer, list) else answer


class TestSourceHelpers(unittest.TestCase):

    def migration(self, **overrides):
        entry = dict(S3_ALL, **overrides)
        return parse_config(json.dumps({
            'status_dir': '/s', 'migrations': [entry]})).migrations[0]

    def test_s3_bucket_listing_follows_continuation(self):
        provider = source.source_provider(self.migration(), '', '')
        provider._call = FakeCall({'list_buckets': [
            {'Buckets': [{'Name': 'b'}, {'Name': 'a'}],
             'ContinuationToken': 'next'},
            {'Buckets': [{'Name': 'c'}]}]})
        self.assertEqual(['a', 'b', 'c'], source.list_buckets(provider))
        self.assertEqual({'ContinuationToken': 'next'},
                         provider._call.calls[1][2])
        self.assertEqual({}, source.container_headers(provider, 'a'))
        provider.close()

    def test_swift_account_listing_and_container_headers(self):
        from swift_s3_sync.providers.swift_wire import _Reply
        provider = source.source_provider(self.migration(**{
            'protocol': 'swift',
            'aws_endpoint': 'http://127.0.0.1:9/auth/v1.0'}), '', '')
        provider._call = FakeCall({
            'get_account': _Reply(({}, [{'name': 'z'}, {'name': 'c\u00e9'}]),
                                  200, {}),
            'head_container': [
                _Reply(None, 204, {'x-container-meta-a': '\u00e9',
                                   'x-container-read': '.r:*',
                                   'x-container-object-count': '3',
                                   'x-storage-policy': 'gold',
                                   'x-container-meta-empty': ''}),
                _Reply(None, 404, {})]})
        self.assertEqual(['c\u00e9', 'z'], source.list_buckets(provider))
        self.assertEqual({'full_listing': True}, provider._call.calls[0][2])
        derived = source.derived_provider(provider, self.migration(
            protocol='swift', aws_endpoint='http://127.0.0.1:9/auth/v1.0'),
            'c\u00e9', 'c\u00e9')
        self.assertEqual({'x-container-meta-a': '\u00e9',
                          'x-container-read': '.r:*'},
                         source.container_headers(derived, 'c\u00e9'))
        self.assertEqual(('c\u00e9',), provider._call.calls[1][1])
        self.assertEqual({}, source.container_headers(derived, 'c\u00e9'))
        provider.close()

    def test_swift_account_metadata_and_acl(self):
        from swift_s3_sync.providers.swift_wire import _Reply
        provider = source.source_provider(self.migration(**{
            'protocol': 'swift',
            'aws_endpoint': 'http://127.0.0.1:9/auth/v1.0'}), '', '')
        acl = '{"read-only":["AUTH_reader"]}'
        provider._call = FakeCall({'head_account': _Reply(None, 204, {
            'x-account-meta-team': 'r\u00e9seau',
            'x-account-access-control': acl,
            'x-account-container-count': '3'})})
        self.assertEqual({'x-account-meta-team': 'r\u00e9seau',
                          source.ACCOUNT_ACL: acl},
                         source.account_headers(provider))
        provider.close()

    def test_object_count_of_a_swift_container(self):
        from swift_s3_sync.providers.swift_wire import _Reply
        migration = self.migration(
            protocol='swift', aws_endpoint='http://127.0.0.1:9/auth/v1.0',
            aws_bucket='docs')
        provider = source.source_provider(migration, 'docs', 'docs')
        provider._call = FakeCall({'head_container': [
            _Reply(None, 204, {'x-container-object-count': '42'}),
            _Reply(None, 404, {})]})
        self.assertEqual(42, source.object_count(provider, 'docs'))
        self.assertEqual(('docs',), provider._call.calls[0][1])
        self.assertIsNone(source.object_count(provider, 'docs'))
        provider.close()
        s3 = source.source_provider(self.migration(aws_bucket='b'), 'b', 'b')
        self.assertIsNone(source.object_count(s3, 'b'))
        s3.close()

    def test_derived_providers_share_the_connections(self):
        m = self.migration()
        base = source.source_provider(m, '', '')
        one = source.derived_provider(base, m, 'one', 'one')
        two = source.derived_provider(base, m, 'two', 'two')
        self.assertIs(base.client, one.client)
        self.assertIs(base.client, two.client)
        self.assertEqual(('', 'one', 'two'), (
            base.mapping.aws_bucket, one.mapping.aws_bucket,
            two.mapping.aws_bucket))
        base.close()
        sm = self.migration(protocol='swift',
                            aws_endpoint='http://127.0.0.1:9/auth/v1.0')
        base = source.source_provider(sm, '', '')
        one = source.derived_provider(base, sm, 'one', 'one')
        self.assertIs(base._pool, one._pool)
        self.assertEqual('one', one.remote_container('one'))
        base.close()

    def test_the_daemon_makes_one_base_per_source(self):
        config = parse_config(json.dumps({
            'status_dir': '/s', 'migrations': [S3_ALL],
            'migrator_settings': {'status_dir': '/m'}}))
        m = daemon.Migrator('sync.json', config, Logger(),
                            store=object(), locator=AllLocator())
        migration = config.migrations[0]
        lister = m.provider(migration, '', '')
        first = m.provider(migration, 'a', 'a')
        self.assertIs(first, m.provider(migration, 'a', 'a'))
        self.assertIs(lister.client, first.client)
        self.assertEqual('a', first.mapping.aws_bucket)
        closed = []
        lister.close = lambda: closed.append('base')
        first.close = lambda: closed.append('derived')
        m._close_providers()
        self.assertEqual(['base'], closed)


if __name__ == '__main__':
    unittest.main()
