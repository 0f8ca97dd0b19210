"""One container row -> one decision, carried out against the remote.

``RowSyncer.handle(row, hint)`` returns an :class:`Outcome`:

* DONE: nothing more to do for this row (copied, updated, deleted, already
  current, excluded, superseded by a newer local or remote version);
* RETRY: worth another try later (a 5xx, a timeout, a local object older
  than its row because the container DB is ahead of the object servers);
* FAILED: the remote cannot take the object as it is (metadata too large,
  name too long); tried again only when the object changes.

``hint`` is what a listing of the remote said about the row's object
(:data:`UNKNOWN`, :data:`ABSENT` or a listed RemoteObject), so that one
listing can stand in for many HEADs.
"""
from swift.common.utils import Timestamp

from swift_s3_sync.crawler.rows import changed_at, is_delete
from swift_s3_sync.local_objects import LocalObjects, symlink_target
from swift_s3_sync.local_swift import LocalError, object_timestamp
from swift_s3_sync.providers.base import DATA, EQUAL, METADATA, \
    RemoteError

UNKNOWN = object()
ABSENT = object()

DONE, RETRY, FAILED = 'done', 'retry', 'failed'

# Objects up to this size that the remote lacks are read with their headers
# in one local GET.
READ_AT_ONCE = 1024 * 1024

# A listed remote copy whose Last-Modified is this much later than the row's
# last change was written after that change; listings round times down to
# the second, and the margin covers clocks that disagree slightly.
LISTING_CLOCK_MARGIN = 2.0


def excluded(mapping, name):
    """Whether ``exclude_pattern`` keeps ``name`` out of the remote."""
    return bool(mapping.exclude_regex and mapping.exclude_regex.match(name))


def not_copied(mapping, headers):
    """Why the mapping does not copy an object with these local headers
    ('symlink-skipped', 'not-selected'), or None when it does."""
    if symlink_target(headers) and not mapping.sync_symlinks:
        return 'symlink-skipped'
    if not mapping.matches(headers):
        return 'not-selected'
    return None


def listed_as_current(listed, etag, size, row):
    """Whether a listing entry shows the same bytes written after the
    row's last change: a copy that needs no HEAD."""
    return listed.etag == etag and listed.size == size and \
        listed.last_modified is not None and \
        listed.last_modified > float(changed_at(row)) + LISTING_CLOCK_MARGIN


class Outcome(object):
    __slots__ = ('status', 'action', 'reason', 'bytes')

    def __init__(self, status, action, reason='', nbytes=0):
        self.status = status
        self.action = action
        self.reason = reason
        self.bytes = nbytes

    def __repr__(self):
        return 'Outcome(%s, %s, %r)' % (self.status, self.action, self.reason)


class RowSyncer(object):

    def __init__(self, mapping, provider, local, account, container):
        self.mapping = mapping
        self.provider = provider
        self.local = local
        self.objects = LocalObjects(local)
        self.account = account
        self.container = container

    def handle(self, row, hint=UNKNOWN):
        if excluded(self.mapping, row['name']):
            return Outcome(DONE, 'excluded')
        try:
            if is_delete(row):
                return self._delete(row, hint)
            return self._copy(row, hint)
        except RemoteError as err:
            return Outcome(FAILED if err.permanent else RETRY, 'error',
                           'remote: %s' % err)
        except LocalError as err:
            return Outcome(RETRY if err.transient else FAILED, 'error',
                           'local: %s' % err)

    # -- deletes ------------------------------------------------------------
    def _delete(self, row, hint):
        if not self.mapping.propagate_delete:
            return Outcome(DONE, 'kept')
        if hint is ABSENT:
            return Outcome(DONE, 'absent')
        remote = self.provider.head(self.container, row['name'])
        if remote is None:
            return Outcome(DONE, 'absent')
        if remote.timestamp and \
                Timestamp(remote.timestamp) > changed_at(row):
            return Outcome(DONE, 'remote-newer')
        # The HEAD says what kind of object it is: no second look.
        self.provider.delete(self.container, row['name'], remote=remote)
        return Outcome(DONE, 'delete')

    # -- PUT / POST ---------------------------------------------------------
    def _read_local(self, name, hint):
        """(headers, bytes or None): a row the remote does not hold is
        read at once when it is small (one local request instead of a
        HEAD and a GET); any other is HEADed."""
        if hint is ABSENT:
            return self.local.get_if_small(self.account, self.container,
                                           name, READ_AT_ONCE)
        return self.local.head(self.account, self.container, name), None

    def _copy(self, row, hint):
        name = row['name']
        headers, data = self._read_local(name, hint)
        if headers is None:
            # Deleted since; its tombstone row comes later.
            return Outcome(DONE, 'gone')
        local_ts = object_timestamp(headers)
        if local_ts < changed_at(row):
            return Outcome(RETRY, 'stale',
                           'local object is older than its container row')
        skipped = not_copied(self.mapping, headers)
        if skipped:
            return Outcome(DONE, skipped)
        local = self.objects.describe(self.account, self.container, name,
                                      headers, local_ts.internal, data)
        if local is None:
            return Outcome(RETRY, 'symlink', 'symlink target is missing')
        self.provider.check(local)
        remote, verdict = self._remote_state(local, row, hint)
        if remote is not None and remote.timestamp and \
                Timestamp(remote.timestamp) > local_ts:
            return Outcome(DONE, 'remote-newer')
        nbytes = 0
        if verdict == DATA:
            self.provider.put(local)
            self._drop_replaced_manifest(local, remote)
            action, nbytes = 'put', local.size
        elif verdict == METADATA:
            self.provider.update_metadata(local, remote)
            action = 'post'
        else:
            action = 'noop'
        if not self.mapping.retain_local:
            if self.local.delete_version(self.account, self.container, name,
                                         local_ts.internal):
                action += '+archived'
        return Outcome(DONE, action, nbytes=nbytes)

    def _drop_replaced_manifest(self, local, remote):
        """An SLO overwritten by an object without a manifest leaves its
        saved manifest behind (S3); deletes look for one only beside an
        SLO, so it goes now, while the HEAD says what was there."""
        drop = getattr(self.provider, 'delete_manifest', None)
        if drop is None or remote is None or local.manifest is not None:
            return
        if (remote.headers or {}).get('x-static-large-object') == 'True':
            drop(self.container, local.name)

    def _remote_state(self, local, row, hint):
        """(remote object or None, verdict) using the listing when it can
        answer, a HEAD when it cannot."""
        if hint is ABSENT:
            return None, DATA
        if hint is not UNKNOWN and self.mapping.retain_local and \
                listed_as_current(hint, local.etag, local.size, row):
            # Same bytes, written after the row's last change: current.
            # Archiving deletes local data, so it always HEADs instead.
            return hint, EQUAL
        remote = self.provider.head(self.container, local.name)
        if remote is None:
            return None, DATA
        return remote, self.provider.compare(local, remote)
