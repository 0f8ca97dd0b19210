"""The stage of a run: containers, buckets, proxies, mappings and daemons.

Three source containers and four mappings over two S3 targets (moto and
Ceph radosgw):

* ``<run>-sync``, copied to a moto bucket and to a radosgw bucket
  (two sync mappings, deletes propagated);
* ``<run>-archive-moto`` and ``<run>-archive-rgw``, archived to one bucket
  each (``copy_after`` 4 s, ``retain_local: false``,
  ``propagate_delete: false``).

The daemons reach each target through its own :class:`FaultProxy`; the
checks, the audit and the archive watcher reach the targets directly (their
configs are written beside the daemons' as ``audit-nodeN.json``), so they
are neither slowed nor counted.  :meth:`Stage.remove` takes everything away
again (unless the run keeps it).
"""
import json
import os
import uuid

import swiftclient

from chaos.fault_proxy import FaultProxy
from localworld import clients, procs
from localworld.daemons import SyncDaemons, node_config, s3_mapping

TARGETS = ('moto', 'radosgw')
ARCHIVE = dict(copy_after=4, retain_local=False, propagate_delete=False)
# Daemon settings of a chaos run: production's, with a short poll interval
# and retry backoff capped so a row that failed during the outage is tried
# again within seconds of the remote's return (see docs/chaos.md).
DAEMON_SETTINGS = dict(poll_interval=1, workers=4, verification_slack=1,
                       retry_initial_delay=2, retry_max_delay=10)


def s3_client(world, target):
    return clients.s3_client(world[target], max_attempts=3)


def source_conn(world):
    info = world['source']
    return swiftclient.Connection(
        info['auth_url'], 'test:tester',
        info['users']['test:tester']['key'], retries=2, timeout=30)


class ChaosDaemons(SyncDaemons):
    """SyncDaemons whose processes are recorded in the run's work
    directory, not the world's: a daemon the run has just SIGKILLed must not
    make the world look half dead to whoever checks it meanwhile (a
    half-dead world is restarted whole)."""

    def start(self, nodes=None):
        for node in nodes or self.nodes:
            procs.spawn(self.work_dir, self._name(node), self.command(node))

    def pid(self, node):
        return procs.recorded(self.work_dir).get(self._name(node))

    def stop(self, nodes=None):
        return procs.stop(self.work_dir,
                          [self._name(n) for n in nodes or self.nodes])

    def output(self, node):
        """Where the daemon's stdout and stderr go."""
        return os.path.join(procs.log_dir(self.work_dir),
                            self._name(node) + '.log')


class MappedContainer(object):
    """One mapping of the run: its container, kind, target and bucket."""

    def __init__(self, container, kind, target, bucket):
        self.container = container
        self.kind = kind
        self.target = target
        self.bucket = bucket

    @property
    def archive(self):
        return self.kind == 'archive'

    def extra(self):
        return dict(ARCHIVE) if self.archive else {}


class Stage(object):

    def __init__(self, world, work_dir, plan, seed):
        self.world = world
        self.work_dir = work_dir
        self.run_id = 'chaos-%d-%s' % (seed, uuid.uuid4().hex[:6])
        self.plan = plan
        self.mapped = [
            MappedContainer(self.run_id + '-sync', 'sync', 'moto',
                            self.run_id + '-sync-moto'),
            MappedContainer(self.run_id + '-sync', 'sync', 'radosgw',
                            self.run_id + '-sync-rgw'),
            MappedContainer(self.run_id + '-archive-moto', 'archive', 'moto',
                            self.run_id + '-archive-moto'),
            MappedContainer(self.run_id + '-archive-rgw', 'archive',
                            'radosgw', self.run_id + '-archive-rgw'),
        ]
        self.proxies = {}
        self.daemons = None
        self.account = None

    @property
    def containers(self):
        """{container: 'sync' | 'archive'}."""
        return {m.container: m.kind for m in self.mapped}

    def mapping(self, mapped, direct=False):
        endpoint = None if direct else self.proxies[mapped.target].url
        mapping = s3_mapping(self.world, mapped.target, mapped.bucket,
                             mapped.container, account=self.account,
                             **mapped.extra())
        if endpoint:
            mapping['aws_endpoint'] = endpoint
        return mapping

    # -- building -------------------------------------------------------------
    def build(self):
        conn = source_conn(self.world)
        self.account = conn.get_auth()[0].rsplit('/', 1)[1]
        for container in self.containers:
            conn.put_container(container)
            conn.put_container(container + '_segments')
        for m in self.mapped:
            s3_client(self.world, m.target).create_bucket(Bucket=m.bucket)
        for target in TARGETS:
            self.proxies[target] = FaultProxy(
                self.world[target]['endpoint'], self.plan)
        self.daemons = ChaosDaemons(
            self.world, self.work_dir,
            [self.mapping(m) for m in self.mapped], **DAEMON_SETTINGS)
        self._write_audit_configs()

    def audit_config(self, node):
        return os.path.join(self.work_dir, 'audit-node%d.json' % node)

    def _write_audit_configs(self):
        direct = [self.mapping(m, direct=True) for m in self.mapped]
        for node in self.daemons.nodes:
            config = node_config(self.world, node, direct, self.work_dir,
                                 **DAEMON_SETTINGS)
            config['status_dir'] = os.path.join(self.work_dir,
                                                'audit-status-node%d' % node)
            config.pop('log_file', None)
            with open(self.audit_config(node), 'w') as f:
                json.dump(config, f, indent=2)

    # -- taking it down -------------------------------------------------------
    def stop_daemons(self):
        if self.daemons is not None:
            self.daemons.stop()

    def close_proxies(self):
        for proxy in self.proxies.values():
            proxy.close()
        self.proxies = {}

    def remove(self):
        """Buckets (open multipart uploads too) and containers."""
        for m in self.mapped:
            _empty_bucket(s3_client(self.world, m.target), m.bucket)
        conn = source_conn(self.world)
        for container in self.containers:
            for name in (container, container + '_segments'):
                _remove_container(conn, name)


def _empty_bucket(s3, bucket):
    try:
        clients.remove_bucket(s3, bucket)
    except Exception:
        pass  # never created, or already gone


def _remove_container(conn, container):
    try:
        for obj in conn.get_container(container, full_listing=True)[1]:
            try:
                conn.delete_object(container, obj['name'])
            except swiftclient.ClientException:
                pass
        conn.delete_container(container)
    except swiftclient.ClientException:
        pass
