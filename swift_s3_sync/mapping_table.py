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
                 follow=False):
        self.path = path
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
