"""The sync config as cloud-shunt and proxymc see it: reloaded when the
file changes, mappings looked up by account and container, one provider
per mapping."""
import os
import time

import eventlet

from swift_s3_sync.config import MAPPING_KEYS, ConfigError, load_config
from swift_s3_sync.providers import provider_for


RELOAD_INTERVAL = 1.0


class WatchedFile(object):
    """Tells whether a file changed (modification time, size or inode),
    looking at most every ``interval`` seconds."""

    def __init__(self, path, interval=RELOAD_INTERVAL, clock=time.time):
        self.path = path
        self.interval = interval
        self.clock = clock
        self.version = None
        self.checked = None

    def _version(self):
        try:
            st = os.stat(self.path)
        except OSError as err:
            return ('missing', err.errno)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def changed(self):
        """True the first time, then whenever the file changed since the
        last call that returned True."""
        now = self.clock()
        if self.checked is not None and now - self.checked < self.interval:
            return False
        self.checked = now
        version = self._version()
        if version == self.version:
            return False
        self.version = version
        return True


class Follower(object):
    """Calls ``check`` every ``interval`` seconds in a green thread of
    each process that uses it, so that every server worker follows a
    file even while it serves nothing (a worker that only looked when
    asked could miss a good version between two bad ones).  The thread
    starts on first use in a process, never in the parent that forks the
    workers."""

    def __init__(self, check, interval, logger):
        self.check = check
        self.interval = interval
        self.logger = logger
        self.pid = None

    def ensure(self):
        if self.pid == os.getpid():
            return
        self.pid = os.getpid()
        eventlet.spawn_n(self._loop)

    def _loop(self):
        while True:
            eventlet.sleep(self.interval)
            try:
                self.check()
            except Exception:
                self.logger.exception('reloading a config file')


def merged(mapping):
    """cloud-shunt's selection: mappings with merge_namespaces."""
    return mapping.merge_namespaces


def every_mapping(mapping):
    return True


class MappingTable(object):
    """The chosen mappings of the sync config, and one provider each.

    ``wanted(mapping)`` picks the mappings (cloud-shunt: merged ones); of two
    mappings of the same account and container the first wins.  Providers
    survive a reload when their mapping's settings did not change; a file
    that does not load keeps the previous mappings.  ``name`` prefixes log
    lines.  With ``follow`` a green thread checks the file every
    ``interval`` seconds (see Follower).
    """

    def __init__(self, path, logger, interval=RELOAD_INTERVAL,
                 clock=time.time, wanted=merged, name='cloud-shunt',
                 follow=False, migrations=False):
        self.path = path
        # cloud-shunt also serves migrations (see shunt_migration).
        self.sources = MigrationSources(logger) if migrations else None
        self.follower = Follower(self.check, interval, logger) \
            if follow else None
        self.logger = logger
        self.wanted = wanted
        self.name = name
        self.file = WatchedFile(path, interval, clock)
        self.index = {}
        self.providers = {}
        self.check()

    def check(self):
        if self.follower is not None:
            self.follower.ensure()
        if not self.file.changed():
            return
        try:
            config = load_config(self.path)
        except ConfigError as err:
            self.logger.error('%s: %s; %s', self.name, err,
                              'keeping the previous mappings' if self.index
                              else 'no container is mapped')
            return
        self._install(config)

    @staticmethod
    def _settings(mapping):
        return tuple((key, repr(getattr(mapping, key)))
                     for key in sorted(MAPPING_KEYS))

    def _install(self, config):
        index, providers = {}, {}
        for mapping in config.mappings:
            key = (mapping.account, mapping.container)
            if not self.wanted(mapping) or key in index:
                continue
            settings = self._settings(mapping)
            provider = self.providers.get(settings) or providers.get(settings)
            if provider is None:
                try:
                    provider = provider_for(mapping, self.logger)
                except (NotImplementedError, ValueError) as err:
                    self.logger.error('%s: %s: %s', self.name, mapping.label,
                                      err)
                    continue
            providers[settings] = provider
            index[key] = (mapping, provider)
        self.index, self.providers = index, providers
        if self.sources is not None:
            self.sources.install(config.migrations)
        self.logger.info('%s: %d mapping(s) from %s', self.name, len(index),
                         self.path)

    def lookup(self, account, container):
        """(mapping, provider) for a container, or None."""
        self.check()
        return (self.index.get((account, container))
                or self.index.get((account, '/*')))

    def containers(self, account):
        """The containers of ``account`` mapped by name, sorted (a ``/*``
        mapping names none)."""
        self.check()
        return sorted(container for acct, container in self.index
                      if acct == account and container != '/*')


class MigrationSources(object):
    """The migrations cloud-shunt serves (``merge_namespaces`` true), and
    a provider reading each source bucket through the migration's prefix.
    A ``"/*"`` migration reads the bucket of the container's name; every
    bucket of one source shares the first one's connections, and at most
    MAX_DERIVED such views are kept."""

    MAX_DERIVED = 1000

    def __init__(self, logger):
        self.logger = logger
        self.index = {}
        self.bases = {}       # migration settings -> provider
        self.derived = {}     # (settings, bucket) -> (mapping, provider)

    @staticmethod
    def _settings(migration):
        return repr(sorted(migration.values().items()))

    def install(self, migrations):
        index = {}
        for migration in migrations:
            if not migration.merge_namespaces:
                continue
            key = (migration.account, migration.local_container or '/*')
            index.setdefault(key, migration)
        kept = {self._settings(m) for m in index.values()}
        for settings in list(self.bases):
            if settings not in kept:
                self.bases.pop(settings).close()
        self.derived = {k: v for k, v in self.derived.items()
                        if k[0] in kept}
        self.index = index

    def migration(self, account, container=None):
        """The migration serving ``account/container`` (with ``container``
        None: the account's "/*" migration), or None."""
        if container is None:
            return self.index.get((account, '/*'))
        return (self.index.get((account, container))
                or self.index.get((account, '/*')))

    def lookup(self, account, container):
        """(migration, mapping, provider) for a local container, or
        None."""
        from swift_s3_sync.shunt_migration import SourceView, bucket_problem
        migration = self.migration(account, container)
        if migration is None:
            return None
        bucket = container if migration.all_buckets else migration.aws_bucket
        if migration.all_buckets and bucket_problem(migration, bucket):
            return None
        settings = self._settings(migration)
        found = self.derived.get((settings, bucket))
        if found is None:
            provider = self._derive(migration, settings, bucket, container)
            if provider is None:
                return None
            found = (provider.mapping, SourceView(provider, migration.prefix,
                                                  migration.account))
            if len(self.derived) >= self.MAX_DERIVED:
                self.derived.clear()
            self.derived[(settings, bucket)] = found
        return (migration,) + found

    def _derive(self, migration, settings, bucket, container):
        from swift_s3_sync.migrator import source
        try:
            return source.derived_provider(self._base(migration, settings),
                                           migration, bucket, container)
        except (NotImplementedError, ValueError) as err:
            self.logger.error('cloud-shunt: %s: %s', migration.label, err)
            return None

    def _base(self, migration, settings):
        from swift_s3_sync.migrator import source
        base = self.bases.get(settings)
        if base is None:
            base = self.bases[settings] = source.source_provider(
                migration, '', '', self.logger)
        return base

    def bucket_names(self, migration):
        """Every bucket of a "/*" migration's source (RemoteError)."""
        from swift_s3_sync.migrator import source
        return source.list_buckets(
            self._base(migration, self._settings(migration)))
