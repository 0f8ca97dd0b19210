"""Scenario 4: one daemon's memory and CPU over a big container and over
many containers.

A. A container whose 3 DB replicas get ``--rows`` rows merged straight in
   (ContainerBroker.merge_items: what the container server stores after
   object PUTs) without object data.  One daemon, on a node holding a
   replica, runs ``--once`` over it: it reads every row, HEADs the third it
   owns in local Swift (404: counted 'gone', nothing uploaded) and lists the
   target once per 1000-row chunk.  The peer is the same daemon's pass over
   the same container while it was still empty.
B. For each size of ``--containers`` (1000,10000), that many empty
   containers in a fresh account (created through an internal client, 32 at
   a time), mapped with a per-account "/*" mapping; the same daemon runs a
   first pass (creating progress records) and then an idle pass.  Peer: the
   same over an account with one container (same code path: the account
   listing through the in-process proxy costs ~0.5 s of CPU once, which
   the 1-container pass of A does not pay); per-container figures are net
   of it.

Writes on an idle pass: progress files of the daemon's status_dir whose
inode or modification time changed, or that appeared or went, across the
idle pass (goal 0); the daemon's own count is in its "pass done" line.

RSS = max of /proc/<pid>/status VmRSS sampled every 50 ms; CPU =
utime+stime (wait4 rusage at exit).
"""
import configparser
import io
import os
import re
import time
import uuid

from bench.common import (
    Cleanup, Destination, daemon_mapping, endpoint_of, log, make_daemons, swift_conn, unique)
from bench.procstats import measure_process, node_spec, swiftops, tail
from localworld import world as localworld
from swift_s3_sync.crawler.idle import QUIET_SECONDS


def _node_by_port(world, port):
    for n in world['source']['nodes']:
        if n['ports']['container'] == port:
            return n['node']
    raise KeyError(port)


def _memcache(world):
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(world['source']['proxy_conf'])
    return conf.get('filter:cache', 'memcache_servers',
                    fallback='127.0.0.1:11211')


def _settle():
    """Let freshly written DBs age past the daemon's QUIET_SECONDS: a DB
    written just before a pass looks is checked again on the next pass
    (see swift_s3_sync.crawler.idle), which is not what an idle pass is."""
    time.sleep(QUIET_SECONDS + 0.5)


def _status_files(status_dir):
    """{path: (inode, mtime_ns)} of every file under ``status_dir``."""
    found = {}
    for root, _, files in os.walk(status_dir):
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            found[path] = (st.st_ino, st.st_mtime_ns)
    return found


def _writes(before, after):
    """Files written, created or removed between two _status_files."""
    return sum(1 for path in set(before) | set(after)
               if before.get(path) != after.get(path))


def _idle_pass(argv, err_log, status_dir):
    """Run a pass; its figures plus 'writes' (files it changed)."""
    before = _status_files(status_dir)
    result = measure_process(argv, err_log)
    result['writes'] = _writes(before, _status_files(status_dir))
    return result


def _last_pass(log_path):
    try:
        with open(log_path, errors='replace') as f:
            lines = [line for line in f if 'pass done' in line]
    except OSError:
        return 'no daemon log'
    if not lines:
        return 'no "pass done" line in the daemon log'
    return re.sub(r'^.*?(pass done)', r'\1', lines[-1].strip())


def run(bench):
    args, world, R = bench.args, bench.world, bench.results
    target = args.scale_target
    ops_log = os.path.join(bench.work_dir, 'swiftops.log')
    with Cleanup() as cleanup:
        container = unique('s4rows')
        conn = swift_conn(world)
        conn.put_container(container)
        spec = {'swift_dir': world['source']['swift_dir'],
                'nodes': node_spec(world), 'account': 'AUTH_test',
                'container': container, 'count': 0}
        cleanup.add(_drop_rows_container, world, spec, ops_log)
        dest = Destination(world, target, unique('s4')).create()
        cleanup.add(dest.delete)
        located = swiftops('rows', spec, ops_log)['replicas']
        present = [r for r in located if not r.get('missing')]
        if not present:
            R.note('4', 'not measured: no DB replica of %s found' % container)
            return
        replica = present[0]
        node = _node_by_port(world, replica['port'])
        mapping = daemon_mapping(world, target, dest.name, container,
                                 endpoint_of(world, target))
        daemons = make_daemons(bench, unique('s4rows'), [mapping],
                               workers=args.concurrency)
        daemon_log = os.path.join(daemons.work_dir, 'sync-node%d.log' % node)
        err_log = os.path.join(daemons.work_dir, 'once.err')
        argv = daemons.command(node, '--once')
        status_dir = os.path.join(daemons.work_dir, 'status-node%d' % node)
        log('scenario 4: idle pass (empty container), node %d', node)
        # The first pass creates the progress record; the second is idle.
        _settle()
        measure_process(argv, err_log)
        idle = _idle_pass(argv, err_log, status_dir)
        if idle['exit']:
            raise RuntimeError('idle pass exited %d: %s' % (
                idle['exit'], tail(err_log)))
        R.add('4', target, 'writes on an idle pass, 1 container',
              idle['writes'], 'files', 'progress files changed across the '
              'idle pass (inode or mtime); daemon log: %s' %
              _last_pass(daemon_log), peer='goal', peer_value=0)
        tombstones = args.row_kind == 'tombstone'
        kind = 'tombstone rows' if tombstones else 'live rows'
        if tombstones:
            consequence = ('deletes of objects the target never had: the '
                           'listing per chunk settles them, no local HEAD')
            handled = 'settles its %d by the listing'
        else:
            consequence = ('no object data exists, so the daemon HEADs each '
                           'row it owns locally and finds it gone')
            handled = 'HEADs its %d locally (404)'
        if args.rows:
            log('scenario 4: merging %d %s into %d replicas', args.rows, kind,
                len(present))
            spec['count'] = args.rows
            filled = swiftops('rows', dict(spec, deleted=tombstones),
                              ops_log)
            replica = [r for r in filled['replicas']
                       if r['port'] == replica['port']][0]
            R.note('4', '%d %s merged into %d DB replicas of %s in %.1f s '
                   '(ContainerBroker.merge_items; %s); node %d holds replica '
                   '%d and owns %d rows' % (
                       args.rows, kind, len(present), container,
                       filled['seconds'], consequence, node,
                       replica['node_index'], replica['owned']))
            log('scenario 4: --once pass over %d rows', args.rows)
            full = measure_process(argv, err_log)
            if full['exit']:
                raise RuntimeError('full pass exited %d: %s' % (
                    full['exit'], tail(err_log)))
            how = ('1 daemon (node %d), --once, %d workers, over %d %s '
                   '(reads all, %s, lists the target per 1000-row chunk); '
                   'daemon log: %s' % (
                       node, args.concurrency, args.rows, kind,
                       handled % replica['owned'], _last_pass(daemon_log)))
            peer = 'same daemon, idle pass over the container while empty'
            R.add('4', target, 'peak RSS, pass over %d rows' % args.rows,
                  full['rss_max_mib'], 'MiB', how + '; RSS = max VmRSS '
                  'sampled every 50 ms', peer=peer,
                  peer_value=idle['rss_max_mib'])
            R.add('4', target, 'CPU time, pass over %d rows' % args.rows,
                  full['cpu'], 's', 'utime+stime at exit (wait4)',
                  peer=peer, peer_value=idle['cpu'])
            R.add('4', target, 'wall time, pass over %d rows' % args.rows,
                  full['wall'], 's', 'launch -> exit', peer=peer,
                  peer_value=idle['wall'])
            R.add('4', target, 'CPU per 1000 rows crawled (net of the '
                  'empty pass)', (full['cpu'] - idle['cpu']) * 1e6 /
                  args.rows, 'ms', '(CPU - empty-pass CPU) / rows x 1000')
        if args.containers:
            # The peer takes the same path (account listing, per-account
            # mapping) over one container, so fixed costs cancel out.
            one = _account_passes(bench, cleanup, target, ops_log, 1)
            for count in args.containers:
                many = _account_passes(bench, cleanup, target, ops_log,
                                       count)
                _report_many(R, target, many['count'], one, many)


def _drop_rows_container(world, spec, ops_log):
    if spec['count'] and not spec.get('deleted'):
        tomb = dict(spec, deleted=True)
        swiftops('rows', tomb, ops_log)
    try:
        swift_conn(world).delete_container(spec['container'])
    except Exception as err:
        log('scenario 4: container %s not deleted: %r', spec['container'],
            err)


def _account_passes(bench, cleanup, target, ops_log, count):
    """``count`` empty containers in a fresh account under a "/*" mapping:
    a first pass, then an idle one, by the daemon of the node holding
    most of them.  Returns what _report_many needs."""
    args, world, R = bench.args, bench.world, bench.results
    account = 'AUTH_bench' + uuid.uuid4().hex[:10]
    spec = {'swift_dir': world['source']['swift_dir'], 'account': account,
            'prefix': 'c-', 'count': count, 'op': 'create',
            'memcache': _memcache(world), 'concurrency': 32}
    log('scenario 4: creating %d containers in %s', count, account)
    cleanup.add(swiftops, 'containers', dict(spec, op='delete'), ops_log)
    made = swiftops('containers', spec, ops_log)
    if made['errors']:
        R.note('4', '%d of %d containers not created (first: %s)' % (
            made['errors'], count, made['first_error']))
    per_port = {int(k): v for k, v in made['per_port'].items()}
    port = max(per_port, key=per_port.get)
    node = _node_by_port(world, port)
    # Account updates a busy container server gave up on reach the
    # account listing (which the daemon maps) only through the updater.
    try:
        localworld.update_accounts(out=io.StringIO())
    except localworld.WorldError as err:
        R.note('4', 'container-updater pass not finished: %s' % err)
    listed = swiftops('containers', dict(spec, op='count'),
                      ops_log)['listed']
    R.note('4', '%d empty containers created in %s in %.1f s (internal '
           'client, 32 at a time; one container-updater pass after); the '
           'account lists %d; node %d holds a replica of %d of them'
           % (count, account, made['seconds'], listed, node,
              per_port[port]))
    if listed != count:
        R.note('4', 'the account lists %d containers, not %d: figures per '
               'container are per listed container' % (listed, count))
    dest = Destination(world, target, unique('s4acct')).create()
    cleanup.add(dest.delete)
    mapping = daemon_mapping(world, target, dest.name, '/*',
                             endpoint_of(world, target), account=account)
    daemons = make_daemons(bench, unique('s4acct'), [mapping],
                           workers=args.concurrency)
    err_log = os.path.join(daemons.work_dir, 'once.err')
    status_dir = os.path.join(daemons.work_dir, 'status-node%d' % node)
    argv = daemons.command(node, '--once')
    log('scenario 4: first and idle pass over %d containers', count)
    _settle()
    first = measure_process(argv, err_log)
    again = _idle_pass(argv, err_log, status_dir)
    for res in (first, again):
        if res['exit']:
            raise RuntimeError('pass over containers exited %d: %s' % (
                res['exit'], tail(err_log)))
    return {'count': listed, 'node': node, 'on_node': per_port[port],
            'first': first, 'again': again, 'last_pass': _last_pass(
                os.path.join(daemons.work_dir, 'sync-node%d.log' % node))}


def _report_many(R, target, count, one, many):
    idle, first, again = one['again'], many['first'], many['again']
    peer = ('same daemon, idle pass over a 1-container account, same '
            'mapping kind')
    how = ('1 daemon (node %d), --once, per-account "/*" mapping over %d '
           'empty containers (%d with a replica on node %d)' % (
               many['node'], count, many['on_node'], many['node']))
    R.add('4', target, 'writes on an idle pass, %d containers' % count,
          again['writes'], 'files', 'progress files changed across the '
          'idle pass (inode or mtime); daemon log: %s' % many['last_pass'],
          peer='goal', peer_value=0)
    R.add('4', target, 'idle pass over %d containers: wall' % count,
          again['wall'], 's',
          how + '; second pass (progress records exist)', peer=peer,
          peer_value=idle['wall'])
    R.add('4', target, 'idle pass over %d containers: CPU' % count,
          again['cpu'], 's', 'utime+stime at exit (wait4); peer daemon '
          'log: %s' % one['last_pass'], peer=peer, peer_value=idle['cpu'])
    extra = max(1, count - 1)
    R.add('4', target, 'idle pass over %d containers: wall per mapped '
          'container (net)' % count,
          (again['wall'] - idle['wall']) * 1000.0 / extra, 'ms',
          '(wall - 1-container wall) / (%d - 1) containers' % count)
    R.add('4', target, 'idle pass over %d containers: CPU per mapped '
          'container (net)' % count,
          (again['cpu'] - idle['cpu']) * 1000.0 / extra, 'ms',
          '(CPU - 1-container CPU) / (%d - 1) containers' % count,
          peer='goal', peer_value=0.5)
    R.add('4', target, 'peak RSS, idle pass over %d containers' % count,
          again['rss_max_mib'], 'MiB', 'max VmRSS sampled every 50 ms',
          peer=peer, peer_value=idle['rss_max_mib'])
    R.add('4', target, 'first pass over %d containers: wall' % count,
          first['wall'], 's',
          'first pass: creates a progress record per container',
          peer='idle pass over the same containers',
          peer_value=again['wall'])
