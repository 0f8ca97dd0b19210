"""Skipping container DBs that did not change since a pass found nothing
to do in them.

Opening a container DB costs about 0.3 ms of CPU (sqlite connection and
pragmas) before the first row is read, which adds up over thousands of
mapped containers every ``poll_interval``.  A pass that leaves a DB replica
with nothing for later (both pointers at its last row, no failure waiting
for a retry, the container neither sharded nor deleted) records in the
container's progress what the replica's files looked like when the pass
began: the mapping's settings, path, node index, replica count, and inode,
size and modification time of the DB file and of its ``.pending`` file.
The next pass compares that with the files as they are: equal means no row,
metadata or state can have changed, and the DB is not opened at all.  A
changed setting (say ``sync_container_metadata`` turned on by a reload)
makes one full pass.  Every write Swift makes to a
container DB (rows merged from ``.pending``, replication, metadata, delete,
sharding) changes one of them.

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
    """True when the files look as they did when a pass last found nothing
    to do, and no failure is due for a retry."""
    return progress.state.get('idle') == seen and \
        not progress.due_retries(now)


def trustworthy(seen, seen_at):
    """Whether a look taken at ``seen_at`` can stand for the DB's content:
    the DB file exists (a sharded DB's has another name) and no file was
    written within QUIET_SECONDS before the look."""
    db_file, pending = seen[3], seen[4]
    if db_file is None:
        return False
    newest = max(state[2] for state in (db_file, pending) if state)
    return newest <= (seen_at - QUIET_SECONDS) * 1e9


def remember(progress, seen, seen_at, nothing_left):
    """After a full pass: keep ``seen`` (taken at ``seen_at``, before the
    pass) when the pass left nothing to do and the look can be trusted;
    else forget any earlier one."""
    progress.state['idle'] = seen if nothing_left and \
        trustworthy(seen, seen_at) else None
