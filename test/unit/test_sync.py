"""RowSyncer decisions with a fake provider and a fake local Swift."""
import re
import unittest
from types import SimpleNamespace

from swift.common.utils import Timestamp
from swift.container.backend import encode_timestamps

from swift_s3_sync.local_swift import LocalError
from swift_s3_sync.providers.base import DATA, EQUAL, METADATA, \
    RemoteError, RemoteObject
from swift_s3_sync.sync import ABSENT, DONE, FAILED, RETRY, UNKNOWN, \
    RowSyncer

T1 = Timestamp(1700000000.5)
T2 = Timestamp(1700000100.25)


def row(name='obj', ts=T1, deleted=0, meta_ts=None):
    return {'ROWID': 1, 'name': name, 'deleted': deleted, 'etag': 'e' * 32,
            'size': 3, 'created_at': encode_timestamps(ts, ts,
                                                       meta_ts or ts)}


class FakeLocal(object):
    client = None

    def __init__(self, headers=None, others=None, body=b'abc'):
        self.headers = headers
        self.others = others or {}
        self.body = body   # of 'obj'
        self.deleted = []
        self.requests = []

    def head(self, account, container, name):
        self.requests.append(('HEAD', name))
        if isinstance(self.headers, Exception):
            raise self.headers
        if name != 'obj':
            return self.others.get(name)
        return self.headers

    def get_if_small(self, account, container, name, limit):
        self.requests.append(('GET', name))
        if isinstance(self.headers, Exception):
            raise self.headers
        headers = self.headers if name == 'obj' else self.others.get(name)
        if headers is None:
            return None, None
        if name != 'obj' or 'x-object-sysmeta-symlink-target' in headers \
                or int(headers['content-length']) > limit:
            return headers, None
        return headers, self.body

    def read_to_spool(self, *args):
        raise AssertionError('the provider fake never reads bodies')

    def delete_version(self, account, container, name, ts):
        self.deleted.append((name, ts))
        return True


class FakeProvider(object):
    def __init__(self, remote=None, verdict=EQUAL, error=None):
        self.remote = remote
        self.verdict = verdict
        self.error = error
        self.calls = []

    def _maybe_fail(self):
        if self.error:
            raise self.error

    def check(self, local):
        self.calls.append('check')

    def head(self, container, name):
        self.calls.append('head')
        self._maybe_fail()
        return self.remote

    def compare(self, local, remote):
        return self.verdict

    def put(self, local):
        self.calls.append('put')
        self._maybe_fail()

    def update_metadata(self, local, remote):
        self.calls.append('post')

    def delete(self, container, name, remote=None):
        self.calls.append('delete')
        self.deleted_remote = remote
        return True

    def delete_manifest(self, container, name):
        self.calls.append('delete-manifest')


def mapping(**kw):
    values = dict(exclude_regex=None, propagate_delete=True,
                  retain_local=True, sync_symlinks=True,
                  matches=lambda headers: True)
    values.update(kw)
    return SimpleNamespace(**values)


def local_headers(ts=T1, **extra):
    headers = {'x-timestamp': ts.normal, 'x-backend-timestamp': ts.internal,
               'etag': 'e' * 32, 'content-length': '3'}
    headers.update(extra)
    return headers


class TestRowSyncer(unittest.TestCase):

    def sync(self, the_row, hint=UNKNOWN, local=None, provider=None,
             **mapping_kw):
        self.local = local or FakeLocal(local_headers())
        self.provider = provider or FakeProvider()
        syncer = RowSyncer(mapping(**mapping_kw), self.provider, self.local,
                           'AUTH_a', 'c')
        return syncer.handle(the_row, hint)

    def test_excluded_rows_touch_nothing(self):
        out = self.sync(row('tmp/x'), exclude_regex=re.compile('tmp/'))
        self.assertEqual((DONE, 'excluded'), (out.status, out.action))
        self.assertEqual([], self.provider.calls)

    def test_delete_kept_when_not_propagated(self):
        out = self.sync(row(deleted=1), propagate_delete=False)
        self.assertEqual('kept', out.action)
        self.assertEqual([], self.provider.calls)

    def test_delete_of_unlisted_object_costs_no_request(self):
        out = self.sync(row(deleted=1), hint=ABSENT)
        self.assertEqual('absent', out.action)
        self.assertEqual([], self.provider.calls)

    def test_delete_spares_a_newer_remote_copy(self):
        remote = RemoteObject('obj', 'e', 3, timestamp=T2.internal)
        out = self.sync(row(deleted=1), provider=FakeProvider(remote))
        self.assertEqual('remote-newer', out.action)
        self.assertNotIn('delete', self.provider.calls)

    def test_delete_propagates(self):
        remote = RemoteObject('obj', 'e', 3, timestamp=T1.internal)
        out = self.sync(row(deleted=1, ts=T2), provider=FakeProvider(remote))
        self.assertEqual('delete', out.action)
        self.assertEqual(['head', 'delete'], self.provider.calls)
        # The HEAD goes along: the provider need not ask what kind it is.
        self.assertIs(remote, self.provider.deleted_remote)

    def test_slo_overwritten_by_a_plain_object_drops_its_manifest(self):
        slo = RemoteObject('obj', 'f' * 32, 3, timestamp=T1.internal,
                           headers={'x-static-large-object': 'True'})
        plain = RemoteObject('obj', 'f' * 32, 3, timestamp=T1.internal,
                             headers={})
        out = self.sync(row(ts=T2), local=FakeLocal(local_headers(T2)),
                        provider=FakeProvider(slo, DATA))
        self.assertEqual('put', out.action)
        self.assertEqual(['check', 'head', 'put', 'delete-manifest'],
                         self.provider.calls)
        self.sync(row(ts=T2), local=FakeLocal(local_headers(T2)),
                  provider=FakeProvider(plain, DATA))
        self.assertEqual(['check', 'head', 'put'], self.provider.calls)

    def test_local_object_older_than_row_is_retried(self):
        out = self.sync(row(ts=T2), local=FakeLocal(local_headers(T1)))
        self.assertEqual(RETRY, out.status)
        self.assertEqual([], self.provider.calls)

    def test_gone_locally_is_done(self):
        out = self.sync(row(), local=FakeLocal(None))
        self.assertEqual((DONE, 'gone'), (out.status, out.action))

    def test_symlinks_can_be_kept_out(self):
        link = local_headers(**{'x-object-sysmeta-symlink-target': 'c/t'})
        out = self.sync(row(), local=FakeLocal(link), sync_symlinks=False)
        self.assertEqual((DONE, 'symlink-skipped'), (out.status, out.action))
        self.assertEqual([], self.provider.calls)

    def test_symlink_copies_its_target_with_the_link_timestamp(self):
        link = local_headers(**{'x-object-sysmeta-symlink-target': 'c/t'})
        target = local_headers(T1, etag='f' * 32, **{'content-length': '9'})
        target['etag'] = 'f' * 32
        provider = FakeProvider()
        put = []
        provider.put = put.append
        out = self.sync(row(), hint=ABSENT, provider=provider,
                        local=FakeLocal(link, {'t': target}))
        self.assertEqual('put', out.action)
        self.assertEqual(('obj', 'f' * 32, 9, T1.internal),
                         (put[0].name, put[0].etag, put[0].size,
                          put[0].timestamp))

    def test_symlink_to_a_missing_target_is_retried(self):
        link = local_headers(**{'x-object-sysmeta-symlink-target': 'c/t'})
        out = self.sync(row(), local=FakeLocal(link))
        self.assertEqual(RETRY, out.status)
        self.assertIn('target', out.reason)

    def test_not_selected(self):
        out = self.sync(row(), matches=lambda headers: False)
        self.assertEqual('not-selected', out.action)
        self.assertEqual([], self.provider.calls)

    def test_absent_in_listing_uploads_without_head(self):
        out = self.sync(row(), hint=ABSENT)
        self.assertEqual(('put', 3), (out.action, out.bytes))
        self.assertEqual(['check', 'put'], self.provider.calls)

    def test_absent_in_listing_is_read_in_one_local_get(self):
        provider = FakeProvider()
        put = []
        provider.put = put.append
        self.sync(row(), hint=ABSENT, provider=provider)
        self.assertEqual([('GET', 'obj')], self.local.requests)
        self.assertEqual(b'abc', put[0].open_body().read())

    def test_unknown_remote_state_is_headed_first(self):
        self.sync(row())
        self.assertEqual([('HEAD', 'obj')], self.local.requests)

    def test_absent_but_large_is_read_when_uploaded(self):
        big = local_headers(**{'content-length': str(64 * 1024 * 1024)})
        provider = FakeProvider()
        put = []
        provider.put = put.append
        self.sync(row(), hint=ABSENT, provider=provider, local=FakeLocal(big))
        with self.assertRaises(AssertionError):   # through read_to_spool
            put[0].open_body()

    def test_listed_copy_written_after_the_change_needs_no_head(self):
        listed = RemoteObject('obj', 'e' * 32, 3,
                              last_modified=float(T1) + 10)
        out = self.sync(row(), hint=listed)
        self.assertEqual('noop', out.action)
        self.assertEqual(['check'], self.provider.calls)

    def test_listed_copy_from_before_the_change_is_headed(self):
        listed = RemoteObject('obj', 'e' * 32, 3, last_modified=float(T1))
        remote = RemoteObject('obj', 'e' * 32, 3, timestamp=T1.internal,
                              headers={})
        out = self.sync(row(), hint=listed,
                        provider=FakeProvider(remote, METADATA))
        self.assertEqual('post', out.action)
        self.assertEqual(['check', 'head', 'post'], self.provider.calls)

    def test_newer_remote_copy_is_not_overwritten(self):
        remote = RemoteObject('obj', 'f' * 32, 3, timestamp=T2.internal,
                              headers={})
        out = self.sync(row(), provider=FakeProvider(remote, DATA))
        self.assertEqual('remote-newer', out.action)
        self.assertNotIn('put', self.provider.calls)

    def test_archive_deletes_the_copied_version(self):
        out = self.sync(row(), hint=ABSENT, retain_local=False)
        self.assertEqual('put+archived', out.action)
        self.assertEqual([('obj', T1.internal)], self.local.deleted)

    def test_archive_never_trusts_a_listing_alone(self):
        listed = RemoteObject('obj', 'e' * 32, 3,
                              last_modified=float(T1) + 10)
        remote = RemoteObject('obj', 'e' * 32, 3, timestamp=T1.internal,
                              headers={})
        out = self.sync(row(), hint=listed, retain_local=False,
                        provider=FakeProvider(remote, EQUAL))
        self.assertIn('head', self.provider.calls)
        self.assertEqual('noop+archived', out.action)

    def test_errors_are_classified(self):
        out = self.sync(row(), provider=FakeProvider(
            error=RemoteError('SlowDown', 503)))
        self.assertEqual(RETRY, out.status)
        self.assertIn('503', out.reason)
        out = self.sync(row(), provider=FakeProvider(
            error=RemoteError('AccessDenied', 403, permanent=True)))
        self.assertEqual(FAILED, out.status)
        out = self.sync(row(), local=FakeLocal(LocalError('timeout')))
        self.assertEqual(RETRY, out.status)
