"""LocalSwift.delete_version: an archive deletes only the version it
copied, and never takes an older answer for "something newer is there"."""
import unittest

from swift.common.swob import HeaderKeyDict

from swift_s3_sync.local_swift import LocalError, LocalSwift


class Response(object):
    def __init__(self, status, headers=None):
        self.status_int = status
        self.headers = HeaderKeyDict(headers or {})


class FakeClient(object):
    """HEADs answer with ``head_ts`` (or 404); DELETEs are recorded."""

    def __init__(self, head_ts):
        self.head_ts = head_ts
        self.deletes = []

    def make_path(self, account, container, name):
        return '/v1/%s/%s/%s' % (account, container, name)

    def make_request(self, method, path, headers, acceptable, params=None):
        if method == 'HEAD':
            if self.head_ts is None:
                return Response(404)
            return Response(200, {'X-Timestamp': self.head_ts,
                                  'X-Backend-Timestamp': self.head_ts})
        self.deletes.append(headers['X-Timestamp'])
        return Response(204)


class TestDeleteVersion(unittest.TestCase):

    def delete(self, head_ts, copied='1700000000.00000'):
        client = FakeClient(head_ts)
        return LocalSwift(client).delete_version('AUTH_a', 'c', 'o',
                                                 copied), client.deletes

    def test_the_copied_version_is_deleted(self):
        self.assertEqual((True, ['1700000000.00000_0000000000000001']),
                         self.delete('1700000000.00000'))

    def test_a_newer_version_is_left_for_its_own_row(self):
        self.assertEqual((False, []), self.delete('1700000005.00000'))
        self.assertEqual((False, []), self.delete(None))

    def test_an_older_answer_is_a_replica_behind_and_retried(self):
        # After a node outage its copy is older than the one just copied:
        # "not deleted, done" would leave the object local for good.
        with self.assertRaises(LocalError) as caught:
            self.delete('1699999990.00000')
        self.assertTrue(caught.exception.transient)
