"""The migrated marks: when a container (or a "/*" account) counts as
migrated for cloud-shunt, and when the migrator sets or removes them."""
import unittest

from swift_s3_sync.migrator import done
from test.unit.test_migrator_copy import NOW, MigrationTestCase, \
    migration_config
from swift_s3_sync.migrator.split import Share
from swift_s3_sync.providers.base import RemoteError


def sysmeta(marks):
    """get_container_info's sysmeta for marks {index: value}."""
    return {'swift-s3-migrated-%d' % i: v for i, v in marks.items()}


class TestMarks(unittest.TestCase):

    def setUp(self):
        self.migration = migration_config().migrations[0]
        self.mark = done.container_mark(self.migration, 3, NOW)

    def test_every_replica_index_marked(self):
        self.assertTrue(done.container_migrated(
            sysmeta({0: self.mark, 1: self.mark, 2: self.mark}),
            self.migration))

    def test_a_missing_index_other_migration_or_garbage(self):
        other = migration_config(prefix='p/').migrations[0]
        for marks in ({0: self.mark, 1: self.mark},
                      {0: self.mark, 1: self.mark, 2: 'garbage'},
                      {0: self.mark, 1: self.mark,
                       2: done.container_mark(other, 3, NOW)},
                      {0: self.mark, 1: self.mark, 2: self.mark.replace(
                          ' 3 ', ' 4 ')},
                      {}):
            self.assertFalse(done.container_migrated(
                sysmeta(marks), self.migration), marks)
        self.assertFalse(done.container_migrated(None, self.migration))

    def test_account_mark(self):
        key = done.ACCOUNT_MARK.lower()[len('x-account-sysmeta-'):]
        self.assertTrue(done.account_migrated(
            {key: self.migration.signature()}, self.migration))
        self.assertFalse(done.account_migrated({key: 'x'}, self.migration))
        self.assertFalse(done.account_migrated({}, self.migration))


class TestRunnerMarks(MigrationTestCase):

    def marks(self):
        return self.swift.get_container_metadata(
            self.ACCOUNT, self.CONTAINER, done.CONTAINER_MARK)

    def test_clean_sweep_marks_this_nodes_indexes(self):
        self.source.add('a', b'A')
        runner = self.runner(share=Share([0, 2], 3))
        self.sweep(runner)
        marks = self.marks()
        self.assertEqual({'0', '2'}, set(marks))
        self.assertTrue(marks['0'].startswith(
            runner.migration.signature() + ' 3 '))

    def test_a_failure_or_a_young_object_takes_the_mark_away(self):
        self.source.add('a', b'A')
        self.sweep(self.runner())
        self.assertEqual({'0'}, set(self.marks()))
        self.source.add('b', b'B')
        self.source.fail_get['b'] = RemoteError('boom', 500)
        self.sweep(self.runner())
        self.assertEqual({}, self.marks())
        del self.source.fail_get['b']
        self.source.add('young', b'Y', last_modified=NOW)
        self.now += 400
        self.sweep(self.runner(older_than=3600))
        self.assertEqual({}, self.marks())
        self.sweep(self.runner())
        self.assertEqual({'0'}, set(self.marks()))
