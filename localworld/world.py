"""The local world: every server the demo, tests and benchmarks use.

    python -m localworld up       start everything, wait until all answer
    python -m localworld down     stop everything the world started
    python -m localworld status [SECONDS]
                                  what runs, where, and the CPU the world
                                  used over SECONDS (default 30) at rest
    python -m localworld restart-proxies
                                  restart both clusters' proxies, so they
                                  load changed middleware code
    python -m localworld update-accounts
                                  one container-updater pass per node, so
                                  account listings show current counts

At rest the world should cost almost nothing: no background daemon runs
(account statistics are updated on demand), and ``status`` measures it.

State lives in ``$SWIFT_S3_SYNC_WORLD`` (default
``/dev/shm/swift-s3-sync-world``; tmpfs, because Swift keeps object metadata
in xattrs and ext4 caps them at 4 KiB).  ``world.json`` in that directory
holds the endpoints and credentials clients read.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from localworld import procs
from localworld.procs import WorldError

DEFAULT_DIR = '/dev/shm/swift-s3-sync-world'
STARTUP_BUDGET = 90.0


def world_dir():
    return os.environ.get('SWIFT_S3_SYNC_WORLD', DEFAULT_DIR)


def world_file(directory=None):
    return os.path.join(directory or world_dir(), 'world.json')


def _shunt_conf(directory, name):
    # cloud-shunt reads a sync config; it starts empty (pass-through).  Its
    # breaker trips sooner than by default, so tests of a dead or silent
    # remote take seconds.
    return {'cloud-shunt': {
        'conf_file': os.path.join(directory, name, 'sync.json'),
        'remote_timeout': '2', 'remote_failures': '3',
        'remote_retry_interval': '5'}}


def services(directory, python):
    # Imported here so `status` and `down` work without Swift installed.
    from localworld.ceph import CephRadosgw
    from localworld.moto_server import MotoServer
    from localworld.proxymc import ProxyMCServer
    from localworld.swift_cluster import SwiftCluster
    return [
        SwiftCluster(directory, python, 'source', nodes=4, replicas=3,
                     base_port=6200, proxy_port=8080, memcache_port=11211,
                     project_conf=_shunt_conf(directory, 'shunt')),
        SwiftCluster(directory, python, 'target', nodes=1, replicas=1,
                     base_port=6300, proxy_port=8090, memcache_port=11212,
                     project_conf=_shunt_conf(directory, 'shunt-target')),
        MotoServer(directory, python),
        CephRadosgw(directory, python),
        ProxyMCServer(directory, python),
    ]


def load(directory=None):
    """The world description, or WorldError when the world is not up."""
    path = world_file(directory)
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise WorldError('the local world is not up (no %s); run '
                         '`python -m localworld up`' % path)


# Names of the world's own servers; tests, benchmarks and tools record
# their processes (daemons, extra proxies) beside them under other names.
SERVER_PREFIXES = ('source-', 'target-', 'moto', 'ceph-', 'radosgw',
                   'proxymc')


def running(directory, servers_only=False):
    """Names of recorded processes that are alive, and of dead ones (of
    the world's own servers only, with ``servers_only``)."""
    live, dead = [], []
    for name, pid in procs.recorded(directory).items():
        if servers_only and not name.startswith(SERVER_PREFIXES):
            continue
        (live if procs.alive(pid) else dead).append(name)
    return live, dead


def _check_xattrs(directory):
    probe = os.path.join(directory, '.xattr-probe')
    with open(probe, 'w'):
        pass
    try:
        os.setxattr(probe, 'user.probe', b'x' * 8192)
    except OSError as err:
        raise WorldError('%s cannot hold 8 KiB xattrs (%s); set '
                         'SWIFT_S3_SYNC_WORLD to a tmpfs or XFS path'
                         % (directory, err.strerror))
    finally:
        os.unlink(probe)


def up(directory=None, python=sys.executable, out=sys.stdout):
    directory = directory or world_dir()
    # A test's daemon that died is no reason to restart the servers.
    live, dead = running(directory, servers_only=True)
    if live and not dead and os.path.exists(world_file(directory)):
        out.write('local world already up (%d processes)\n' % len(live))
        return load(directory)
    if live:
        # A half-running world (a crash, a killed server) is restarted whole.
        procs.stop(directory)
    started = time.time()
    all_services = services(directory, python)
    for service in all_services:
        service.check_installed()
    taken = [(s.name, p) for s in all_services for p in s.ports()
             if procs.port_in_use(p)]
    if taken:
        raise WorldError('port %d (for %s) is already in use' % (
            taken[0][1], taken[0][0]))
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    _check_xattrs(directory)
    try:
        for service in all_services:
            service.start()
        deadline = time.time() + STARTUP_BUDGET
        for service in all_services:
            service.wait_ready(deadline)
    except BaseException:
        procs.stop(directory)
        raise
    description = {s.name: s.describe() for s in all_services}
    description['world_dir'] = directory
    _write_atomically(world_file(directory), description)
    out.write('local world up in %.1f s\n' % (time.time() - started))
    return description


def _write_atomically(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.rename(tmp, path)


def down(directory=None, out=sys.stdout):
    directory = directory or world_dir()
    started = time.time()
    stopped = procs.stop(directory)
    try:
        os.unlink(world_file(directory))
    except OSError:
        pass
    out.write('local world down: %d processes stopped in %.1f s\n' % (
        len(stopped), time.time() - started))


IDLE_BUDGET = 0.05   # of one core


def status(directory=None, out=sys.stdout, window=30.0):
    directory = directory or world_dir()
    live, dead = running(directory)
    if not live and not dead:
        out.write('local world is down\n')
        return 1
    try:
        description = load(directory)
    except WorldError:
        description = {}
    for name, pid in sorted(procs.recorded(directory).items()):
        out.write('%-28s pid %-7d %s\n' % (
            name, pid, 'running' if name in live else 'DEAD'))
    for service, info in sorted(description.items()):
        if isinstance(info, dict):
            url = info.get('proxy_url') or info.get('endpoint')
            out.write('%-10s %s\n' % (service, url))
    if window > 0 and live:
        used = procs.idle_cpu(directory, window)
        share = used / window
        out.write('CPU at rest: %.2f s over %.0f s = %.1f%% of one core '
                  '(budget %.0f%%)%s\n' % (
                      used, window, 100 * share, 100 * IDLE_BUDGET,
                      '' if share <= IDLE_BUDGET else ': OVER BUDGET'))
    return 0 if not dead else 1


def _clusters(directory):
    from localworld.swift_cluster import SwiftCluster
    load(directory)
    return [s for s in services(directory, sys.executable)
            if isinstance(s, SwiftCluster)]


def restart_proxies(directory=None, out=sys.stdout):
    directory = directory or world_dir()
    started = time.time()
    for cluster in _clusters(directory):
        cluster.restart_proxy(started + STARTUP_BUDGET)
    out.write('proxies restarted in %.1f s\n' % (time.time() - started))


def update_accounts(directory=None, out=sys.stdout):
    """One container-updater pass on every node of both clusters."""
    directory = directory or world_dir()
    started = time.time()
    for cluster in _clusters(directory):
        cluster.update_accounts()
    out.write('account statistics updated in %.1f s\n' % (
        time.time() - started))


USAGE = ('usage: python -m localworld up|down|status [SECONDS]|'
         'restart-proxies|update-accounts\n')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    commands = {'up': up, 'down': down, 'status': status,
                'restart-proxies': restart_proxies,
                'update-accounts': update_accounts}
    if not argv or argv[0] not in commands or len(argv) > (
            2 if argv[0] == 'status' else 1):
        sys.stderr.write(USAGE)
        return 2
    kwargs = {}
    if len(argv) == 2:
        try:
            kwargs['window'] = float(argv[1])
        except ValueError:
            sys.stderr.write(USAGE)
            return 2
    try:
        result = commands[argv[0]](**kwargs)
    except WorldError as err:
        sys.stderr.write('localworld: %s\n' % err)
        return 1
    return result if isinstance(result, int) else 0
