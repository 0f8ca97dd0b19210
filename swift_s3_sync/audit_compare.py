"""The audit's comparison: one container's DB rows beside its remote listing.

Both sides are walked in name order at the same time (the DB through
``crawler.by_name``, the remote through ``provider.list``), so a container
costs one local read and one remote listing request per 1,000 names, and
memory does not grow with its size.  Each name is judged first from what
the two sides show (:func:`judge`); only names the listing cannot settle are
*checked* with a local HEAD and at most one remote HEAD (:meth:`Checker.
check`), up to ``max_heads`` remote HEADs per container.

What a listing can settle, and what it cannot:

* A live row whose name the listing shows with the same ETag and size,
  written more than ``sync.LISTING_CLOCK_MARGIN`` (2 s) after the row's last
  change, is in sync: the daemon trusts the same evidence.  S3 listings
  carry no metadata and no recorded Swift timestamp, so "older" can only
  mean "written before the local change" (Last-Modified against the row's
  newest timestamp); a remote copy written before it, or within the margin,
  is checked.  So are rows whose listing ETag is not the Swift one: SLOs and
  DLOs on S3 (a multipart or whole-object ETag), symlinks (the remote holds
  the target's bytes) and every object of an ``aws:kms`` mapping.
* A live row the listing does not show is missing (a local HEAD says
  whether the object still exists and whether the mapping copies it).
* A tombstone whose name the listing shows is extra when the copy was
  written before the delete; otherwise a HEAD reads the recorded timestamp.
* A listed name without any row is extra; no HEAD is needed.
* A check compares as the daemon does: the local object described like the
  daemon describes it, ``provider.compare()`` against the remote HEAD, and a
  remote copy recorded newer than the local object is never called stale.
* With ``metadata`` (``--metadata``) every object on both sides is checked,
  so metadata changes the listing cannot show are found too.

Policy is the mapping's: rows matching ``exclude_pattern``, rows changed
less than ``copy_after`` (or ``grace``) seconds ago, objects
``selection_criteria`` or ``sync_symlinks`` leave out, and remote copies a
mapping keeps on purpose (``propagate_delete`` false, archives) are counted
but are not differences.
"""
import time

from swift.common.utils import Timestamp

from swift_s3_sync.crawler.rows import changed_at, is_delete, row_etag
from swift_s3_sync.local_objects import LocalObjects
from swift_s3_sync.local_swift import LocalError, object_timestamp
from swift_s3_sync.providers.base import DATA, METADATA, RemoteError
from swift_s3_sync.sync import (
    LISTING_CLOCK_MARGIN, excluded, listed_as_current, not_copied)

# Differences: the remote is not what the mapping promises.
MISSING = 'missing'            # should be remote, is not
EXTRA = 'extra'                # remote, should not be
STALE = 'stale'                # remote bytes older than the local object
METADATA_DIFF = 'metadata'     # same bytes, metadata out of date
REMOTE_NEWER = 'remote_newer'  # remote differs and is recorded newer
UNVERIFIED = 'unverified'      # the listing disagrees; no HEAD left
ERROR = 'error'                # a check failed
DIFFERENCES = (MISSING, EXTRA, STALE, METADATA_DIFF, REMOTE_NEWER,
               UNVERIFIED, ERROR)

# Not differences: what the mapping's policy expects, or in sync.
IN_SYNC = 'in_sync'
PENDING = 'pending'            # within copy_after or --grace
EXCLUDED = 'excluded'          # exclude_pattern
NOT_SELECTED = 'not_selected'  # selection_criteria, sync_symlinks
KEPT = 'kept'                  # remote copy kept on purpose
GONE_LOCALLY = 'gone_locally'  # live row, object already gone locally
POLICY = (IN_SYNC, PENDING, EXCLUDED, NOT_SELECTED, KEPT, GONE_LOCALLY)

CHECK = 'check'                # judge() cannot settle it from the listing
BATCH = 100                    # names checked concurrently


class Options(object):
    """What the operator asked for (see the CLI's flags)."""

    def __init__(self, metadata=False, max_heads=1000, grace=0,
                 now=time.time):
        self.metadata = metadata
        self.max_heads = max_heads   # None: no limit
        self.grace = grace
        self.now = now


class Finding(object):
    """What the audit concluded about one name."""
    __slots__ = ('name', 'kind', 'reason', 'row', 'listed', 'repair')

    def __init__(self, name, kind, reason, row=None, listed=None):
        self.name = name
        self.kind = kind
        self.reason = reason
        self.row = row
        self.listed = listed
        self.repair = None

    def as_dict(self):
        found = {'name': self.name, 'kind': self.kind, 'reason': self.reason}
        if self.repair is not None:
            found['repair'] = self.repair.as_dict()
        return found

    def __repr__(self):
        return 'Finding(%r, %s, %r)' % (self.name, self.kind, self.reason)


# -- what a row shows -----------------------------------------------------

def _params(row):
    """The ``key=value`` parameters Swift appends to a row's ETag."""
    params = {}
    for part in row['etag'].split(';')[1:]:
        key, _, value = part.strip().partition('=')
        params[key.strip()] = value.strip().strip('"')
    return params


def shown(row):
    """(etag, size) a client listing shows for the row: an SLO's own ETag
    and total size rather than its manifest's."""
    etag = _params(row).get('slo_etag') or row_etag(row)
    size = int(row['size'])
    for part in (row.get('content_type') or '').split(';')[1:]:
        key, _, value = part.strip().partition('=')
        if key.strip().lower() == 'swift_bytes' and value.strip().isdigit():
            size = int(value)
    return etag, size


def is_symlink(row):
    return 'symlink_target' in _params(row)


def listing_can_tell(mapping, row):
    """Whether the listing's ETag can be the row's: not for symlinks (the
    remote holds the target's bytes) nor SSE-KMS (S3's ETag is no MD5)."""
    return not is_symlink(row) and getattr(mapping, 'sse', lambda: None)() \
        != 'aws:kms'


def _when(ts):
    return time.strftime('%Y-%m-%d %H:%M:%S UTC',
                         time.gmtime(float(ts)))


# -- judging from the two listings ----------------------------------------

def judge(mapping, options, row, listed, now):
    """(kind, reason) for one name from its row (None: no row) and its
    listing entry (None: not listed); kind CHECK when only a HEAD can
    tell."""
    name = row['name'] if row is not None else listed.name
    if excluded(mapping, name):
        return EXCLUDED, 'matches exclude_pattern'
    if row is None:
        return _judge_remote_only(mapping, options, listed, now)
    changed = float(changed_at(row))
    if changed + mapping.copy_after > now:
        return PENDING, 'changed less than copy_after ago'
    if changed + options.grace > now:
        return PENDING, 'changed less than --grace ago'
    if is_delete(row):
        return _judge_tombstone(mapping, row, listed)
    return _judge_live(mapping, options, row, listed)


def _judge_remote_only(mapping, options, listed, now):
    # Only with a grace: listings give whole seconds, some stores rounding
    # up, so a copy written a moment ago may look written in the future.
    if options.grace and listed.last_modified is not None and \
            listed.last_modified + options.grace > now:
        return PENDING, 'remote copy written less than --grace ago'
    if not mapping.propagate_delete:
        return KEPT, 'no local row; propagate_delete is false'
    return EXTRA, ('no row in this DB replica: never local, or its '
                   'tombstone was reclaimed')


def _judge_tombstone(mapping, row, listed):
    if listed is None:
        return IN_SYNC, 'deleted on both sides'
    if not mapping.propagate_delete:
        return KEPT, 'deleted locally; propagate_delete is false'
    deleted = changed_at(row)
    if listed.last_modified is not None and \
            listed.last_modified < float(deleted) - LISTING_CLOCK_MARGIN:
        return EXTRA, 'deleted locally at %s; remote copy written before' % (
            _when(deleted))
    return CHECK, 'deleted locally; remote copy written about then or after'


def _judge_live(mapping, options, row, listed):
    if is_symlink(row) and not mapping.sync_symlinks:
        return NOT_SELECTED, 'symlink; sync_symlinks is false'
    if listed is None:
        return CHECK, 'not in the remote listing'
    if options.metadata:
        return CHECK, 'metadata compared (--metadata)'
    etag, size = shown(row)
    if listing_can_tell(mapping, row) and \
            listed_as_current(listed, etag, size, row):
        return IN_SYNC, 'listing shows the same bytes, written after'
    if listing_can_tell(mapping, row) and (listed.etag != etag or
                                           listed.size != size):
        return CHECK, 'listing shows other bytes'
    return CHECK, 'listing cannot tell'


# -- checking with HEADs ---------------------------------------------------

class Checker(object):
    """Settles what the listing cannot, with one local HEAD and at most one
    remote HEAD per name, within a budget of remote HEADs."""

    def __init__(self, mapping, provider, local, account, container,
                 max_heads):
        self.mapping = mapping
        self.provider = provider
        self.local = local
        self.objects = LocalObjects(local)
        self.account = account
        self.container = container
        self.heads_left = max_heads
        self.remote_heads = 0
        self.local_heads = 0

    def _take_head(self):
        if self.heads_left is not None:
            if self.heads_left <= 0:
                return False
            self.heads_left -= 1
        self.remote_heads += 1
        return True

    def check(self, name, row, listed, why):
        found = Finding(name, ERROR, '', row, listed)
        try:
            found.kind, found.reason = self._check(row, listed, why)
        except (RemoteError, LocalError) as err:
            found.reason = '%s: %s' % (type(err).__name__, err)
        except Exception as err:
            # A bug must not end the audit: the name stays a difference.
            found.reason = 'unexpected: %r' % (err,)
        return found

    def _check(self, row, listed, why):
        if is_delete(row):
            return self._check_tombstone(row, why)
        self.local_heads += 1
        headers = self.local.head(self.account, self.container, row['name'])
        if headers is None:
            return GONE_LOCALLY, 'live row, but the object is gone locally'
        skipped = not_copied(self.mapping, headers)
        if skipped:
            return NOT_SELECTED, skipped
        local_ts = object_timestamp(headers)
        local = self.objects.describe(self.account, self.container,
                                      row['name'], headers,
                                      local_ts.internal)
        if local is None:
            return ERROR, 'symlink target is missing locally'
        if listed is None:
            return MISSING, self._missing_reason(local, why)
        if not self._take_head():
            return UNVERIFIED, why + '; not HEADed (--max-heads reached)'
        remote = self.provider.head(self.container, row['name'])
        if remote is None:
            return MISSING, 'listed, but gone when HEADed'
        if remote.timestamp and Timestamp(remote.timestamp) > local_ts:
            return REMOTE_NEWER, 'remote copy recorded at %s, local %s' % (
                Timestamp(remote.timestamp).internal, local_ts.internal)
        verdict = self.provider.compare(local, remote)
        if verdict == DATA:
            return STALE, self._stale_reason(local, remote)
        if verdict == METADATA:
            return METADATA_DIFF, 'same bytes, metadata differs'
        return IN_SYNC, 'HEAD shows the same object'

    def _missing_reason(self, local, why):
        try:
            self.provider.check(local)
        except RemoteError as err:
            if err.permanent:
                return '%s; the remote cannot take it: %s' % (why, err)
        return why

    @staticmethod
    def _stale_reason(local, remote):
        if (local.etag or '').lower() != (remote.etag or '').lower():
            reason = 'ETag %s, local %s' % (remote.etag, local.etag)
        elif int(local.size) != int(remote.size):
            reason = 'size %s, local %s' % (remote.size, local.size)
        else:
            reason = 'not the kind of object the daemon would write'
        if remote.timestamp:
            return '%s; remote copy recorded at %s' % (
                reason, Timestamp(remote.timestamp).internal)
        return reason + '; no recorded timestamp'

    def _check_tombstone(self, row, why):
        if not self._take_head():
            return UNVERIFIED, why + '; not HEADed (--max-heads reached)'
        remote = self.provider.head(self.container, row['name'])
        if remote is None:
            return IN_SYNC, 'deleted on both sides when HEADed'
        deleted = changed_at(row)
        if remote.timestamp and Timestamp(remote.timestamp) > deleted:
            return REMOTE_NEWER, 'remote copy recorded at %s, deleted ' \
                'locally at %s' % (Timestamp(remote.timestamp).internal,
                                   deleted.internal)
        return EXTRA, 'deleted locally at %s; remote copy recorded %s' % (
            _when(deleted), Timestamp(remote.timestamp).internal
            if remote.timestamp else 'without a timestamp')


# -- walking both sides ------------------------------------------------------

def side_by_side(rows, listing):
    """(name, row or None, listed or None) in name order from two
    name-ordered iterators."""
    rows, listing = iter(rows), iter(listing)
    row, listed = next(rows, None), next(listing, None)
    while row is not None or listed is not None:
        if listed is None or (row is not None and
                              row['name'] < listed.name):
            yield row['name'], row, None
            row = next(rows, None)
        elif row is None or listed.name < row['name']:
            yield listed.name, None, listed
            listed = next(listing, None)
        else:
            yield row['name'], row, listed
            row, listed = next(rows, None), next(listing, None)


def remote_in_range(provider, container, name_range):
    """The remote listing limited to a NameRange's names."""
    listing = provider.list(container, marker=name_range.lower,
                            limit=2 ** 62)
    for listed in listing:
        if name_range.upper and listed.name > name_range.upper:
            close = getattr(listing, 'close', None)
            if close:
                close()   # no further pages
            return
        yield listed
