"""Scenario 7: what proxymc costs against a client of the remote itself.

For each S3 target a bucket is mapped in the world's proxymc (two workers,
Swift's middleware in front).  The same objects are written and read
through proxymc with python-swiftclient and, as the peer, straight to the
bucket with boto3 -- each one client with keep-alive connections, one
request at a time:

* small objects (4 KiB): PUT and GET latency, median and p95;
* a big object (``--proxymc-mib``, plain PUT): PUT and GET throughput.

proxymc spools a PUT body before sending it on (so it can check it and
send its MD5), which shows in the big PUT; a GET is streamed.
"""
import json
import os
import time

import swiftclient

from bench.common import (
    Cleanup, Destination, log, percentile, s3_client, unique)
from localworld.daemons import s3_mapping
from swift_s3_sync.providers.s3_metadata import key_prefix

KiB = 1024
MiB = 1024 * KiB
RELOAD_WAIT = 1.2


def _timed(fn, *args):
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def _use_mappings(world, mappings):
    """Point proxymc at ``mappings``; returns the previous config text."""
    path = world['proxymc']['sync_conf']
    with open(path) as f:
        previous = f.read()
    config = json.loads(previous)
    config['containers'] = mappings
    _write(path, json.dumps(config))
    return previous


def _write(path, text):
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.rename(path + '.tmp', path)
    time.sleep(RELOAD_WAIT)   # proxymc looks once a second


def _clients(world, target, bucket, container):
    info = world['proxymc']
    user = 'test:tester'
    pmc = swiftclient.Connection(info['auth_url'], user,
                                 info['users'][user]['key'], retries=0)
    s3 = s3_client(world, target)
    prefix = key_prefix('AUTH_test', container)
    return {
        'proxymc': (
            lambda name, body: pmc.put_object(container, name, body),
            lambda name: pmc.get_object(container, name)[1]),
        'boto3 to the bucket': (
            lambda name, body: s3.put_object(Bucket=bucket,
                                             Key=prefix + name, Body=body),
            lambda name: s3.get_object(Bucket=bucket,
                                       Key=prefix + name)['Body'].read()),
    }


def _measure_small(clients, count):
    times = {label: {'PUT': [], 'GET': []} for label in clients}
    body = os.urandom(4 * KiB)
    for index in range(count):
        for label, (put, get) in clients.items():
            name = 'small-%04d' % index
            times[label]['PUT'].append(_timed(put, name, body))
            times[label]['GET'].append(_timed(get, name))
    return times


def _measure_big(clients, size, rounds):
    speeds = {label: {'PUT': [], 'GET': []} for label in clients}
    body = os.urandom(size)
    for index in range(rounds):
        for label, (put, get) in clients.items():
            name = 'big-%d' % index
            speeds[label]['PUT'].append(size / MiB / _timed(put, name, body))
            started = time.perf_counter()
            got = get(name)
            speeds[label]['GET'].append(
                size / MiB / (time.perf_counter() - started))
            if got != body:
                raise RuntimeError('%s read back different bytes' % label)
    return speeds


def run(bench):
    args, world, R = bench.args, bench.world, bench.results
    targets = [t for t in args.targets if t != 'swift']
    peer = 'boto3 to the bucket'
    for target in targets:
        with Cleanup() as cleanup:
            bucket = Destination(world, target, unique('s7')).create()
            cleanup.add(bucket.delete)
            container = unique('s7')
            previous = _use_mappings(world, [s3_mapping(
                world, target, bucket.name, container)])
            cleanup.add(_write, world['proxymc']['sync_conf'], previous)
            clients = _clients(world, target, bucket.name, container)
            log('scenario 7 %s: %d small objects, %d x %g MiB', target,
                args.proxymc_objects, args.proxymc_rounds, args.proxymc_mib)
            small = _measure_small(clients, args.proxymc_objects)
            how = ('%d 4 KiB objects, PUT then GET each, one request at a '
                   'time, the two clients alternating; python-swiftclient '
                   'through proxymc vs boto3 straight to the bucket'
                   % args.proxymc_objects)
            for verb in ('PUT', 'GET'):
                for pct in (50, 95):
                    R.add('7', target, '%s 4 KiB latency %s via proxymc' % (
                        verb, 'median' if pct == 50 else 'p95'),
                        percentile(small['proxymc'][verb], pct) * 1000, 'ms',
                        how, peer=peer, peer_value=percentile(
                            small[peer][verb], pct) * 1000)
            size = int(args.proxymc_mib * MiB)
            big = _measure_big(clients, size, args.proxymc_rounds)
            how = ('%g MiB plain object, %d rounds, median; bytes checked'
                   % (args.proxymc_mib, args.proxymc_rounds))
            for verb in ('PUT', 'GET'):
                R.add('7', target, '%s %g MiB via proxymc' % (
                    verb, args.proxymc_mib),
                    percentile(big['proxymc'][verb], 50), 'MiB/s', how,
                    peer=peer, peer_value=percentile(big[peer][verb], 50))
