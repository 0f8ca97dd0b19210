"""Fast set-up for scenario 4, run in a subprocess (it needs the source's
swift_dir in-process, and eventlet for concurrent internal-client calls):

    python -m bench.swiftops rows       '<json>'   merge rows into the DBs
    python -m bench.swiftops containers '<json>'   create/delete containers
    python -m bench.swiftops syncmeta   '<json>'   container-sync metadata

Prints one JSON object on stdout.
"""
import json
import logging
import os
import sys
import time


def _nodes_by_port(spec):
    return {n['port']: n['devices'] for n in spec['nodes']}


def rows(spec):
    """Merge ``count`` rows named row-NNNNNNN (live, or tombstones when
    ``deleted``) straight into every replica of the container DB, as the
    container server would after object PUTs/DELETEs.  No object data is
    written."""
    from swift_s3_sync.swift_env import use_swift_dir
    use_swift_dir(spec['swift_dir'])
    from swift.common.ring import Ring
    from swift.common.utils import Timestamp, hash_path, storage_directory
    from swift.container.backend import DATADIR, ContainerBroker

    from swift_s3_sync.crawler.rows import owner

    account, container = spec['account'], spec['container']
    count, deleted = spec['count'], bool(spec.get('deleted'))
    part, ring_nodes = Ring(spec['swift_dir'], ring_name='container') \
        .get_nodes(account, container)
    chash = hash_path(account, container)
    devices = _nodes_by_port(spec)
    names = ['row-%07d' % i for i in range(count)]
    started = time.time()
    replicas = []
    for index, node in enumerate(ring_nodes):
        path = os.path.join(devices[node['port']], node['device'],
                            storage_directory(DATADIR, part, chash),
                            chash + '.db')
        info = {'port': node['port'], 'node_index': index, 'path': path,
                'owned': sum(1 for n in names
                             if owner(n, len(ring_nodes)) == index)}
        replicas.append(info)
        if not os.path.exists(path):
            info['missing'] = True
            continue
        broker = ContainerBroker(path, account=account, container=container)
        policy = broker.storage_policy_index
        for start in range(0, count, 10000):
            ts = Timestamp(time.time()).internal
            broker.merge_items([{
                'name': name, 'created_at': ts,
                'size': 0 if deleted else 4096,
                'content_type': 'application/x-bench',
                'etag': 'noetag' if deleted else
                'd41d8cd98f00b204e9800998ecf8427e',
                'deleted': 1 if deleted else 0,
                'storage_policy_index': policy,
                'ctype_timestamp': ts, 'meta_timestamp': ts}
                for name in names[start:start + 10000]])
        info['rows_in_db'] = broker.get_info()['object_count']
    return {'seconds': time.time() - started, 'replicas': replicas}


def syncmeta(spec):
    """Set (or clear) X-Container-Sync-To/-Key on every replica of a
    container DB and register it in the node's sync store, as the container
    server does on a POST; done here because the world's servers know no
    container-sync realm."""
    from swift_s3_sync.swift_env import use_swift_dir
    use_swift_dir(spec['swift_dir'])
    from swift.common.ring import Ring
    from swift.common.utils import Timestamp, hash_path, storage_directory
    from swift.container.backend import DATADIR, ContainerBroker
    from swift.container.sync_store import ContainerSyncStore

    account, container = spec['account'], spec['container']
    part, ring_nodes = Ring(spec['swift_dir'], ring_name='container') \
        .get_nodes(account, container)
    chash = hash_path(account, container)
    devices = _nodes_by_port(spec)
    ts = Timestamp(time.time()).internal
    done = 0
    for node in ring_nodes:
        root = devices[node['port']]
        path = os.path.join(root, node['device'],
                            storage_directory(DATADIR, part, chash),
                            chash + '.db')
        if not os.path.exists(path):
            continue
        broker = ContainerBroker(path, account=account, container=container)
        broker.update_metadata({
            'X-Container-Sync-To': (spec.get('sync_to', ''), ts),
            'X-Container-Sync-Key': (spec.get('sync_key', ''), ts)})
        ContainerSyncStore(root, logging.getLogger('bench'), False).update_sync_store(broker)
        done += 1
    return {'replicas': done}


IC_CONF = """
[DEFAULT]
swift_dir = %(swift_dir)s

[pipeline:main]
pipeline = catch_errors cache proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:cache]
use = egg:swift#memcache
memcache_servers = %(memcache)s

[filter:catch_errors]
use = egg:swift#catch_errors
"""


def containers(spec):
    """Create (or delete, then delete the account) ``count`` empty
    containers <prefix>NNNNN in ``account`` through an in-process proxy;
    op 'count' counts the containers the account lists."""
    import eventlet
    eventlet.monkey_patch()
    from swift_s3_sync.swift_env import use_swift_dir
    use_swift_dir(spec['swift_dir'])
    from swift.common.internal_client import InternalClient
    from swift.common.ring import Ring
    from swift.common.wsgi import ConfigString

    client = InternalClient(ConfigString(IC_CONF % spec), 'bench', 5)
    account, prefix = spec['account'], spec['prefix']
    if spec['op'] == 'count':   # what the account listing shows
        return {'listed': sum(1 for _ in client.iter_containers(account))}
    names = ['%s%05d' % (prefix, i) for i in range(spec['count'])]
    op = spec['op']
    errors = []

    def work(name):
        try:
            if op == 'create':
                client.create_container(account, name)
            else:
                client.delete_container(account, name,
                                        acceptable_statuses=(2, 404))
        except Exception as err:
            errors.append('%s: %r' % (name, err))
    started = time.time()
    if op == 'create' and names:
        work(names[0])  # the account is created by the first one alone
    pool = eventlet.GreenPool(spec.get('concurrency', 16))
    for name in (names[1:] if op == 'create' else names):
        pool.spawn_n(work, name)
    pool.waitall()
    if errors:  # one more try for those that failed (busy servers)
        failed = [e.split(':', 1)[0] for e in errors]
        del errors[:]
        for name in failed:
            pool.spawn_n(work, name)
        pool.waitall()
    seconds = time.time() - started
    result = {'seconds': seconds, 'errors': len(errors),
              'first_error': errors[0] if errors else None}
    if op == 'create':
        ring = Ring(spec['swift_dir'], ring_name='container')
        per_port = {}
        for name in names:
            for node in ring.get_nodes(account, name)[1]:
                per_port[node['port']] = per_port.get(node['port'], 0) + 1
        result['per_port'] = per_port
    else:
        try:
            client.make_request('DELETE', client.make_path(account), {},
                                (2, 404, 409))
        except Exception as err:
            result['account_delete_error'] = repr(err)
    return result


def main(argv):
    command, spec = argv[0], json.loads(argv[1])
    result = {'rows': rows, 'containers': containers,
              'syncmeta': syncmeta}[command](spec)
    sys.stdout.write(json.dumps(result) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
