"""One migration into one local container, a page at a time.

A *step* does, in order:

1. the objects that failed earlier and are due for a retry (each looked up
   again at the source and locally: a listing request each, by name);
2. one page of the normal walk: list ``items_chunk`` source names after the
   walk's marker, merge them with the local listing of the same range
   (``plan``), and act on this node's names (``split``, rank 0);
3. for each stand-in rank this node has, one page of that stand-in's walk
   when its slack allows it (``split.Walks``).

Objects of a page are copied concurrently (``workers`` at a time, shared
by every container of the pass); the marker moves past the page only when
every object of it is done or recorded as failed, and the progress file is
written after each step.  When the daemon is stopping, objects not started
yet are left and the marker stays before the page.

Failures are recorded with their reason and tried again after
``retry_initial_delay`` seconds, doubling up to ``retry_max_delay``,
without waiting for the next sweep; a permanent one
(an object the migrator cannot copy exactly, e.g. a multipart object whose
part sizes the source does not report) is tried again only when the
source object changes.
"""
import collections
import time

from swift_s3_sync.local_swift import LocalError
from swift_s3_sync.migrator import copier, done, plan
from swift_s3_sync.migrator.local import DELETED, KEPT, SEGMENTS_SUFFIX, \
    is_our_segment_name, segment_container
from swift_s3_sync.providers.base import RemoteError


class Counters(object):
    def __init__(self):
        self.actions = collections.Counter()
        self.bytes = 0
        self.scanned = 0

    def merge(self, other):
        self.actions.update(other.actions)
        self.bytes += other.bytes
        self.scanned += other.scanned


class ContainerMigration(object):
    """``source_container``: the name the provider lists (its own bucket
    for a bucket migration); ``container``: the local container."""

    def __init__(self, migration, provider, store, container, share, walks,
                 progress, pool, logger, items_chunk=1000,
                 retry_delays=(5, 300), source_container=None,
                 clock=time.time, copy_options=None, container_headers=None,
                 follow_segments=True):
        self.migration = migration
        self.provider = provider
        self.store = store
        self.account = migration.account
        self.container = container
        self.source_container = source_container or container
        self.share = share
        self.walks = walks
        self.progress = progress
        self.pool = pool
        self.logger = logger
        self.items_chunk = items_chunk
        self.retry_initial, self.retry_max = retry_delays
        self.clock = clock
        self.copy_options = copy_options or copier.CopyOptions(
            storage_policy=migration.storage_policy)
        # Headers (a callable) the local container gets if the migrator
        # creates it: a Swift source's container metadata and ACLs.
        self.container_headers = container_headers
        # Whether the ACLs go on to the container's "_segments" container
        # too (not when that is a container of the source's own).
        self.follow_segments = follow_segments
        self.counters = Counters()
        # Set by the daemon on SIGTERM: objects not started yet are left,
        # and the page's marker does not move past them.
        self.stopping = lambda: False

    # -- a step --------------------------------------------------------------
    def step(self):
        """Retries, one page of the normal walk and of each stand-in due;
        True when the normal walk reached the end of the source."""
        now = self.clock()
        self.retry_failures(now)
        if self.progress.state['sweep'].get('started') is None:
            self.progress.sweep_started(now)
            self._note_source_size()
            self._follow_container_headers()
        marker = self.walks.walk['marker']
        end = self._page(marker, None, rank=0)
        if self.stopping():
            return False
        sweep_done = end is None
        self.walks.walked(end, self.clock())
        if sweep_done:
            self._mark_share()
            self.progress.sweep_finished(self.clock())
        for rank in self.share.stand_in_ranks():
            window = self.walks.stand_in_window(rank, self.clock())
            if window is None:
                continue
            covered = self._page(window[0], window[1], rank=rank)
            if self.stopping():
                break
            self.walks.stood_in(rank, covered)
        return sweep_done

    def _note_source_size(self):
        """At the start of a sweep, how many objects a Swift source holds
        (one HEAD), so that the status can estimate the time left of a
        first sweep too; not with a prefix (the count is the whole
        container's), not for S3 (nothing says)."""
        if not self.copy_options.swift_source or self.migration.prefix:
            return
        from swift_s3_sync.migrator.source import object_count
        try:
            count = object_count(self.provider, self.source_container)
        except Exception as err:   # only the estimate needs it
            self.logger.debug('%s: %s: object count not read: %s',
                              self.migration.label, self.container, err)
            return
        if count is not None:
            self.progress.state['sweep']['source_objects'] = count

    def _follow_container_headers(self):
        """At the start of a sweep: a Swift source's container metadata,
        ACLs and versioned writes (see _headers_here), changed or removed
        since they were set locally, are followed on the local container,
        and the ACLs on its ``_segments`` container (one HEAD of the
        source, one of each local container; a POST only when something
        changed; see LocalStore.follow_headers)."""
        if self.container_headers is None:
            return
        from swift_s3_sync.migrator.source import acl_headers
        try:
            source = self._headers_here()
            self._follow(self.container, source)
            if self.follow_segments:
                self._follow(segment_container(self.container),
                             acl_headers(source))
        except Exception as err:   # the copies must go on regardless
            self.logger.warning('%s: %s: container metadata not followed: '
                                '%s', self.migration.label, self.container,
                                err)

    def _headers_here(self):
        """The source container's headers (``container_headers``) as the
        local container may take them: versioned writes only once their
        versions container is here too (Swift fails the writes that must
        archive a version into a container that is not there)."""
        from swift_s3_sync.migrator.source import VERSIONS_LOCATION, \
            VERSIONS_MODE
        wanted = self.container_headers()
        location = wanted.get(VERSIONS_LOCATION)
        if location and not self.store.all_containers_exist(
                self.account, [location]):
            self.logger.warning(
                '%s: %s: the source versions it into %s, which is not here '
                'yet: versioning set once that container is (migrate it '
                'too)', self.migration.label, self.container, location)
            wanted.pop(VERSIONS_LOCATION)
            wanted.pop(VERSIONS_MODE, None)
        return wanted

    def _follow(self, container, wanted):
        changed = self.store.follow_headers(self.account, container, wanted)
        if changed:
            self.logger.info('%s: %s: followed the source\'s %s',
                             self.migration.label, container,
                             ', '.join(changed))

    def _mark_share(self):
        """At the end of a sweep: mark this node's share of the container
        migrated when the sweep left nothing behind (see ``done``), or
        take the mark away.  A failure to say so only costs the shunt
        remote requests, so it is logged and the sweep goes on."""
        sweep = self.progress.state['sweep']
        clean = not self.progress.failures and not sweep.get('too_young')
        mark = done.container_mark(
            self.migration, self.share.replicas,
            sweep.get('started') or self.clock()) if clean else None
        try:
            self.store.mark_migrated(self.account, self.container,
                                     self.share.my_indexes, mark)
        except LocalError as err:
            self.logger.warning('%s: %s: %s', self.migration.label,
                                self.container, err)

    def _list_source(self, marker, window_end):
        """(source page, the last name it covers or None for the end)."""
        page = list(self.provider.list(
            self.source_container, prefix=self.migration.prefix,
            marker=marker, limit=self.items_chunk))
        end = plan.page_end(page, self.items_chunk)
        if window_end is not None and (end is None or end > window_end):
            page = [r for r in page if r.name <= window_end]
            end = window_end
        return page, end

    def _page(self, marker, window_end, rank):
        source, end = self._list_source(marker, window_end)
        if rank == 0:
            self.counters.scanned += len(source)
            self.progress.count('scanned', len(source))
        local = self.store.list_range(
            self.account, self.container, marker, end,
            prefix=self.migration.prefix, page=self.items_chunk)
        decisions = plan.merge(source, local, self.clock(),
                               self.migration.older_than)
        mine = [d for d in decisions if self.share.rank(d.name) == rank]
        if rank == 0:
            held = sum(d.action == plan.TOO_YOUNG for d in mine)
            if held:
                self.progress.count('too_young', held)
        self._act_on(mine)
        return end

    # -- acting --------------------------------------------------------------
    def _act_on(self, decisions):
        if any(d.action == plan.COPY for d in decisions):
            # Once, before the copies start: concurrent copies would each
            # find the container missing and create it.
            self._ensure_container_once()
        for decision in decisions:
            if self.stopping():
                break
            if decision.action == plan.GONE and self._our_segment(decision):
                # A "/*" migration of a Swift source whose container is
                # also where the migrator keeps another container's
                # segments: those are not the source's, and stay.
                self.counters.actions[KEPT] += 1
            elif decision.action in (plan.COPY, plan.GONE):
                self.pool.spawn_n(self._act, decision)
            else:
                self.counters.actions[decision.action] += 1
        self.pool.waitall()

    def _our_segment(self, decision):
        return (self.container.endswith(SEGMENTS_SUFFIX) and
                is_our_segment_name(decision.name))

    def _act(self, decision):
        try:
            if decision.action == plan.COPY:
                self._copy(decision)
            else:
                self._delete(decision)
        except Exception as err:   # one object must not stop the page
            self._failed(decision, err)

    def _skip_known_permanent(self, decision):
        failure = self.progress.failures.get(decision.name)
        return (failure is not None and failure['permanent'] and
                failure.get('version') ==
                plan.source_timestamp(decision.source).internal)

    def _copy(self, decision):
        if self._skip_known_permanent(decision):
            self.counters.actions['unsupported'] += 1
            return
        self.ensure_container()
        try:
            copied = copier.copy_object(
                self.provider, self.store, self.account, self.container,
                decision.source, self.source_container, self.copy_options)
        except (copier.Gone, copier.LocalNewer) as err:
            # Not failures: nothing to copy, or a newer local object.
            self.logger.debug('%s: %s/%s not copied: %s',
                              self.migration.label, self.container,
                              decision.name, err)
            self.counters.actions[
                'local_newer' if isinstance(err, copier.LocalNewer) else
                'expired' if isinstance(err, copier.Expired) else
                'source_gone'] += 1
            self.progress.clear_failure(decision.name)
            return
        except copier.SourceChanged as err:
            # Retried soon from a fresh listing; recorded meanwhile, so the
            # container is not marked migrated without it, and one the
            # source never serves as listed shows in the status.
            self.counters.actions['source_changed'] += 1
            self._failed(decision, err, counted=False)
            return
        self.counters.actions['copied'] += 1
        self.counters.bytes += copied
        self.progress.count('copied')
        self.progress.count('bytes', copied)
        self.progress.clear_failure(decision.name)

    def _ensure_container_once(self):
        try:
            self.ensure_container()
        except LocalError:
            pass   # each copy tries again and records the failure

    def ensure_container(self):
        """Create the local container unless it exists (once a process)."""
        if self.container_headers is None:
            return self.store.ensure_container(
                self.account, self.container, self.migration.storage_policy)
        return self.store.ensure_container(
            self.account, self.container, self.migration.storage_policy,
            headers=self._headers_here)

    def _delete(self, decision):
        result = self.store.delete_if_ours(self.account, self.container,
                                           decision.name)
        self.counters.actions[result] += 1
        if result == DELETED:
            self.progress.count('deleted')
        self.progress.clear_failure(decision.name)

    def _failed(self, decision, err, counted=True):
        """Record a failure (retried with backoff unless permanent);
        ``counted`` False: a source change, counted and logged as a
        failure from its second time for the same source version on."""
        permanent = bool(getattr(err, 'permanent', False))
        if isinstance(err, (copier.CopyError, RemoteError, LocalError)):
            reason = str(err)
        else:
            reason = '%s: %s' % (type(err).__name__, err)
            self.logger.exception('%s: %s/%s', self.migration.label,
                                  self.container, decision.name)
        now = self.clock()
        version = None if decision.source is None else \
            plan.source_timestamp(decision.source).internal
        previous = self.progress.failures.get(decision.name, {})
        if not counted and previous.get('version') != version:
            # A first time for this version: a change after the listing.
            self.progress.clear_failure(decision.name)
            previous = {}
        delay = min(self.retry_initial * 2 ** previous.get('attempts', 0),
                    self.retry_max)
        self.progress.record_failure(decision.name, reason, permanent,
                                     now + delay, now)
        self.progress.failures[decision.name]['version'] = version
        if not counted and not previous:
            self.logger.debug('%s: %s/%s not copied yet: %s',
                              self.migration.label, self.container,
                              decision.name, reason)
            return
        self.progress.count('failed')
        self.counters.actions['failed'] += 1
        self.logger.warning('%s: %s/%s not %s: %s', self.migration.label,
                            self.container, decision.name,
                            'copied' if decision.action == plan.COPY
                            else 'deleted', reason)

    # -- retries -------------------------------------------------------------
    def _lookup(self, name):
        """The decision for one name, from fresh listings of both sides."""
        source = [r for r in self.provider.list(
            self.source_container, prefix=name, limit=1) if r.name == name]
        local = [e for e in self.store.list_range(
            self.account, self.container, '', name, prefix=name, page=1)
            if e['name'] == name]
        decisions = plan.merge(source, local, self.clock(),
                               self.migration.older_than)
        return decisions[0] if decisions else None

    def retry_failures(self, now):
        due = self.progress.due_retries(now)
        decisions = []
        for name in due:
            decision = self._lookup(name)
            if decision is None or decision.action not in (plan.COPY,
                                                           plan.GONE):
                self.progress.clear_failure(name)   # nothing left to do
                continue
            decisions.append(decision)
        self._act_on(decisions)
