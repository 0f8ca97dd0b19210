"""The swift-s3-migrator daemon: one per container node.

    swift-s3-migrator --config /etc/swift-s3-sync/sync.json [--once]
                      [--log-level debug|info|warning|error] [--console]
    swift-s3-migrator --config sync.json --status [--json]

It reads ``migrations`` and ``migrator_settings`` from the same file as the
sync daemon (see docs/configuration.md and docs/migrator.md).  Every
``poll_interval`` seconds a pass starts: for each migration whose local
container has a replica on this node (container ring, ``devices``,
``swift_bind_ip``/``swift_bind_port`` as for the sync daemon), the node walks
the source once to its end, a page at a time, copying its share of the
objects (see ``split``); pages of different migrations take turns, so a
large one does not hold up the others.  A ``"/*"`` migration lists the
source's buckets (containers) at the start of each pass and migrates each
into the local container of the same name, as if it were a migration of
its own (its own progress file, split by that container's ring); the
buckets of one source share one client.  ``--once`` runs one pass and
exits.

Signals, as for swift-s3-sync:

* SIGTERM/SIGINT: finish the objects in flight (no new ones), save
  progress, exit 0.  The marker stays before a page left half done;
  progress is saved after every page, so even SIGKILL loses at most the
  page in flight, whose copied objects compare EQUAL afterwards.
* SIGHUP: reload the config before the next pass; a config that does not
  load is logged and the old one stays in force.

Before it starts it checks ``swift_dir`` (swift.conf, rings), ``devices``,
the migrator's ``status_dir``, ``internal_client_conf_path`` and that every
migration's ``storage_policy`` exists: a problem is one line naming the key
and exit status 2.

Logging goes to ``migrator_settings.log_file`` (or syslog), log name
``swift-s3-migrator``.  Metrics (statsd, ``log_statsd_*``), per migration
``migration<index>``: ``scanned``, ``copied_objects``, ``bytes``,
``deleted_objects``, ``failures``.  Each pass ends with a line
``pass done in ...: <actions>, N bytes``.

``--status`` prints, from this node's progress files only (no request to
the source or to Swift), per migration and container: the sweep in
progress and an estimate of the time it still needs when one can be made,
the last full sweep, the totals and the failures with their reasons;
``--json`` the same as JSON (``swift-s3-sync-status`` shows the same after
the mappings).
"""
import argparse
import json
import sys
import time


LOG_NAME = 'swift-s3-migrator'


class StartupError(Exception):
    """One line: what is wrong around the config."""


def make_logger(config, level=None, console=False):
    from swift_s3_sync import daemon
    settings = config.migrator
    # The migrator's own log file (or syslog), never the sync daemon's.
    return daemon.make_logger(config, level or settings.log_level, console,
                              name=LOG_NAME, log_file=settings.log_file)


def check_surroundings(config):
    """What the migrator needs besides the config; loads swift.conf."""
    import os
    from swift_s3_sync import surroundings
    surroundings.check_swift_dir(config.swift_dir)
    surroundings.use_swift_dir(config.swift_dir)
    surroundings.check_object_rings(config.swift_dir)
    surroundings.check_container_ring(config.swift_dir)
    if not os.path.isdir(config.devices):
        raise surroundings.SurroundingsError(
            'devices %r: no such directory' % config.devices)
    surroundings.check_status_dir(config.migrator.status_dir)
    if config.internal_client_conf_path:
        surroundings._readable_file('internal_client_conf_path',
                                    config.internal_client_conf_path)
    surroundings.check_tls_bundles()
    check_storage_policies(config)


def check_storage_policies(config):
    from swift.common.storage_policy import POLICIES
    for migration in config.migrations:
        name = migration.storage_policy
        if name and POLICIES.get_by_name(name) is None:
            raise StartupError(
                "%s: %s: 'storage_policy' %r is not a storage policy of "
                "swift_dir %r" % (config.source, migration.label, name,
                                  config.swift_dir))


class Job(object):
    """One (migration, local container) of a pass."""

    def __init__(self, migration, container, runner, progress,
                 source_gone=False):
        self.migration = migration
        self.container = container
        self.runner = runner
        self.progress = progress
        self.source_gone = source_gone
        self.swept = False   # its sweep reached the end in this pass


class Migrator(object):

    def __init__(self, config_path, config, logger, store=None,
                 locator=None, provider_factory=None, clock=time.time):
        """``store`` (a LocalStore), ``locator`` (crawler.locate.Locator)
        and ``provider_factory(migration, bucket, container)`` are made
        from the config unless given (tests give fakes)."""
        from swift_s3_sync.daemon import Metrics
        self.config_path = config_path
        self.logger = logger
        self.metrics = Metrics(logger)
        self.clock = clock
        self._store = store
        self._locator = locator
        self._provider_factory = provider_factory
        self.stopping = False
        self.reload_requested = False
        # The next pass tries the permanent failures again (--retry-
        # permanent: what made them permanent was fixed).
        self.retry_permanent = False
        self.providers = {}
        self._derived = set()   # keys of providers sharing another's
        self._apply(config)

    def _apply(self, config):
        from swift_s3_sync.migrator.status import ProgressFiles
        self._close_providers()
        self.config = config
        self.settings = config.migrator
        self.files = ProgressFiles(self.settings.status_dir)
        import eventlet   # here: green() decides how eventlet loads
        self.pool = eventlet.GreenPool(self.settings.workers)
        if self._store is None:
            self._store = self._make_store(config)
        if self._locator is None:
            from swift_s3_sync.crawler.locate import Locator
            self._locator = Locator(config.swift_dir, config.devices,
                                    config.swift_bind_ip,
                                    config.swift_bind_port)

    @staticmethod
    def _make_store(config):
        from swift_s3_sync.local_swift import make_internal_client
        from swift_s3_sync.migrator.local import LocalStore
        return LocalStore(make_internal_client(
            config.swift_dir, config.internal_client_conf_path,
            user_agent='swift-s3-migrator', symlinks=True,
            environ={'swift_owner': True, 'swift.symlink_override': True}))

    def _close_providers(self):
        for key, provider in self.providers.items():
            if key not in self._derived:
                provider.close()
        self.providers = {}
        self._derived = set()

    def provider(self, migration, bucket, container):
        """The provider reading ``bucket`` of the migration's source (the
        source's bucket listing for ``bucket`` ""); every bucket of a
        source shares the connections of the first one made."""
        key = (migration.signature(), bucket)
        if key not in self.providers:
            if self._provider_factory is not None:
                made = self._provider_factory(migration, bucket, container)
            else:
                from swift_s3_sync.migrator import source
                base = next((p for k, p in self.providers.items()
                             if k[0] == key[0] and k not in self._derived),
                            None)
                if base is None:
                    # Every worker may be reading the parts of a large
                    # object, part_workers at a time.
                    made = source.source_provider(
                        migration, bucket, container, self.logger,
                        max_connections=self.settings.workers *
                        max(1, self.settings.part_workers))
                else:
                    made = source.derived_provider(base, migration, bucket,
                                                   container)
                    self._derived.add(key)
            self.providers[key] = made
        return self.providers[key]

    # -- signals ------------------------------------------------------------
    def install_signal_handlers(self):
        from swift_s3_sync import daemon
        daemon.install_signal_handlers(self, 'objects')

    def maybe_reload(self):
        if not self.reload_requested:
            return
        self.reload_requested = False
        from swift_s3_sync.config import ConfigError, load_config
        from swift_s3_sync.surroundings import SurroundingsError
        try:
            config = load_config(self.config_path)
            check_surroundings(config)
        except (ConfigError, SurroundingsError, StartupError) as err:
            self.logger.error('config not reloaded, keeping the old one: %s',
                              err)
            return
        self._apply(config)
        self.logger.info('config reloaded: %d migrations',
                         len(config.migrations))

    # -- a pass -------------------------------------------------------------
    def _share(self, account, container):
        from swift_s3_sync.migrator.split import share_from_ring
        # Locator knows this node's devices (IP, port, mounted directory).
        return share_from_ring(self._locator.ring, account, container,
                               self._locator._is_mine)

    def _job(self, migration, bucket, container, every_bucket=False,
             follow_segments=True, source_gone=False):
        """The Job of a migration's ``bucket`` into local ``container`` on
        this node, or None when the node holds no replica of it.  For
        ``every_bucket`` ("/*") the local container is created (if it is
        not there) before anything is copied, so empty buckets have one
        too.  ``follow_segments``: its ``_segments`` container follows the
        source container's ACLs (not when it is a source bucket itself).
        ``source_gone``: the bucket is gone from the source (see
        ``_gone_buckets``)."""
        from swift_s3_sync.migrator.runner import ContainerMigration
        from swift_s3_sync.migrator.split import Walks
        share = self._share(migration.account, container)
        if not share.participates:
            return None
        progress = self.files.open(migration, migration.account, container)
        if progress.problem:
            self.logger.warning('%s: %s', migration.label, progress.problem)
        if self.retry_permanent and progress.retry_permanent(self.clock()):
            self.logger.info('%s: %s: permanent failures tried again',
                             migration.label, container)
        ranks = share.stand_in_ranks()
        walks = Walks(progress.state, self.settings.takeover_slack,
                      max(ranks) if ranks else 0)
        provider = self.provider(migration, bucket, container)
        headers = self._container_headers(migration, provider, bucket)
        if source_gone:
            from swift_s3_sync.migrator.source import GoneSource
            provider, headers = GoneSource(provider), None
        runner = ContainerMigration(
            migration, provider, self._store, container, share, walks,
            progress, self.pool, self.logger,
            items_chunk=self.settings.items_chunk,
            retry_delays=(self.config.retry_initial_delay,
                          self.config.retry_max_delay),
            source_container=container, clock=self.clock,
            copy_options=self._copy_options(migration, headers, bucket),
            container_headers=headers, follow_segments=follow_segments)
        runner.stopping = lambda: self.stopping
        if every_bucket and runner.ensure_container():
            self.logger.info('%s: created local container %s/%s',
                             migration.label, migration.account, container)
        return Job(migration, container, runner, progress, source_gone)

    def _container_headers(self, migration, provider, bucket):
        """For a Swift source: a callable giving the metadata and ACLs of
        the source container (asked only when the local container is
        created); None for S3 (buckets have no such metadata)."""
        if migration.protocol != 'swift':
            return None
        from swift_s3_sync.migrator import source
        return lambda: source.container_headers(provider, bucket)

    def _bucket_jobs(self, migration):
        """The Jobs of a "/*" migration: every bucket (container) of the
        source into the local container of the same name, each split
        across the nodes by that container's ring."""
        from swift_s3_sync.migrator import source
        from swift_s3_sync.migrator.local import is_valid_container, \
            segment_container
        jobs, valid, skipped = [], [], False
        buckets = source.list_buckets(self.provider(migration, '', ''))
        names = set(buckets)
        for bucket in buckets:
            problem = is_valid_container(bucket)
            if problem:
                self.logger.error('%s: bucket %r skipped: %s',
                                  migration.label, bucket, problem)
                skipped = True
                continue
            valid.append(bucket)
            self._add_job(jobs, migration, bucket, every_bucket=True,
                          follow_segments=segment_container(bucket)
                          not in names)
        for bucket in self._gone_buckets(migration, names):
            self._add_job(jobs, migration, bucket, source_gone=True)
        self._mark_account(migration, valid, every=not skipped)
        self._follow_account_headers(migration)
        return jobs

    def _add_job(self, jobs, migration, bucket, **kwargs):
        """The job of a "/*" bucket into the container of its name, added
        to ``jobs`` if this node has one; a failure skips that bucket."""
        try:
            job = self._job(migration, bucket, bucket, **kwargs)
        except Exception as err:
            self.logger.error('%s: %s: skipped this pass: %s',
                              migration.label, bucket, err)
            return
        if job is not None:
            jobs.append(job)

    def _gone_buckets(self, migration, listed):
        """Local containers this node migrated from a "/*" source that no
        longer lists their bucket and, asked, answers 404 for it (a bucket
        missing from a lagging listing is not gone).  Their copies are
        swept away like copies of deleted objects; the container and what
        clients wrote or changed in it stay."""
        from swift_s3_sync.migrator import source
        gone = []
        for container in self.files.containers(migration):
            if container in listed:
                continue
            try:
                if source.bucket_gone(
                        self.provider(migration, container, container),
                        container):
                    gone.append(container)
            except Exception as err:
                self.logger.warning('%s: %s: not listed by the source, and '
                                    'not confirmed gone: %s',
                                    migration.label, container, err)
        return gone

    def _forget_gone(self, jobs):
        """A gone bucket's container swept to the end without failures:
        its progress goes, so it is not swept again (what is left in it
        is the clients')."""
        for job in jobs:
            if job.source_gone and job.swept and not job.progress.failures:
                self.files.remove(job.progress)
                self.logger.info('%s: %s: gone from the source: its copies '
                                 'were removed, objects changed here kept',
                                 job.migration.label, job.container)

    def _follow_account_headers(self, migration):
        """A "/*" migration of a Swift source: the source account's
        metadata on the local account, once a pass."""
        if migration.protocol != 'swift':
            return
        from swift_s3_sync.migrator import source
        try:
            changed = self._store.follow_headers(
                migration.account, None, source.account_headers(
                    self.provider(migration, '', '')))
        except Exception as err:   # the copies must go on regardless
            self.logger.warning('%s: account metadata not followed: %s',
                                migration.label, err)
            return
        if changed:
            self.logger.info('%s: account %s: followed the source\'s %s',
                             migration.label, migration.account,
                             ', '.join(changed))

    def _mark_account(self, migration, buckets, every):
        """Tell cloud-shunt (see ``done``) whether every bucket of a "/*"
        migration has its local container (``every``: no bucket was
        skipped)."""
        from swift_s3_sync.local_swift import LocalError
        try:
            every = every and self._store.all_containers_exist(
                migration.account, buckets)
            self._store.mark_account_migrated(
                migration.account, migration.signature() if every else None)
        except LocalError as err:
            self.logger.warning('%s: %s', migration.label, err)

    def _copy_options(self, migration, container_headers=None, bucket=None):
        from swift_s3_sync.migrator.copier import CopyOptions
        from swift_s3_sync.migrator.source import acl_headers

        def open_source(bucket):
            # SLO and DLO segments of a Swift source: its other containers.
            return self.provider(migration, bucket, bucket)

        segments_headers = None
        if container_headers is not None:
            # Readers the ACL lets in must be able to read the segments of
            # large objects too.
            def segments_headers():
                return acl_headers(container_headers())
        return CopyOptions(
            swift_source=migration.protocol == 'swift', source_bucket=bucket,
            open_source=open_source,
            segment_size=self.settings.segment_size,
            part_workers=self.settings.part_workers,
            storage_policy=migration.storage_policy,
            segments_headers=segments_headers)

    def _jobs(self):
        jobs = []
        for migration in self.config.migrations:
            try:
                if migration.all_buckets:
                    jobs.extend(self._bucket_jobs(migration))
                    continue
                job = self._job(migration, migration.aws_bucket,
                                migration.local_container)
            except Exception as err:
                self.logger.error('%s: skipped this pass: %s',
                                  migration.label, err)
                continue
            if job is not None:
                jobs.append(job)
        return jobs

    def run_once(self):
        """One pass: every migration of this node walks its source to the
        end, pages of different migrations taking turns."""
        from swift_s3_sync.migrator.runner import Counters
        started = self.clock()
        jobs = self._jobs()
        self.retry_permanent = False
        active = list(jobs)
        while active and not self.stopping:
            for job in list(active):
                if self.stopping:
                    break
                if self._step(job):
                    active.remove(job)
        total = Counters()
        for job in jobs:
            total.merge(job.runner.counters)
        if not self.stopping:
            self._forget_gone(jobs)
        self._prune()
        self.logger.info(
            'pass done in %.2fs: %s, %d bytes', self.clock() - started,
            ', '.join('%s=%d' % kv for kv in sorted(total.actions.items()))
            or 'nothing to do', total.bytes)
        return total

    def _step(self, job):
        """One step of a job; True when it is finished for this pass (its
        sweep reached the end, or it failed)."""
        before = _snapshot(job.runner.counters)
        try:
            done = job.swept = job.runner.step()
        except Exception as err:
            self.logger.error('%s: %s: pass stopped: %s',
                              job.migration.label, job.container, err)
            done = True
        try:
            job.progress.save()
        except OSError as err:
            self.logger.error('%s: progress file %s not saved: %s',
                              job.migration.label, job.progress.path, err)
            return True
        self._report(job.migration, before, job.runner.counters)
        return done

    def _prune(self):
        if self.stopping:
            return
        keep = {m.signature() for m in self.config.migrations}
        try:
            for signature in self.files.prune(keep):
                self.logger.info('removed progress of a migration no '
                                 'longer configured (%s)', signature)
        except OSError as err:
            self.logger.error('old progress not removed from %s: %s',
                              self.settings.status_dir, err)

    def _report(self, migration, before, counters):
        name = 'migration%d' % migration.index
        now = _snapshot(counters)
        for metric, key in (('scanned', 'scanned'),
                            ('copied_objects', 'copied'),
                            ('bytes', 'bytes'),
                            ('deleted_objects', 'deleted'),
                            ('failures', 'failed')):
            self.metrics.count(name, metric, now[key] - before[key])

    def run_forever(self):
        from swift_s3_sync.daemon import sleep_between_passes
        while not self.stopping:
            started = self.clock()
            self.maybe_reload()
            self.run_once()
            sleep_between_passes(self, started, self.settings.poll_interval,
                                 self.clock)


def _snapshot(counters):
    return {'scanned': counters.scanned, 'bytes': counters.bytes,
            'copied': counters.actions['copied'],
            'deleted': counters.actions['deleted'],
            'failed': counters.actions['failed']}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='swift-s3-migrator',
        description='Copy buckets of S3 or containers of another Swift '
                    'into this Swift cluster.')
    parser.add_argument('--config', required=True, help='sync.json path')
    parser.add_argument('--once', action='store_true',
                        help='run one pass and exit')
    parser.add_argument('--log-level',
                        choices=('debug', 'info', 'warning', 'error'))
    parser.add_argument('--console', action='store_true',
                        help='log to stderr too')
    parser.add_argument('--retry-permanent', action='store_true',
                        help='the first pass tries the permanent failures '
                             'again (after their cause was fixed)')
    parser.add_argument('--status', action='store_true',
                        help="print this node's progress and exit")
    parser.add_argument('--json', action='store_true',
                        help='with --status: as JSON')
    return parser.parse_args(argv)


def print_status(config, as_json):
    from swift_s3_sync.migrator.status import collect, format_text
    report = collect(config)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + '\n')
    else:
        sys.stdout.write(format_text(report))
    return 0


def main(argv=None):
    from swift_s3_sync.daemon import green
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if argv is None:
        green()   # before Swift and boto3 are imported, as swift-s3-sync
    from swift_s3_sync.config import ConfigError, load_config
    from swift_s3_sync.surroundings import SurroundingsError
    try:
        config = load_config(args.config)
        if args.status:
            return print_status(config, args.json)
        check_surroundings(config)
    except (ConfigError, SurroundingsError, StartupError) as err:
        sys.stderr.write('swift-s3-migrator: %s\n' % err)
        return 2
    green()
    logger = make_logger(config, args.log_level, args.console)
    from swift_s3_sync.providers import preload
    preload(args.once)
    migrator = Migrator(args.config, config, logger)
    migrator.retry_permanent = args.retry_permanent
    migrator.install_signal_handlers()
    logger.info('started: %d migrations, devices %s',
                len(config.migrations), config.devices)
    if args.once:
        migrator.run_once()
    else:
        migrator.run_forever()
    logger.info('stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
