"""The swift-s3-sync daemon: one per container node.

    swift-s3-sync --config /etc/swift-s3-sync/sync.json [--once]
                  [--log-level debug|info|warning|error] [--console]

Every ``poll_interval`` seconds it walks the mappings of the config, finds
this node's replicas of the mapped container DBs, and pushes the new rows to
the remote (see ``container_pass``).  Signals:

* SIGTERM/SIGINT: finish the rows in flight, save progress, exit 0.
* SIGHUP: reload the config before the next pass; progress is kept (a
  mapping whose policy changed starts over from row 0).  A config that does
  not load is logged and the old one stays in force.

Before it starts (and on SIGHUP) it checks what lies around the config:
``swift_dir`` (swift.conf, rings), ``devices``, ``status_dir`` and
``internal_client_conf_path`` (see ``surroundings``); a problem is one line
naming the key and the file, and exit status 2.

A pass writes a progress file only when something changed, and does not
open a container DB whose files did not change since the last full pass
over it until something is due (see ``crawler.idle``).  A progress file that cannot be read or
written is one error line (the first few per pass), its container is
skipped and the file left as it was; a corrupted one is one warning line
and its container starts over from row 0.  Each pass ends with a line
``pass done in ...: <actions>, ..., N containers unchanged, N progress
writes``.
"""
import argparse
import logging
import logging.handlers
import os
import signal
import sys
import time

from swift_s3_sync.green import green

LOG_NAME = 'swift-s3-sync'
# Progress file problems logged one by one per pass; the rest are counted.
PROBLEMS_LOGGED = 5


class Metrics(object):
    """Statsd counters and gauges through Swift's logger."""

    def __init__(self, logger):
        self.logger = logger

    def count(self, mapping, metric, value=1):
        if value:
            self.logger.update_stats('%s.%s' % (mapping, metric), value)

    def gauge(self, mapping, metric, value):
        client = getattr(self.logger.logger, 'statsd_client', None)
        if client is not None:
            client._send('%s.%s' % (mapping, metric), value, 'g')


def make_logger(config, level=None, console=False, name=LOG_NAME,
                log_file=False):
    """Swift's logger (statsd included) for a daemon of ours; a log file
    (``log_file``, by default the config's) replaces syslog, Swift's
    default."""
    from swift.common.utils import get_logger
    conf = {'log_name': name,
            'log_level': (level or config.log_level).upper()}
    if config.log_statsd_host:
        conf.update(log_statsd_host=config.log_statsd_host,
                    log_statsd_port=str(config.log_statsd_port),
                    log_statsd_metric_prefix=config.log_statsd_metric_prefix)
    logger = get_logger(conf, name=name, log_route=name,
                        log_to_console=console)
    base = logger.logger
    if log_file is False:
        log_file = config.log_file
    if log_file:
        for handler in list(base.handlers):
            if isinstance(handler, logging.handlers.SysLogHandler):
                base.removeHandler(handler)
        handler = logging.handlers.WatchedFileHandler(log_file)
        handler.setFormatter(logging.Formatter(
            '%(asctime)s %(name)s %(levelname)s: %(message)s'))
        base.addHandler(handler)
    for noisy in ('boto3', 'botocore', 'urllib3'):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return logger


def install_signal_handlers(daemon, in_flight):
    """SIGTERM/SIGINT: ``daemon.stopping`` (finish what is in flight);
    SIGHUP: ``daemon.reload_requested``.  Either wakes a daemon sleeping
    between passes at once (``sleep_between_passes``).  For our daemons
    alike."""
    wakeup = daemon.wakeup = Wakeup()

    def stop(signum, frame):
        daemon.logger.info('signal %d: finishing %s in flight', signum,
                           in_flight)
        daemon.stopping = True
        wakeup.ring()

    def reload(signum, frame):
        daemon.reload_requested = True
        wakeup.ring()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)


class _Slept(Exception):
    pass


class Wakeup(object):
    """A pipe a byte is written to when a signal arrives; a green thread
    waiting on it wakes at once (the self-pipe trick).  Python writes the
    byte itself (``signal.set_wakeup_fd``) in whichever thread the kernel
    delivered the signal to: a signal that lands in a native thread
    (eventlet's thread pool) would otherwise wait for the main thread's
    next wake-up to run its handler, up to the whole sleep."""

    def __init__(self):
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        try:
            signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        except ValueError:
            pass   # not the main thread: the handlers' ring() still works

    def ring(self):
        try:
            _unpatched_os().write(self._write, b'!')
        except OSError:
            pass   # the pipe is full: a wake-up is pending anyway

    def wait(self, timeout):
        """Until rung or ``timeout`` seconds have passed."""
        from eventlet.hubs import trampoline
        try:
            trampoline(self._read, read=True, timeout=timeout,
                       timeout_exc=_Slept)
        except _Slept:
            return
        try:
            while _unpatched_os().read(self._read, 512):
                pass
        except BlockingIOError:
            pass


def _unpatched_os():
    """os as it is without eventlet: a signal handler runs in the hub,
    where eventlet's os.write may not wait, and an empty pipe must answer
    EAGAIN rather than wait for the next byte."""
    import eventlet.patcher
    return eventlet.patcher.original('os')


def sleep_between_passes(daemon, started, interval, clock=time.time):
    """Until ``interval`` seconds after ``started``, a stop or a reload
    request."""
    while not daemon.stopping and not daemon.reload_requested:
        left = interval - (clock() - started)
        if left <= 0:
            return
        wakeup = getattr(daemon, 'wakeup', None)
        if wakeup is None:
            import eventlet
            eventlet.sleep(min(left, 0.2))
        else:
            wakeup.wait(left)


class Daemon(object):

    def __init__(self, config_path, config, logger, local=None, ring=None):
        """``local`` (a LocalSwift) and ``ring`` (the container ring) are
        made from the config's swift_dir unless given."""
        from swift_s3_sync.local_swift import LocalSwift, \
            make_internal_client
        from swift_s3_sync.swift_env import use_swift_dir
        if local is None:
            use_swift_dir(config.swift_dir)
            local = LocalSwift(make_internal_client(
                config.swift_dir, config.internal_client_conf_path))
        self.config_path = config_path
        self.logger = logger
        self.metrics = Metrics(logger)
        self.local = local
        self.ring = ring
        self.stopping = False
        self.reload_requested = False
        self.providers = {}
        self.unchanged = self.problems = 0
        self._apply(config)

    def _apply(self, config):
        from swift_s3_sync.crawler.locate import Locator
        from swift_s3_sync.crawler.progress import ProgressStore
        for provider in self.providers.values():
            provider.close()
        self.providers = {}
        self.config = config
        self.locator = Locator(config.swift_dir, config.devices,
                               config.swift_bind_ip, config.swift_bind_port,
                               ring=self.ring)
        self.store = ProgressStore(config.status_dir)
        import eventlet
        self.pool = eventlet.GreenPool(config.workers)

    def provider(self, mapping):
        from swift_s3_sync.providers import provider_for
        key = mapping.signature()
        if key not in self.providers:
            self.providers[key] = provider_for(
                mapping, self.logger, max_connections=self.config.workers)
        return self.providers[key]

    # -- signals ------------------------------------------------------------
    def install_signal_handlers(self):
        install_signal_handlers(self, 'rows')

    def maybe_reload(self):
        if not self.reload_requested:
            return
        self.reload_requested = False
        from swift_s3_sync.config import ConfigError, load_config
        from swift_s3_sync.surroundings import SurroundingsError, \
            check_daemon
        try:
            config = load_config(self.config_path)
            check_daemon(config)
        except (ConfigError, SurroundingsError) as err:
            self.logger.error('config not reloaded, keeping the old one: %s',
                              err)
            return
        self._apply(config)
        self.logger.info('config reloaded: %d mappings',
                         len(config.mappings))

    # -- passes -------------------------------------------------------------
    def containers(self, mapping):
        if not mapping.per_account:
            return [mapping.container]
        return list(self.local.iter_containers(mapping.account))

    def run_once(self):
        from swift_s3_sync.container_pass import Counters
        started = time.time()
        writes_before = self.store.writes
        self.unchanged = 0
        self.problems = 0
        keep = set()
        total = Counters()
        for mapping in self.config.mappings:
            if self.stopping:
                break
            try:
                containers = self.containers(mapping)
                provider = self.provider(mapping)
            except Exception as err:
                self.logger.error('%s: skipped this pass: %s',
                                  mapping.label, err)
                keep.update(self._known(mapping))
                continue
            behind = 0
            for container in containers:
                if self.stopping:
                    break
                keep.add((mapping.signature(), mapping.account, container))
                counters, rows = self._sync_or_report(mapping, provider,
                                                      container)
                behind += rows
                total.merge(counters)
            self.metrics.gauge('mapping%d' % mapping.index, 'rows_behind',
                               behind)
        if not self.stopping:
            self._prune(keep)
        if self.problems > PROBLEMS_LOGGED:
            self.logger.error('%d more containers skipped for their '
                              'progress files this pass',
                              self.problems - PROBLEMS_LOGGED)
        self.logger.info(
            'pass done in %.2fs: %s, %d bytes, %d failures, %d retries, '
            '%d containers unchanged, %d progress writes',
            time.time() - started,
            ', '.join('%s=%d' % kv for kv in sorted(total.actions.items()))
            or 'no rows', total.bytes, total.failures, total.retries,
            self.unchanged, self.store.writes - writes_before)

    def _sync_or_report(self, mapping, provider, container):
        """sync_container, with a progress file that cannot be read or
        written reported in one line (the first few of a pass) instead of
        stopping the pass: the file stays as it was, other containers go
        on."""
        from swift_s3_sync.container_pass import Counters
        from swift_s3_sync.crawler.progress import ProgressNotSaved, \
            ProgressUnreadable
        try:
            return self.sync_container(mapping, provider, container)
        except (ProgressUnreadable, ProgressNotSaved) as err:
            self.problems += 1
            if self.problems <= PROBLEMS_LOGGED:
                self.logger.error('%s: %s skipped this pass: %s',
                                  mapping.label, container, err)
        except Exception:
            # A bug must not stop the other containers.
            self.logger.exception('%s: pass over %s failed', mapping.label,
                                  container)
        return Counters(), 0

    def sync_container(self, mapping, provider, container):
        """One pass over this node's DBs of one container: (counters, rows
        behind).  A DB whose files did not change since a pass found
        nothing to do in it is not opened (see crawler.idle)."""
        from swift_s3_sync.container_pass import Counters
        from swift_s3_sync.crawler import idle
        root = self.locator.replica(mapping.account, container)
        if root is None:
            return Counters(), 0
        progress = self._open_progress(mapping, container)
        seen_at = time.time()
        seen = idle.look(root, mapping.settings_hash())
        if idle.unchanged(progress, seen, seen_at):
            self.unchanged += 1
            return Counters(), progress.rows_behind()
        replicas = self.locator.replicas_to_crawl(mapping.account,
                                                  container, root)
        if not replicas:
            return Counters(), 0
        job = self._crawl(mapping, provider, container, progress, replicas)
        idle.remember(progress, seen, seen_at, replicas == [root],
                      job.next_work)
        progress.save()
        self._report(mapping, job.counters)
        return job.counters, progress.rows_behind()

    def _open_progress(self, mapping, container):
        progress = self.store.open(mapping, mapping.account, container)
        if progress.problem:
            self.logger.warning('%s: %s; %s starts over from row 0',
                                mapping.label, progress.problem, container)
        return progress

    def _crawl(self, mapping, provider, container, progress, replicas):
        from swift_s3_sync.container_pass import ContainerPass
        from swift_s3_sync.crawler.progress import ProgressNotSaved
        job = ContainerPass(self.config, mapping, provider, self.local,
                            mapping.account, container, progress, self.pool,
                            self.logger)
        job.stopping = lambda: self.stopping
        db_ids = []
        for replica in replicas:
            try:
                db_ids.append(job.run(replica))
            except ProgressNotSaved:
                raise
            except Exception:
                self.logger.exception('%s: pass over %s failed',
                                      mapping.label, replica)
        progress.forget_dbs_except(db_ids)
        return job

    def _prune(self, keep):
        try:
            removed = self.store.prune(keep)
        except OSError as err:
            self.logger.error('progress of unmapped containers not removed '
                              'from status_dir %s: %s',
                              self.config.status_dir, err)
            return
        for _, account, container in removed:
            self.logger.info('removed progress of unmapped %s/%s', account,
                             container)

    def _known(self, mapping):
        sig = mapping.signature()
        return {(s, a, c) for s, a, c, _ in self.store.entries() if s == sig}

    def _report(self, mapping, counters):
        name = 'mapping%d' % mapping.index
        self.metrics.count(name, 'copied_objects',
                           sum(v for k, v in counters.actions.items()
                               if k.startswith('put')))
        self.metrics.count(name, 'metadata_updates',
                           sum(v for k, v in counters.actions.items()
                               if k.startswith('post')))
        self.metrics.count(name, 'deleted_objects',
                           counters.actions.get('delete', 0))
        self.metrics.count(name, 'bytes', counters.bytes)
        self.metrics.count(name, 'failures', counters.failures)
        self.metrics.count(name, 'retries', counters.retries)

    def run_forever(self):
        while not self.stopping:
            started = time.time()
            self.maybe_reload()
            self.run_once()
            sleep_between_passes(self, started, self.config.poll_interval)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='swift-s3-sync',
        description='Copy changes of Swift containers to S3 or Swift.')
    parser.add_argument('--config', required=True, help='sync.json path')
    parser.add_argument('--once', action='store_true',
                        help='run one pass and exit')
    parser.add_argument('--log-level',
                        choices=('debug', 'info', 'warning', 'error'))
    parser.add_argument('--console', action='store_true',
                        help='log to stderr too')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if argv is None:
        # The program itself: patch before Swift and boto3 are imported,
        # when there are few locks to replace (0.25 s less at start-up).
        green()
    from swift_s3_sync.config import ConfigError, load_config
    from swift_s3_sync.surroundings import SurroundingsError, check_daemon
    try:
        config = load_config(args.config)
        check_daemon(config)
    except (ConfigError, SurroundingsError) as err:
        sys.stderr.write('swift-s3-sync: %s\n' % err)
        return 2
    green()
    logger = make_logger(config, args.log_level, args.console)
    from swift_s3_sync.providers import preload
    preload(args.once)
    daemon = Daemon(args.config, config, logger)
    daemon.install_signal_handlers()
    logger.info('started: %d mappings, devices %s', len(config.mappings),
                config.devices)
    if args.once:
        daemon.run_once()
    else:
        daemon.run_forever()
    logger.info('stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
