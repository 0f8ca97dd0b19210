"""Scenarios 1 and 2: initial sync of small objects, and the requests the
target receives per object (first sync, then a re-read pass).

One source container of N 4 KiB objects with user metadata is copied, per
target, by each method into its own fresh bucket/container:

* ours: the 4 sync daemons (one per source node) run ``--once`` together;
* rclone: ``rclone copy src:<container> dst:<bucket>``;
* bare copier: GET from Swift, PUT to the target (boto3 / swiftclient),
  nothing else: the practical limit;
* container-sync (Swift target only): Swift's own daemons on the 4 source
  nodes, with a full-URL X-Container-Sync-To.

Every method's writes go through a CountingProxy in front of the target;
the clock runs from the launch until a listing of the target (made directly,
not through the proxy, every 0.2 s) shows all N names with their MD5 ETags.
"""
import base64
import configparser
import getpass
import os
import re
import shutil
import threading
import time
import uuid

from localworld import procs
from test.integration.counting_proxy import CountingProxy

from bench.common import (
    ACCOUNT, PYTHON, USER, Cleanup, Destination, OnceRun, ThreadConns, check_metadata, classify, daemon_mapping, daemon_startup, delete_source_container, endpoint_of, log, make_daemons, make_source_objects, our_key_prefix, parallel, per_object_detail, provider, s3_client, swift_conn, unique, wait_complete, wait_source_listing, write_count)
from bench.peers import Rclone
from bench.procstats import node_spec, swiftops, wait_http_ok
from bench.running import Running, reap
from localworld.procs import free_port

ORIGINAL_REQUESTS = 4.0   # 1 PUT + 3 HEADs per object, 3 replicas
ORIGINAL_LABEL = ('original swift-s3-sync: 1 PUT + 3 HEAD per object '
                  '(known constant, NOT measured)')


class MethodResult(object):

    def __init__(self, name):
        self.name = name
        self.seconds = None      # launch -> all present and correct
        self.good = 0            # objects listed with the right ETag
        self.meta_ok = None      # sampled objects carrying the metadata
        self.requests = []       # (kind, path) the target received
        self.startup = None      # ours: launch -> last "started" log line
        self.pass2_seconds = None
        self.pass2_requests = None
        self.cpu = None          # CPU seconds of the method's processes
        self.write_seconds = None  # ours-running: the writer's own time
        self.error = None


def _sample(expected):
    names = sorted(expected)
    picks = sorted({0, len(names) // 2, len(names) - 1})
    return [(names[i], int(names[i].rsplit('-', 1)[1])) for i in picks]


def run(bench):
    for n in bench.args.objects:
        _run_size(bench, n)


def _run_size(bench, n):
    args, world = bench.args, bench.world
    with Cleanup() as cleanup:
        source = unique('s1')
        cleanup.add(delete_source_container, world, source)
        log('scenario 1: writing %d x 4 KiB objects to %s', n, source)
        started = time.time()
        expected = make_source_objects(world, source, n, threads=8)
        write_time = time.time() - started
        listed = wait_source_listing(world, source, expected)
        missing = set(expected) - listed
        if missing:
            bench.results.note('1', '%d of %d objects never appeared in the '
                               'source listing (container update lost?); '
                               'they are left out' % (len(missing), n))
            expected = {k: v for k, v in expected.items() if k in listed}
        bench.results.note('1', 'source: %d x 4 KiB objects with 2 metadata '
                           'items written in %.1f s (8 threads)'
                           % (len(expected), write_time))
        rclone = Rclone(world, bench.subdir('rclone'))
        for target in args.targets:
            log('scenario 1: target %s', target)
            results = {}
            for method in _methods(bench, target):
                if method == 'ours-running':
                    results[method] = _running(bench, target, n, results)
                    continue
                try:
                    results[method] = _run_method(
                        bench, rclone, target, method, source, expected)
                except Exception as err:
                    log('scenario 1 %s %s failed: %r', target, method, err)
                    result = MethodResult(method)
                    result.error = repr(err)
                    results[method] = result
            _report(bench, target, len(expected), results)


def _methods(bench, target):
    methods = ['ours', 'rclone', 'copier']
    if target == 'swift' and not bench.args.no_container_sync:
        methods.append('container-sync')
    if not bench.args.no_running:
        methods.append('ours-running')   # needs rclone's time: last
    return methods


def _run_method(bench, rclone, target, method, source, expected):
    world, args = bench.world, bench.args
    result = MethodResult(method)
    timeout = 60 + 1.0 * len(expected)
    with Cleanup() as cleanup:
        dest = Destination(world, target, unique('s1' + method[:2])).create()
        cleanup.add(dest.delete)
        proxy = CountingProxy(endpoint_of(world, target))
        cleanup.add(proxy.close)
        prefix = ''
        if method == 'ours':
            mapping = daemon_mapping(world, target, dest.name, source,
                                     proxy.url)
            try:
                # Probe the provider directly (not through the proxy).
                probe = provider(daemon_mapping(
                    world, target, dest.name, source,
                    endpoint_of(world, target)))
                probe.list(source, limit=1)
                prefix = our_key_prefix(mapping, source)
            except NotImplementedError as err:
                result.error = ('not measured: the %s provider is not '
                                'written yet (%s)' % (target, err or
                                                      'NotImplementedError'))
                return result
            daemons = make_daemons(bench, unique('s1-%s' % target),
                                   [mapping])
            started = time.time()
            once = OnceRun(daemons, daemons.work_dir)
            cleanup.add(once.kill)
            result.seconds, result.good = wait_complete(
                dest, expected, prefix, timeout, started=started,
                done=once.done)
            failed = once.wait()
            if failed:
                result.error = '; '.join(failed)
            result.cpu = once.cpu_seconds
            result.startup = daemon_startup(daemons.work_dir, started)
            result.requests = list(proxy.requests)
            # Re-read pass: progress forgotten, nothing changed.
            proxy.reset()
            for entry in os.listdir(daemons.work_dir):
                if entry.startswith('status-node'):
                    shutil.rmtree(os.path.join(daemons.work_dir, entry))
            started = time.time()
            once = OnceRun(daemons, daemons.work_dir)
            cleanup.add(once.kill)
            once.wait()
            result.pass2_seconds = time.time() - started
            result.pass2_requests = list(proxy.requests)
        elif method == 'rclone':
            remote = rclone.add_target(unique('dst'), target, proxy.url)
            argv = ['copy', 'src:' + source, '%s:%s' % (remote, dest.name),
                    '--transfers', str(args.concurrency),
                    '--checkers', str(args.concurrency)]
            rlog = os.path.join(bench.subdir('rclone'), 'rclone.log')
            started = time.time()
            proc = rclone.popen(*argv, log_path=rlog)
            cleanup.add(lambda: proc.poll() is None and proc.kill())
            result.seconds, result.good = wait_complete(
                dest, expected, '', timeout, started=started,
                done=lambda: reap(proc) is not None)
            if reap(proc, timeout):
                result.error = 'rclone exited %d (see %s)' % (
                    proc.returncode, rlog)
            result.cpu = getattr(proc, 'cpu_seconds', None)
            result.requests = list(proxy.requests)
            proxy.reset()
            started = time.time()
            rclone.popen(*argv, log_path=rlog).wait()
            result.pass2_seconds = time.time() - started
            result.pass2_requests = list(proxy.requests)
        elif method == 'copier':
            errors = []
            started = time.time()
            worker = threading.Thread(target=_bare_copy, args=(
                world, target, source, sorted(expected), proxy.url,
                dest.name, args.concurrency, errors), daemon=True)
            worker.start()
            result.seconds, result.good = wait_complete(
                dest, expected, '', timeout, started=started,
                done=lambda: not worker.is_alive())
            worker.join()
            if errors:
                result.error = '%d copy errors, first: %s' % (
                    len(errors), errors[0])
            result.requests = list(proxy.requests)
        elif method == 'container-sync':
            _container_sync(bench, cleanup, result, source, dest, expected,
                            timeout)
        if result.good:
            result.meta_ok = check_metadata(dest, [
                (prefix + name, index) for name, index in _sample(expected)])
    return result


def _running(bench, target, n, results):
    """The form operators run: the 4 daemons are already running (and
    through a first, empty pass) when a writer puts ``n`` objects into the
    mapped container; clock from the first PUT to the target listing all
    of them.  The peer is this writer's time plus rclone's copy of the
    same number of objects (measured above)."""
    world = bench.world
    result = MethodResult('ours-running')
    if results.get('rclone') is None or results['rclone'].seconds is None:
        result.error = 'not measured: rclone did not complete (its time ' \
            'is the peer)'
        return result
    with Cleanup() as cleanup:
        source = unique('s1run')
        swift_conn(world).put_container(source)
        cleanup.add(delete_source_container, world, source)
        dest = Destination(world, target, unique('s1ru')).create()
        cleanup.add(dest.delete)
        proxy = CountingProxy(endpoint_of(world, target))
        cleanup.add(proxy.close)
        mapping = daemon_mapping(world, target, dest.name, source, proxy.url)
        prefix = our_key_prefix(mapping, source)
        running = Running(bench, cleanup, make_daemons(
            bench, unique('s1run-%s' % target), [mapping], poll_interval=1))
        if not running.ready:
            result.error = 'not measured: the daemons did not finish a ' \
                'first pass in %d s' % running.FIRST_PASS_TIMEOUT
            return result
        started = time.time()
        expected = make_source_objects(bench.world, source, n, threads=8)
        result.write_seconds = time.time() - started
        result.seconds, result.good = wait_complete(
            dest, expected, prefix, 60 + 1.0 * n, started=started)
        result.cpu, _ = running.finish()
        result.requests = list(proxy.requests)
        if result.seconds is None:
            result.error = 'not complete after %.0f s (%d of %d)' % (
                60 + 1.0 * n, result.good, n)
        else:
            result.meta_ok = check_metadata(dest, [
                (prefix + name, index) for name, index in _sample(expected)])
    return result


def _bare_copy(world, target, source, names, endpoint, dest_name, threads,
               errors):
    src = ThreadConns(world)
    if target == 'swift':
        local = threading.local()
        key = world['target']['users'][USER]['key']
        import swiftclient

        def dst():
            if not hasattr(local, 'conn'):
                local.conn = swiftclient.Connection(
                    endpoint + '/auth/v1.0', USER, key, retries=2)
            return local.conn
    else:
        s3 = s3_client(world, target, endpoint=endpoint, pool=threads)

    def copy(name):
        try:
            headers, body = src.get().get_object(source, name)
            meta = {k[len('x-object-meta-'):]: v for k, v in headers.items()
                    if k.startswith('x-object-meta-')}
            if target == 'swift':
                dst().put_object(dest_name, name, body,
                                 content_type=headers['content-type'],
                                 etag=headers['etag'],
                                 headers={'X-Object-Meta-' + k: v
                                          for k, v in meta.items()})
            else:
                s3.put_object(
                    Bucket=dest_name, Key=name, Body=body,
                    ContentType=headers['content-type'], Metadata=meta,
                    ContentMD5=base64.b64encode(
                        bytes.fromhex(headers['etag'])).decode())
        except Exception as err:
            errors.append('%s: %r' % (name, err))
    parallel(copy, names, threads)


def _copy_swift_dir(src, dst, realms):
    """A private swift_dir: the cluster's swift.conf and rings plus a
    container-sync realm (the world's own swift_dirs are left alone)."""
    os.makedirs(dst, exist_ok=True)
    for entry in os.listdir(src):
        path = os.path.join(src, entry)
        if os.path.isfile(path) and (entry == 'swift.conf' or
                                     entry.endswith('.ring.gz')):
            shutil.copy2(path, dst)
    with open(os.path.join(dst, 'container-sync-realms.conf'), 'w') as f:
        f.write(realms)
    return dst


def _container_sync(bench, cleanup, result, source, dest, expected,
                    timeout):
    """Swift's container-sync: one daemon per source node, syncing through
    a realm to a second target proxy (same servers, a private swift_dir
    holding the realm) behind a counting proxy."""
    world = bench.world
    src, tgt = world['source'], world['target']
    work = bench.subdir(unique('csync'))
    tag = os.path.basename(work)
    ops_log = os.path.join(work, 'swiftops.log')
    # The target proxy that knows the realm, and the counting proxy.
    port = free_port()
    proxy = CountingProxy('http://127.0.0.1:%d' % port)
    cleanup.add(proxy.close)
    realms = ('[DEFAULT]\nmtime_check_interval = 1\n\n[bench]\n'
              'key = %s\ncluster_target = %s/v1/\n' % (
                  uuid.uuid4().hex, proxy.url))
    src_dir = _copy_swift_dir(src['swift_dir'], os.path.join(work, 'src'),
                              realms)
    tgt_dir = _copy_swift_dir(tgt['swift_dir'], os.path.join(work, 'tgt'),
                              realms)
    with open(tgt['proxy_conf']) as f:
        text = f.read()
    text = re.sub(r'^bind_port\s*=.*$', 'bind_port = %d' % port, text,
                  flags=re.M)
    text = re.sub(r'^swift_dir\s*=.*$', 'swift_dir = %s' % tgt_dir, text,
                  flags=re.M)
    text = re.sub(r'^log_name\s*=.*$', 'log_name = %s-proxy' % tag, text,
                  flags=re.M)
    conf = os.path.join(work, 'target-proxy.conf')
    with open(conf, 'w') as f:
        f.write(text)
    names = ['%s-proxy' % tag]
    pid = bench.spawn(names[0], [
        PYTHON, '-m', 'localworld.run_swift', 'wsgi', tgt_dir, conf,
        'proxy-server'])
    cleanup.add(procs.stop, world['world_dir'], names)
    if not wait_http_ok(port, pid):
        result.error = 'not measured: the realm-aware target proxy did ' \
            'not start (%s/logs/%s.log)' % (world['world_dir'], names[0])
        return
    key = uuid.uuid4().hex
    swift_conn(world, 'target').post_container(
        dest.name, {'X-Container-Sync-Key': key})
    spec = {'swift_dir': src['swift_dir'], 'nodes': node_spec(world),
            'account': ACCOUNT, 'container': source,
            'sync_to': '//bench/target/%s/%s' % (ACCOUNT, dest.name),
            'sync_key': key}
    swiftops('syncmeta', spec, ops_log)
    cleanup.add(swiftops, 'syncmeta', dict(spec, sync_to='', sync_key=''),
                ops_log)
    proxy_conf = configparser.ConfigParser(interpolation=None)
    proxy_conf.read(src['proxy_conf'])
    memcache = proxy_conf.get('filter:cache', 'memcache_servers',
                              fallback='127.0.0.1:11211')
    ic_conf = os.path.join(work, 'internal-client.conf')
    with open(ic_conf, 'w') as f:
        f.write('[DEFAULT]\nswift_dir = %s\n\n[pipeline:main]\npipeline = '
                'catch_errors proxy-logging cache proxy-server\n\n'
                '[app:proxy-server]\nuse = egg:swift#proxy\n'
                'account_autocreate = true\n\n[filter:cache]\n'
                'use = egg:swift#memcache\nmemcache_servers = %s\n\n'
                '[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n\n'
                '[filter:catch_errors]\nuse = egg:swift#catch_errors\n'
                % (src_dir, memcache))
    daemons = []
    started = time.time()
    for node in src['nodes']:
        conf = os.path.join(work, 'container-sync-%d.conf' % node['node'])
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\ndevices = %s\nmount_check = false\n'
                    'swift_dir = %s\nbind_ip = %s\nbind_port = %d\n'
                    'user = %s\nlog_name = %s-%d\n\n'
                    '[container-sync]\ninterval = 1\n'
                    'sync_row_concurrency = %d\n'
                    'internal_client_conf_path = %s\n' % (
                        node['devices'], src_dir, node['ip'],
                        node['ports']['container'], getpass.getuser(), tag,
                        node['node'], bench.workers_per_daemon(), ic_conf))
        name = '%s-node%d' % (tag, node['node'])
        bench.spawn(name, [
            PYTHON, '-m', 'localworld.run_swift', 'daemon', src_dir, conf,
            'swift.container.sync:ContainerSync'])
        daemons.append(name)
    cleanup.add(procs.stop, world['world_dir'], daemons)
    result.seconds, result.good = wait_complete(
        dest, expected, '', timeout, started=started)
    procs.stop(world['world_dir'], daemons)
    result.requests = list(proxy.requests)
    if result.seconds is None:
        result.error = ('not complete after %.0f s (%d of %d); logs: '
                        '%s/logs/%s-*.log' % (
                            timeout, result.good, len(expected),
                            world['world_dir'], tag))


# -- reporting -------------------------------------------------------------------

LABELS = {'ours': 'ours (4 daemons --once)', 'rclone': 'rclone copy',
          'ours-running': 'ours (4 daemons already running, burst written)',
          'copier': 'bare copier (limit)',
          'container-sync': 'Swift container-sync'}


def _report_cpu(R, target, n, results):
    """CPU milliseconds per synced object, ours against rclone's."""
    rclone = results.get('rclone')
    peer = rclone.cpu * 1e3 / n if rclone and rclone.cpu and \
        rclone.seconds is not None else None
    for name, what in (('ours', 'start-up of the 4 processes included'),
                       ('ours-running', 'no start-up: from the first PUT '
                        'to the last object listed')):
        res = results.get(name)
        if res is None or res.cpu is None or res.seconds is None:
            continue
        R.add('1', target, 'CPU per synced object (%d x 4 KiB): %s' % (
            n, LABELS[name]), res.cpu * 1e3 / n, 'ms',
            'utime+stime of all 4 daemons (%s) / objects; rclone: '
            'utime+stime of its process from wait4' % what,
            peer='rclone copy' if peer else None, peer_value=peer)


def _report_running(R, target, n, results):
    res, rclone = results.get('ours-running'), results.get('rclone')
    if res is None or res.seconds is None or rclone is None or \
            rclone.seconds is None:
        return
    R.add('1', target, 'burst of %d x 4 KiB written while ours run: first '
          'PUT -> all listed at the target' % n, res.seconds, 's',
          'the 4 daemons (poll_interval 1) started and through a first, '
          'empty pass; the same writer as above (8 threads) puts the '
          'objects; clock from its first PUT to a direct listing showing '
          'every object with its MD5 ETag (polled every 0.2 s); peer: this '
          "writer's time plus rclone's copy of the same count above "
          '(goal: ratio at most 0.5)',
          peer='write (%.1f s) + rclone copy (%.1f s)' % (
              res.write_seconds, rclone.seconds),
          peer_value=res.write_seconds + rclone.seconds)


def _report(bench, target, n, results):
    R = bench.results
    c = bench.args.concurrency
    w = bench.workers_per_daemon()
    for name, res in results.items():
        if res.error:
            R.note('1', '%s, %s: %s' % (target, LABELS[name], res.error))
    meta = ', '.join('%s %s/3' % (name, res.meta_ok)
                     for name, res in results.items()
                     if res.meta_ok is not None)
    how = ('launch -> direct listing of the target shows all %d objects '
           'with MD5 ETags (polled every 0.2 s); writes through a counting '
           'proxy; concurrency %d: 4 daemons, the %d holding a container '
           'replica each handle the rows they own, %d workers each; rclone '
           '--transfers/--checkers %d, copier %d threads; user metadata '
           'present on sampled objects: %s' % (
               n, c, bench.replicas, w, c, c, meta or 'n/a'))
    figure = 'initial sync of %d x 4 KiB' % n
    ours = results.get('ours')
    have_ours = ours is not None and ours.seconds is not None
    subject = 'ours' if have_ours else 'rclone'
    subject_res = results[subject]
    if subject_res.seconds is None:
        R.note('1', '%s: no initial-sync figure (%s did not complete)' % (
            target, LABELS[subject]))
    else:
        for peer in ('rclone', 'copier', 'container-sync'):
            if peer == subject or peer not in results:
                continue
            pres = results[peer]
            if pres.seconds is None:
                continue
            detail = None
            if subject_res.startup is not None:
                detail = ('of which daemon start-up (launch -> last '
                          '"started" log line): %.1f s' % subject_res.startup)
            R.add('1', target, '%s: %s' % (figure, LABELS[subject]),
                  subject_res.seconds, 's', how, peer=LABELS[peer],
                  peer_value=pres.seconds, detail=detail)
    _report_cpu(R, target, n, results)
    _report_running(R, target, n, results)
    # Scenario 2: requests per synced object.
    if '2' not in bench.args.only:
        return
    protocol = 'swift' if target == 'swift' else 's3'
    for name, res in results.items():
        if not res.requests or res.good != n:
            continue
        kinds, other = classify(res.requests, protocol)
        total = sum(kinds.values())
        method = ('requests received by the target (counting proxy) while '
                  'syncing, / %d objects' % n)
        if name == 'container-sync':
            method += ('; container-sync daemons stopped as soon as all '
                       'objects were present, so its verification HEADs '
                       'are mostly not included')
        R.add('2', target, 'requests/object, first sync: %s' % LABELS[name],
              total / float(n), 'req', method, peer=ORIGINAL_LABEL,
              peer_value=ORIGINAL_REQUESTS,
              detail=per_object_detail(kinds, other, n))
    if have_ours and ours.pass2_requests is not None:
        kinds, other = classify(ours.pass2_requests, protocol)
        total = sum(kinds.values())
        peer = results.get('rclone')
        peer_total = None
        if peer is not None and peer.pass2_requests is not None:
            peer_total = sum(classify(peer.pass2_requests, protocol)[0]
                             .values()) / float(n)
        R.add('2', target, 'requests/object, re-read pass with progress '
              'files removed (no changes): ours', total / float(n), 'req',
              'progress files deleted, 4 daemons --once again; requests '
              'the target received / %d objects; %d of them writes' % (
                  n, write_count(ours.pass2_requests, protocol)),
              peer='rclone copy run again' if peer_total is not None
              else None, peer_value=peer_total,
              detail=per_object_detail(kinds, other, n))
        R.add('2', target, 'time of that re-read pass: ours',
              ours.pass2_seconds, 's',
              'launch -> all 4 daemons exited', peer='rclone copy run again'
              if peer is not None and peer.pass2_seconds else None,
              peer_value=peer.pass2_seconds if peer is not None else None)
