"""The local world for integration tests: started once per test run.

If the world is already up (``python -m localworld up``) it is reused and left
running; if this run started it, it is stopped when the run ends.  A world
that cannot start fails the tests with the launcher's reason: integration
tests never skip.
"""
import atexit
import hashlib
import io
import json
import sys
import time
import uuid

import swiftclient

from localworld import clients
from localworld import world as localworld

S3_TARGETS = ('s3api', 'moto', 'radosgw')
_description = None


def get_world():
    global _description
    if _description is None:
        out = io.StringIO()
        _description = localworld.up(python=sys.executable, out=out)
        if 'already up' not in out.getvalue():
            atexit.register(localworld.down, out=io.StringIO())
        sys.stderr.write(out.getvalue())
    return _description


def update_account_stats(account, container, cluster='source'):
    """The container-updater for one container (the world runs none in
    the background), for tests that read account statistics."""
    from localworld.swift_cluster import SwiftCluster
    world = get_world()
    for service in localworld.services(world['world_dir'], sys.executable):
        if isinstance(service, SwiftCluster) and service.name == cluster:
            service.update_container(account, container)


def _cluster(name='source'):
    from localworld.swift_cluster import SwiftCluster
    world = get_world()
    return next(s for s in localworld.services(world['world_dir'],
                                               sys.executable)
                if isinstance(s, SwiftCluster) and s.name == name)


def wait_listed(check, timeout=30, cluster='target'):
    """Wait until ``check()`` is true of a listing of one of the world's
    Swift clusters (the target's s3api and Swift listings lag when a
    container update timed out under load: one object-updater pass is run
    then)."""
    deadline = time.time() + timeout
    updated = False
    seen = 0
    while seen < 3:   # three listings in a row: any proxy, any replica
        seen = seen + 1 if check() else 0
        if time.time() > deadline:
            raise AssertionError('the listing never showed the change')
        if not seen and not updated and \
                time.time() > deadline - timeout + 2:
            _cluster(cluster).run_object_updaters()
            updated = True
        time.sleep(0.2)


def _replica_paths(account, container):
    """[(node, DB path)] of each replica of a source container, in ring
    order."""
    import os
    from swift.common.ring import Ring
    from swift.common.utils import hash_path
    from swift.container.backend import DATADIR
    from swift_s3_sync.swift_env import use_swift_dir
    info = get_world()['source']
    use_swift_dir(info['swift_dir'])
    part, nodes = Ring(info['swift_dir'], ring_name='container').get_nodes(
        account, container)
    chash = hash_path(account, container)
    paths = []
    for node in nodes:
        devices = next(n['devices'] for n in info['nodes']
                       if n['ports']['container'] == node['port'])
        paths.append((dict(node, part=part), os.path.join(
            devices, node['device'], DATADIR, str(part), chash[-3:], chash,
            chash + '.db')))
    return paths


def _replica_rows(account, container):
    """{(name, created_at, deleted)} of each DB replica of a source
    container, as sets; None for a replica whose DB was never made."""
    import os
    from swift.container.backend import ContainerBroker
    rows = []
    for _node, path in _replica_paths(account, container):
        if not os.path.exists(path):
            rows.append(None)
            continue
        broker = ContainerBroker(path, account=account, container=container)
        rows.append({(r['name'], r['created_at'], r['deleted'])
                     for r in broker.get_items_since(0, 1000000)})
    return rows


def settle_container(conn, container, timeout=60):
    """Wait until every DB replica of a source container holds the same
    rows.  Under load an object server's container update can time out
    and wait as an async pending; the world runs no object-updater or
    container-replicator in the background, so passes of both are run
    here while the replicas stay apart.  An async pending may be written
    seconds after the PUT returned, so the updater runs more than once.
    A replica whose DB was never made (its container server timed out on
    the container PUT; production's replicator would rsync it, the world
    runs no rsync daemon) is made by a direct PUT to its server, as the
    others were made, and the passes then bring it its rows."""
    account = conn.get_auth()[0].rsplit('/', 1)[1]
    cluster = _cluster()
    start = time.time()
    repairs = [(2, cluster.run_object_updaters),
               (6, cluster.run_container_replicators),
               (12, cluster.run_object_updaters),
               (20, cluster.run_container_replicators),
               (35, cluster.run_object_updaters)]
    next_remake = start + 1
    while True:
        rows = _replica_rows(account, container)
        present = [r or set() for r in rows]
        if all(r == present[0] for r in present):
            return
        if time.time() > start + timeout:
            raise AssertionError(
                'the DB replicas of %s/%s never agreed: %s rows' % (
                    account, container,
                    ['no DB' if r is None else len(r) for r in rows]))
        if None in rows and time.time() > next_remake:
            _make_missing_replicas(account, container)
            cluster.run_container_replicators()   # brings it the rows
            next_remake = time.time() + 3
        if repairs and time.time() > start + repairs[0][0]:
            repairs.pop(0)[1]()
        time.sleep(0.2)


def _make_missing_replicas(account, container):
    """A direct container PUT to each replica whose DB is missing, with
    the put timestamp and policy of a replica that has one."""
    import os
    from swift.common import direct_client
    from swift.container.backend import ContainerBroker
    paths = _replica_paths(account, container)
    have = [p for _n, p in paths if os.path.exists(p)]
    if not have:
        return
    info = ContainerBroker(have[0], account=account,
                           container=container).get_info()
    headers = {'X-Timestamp': info['put_timestamp'],
               'X-Backend-Storage-Policy-Index':
                   str(info['storage_policy_index'])}
    for node, path in paths:
        if os.path.exists(path):
            continue
        try:
            direct_client.direct_put_container(
                node, node['part'], account, container, headers=headers,
                conn_timeout=5, response_timeout=30)
        except Exception as err:   # retried by the caller
            print('settle_container: remaking %s: %s' % (path, err))


def remove_container(conn, container):
    """Delete a container with everything in it (local objects only: the
    shunt is bypassed); a container already gone is fine."""
    bypass = {'X-Cloud-Shunt-Bypass': 'true'}
    try:
        _, listing = conn.get_container(container, full_listing=True,
                                        headers=bypass)
        for entry in listing:
            _delete_object(conn, container, entry['name'], bypass)
        conn.delete_container(container)
    except swiftclient.ClientException as err:
        if err.http_status != 404:
            raise


def _delete_object(conn, container, name, headers, tries=4):
    """A DELETE that waits out an object dated up to a second ahead (a
    migrated copy keeps its source's Last-Modified, which s3api rounds up
    to the next second): Swift answers 409 until the clock passes it."""
    for attempt in range(tries):
        try:
            conn.delete_object(container, name, headers=headers)
            return
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return
            if err.http_status != 409 or attempt == tries - 1:
                raise
            time.sleep(0.5)


def put_slo(conn, container, segments, name, pieces, headers=None):
    """An SLO ``name`` in ``container`` made of ``pieces`` (bytes), each a
    segment ``<name>/<NNN>`` in ``segments``; returns the whole body."""
    manifest = []
    for index, data in enumerate(pieces):
        segment = '%s/%03d' % (name, index)
        conn.put_object(segments, segment, data)
        manifest.append({'path': '/%s/%s' % (segments, segment),
                         'etag': hashlib.md5(data).hexdigest(),
                         'size_bytes': len(data)})
    conn.put_object(container, name, json.dumps(manifest),
                    query_string='multipart-manifest=put',
                    headers=headers or {})
    return b''.join(pieces)


def unique(prefix='c'):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:12])


def swift_conn(cluster='source', user='test:tester'):
    info = get_world()[cluster]
    return swiftclient.Connection(
        info['auth_url'], user, info['users'][user]['key'], retries=1)


def s3_settings(target):
    """Endpoint and credentials of an S3 target: s3api, moto or radosgw."""
    info = get_world()
    return info['target']['s3'] if target == 's3api' else info[target]


def s3_client(target):
    return clients.s3_client(s3_settings(target))