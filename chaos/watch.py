"""Watchers that run beside the writer until the end of a run.

:class:`ArchiveWatcher` proves that an archive mapping deletes local data
only once a copy exists remotely.  About once a second it takes the
writer's view of each archive container (the latest version of every live
name), lists the container, and for each name that vanished without the
writer deleting it (confirmed by a HEAD with ``X-Newest``) it HEADs the
remote directly: the copy must be there, with the ETag and metadata of the
version that vanished or of a later one the writer wrote.  Anything else is
an *unverified local delete*.

:class:`StatusWatcher` reads every node's ``swift-s3-sync-status`` report
(``status.collect``, what the command prints) twice a second and remembers
every object it listed as failing, and every progress file it reported as a
problem, so the run can check that failing rows were visible while they
failed and that the reports are clean at the end.
"""
import threading
import time

import swiftclient

from swift_s3_sync.config import load_config
from swift_s3_sync.status import collect


def _same_meta(version, remote):
    seen = {k: v for k, v in (remote.headers or {}).items()
            if k.startswith('x-object-meta-')}
    return seen == version.meta


class ArchiveWatcher(object):

    def __init__(self, conn, model, providers, interval=1.0):
        """``providers``: {archive container: provider reaching its remote
        directly}."""
        self.conn = conn
        self.model = model
        self.providers = providers
        self.interval = interval
        self.archived = 0
        self.unverified = []
        self.checked = {}   # (container, name) -> seq of version checked
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.scan()   # what vanished since the last look

    def _run(self):
        while not self.stopping.wait(self.interval):
            try:
                self.scan()
            except Exception:
                pass   # the source is briefly unreachable: look again

    def scan(self):
        for container, provider in self.providers.items():
            expected = self.model.live(container)
            _, listing = self.conn.get_container(container,
                                                 full_listing=True)
            present = {o['name'] for o in listing}
            for name, version in sorted(expected.items()):
                if name in present or \
                        self.checked.get((container, name)) == version.seq:
                    continue
                self._vanished(container, name, version, provider)

    def _vanished(self, container, name, version, provider):
        if not self.model.settled(container, name, version.seq):
            return   # the writer is changing it: look again next time
        try:
            self.conn.head_object(container, name,
                                  headers={'X-Newest': 'true'})
            return   # the listing lagged: still there
        except swiftclient.ClientException as err:
            if err.http_status != 404:
                return
        remote = provider.head(container, name)
        if not self.model.settled(container, name, version.seq):
            return   # the writer changed it meanwhile (a DELETE, a PUT)
        self.checked[(container, name)] = version.seq
        later = self.model.since(container, name, version.seq)
        if remote is not None and any(
                (remote.etag or '').lower() == v.etag and _same_meta(v, remote)
                for v in later):
            self.archived += 1
            return
        self.unverified.append({
            'container': container, 'name': name,
            'expected': repr(version), 'remote': repr(remote) if remote
            else 'absent', 'at': time.time()})


class StatusWatcher(object):

    def __init__(self, config_paths, interval=0.5):
        self.configs = {node: load_config(path)
                        for node, path in config_paths.items()}
        self.interval = interval
        self.failures_seen = {}   # (container, name) -> first seen
        self.problems_seen = set()
        self.samples = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join()

    def _run(self):
        while not self.stopping.wait(self.interval):
            try:
                self.sample()
            except Exception:
                pass   # a status_dir being changed under us: next time

    def sample(self):
        now = time.time()
        for report in self.reports().values():
            for entry in report:
                for c in entry['containers']:
                    if 'problem' in c:
                        self.problems_seen.add(c['problem'])
                    for f in c.get('failures', ()):
                        self.failures_seen.setdefault(
                            (c['container'], f['object']), now)
        self.samples += 1

    def reports(self):
        return {node: collect(config)
                for node, config in self.configs.items()}

    def outstanding(self):
        """What the reports show now: failures and rows behind, by node."""
        left = []
        for node, report in sorted(self.reports().items()):
            for entry in report:
                for c in entry['containers']:
                    if 'problem' in c:
                        left.append('node %d %s: %s' % (node, c['container'],
                                                        c['problem']))
                        continue
                    for f in c['failures']:
                        left.append('node %d %s/%s failing: %s' % (
                            node, c['container'], f['object'], f['reason']))
                    if c['rows_behind']:
                        left.append('node %d %s (%s): %d rows behind' % (
                            node, c['container'], entry['mapping'],
                            c['rows_behind']))
        return left
