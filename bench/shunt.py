"""Scenario 6: what cloud-shunt costs a GET of a local object.

Proxies, all on the source cluster's servers, GET the same 4 KiB local
objects in turn (round robin, one keep-alive connection each):

* the world's source proxy (cloud-shunt in its pipeline; it also serves
  everyone else's traffic);
* copies of its config started here on other ports: without cloud-shunt
  (the peer); with cloud-shunt unchanged; with cloud-shunt reading a sync
  config that maps the benchmark container with merge_namespaces.

Then the same local GETs through one more copy whose mapping's remote is
first up, then silent (see :mod:`bench.shunt_remote`).
"""
import http.client
import json
import os
import re
import time

from localworld import procs
from localworld.daemons import s3_mapping

from bench.common import (
    PYTHON, Cleanup, Destination, delete_source_container, log, make_source_objects, percentile, swift_conn, unique, wait_source_listing)
from bench.procstats import wait_http_ok
from bench.shunt_remote import NewNameHeads, SwitchableRemote
from localworld.procs import free_port

SHUNT = 'cloud-shunt'
MIN_PHASE = 12   # seconds of each phase of the remote-silent measurement


def _pipeline_has_shunt(text):
    match = re.search(r'^pipeline\s*=\s*(.*)$', text, re.M)
    return bool(match) and SHUNT in match.group(1).split()


def _variant(text, port, name, drop_shunt=False, shunt_conf=None):
    text = re.sub(r'^bind_port\s*=.*$', 'bind_port = %d' % port, text,
                  flags=re.M)
    text = re.sub(r'^log_name\s*=.*$', 'log_name = %s' % name, text,
                  flags=re.M)
    if drop_shunt:
        text = re.sub(r'^(pipeline\s*=.*)$', lambda m: ' '.join(
            t for t in m.group(1).split() if t != SHUNT), text, flags=re.M)
    if shunt_conf:
        text = re.sub(r'(\[filter:%s\][^\[]*?^conf_file\s*=\s*)\S+' % SHUNT,
                      lambda m: m.group(1) + shunt_conf, text,
                      flags=re.M | re.S)
    return text


def run(bench):
    args, world, R = bench.args, bench.world, bench.results
    src = world['source']
    with open(src['proxy_conf']) as f:
        conf_text = f.read()
    if not _pipeline_has_shunt(conf_text):
        R.note('6', 'not measured: shunt not in pipeline')
        return
    with Cleanup() as cleanup:
        container = unique('s6')
        cleanup.add(delete_source_container, world, container)
        expected = make_source_objects(world, container, args.shunt_objects)
        names = sorted(wait_source_listing(world, container, expected))
        bucket = Destination(world, 'moto', unique('s6')).create()
        cleanup.add(bucket.delete)
        work = bench.subdir(unique('s6'))
        sync_json = os.path.join(work, 'sync.json')
        with open(sync_json, 'w') as f:
            json.dump({'status_dir': os.path.join(work, 'status'),
                       'containers': [s3_mapping(
                           world, 'moto', bucket.name, container,
                           merge_namespaces=True)]}, f)
        proxies = {'world proxy (shunt, container not mapped)':
                   int(src['proxy_url'].rsplit(':', 1)[1])}
        variants = [
            ('copy without cloud-shunt', {'drop_shunt': True}),
            ('copy with cloud-shunt (container not mapped)', {}),
            ('copy with cloud-shunt, container mapped (merge_namespaces)',
             {'shunt_conf': sync_json})]
        started = []
        for label, opts in variants:
            port = _start_proxy(bench, cleanup, conf_text, work, started,
                                label, opts)
            if port is None:
                return
            proxies[label] = port
        url, token = swift_conn(world).get_auth()
        base = url.split('//', 1)[1].split('/', 1)[1]
        log('scenario 6: %d GETs per proxy over %d proxies', args.gets,
            len(proxies))
        times = _measure(proxies, '/%s/%s/' % (base, container), names,
                         token, args.gets)
        peer = 'copy without cloud-shunt'
        how = ('%d GETs of %d local 4 KiB objects per proxy, round robin '
               'across %d proxies, keep-alive, time to last body byte; '
               'the world proxy also serves other clients'
               % (args.gets, len(names), len(proxies)))
        for label in proxies:
            if label == peer:
                continue
            for pct in (50, 95):
                R.add('6', 'source', 'GET latency %s: %s' % (
                    'median' if pct == 50 else 'p95', label),
                    percentile(times[label], pct) * 1000, 'ms', how,
                    peer=peer, peer_value=percentile(times[peer], pct) * 1000)
        _remote_silent(bench, cleanup, conf_text, work, started, container,
                       names, bucket, base, token)


def _start_proxy(bench, cleanup, conf_text, work, started, label, opts):
    """A copy of the source proxy on a free port; its port, or None (with
    a note) when it does not start."""
    world, src = bench.world, bench.world['source']
    port = free_port()
    name = '%s-%d' % (os.path.basename(work), len(started))
    path = os.path.join(work, 'proxy-%d.conf' % len(started))
    with open(path, 'w') as f:
        f.write(_variant(conf_text, port, name, **opts))
    pid = bench.spawn(name, [
        PYTHON, '-m', 'localworld.run_swift', 'wsgi',
        src['swift_dir'], path, 'proxy-server'])
    started.append(name)
    cleanup.add(procs.stop, world['world_dir'], [name])
    if not wait_http_ok(port, pid):
        bench.results.note('6', 'not measured: proxy "%s" did not start '
                           '(see %s/logs/%s.log)' % (
                               label, world['world_dir'], name))
        return None
    return port


def _remote_silent(bench, cleanup, conf_text, work, started, container,
                   names, bucket, base, token):
    world, R, gets = bench.world, bench.results, min(bench.args.gets, 100)
    moto = world['moto']['endpoint'].split('//', 1)[1]
    host, port = moto.rsplit(':', 1)
    remote = SwitchableRemote((host, int(port)))
    cleanup.add(remote.close)
    sync_json = os.path.join(work, 'sync-switchable.json')
    with open(sync_json, 'w') as f:
        json.dump({'status_dir': os.path.join(work, 'status'),
                   'containers': [s3_mapping(
                       world, 'moto', bucket.name, container,
                       merge_namespaces=True, aws_endpoint=remote.url)]}, f)
    label = 'mapped, remote switchable'
    port = _start_proxy(bench, cleanup, conf_text, work, started, label,
                        {'shunt_conf': sync_json})
    if port is None:
        return
    path = '/%s/%s/' % (base, container)
    times, heads = {}, {}
    for state in ('up', 'silent'):
        remote.silent = state == 'silent'
        load = NewNameHeads(port, path, token)
        times[state], phase_started = [], time.time()
        # Long enough for the breaker to see failures and open.
        while time.time() - phase_started < MIN_PHASE:
            times[state] += _measure({state: port}, path, names, token,
                                     gets)[state]
        heads[state] = load.stop()
    how = ('GETs of %d local 4 KiB objects for at least %d s (%d up, %d '
           'silent), one keep-alive client, while 2 clients HEAD names that '
           'exist nowhere (each makes the shunt ask the remote); remote '
           'silent = accepts connections, never answers; HEAD answers while '
           'up: %s, while silent: %s' % (
               len(names), MIN_PHASE, len(times['up']),
               len(times['silent']), heads['up'], heads['silent']))
    for pct in (50, 95):
        R.add('6', 'source', 'GET latency %s: local objects, remote silent'
              % ('median' if pct == 50 else 'p95'),
              percentile(times['silent'], pct) * 1000, 'ms', how,
              peer='same proxy, remote up',
              peer_value=percentile(times['up'], pct) * 1000)


def _measure(proxies, path, names, token, gets, warmup=10):
    conns = {}
    times = {label: [] for label in proxies}

    def get(label, name):
        conn = conns.get(label)
        if conn is None:
            conn = conns[label] = http.client.HTTPConnection(
                '127.0.0.1', proxies[label], timeout=30)
        t = time.perf_counter()
        try:
            conn.request('GET', path + name, headers={'X-Auth-Token': token})
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conns.pop(label, None)
            raise
        elapsed = time.perf_counter() - t
        if resp.status != 200:
            raise RuntimeError('%s: GET %s -> %d' % (label, name,
                                                     resp.status))
        return elapsed
    labels = list(proxies)
    for i in range(warmup):
        for label in labels:
            get(label, names[i % len(names)])
    for i in range(gets):
        # Rotate the order so no proxy always goes first.
        order = labels[i % len(labels):] + labels[:i % len(labels)]
        for label in order:
            times[label].append(get(label, names[i % len(names)]))
    for conn in conns.values():
        conn.close()
    return times
