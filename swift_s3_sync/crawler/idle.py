"""Skipping container DBs that did not change since a pass found nothing
to do in them.

Opening a container DB costs about 0.3 ms of CPU (sqlite connection and
pragmas) before the first row is read, which adds up over thousands of
mapped containers every ``poll_interval``.  After a full pass over a
container that lives in one DB replica (not sharded, not deleted), its
progress records what the replica's files looked like when the pass began
(the mapping's settings, path, node index, replica count, and inode, size
and modification time of the DB file and of its ``.pending`` file) and
until when nothing is due without a change: the next retry of a failed row,
or the time the first row a pointer waits for becomes old enough
(``copy_after``; ``verification_slack`` for rows other nodes own).  A later
pass that finds the files looking the same before that time does not open
the DB at all: every write Swift makes to a container DB (rows merged from
``.pending``, replication, metadata, delete, sharding) changes one of them.
A changed setting (say ``sync_container_metadata`` turned on by a reload)
makes one full pass.

A file written within :data:`QUIET_SECONDS` of the look is not trusted: a
second write within the same clock tick could leave its modification time
as it was.  Such a DB is checked in full again on the next pass.
"""
import os

# Files modified less than this long before the look are not trusted to
# show every later write (file times move in clock ticks).
QUIET_SECONDS = 2.0


def _file_state(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def look(replica, settings):
    """What ``replica``'s files look like now under the mapping settings
    ``settings`` (a short hash): JSON-able, comparable."""
    return [replica.db_path, replica.node_index, replica.replica_count,
            _file_state(replica.db_path),
            _file_state(replica.db_path + '.pending'), settings]


def unchanged(progress, seen, now):
    """True when the files look as they did after a full pass and nothing
    is due yet."""
    mark = progress.state.get('idle')
    return isinstance(mark, dict) and mark.get('look') == seen and (
        mark.get('until') is None or now < mark['until'])


def trustworthy(seen, seen_at):
    """Whether a look taken at ``seen_at`` can stand for the DB's content:
    the DB file exists (a sharded DB's has another name) and no file was
    written within QUIET_SECONDS before the look."""
    db_file, pending = seen[3], seen[4]
    if db_file is None:
        return False
    newest = max(state[2] for state in (db_file, pending) if state)
    return newest <= (seen_at - QUIET_SECONDS) * 1e9


def remember(progress, seen, seen_at, single_db, next_work):
    """After a full pass: keep ``seen`` (taken at ``seen_at``, before the
    pass) with ``next_work`` (None or the time something is due) when the
    container lives in one DB, the look can be trusted and nothing is due
    already; else forget any earlier mark."""
    keep = single_db and trustworthy(seen, seen_at) and (
        next_work is None or next_work > seen_at)
    progress.state['idle'] = {'look': seen, 'until': next_work} \
        if keep else None
