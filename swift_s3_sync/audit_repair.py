"""The audit's repairs, through the daemon's own row handling.

Every repair is ``sync.RowSyncer.handle()`` on a row, as the daemon would
handle it, so it makes the daemon's checks at the moment it acts: it HEADs
the local object and the remote copy first, never overwrites a remote copy
recorded newer than the local object, never deletes one recorded newer than
the delete, and skips what the mapping excludes.  That makes it safe while
the daemons run: whoever comes second finds the work done.

* missing, stale, metadata, unverified and failed checks of a live row: the
  row is handled again (upload, metadata update in place, or nothing).
* extra with a tombstone row: the tombstone is handled again (delete).
* extra without any row (a tombstone reclaimed while no daemon ran, or a
  name that was never local): deleted only when a local HEAD, made at repair
  time, finds no object of that name; it is then handled as a tombstone
  dated just before that HEAD, so a copy of an object written since is
  recorded newer and survives.
* remote_newer: never touched; the local side is behind.
* Archive mappings (``retain_local`` false) are repaired as if they kept
  local data: a repair never deletes a local object.
"""
from swift.common.utils import Timestamp

from swift_s3_sync.audit_compare import (
    ERROR, EXTRA, METADATA_DIFF, MISSING, STALE, UNVERIFIED)
from swift_s3_sync.local_swift import LocalError
from swift_s3_sync.sync import DONE, UNKNOWN, RowSyncer

REPAIRABLE = (MISSING, EXTRA, STALE, METADATA_DIFF, UNVERIFIED, ERROR)
# Outcomes that leave the name as the mapping wants it.
SETTLED = ('put', 'post', 'delete', 'noop', 'absent', 'gone', 'excluded',
           'not-selected', 'symlink-skipped', 'kept')


class KeepLocal(object):
    """A mapping seen with ``retain_local`` true: repairs never archive."""

    retain_local = True

    def __init__(self, mapping):
        self._mapping = mapping

    def __getattr__(self, name):
        return getattr(self._mapping, name)


class Repair(object):
    """What a repair did: the daemon's action, whether the difference is
    gone, and why."""
    __slots__ = ('action', 'fixed', 'reason')

    def __init__(self, action, fixed, reason):
        self.action = action
        self.fixed = fixed
        self.reason = reason

    def as_dict(self):
        return {'action': self.action, 'fixed': self.fixed,
                'reason': self.reason}

    def __repr__(self):
        return 'Repair(%s, fixed=%s, %r)' % (self.action, self.fixed,
                                             self.reason)


class Repairer(object):

    def __init__(self, mapping, provider, local, account, container):
        self.local = local
        self.account = account
        self.container = container
        self.syncer = RowSyncer(KeepLocal(mapping), provider, local, account,
                                container)

    def repair(self, finding):
        """Repair one finding; returns a Repair (also set on it)."""
        if finding.kind not in REPAIRABLE:
            result = Repair('none', False, 'left alone: %s' % finding.reason)
        elif finding.row is None:
            result = self._reclaimed_delete(finding)
        else:
            result = self._handle(finding.row, finding.reason)
        finding.repair = result
        return result

    def _handle(self, row, why):
        try:
            outcome = self.syncer.handle(row, UNKNOWN)
        except Exception as err:
            # As in the daemon: a bug must not stop the other repairs.
            return Repair('error', False, 'unexpected: %r' % (err,))
        if outcome.status != DONE:
            return Repair(outcome.action, False, outcome.reason or
                          outcome.status)
        if outcome.action == 'remote-newer':
            return Repair(outcome.action, False,
                          'the remote copy is now recorded newer; left alone')
        if outcome.action not in SETTLED:
            return Repair(outcome.action, False, outcome.reason)
        if outcome.action == 'delete':
            return Repair('delete', True, 'remote copy deleted: ' + why)
        return Repair(outcome.action, True, outcome.reason or _SAID.get(
            outcome.action, outcome.action))

    def _reclaimed_delete(self, finding):
        deleted_at = Timestamp.now()
        try:
            headers = self.local.head(self.account, self.container,
                                      finding.name)
        except LocalError as err:
            return Repair('none', False, 'local HEAD failed: %s' % err)
        if headers is not None:
            return Repair('none', False, 'kept: a local object of that name '
                          'exists (this DB replica has no row for it yet)')
        tombstone = {'name': finding.name, 'created_at': deleted_at.internal,
                     'deleted': 1, 'etag': '', 'size': 0,
                     'content_type': ''}
        return self._handle(tombstone, 'no local object and no row (a '
                            'tombstone reclaimed, or never local)')


_SAID = {
    'put': 'uploaded',
    'post': 'metadata updated in place',
    'noop': 'already current when handled',
    'absent': 'already gone remotely',
    'gone': 'the local object is gone; nothing to copy',
    'excluded': 'excluded by the mapping',
    'not-selected': 'not selected by the mapping',
    'symlink-skipped': 'symlinks are not copied by this mapping',
}
