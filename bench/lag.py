"""Scenario 3: lag under steady load.

A writer PUTs 4 KiB objects into a mapped container at a fixed rate (each
PUT scheduled at t0 + i/rate, run by a thread pool so a slow PUT does not
delay the next); the 4 daemons run continuously (poll_interval 1).  A poller
lists the target under the mapping's key prefix every 0.2 s; an object's lag
is the time from its PUT's response to the end of the first listing that
shows it.  The peer is the writer's own PUT latency in the same run.
"""
import concurrent.futures
import os
import threading
import time

from bench.common import (
    Cleanup, Destination, ThreadConns, daemon_mapping, delete_source_container,
    endpoint_of, log, make_daemons, our_key_prefix, percentile, swift_conn,
    unique)
from bench.running import wait_first_pass

POLL = 0.2


def run(bench):
    args, world, R = bench.args, bench.world, bench.results
    target = args.lag_target
    with Cleanup() as cleanup:
        source = unique('s3lag')
        swift_conn(world).put_container(source)
        cleanup.add(delete_source_container, world, source)
        dest = Destination(world, target, unique('s3lag')).create()
        cleanup.add(dest.delete)
        mapping = daemon_mapping(world, target, dest.name, source,
                                 endpoint_of(world, target))
        try:
            prefix = our_key_prefix(mapping, source)
        except NotImplementedError:
            R.note('3', 'not measured: the %s provider is not written yet'
                   % target)
            return
        daemons = make_daemons(bench, unique('s3lag'), [mapping],
                               poll_interval=1)
        bench.spawned.extend(daemons._name(n) for n in daemons.nodes)
        daemons.start()
        cleanup.add(daemons.stop)
        # Writing starts once every daemon has finished a first pass.
        if not wait_first_pass(daemons, timeout=120):
            R.note('3', 'daemons had not all finished a first pass after '
                   '120 s; writing anyway')
        total = int(args.rate * args.duration)
        log('scenario 3: %d PUTs at %.1f/s to %s, daemons running', total,
            args.rate, source)
        put_start, put_done, seen, polls = {}, {}, {}, []
        stop = threading.Event()
        poller = threading.Thread(target=_poll, args=(
            dest, prefix, seen, stop, polls), daemon=True)
        poller.start()
        conns = ThreadConns(world)
        body = os.urandom(4096)

        def put(i):
            name = 'lag-%06d' % i
            put_start[name] = time.time()
            conns.get().put_object(source, name, body)
            put_done[name] = time.time()
        errors = []
        t0 = time.time() + 0.5
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            futures = []
            for i in range(total):
                delay = t0 + i / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(put, i))
            for f in futures:
                try:
                    f.result()
                except Exception as err:
                    errors.append(repr(err))
        last_put = max(put_done.values()) if put_done else time.time()
        deadline = last_put + args.lag_timeout
        while time.time() < deadline and \
                any(n not in seen for n in put_done):
            time.sleep(POLL)
        stop.set()
        poller.join()
        period = (polls[-1] - polls[0]) / (len(polls) - 1) \
            if len(polls) > 1 else None
        _report(bench, target, total, put_start, put_done, seen, errors,
                t0, last_put, period)


def _poll(dest, prefix, seen, stop, polls):
    while not stop.is_set():
        try:
            listed = dest.listing(prefix)
        except Exception:
            listed = {}
        now = time.time()
        polls.append(now)
        for name in listed:
            seen.setdefault(name, now)
        stop.wait(POLL)


def _report(bench, target, total, put_start, put_done, seen, errors, t0,
            last_put, period):
    R, args = bench.results, bench.args
    lags = [seen[n] - put_done[n] for n in put_done if n in seen]
    latency = [put_done[n] - put_start[n] for n in put_done]
    unseen = len(put_done) - len(lags)
    achieved = len(put_done) / max(1e-9, last_put - t0)
    how = ('writer %d PUTs scheduled at %.1f/s for %.0f s (achieved '
           '%.1f/s, %d failed), started after every daemon finished a first '
           'pass; 4 daemons running, poll_interval 1, %d '
           'workers each; lag = end of the first listing showing the '
           'object - its PUT response (list_objects under the key prefix, '
           '%.1f s apart: measured period %s s); %d objects never seen '
           'within %.0f s'
           % (total, args.rate, args.duration, achieved, len(errors),
              bench.workers_per_daemon(), POLL,
              '%.2f' % period if period else 'n/a', unseen,
              args.lag_timeout))
    if errors:
        R.note('3', 'writer errors: %d, first: %s' % (len(errors),
                                                      errors[0]))
    if not lags:
        R.note('3', 'no lag figure: no object became visible (%s)' % how)
        return
    for pct in (50, 95, 99, 100):
        label = 'max' if pct == 100 else 'p%d' % pct
        R.add('3', target, 'sync lag %s (%d objects)' % (label, len(lags)),
              percentile(lags, pct), 's', how,
              peer='local PUT latency %s' % label,
              peer_value=percentile(latency, pct))
