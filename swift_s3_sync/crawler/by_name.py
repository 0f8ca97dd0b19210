"""A container's rows in name order, tombstones included, for the audit.

The daemon walks rows by ROWID (what changed since last time); the audit
needs them by name, to walk beside a remote listing.  ``name_ranges()``
says which of this node's DB replicas hold which names: the root DB holds
them all, or for a sharded container each shard DB on this node holds the
names ``lower < name <= upper`` of its range; ranges whose shard DB is on
another node are returned as uncovered.  ``rows_by_name()`` reads one DB in
chunks through the ``(deleted, name)`` index, so each chunk is a range scan
and memory stays flat whatever the container's size.
"""
import heapq

from swift.container.backend import SHARDED

from swift_s3_sync.crawler.rows import changed_at

CHUNK = 1000
COLUMNS = ('name', 'created_at', 'size', 'content_type', 'etag', 'deleted',
           'storage_policy_index')


class NameRange(object):
    """Names ``lower < name <= upper`` of one DB ('' means unbounded)."""
    __slots__ = ('replica', 'lower', 'upper')

    def __init__(self, replica, lower='', upper=''):
        self.replica = replica
        self.lower = lower
        self.upper = upper

    def holds(self, name):
        return name > self.lower and (not self.upper or name <= self.upper)

    def __repr__(self):
        return 'NameRange(%r, %r..%r)' % (self.replica, self.lower,
                                          self.upper)


def name_ranges(locator, account, container):
    """([NameRange] on this node, [(lower, upper)] not on it), or None when
    this node has no replica of the container's root DB."""
    root = locator.replica(account, container)
    if root is None:
        return None
    broker = root.broker()
    if broker.is_deleted():
        return [], []
    if broker.get_db_state() != SHARDED:
        return [NameRange(root)], []
    here, elsewhere = [], []
    for shard in broker.get_shard_ranges():
        replica = locator.replica(shard.account, shard.container)
        bounds = (shard.lower_str, shard.upper_str)
        if replica is None:
            elsewhere.append(bounds)
        else:
            here.append(NameRange(replica, *bounds))
    return here, elsewhere


def count_rows(name_range):
    """How many rows (tombstones included) the range holds; for progress."""
    broker = name_range.replica.broker()
    broker.get_info()   # merges pending updates first
    sql, args = _bounded('SELECT COUNT(*) FROM object WHERE 1', name_range)
    with broker.get() as conn:
        return conn.execute(sql, args).fetchone()[0]


def rows_by_name(name_range, chunk=CHUNK):
    """The range's rows as dicts (the daemon's row keys but ROWID), in name
    order, one per name: the newest where a name has rows under several
    storage policies (misplaced objects not yet reconciled)."""
    broker = name_range.replica.broker()
    broker.get_info()   # merges pending updates first
    live = _one_kind(broker, name_range, 0, chunk)
    deleted = _one_kind(broker, name_range, 1, chunk)
    current = None
    for row in heapq.merge(live, deleted, key=lambda r: r['name']):
        if current is not None and current['name'] == row['name']:
            if changed_at(row) > changed_at(current):
                current = row
            continue
        if current is not None:
            yield current
        current = row
    if current is not None:
        yield current


def _bounded(sql, name_range, after=None):
    args = []
    lower = name_range.lower if after is None else max(after,
                                                       name_range.lower)
    if lower:
        sql += ' AND name > ?'
        args.append(lower)
    if name_range.upper:
        sql += ' AND name <= ?'
        args.append(name_range.upper)
    return sql, args


def _one_kind(broker, name_range, deleted, chunk):
    after = None
    while True:
        sql, args = _bounded(
            'SELECT %s FROM object WHERE deleted = ?' % ', '.join(COLUMNS),
            name_range, after)
        with broker.get() as conn:
            rows = conn.execute(sql + ' ORDER BY name LIMIT ?',
                                [deleted] + args + [chunk]).fetchall()
        for values in rows:
            yield dict(zip(COLUMNS, values))
        if len(rows) < chunk:
            return
        after = rows[-1][0]
