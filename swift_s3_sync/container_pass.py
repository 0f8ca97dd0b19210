"""One pass of one mapping over one container: crawl, hand rows to the
syncer, record progress.

Per DB replica there are two pointers.  The *primary* pass handles the rows
this node owns (hash of the name modulo the replica count); the
*verification* pass handles everyone else's rows once they are older than
``verification_slack``, so a dead node's rows still reach the remote.  Every
row of a chunk ends DONE, or recorded as a failure (with its reason and the
time of its next try) before a pointer moves past it: no row is skipped.
"""
import hashlib
import itertools
import json
import os
import time

from swift_s3_sync.crawler.rows import changed_at, owner
from swift_s3_sync.providers.base import RemoteError
from swift_s3_sync.sync import ABSENT, DONE, RETRY, UNKNOWN, Outcome, \
    RowSyncer

# Below this many rows a listing costs more than the HEADs it saves.
LISTING_MIN_ROWS = 3


class Counters(object):
    """What one pass did; the daemon turns it into logs and statsd."""

    def __init__(self):
        self.actions = {}
        self.bytes = 0
        self.failures = 0
        self.retries = 0

    def add(self, outcome):
        self.actions[outcome.action] = self.actions.get(outcome.action, 0) + 1
        self.bytes += outcome.bytes
        if outcome.status == RETRY:
            self.retries += 1
        elif outcome.status != DONE:
            self.failures += 1

    def merge(self, other):
        for action, count in other.actions.items():
            self.actions[action] = self.actions.get(action, 0) + count
        self.bytes += other.bytes
        self.failures += other.failures
        self.retries += other.retries


class ContainerPass(object):

    def __init__(self, config, mapping, provider, local, account, container,
                 progress, pool, logger, now=time.time):
        self.config = config
        self.mapping = mapping
        self.provider = provider
        self.syncer = RowSyncer(mapping, provider, local, account, container)
        self.account = account
        self.container = container
        self.progress = progress
        self.pool = pool
        self.logger = logger
        self.now = now
        self.counters = Counters()
        self.stopping = lambda: False
        self.next_work = 0   # until a run tells: work now

    # -- helpers ------------------------------------------------------------
    def _eligible(self, row, now):
        return float(changed_at(row)) + self.mapping.copy_after <= now

    def _hints(self, rows):
        """{name: ABSENT | RemoteObject} from one listing covering rows."""
        if len(rows) < LISTING_MIN_ROWS:
            return {}
        names = sorted(r['name'] for r in rows)
        first, last = names[0], names[-1]
        listed = {}
        limit = 2 * len(names) + 100
        # The marker must sort before the first name; its prefix does.
        for remote in self.provider.list(
                self.container, prefix=os.path.commonprefix(names),
                marker=first[:-1], limit=limit):
            if remote.name > last:
                break
            listed[remote.name] = remote
        else:
            if len(listed) >= limit:
                # Cut short: only names up to the last one listed are known.
                known_until = max(listed)
                return {n: listed.get(n, ABSENT) for n in names
                        if n <= known_until}
        return {n: listed.get(n, ABSENT) for n in names}

    def _handle_rows(self, rows):
        """Handle rows concurrently; record each outcome."""
        if not rows:
            return
        try:
            hints = self._hints(rows)
        except Exception as err:
            self.logger.warning('%s: listing %s failed, using HEADs: %s',
                                self.mapping.label, self.container, err)
            hints = {}
        now = self.now()
        jobs = [(row, self.pool.spawn(self.syncer.handle, row,
                                      hints.get(row['name'], UNKNOWN)))
                for row in rows]
        for row, job in jobs:
            try:
                outcome = job.wait()
            except Exception as err:
                # A bug must not stall the container: record and move on.
                self.logger.exception('%s: row %s (%s) raised',
                                      self.mapping.label, row['ROWID'],
                                      row['name'])
                outcome = Outcome(RETRY, 'error', 'unexpected: %r' % err)
            self._record(row, outcome, now)

    def _record(self, row, outcome, now):
        self.counters.add(outcome)
        name = row['name']
        if outcome.status == DONE:
            self.progress.clear_failure(name)
            return
        permanent = outcome.status != RETRY
        previous = self.progress.failures.get(name, {})
        attempts = previous.get('attempts', 0)
        delay = min(self.config.retry_initial_delay * (2 ** attempts),
                    self.config.retry_max_delay)
        self.progress.record_failure(
            dict(row), outcome.reason, permanent, now + delay, now)
        log = self.logger.error if permanent else self.logger.warning
        log('%s: %s %s/%s: %s', self.mapping.label,
            'failed' if permanent else 'will retry', self.container, name,
            outcome.reason)

    # -- the pass -----------------------------------------------------------
    def run(self, replica):
        broker = replica.broker()
        db_id = broker.get_info()['id']
        if replica.account == self.account:  # a root DB, not a shard
            self._sync_container_metadata(broker)
        self._retry_failures()
        self._primary(broker, db_id, replica)
        self._verify(broker, db_id, replica)
        self._update_backlog(broker, db_id)
        self.next_work = self._next_work(broker, db_id)
        self.progress.save()
        return db_id

    def _next_work(self, broker, db_id):
        """When this replica has work again if its DB does not change:
        None (only a change brings work), else a time: a failure's retry,
        or the first row a pointer waits for becoming old enough
        (``copy_after``, ``verification_slack``).  A walk cut short by a
        stop has work now."""
        if self.stopping():
            return self.now()
        times = [f['retry_at'] for f in self.progress.failures.values()
                 if not f['permanent']]
        waits = (('last_row', self.mapping.copy_after),
                 ('last_verified_row', max(self.mapping.copy_after,
                                           self.config.verification_slack
                                           * 60)))
        for pointer, wait in waits:
            first = broker.get_items_since(
                self.progress.pointer(db_id, pointer), 1)
            if first:
                times.append(float(changed_at(first[0])) + wait)
        return min(times) if times else None

    def _sync_container_metadata(self, broker):
        """Copy container metadata when the mapping asks for it and it
        changed since last time (deleted keys go as empty values)."""
        post = getattr(self.provider, 'post_container_metadata', None)
        if not getattr(self.mapping, 'sync_container_metadata', False) or \
                post is None:
            return
        headers = {k: v for k, (v, _) in broker.metadata.items()}
        digest = hashlib.sha256(json.dumps(
            headers, sort_keys=True).encode('utf-8')).hexdigest()
        if self.progress.state.get('container_metadata') == digest:
            return
        try:
            post(self.container, headers)
        except RemoteError as err:
            self.logger.warning('%s: container metadata of %s not copied: '
                                '%s', self.mapping.label, self.container, err)
            return
        self.progress.state['container_metadata'] = digest

    def _retry_failures(self):
        due = self.progress.due_retries(self.now())
        if due:
            self._handle_rows(due)

    def _primary(self, broker, db_id, replica):
        def mine(row):
            return owner(row['name'], replica.replica_count) == \
                replica.node_index

        def may_pass(row, now):
            # copy_after not reached: stop here, later rows are newer.
            return not mine(row) or self._eligible(row, now)
        self._walk(broker, db_id, 'last_row', may_pass, mine)

    def _verify(self, broker, db_id, replica):
        slack = self.config.verification_slack * 60

        def others(row):
            return owner(row['name'], replica.replica_count) != \
                replica.node_index

        def old_enough(row, now):
            return float(changed_at(row)) <= now - slack and \
                self._eligible(row, now)
        self._walk(broker, db_id, 'last_verified_row', old_enough, others)

    def _walk(self, broker, db_id, pointer, may_pass, handles):
        """Move ``pointer`` forward chunk by chunk, handling the rows for
        which ``handles(row)`` is true, up to the first row that
        ``may_pass(row, now)`` refuses."""
        while not self.stopping():
            rows = broker.get_items_since(
                self.progress.pointer(db_id, pointer),
                self.config.items_chunk)
            if not rows:
                return
            now = self.now()
            passed = list(itertools.takewhile(
                lambda row: may_pass(row, now), rows))
            if not passed:
                return
            self._handle_rows([row for row in passed if handles(row)])
            self.progress.set_pointer(db_id, pointer, passed[-1]['ROWID'])
            self.progress.save()
            if len(passed) < len(rows):
                return

    def _update_backlog(self, broker, db_id):
        last = self.progress.last_row(db_id)
        with broker.get() as conn:
            count, = conn.execute(
                'SELECT COUNT(*) FROM object WHERE ROWID > ?',
                (last,)).fetchone()
        first = broker.get_items_since(last, 1)
        oldest = float(changed_at(first[0])) if first else None
        failures = [f['since'] for f in self.progress.failures.values()]
        if failures and (oldest is None or min(failures) < oldest):
            oldest = min(failures)
        self.progress.set_backlog(count + len(failures), oldest, self.now())
