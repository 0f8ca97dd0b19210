"""The shunt's view of the sync config: reloaded when the file changes,
mappings with merge_namespaces looked up by account and container."""
import os
import time

from swift_s3_sync.config import MAPPING_KEYS, ConfigError, load_config
from swift_s3_sync.providers import provider_for


RELOAD_INTERVAL = 1.0


class MappingTable(object):
    """The merged mappings of the sync config, and one provider each.

    The file is checked at most every ``interval`` seconds and loaded again
    when its modification time, size or inode changed.  Providers survive a
    reload when their mapping's settings did not change.
    """

    def __init__(self, path, logger, interval=RELOAD_INTERVAL,
                 clock=time.time):
        self.path = path
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self.index = {}
        self.providers = {}
        self.version = None
        self.checked = None
        self.check()

    def _version(self):
        try:
            st = os.stat(self.path)
        except OSError as err:
            return ('missing', err.errno)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def check(self):
        now = self.clock()
        if self.checked is not None and now - self.checked < self.interval:
            return
        self.checked = now
        version = self._version()
        if version == self.version:
            return
        self.version = version
        try:
            config = load_config(self.path)
        except ConfigError as err:
            self.logger.error('cloud-shunt: %s; %s', err,
                              'keeping the previous mappings' if self.index
                              else 'no container is merged')
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
            if not mapping.merge_namespaces or key in index:
                continue
            settings = self._settings(mapping)
            provider = self.providers.get(settings) or providers.get(settings)
            if provider is None:
                try:
                    provider = provider_for(mapping, self.logger)
                except (NotImplementedError, ValueError) as err:
                    self.logger.error('cloud-shunt: %s: %s', mapping.label,
                                      err)
                    continue
            providers[settings] = provider
            index[key] = (mapping, provider)
        self.index, self.providers = index, providers
        self.logger.info('cloud-shunt: %d merged mapping(s) from %s',
                         len(index), self.path)

    def lookup(self, account, container):
        """(mapping, provider) for a local container, or None."""
        self.check()
        return (self.index.get((account, container))
                or self.index.get((account, '/*')))
