"""Scenario 5: large objects (SLOs) to each target.

For each size of ``--large-mib`` (100 and 1024 MiB), one SLO in
``--segment-mib`` segments is copied to each target of ``--targets`` by:

* ours, ``--once``: the 4 node daemons started together;
* ours, running: the 4 daemons already running (and through a first,
  empty pass) when the manifest is PUT into their mapped container;
* ``rclone copyto``, which reads the SLO through the Swift API as one
  object and uploads it with its default settings.

Time = launch (or the manifest PUT) -> the key is in a direct listing of
the target, polled every 0.2 s; afterwards the copy is read back and its
MD5 checked.  The daemons' peak RSS is sampled every 50 ms during both of
our forms.  A plain GET of the SLO from the source proxy (best of 3) is
the read limit.
"""
import hashlib
import json
import random
import time

from bench.common import (
    MiB, Cleanup, Destination, OnceRun, daemon_mapping, daemon_startup,
    delete_source_container, endpoint_of, log, make_daemons, our_key_prefix,
    parallel, swift_conn, unique)
from bench.peers import Rclone
from bench.running import Running

NAME = 'large-slo'
RSS_GOAL_MIB = 150


def run(bench):
    for mib in bench.args.large_mib:
        _run_size(bench, int(mib * MiB), int(bench.args.segment_mib * MiB))


def _segment_bytes(index, size):
    """Segment ``index``'s bytes: random, but the same every time they are
    made, so the whole object's MD5 is computed without keeping them."""
    return random.Random(index).randbytes(size)


def _make_slo(world, cleanup, size, seg):
    """Segments in ``<c>_segments``, the manifest in ``<c>``; returns
    (container, manifest JSON, segment sizes, whole MD5)."""
    container = unique('s5')
    segments = container + '_segments'
    conn = swift_conn(world)
    conn.put_container(container)
    conn.put_container(segments)
    cleanup.add(delete_source_container, world, segments)
    cleanup.add(delete_source_container, world, container)
    pieces = [min(seg, size - offset) for offset in range(0, size, seg)]

    def put_segment(i):
        etag = swift_conn(world).put_object(
            segments, '%s/%05d' % (NAME, i), _segment_bytes(i, pieces[i]))
        return {'path': '/%s/%s/%05d' % (segments, NAME, i),
                'etag': etag, 'size_bytes': pieces[i]}
    manifest = json.dumps(parallel(put_segment, range(len(pieces)), 4))
    conn.put_object(container, NAME, manifest,
                    query_string='multipart-manifest=put')
    whole = hashlib.md5()
    for i, n in enumerate(pieces):
        whole.update(_segment_bytes(i, n))
    return container, manifest, pieces, whole.hexdigest()


def _run_size(bench, size, seg):
    args, world, R = bench.args, bench.world, bench.results
    with Cleanup() as cleanup:
        log('scenario 5: uploading a %d MiB SLO', size // MiB)
        container, manifest, pieces, whole_md5 = _make_slo(
            world, cleanup, size, seg)
        read_limit = _read_limit(world, container, size)
        rclone = Rclone(world, bench.subdir('rclone5'))
        what = '%d MiB SLO (%d segments of %g MiB)' % (
            size // MiB, len(pieces), args.segment_mib)
        for target in args.targets:
            try:
                ours = _ours(bench, cleanup, target, container, whole_md5)
                running = None if args.no_running else _ours_running(
                    bench, cleanup, target, container, manifest, whole_md5)
                theirs = _rclone(bench, cleanup, rclone, target, container,
                                 whole_md5)
            except Exception as err:
                R.note('5', '%s, %s: failed: %r' % (what, target, err))
                continue
            _report(bench, target, what, size, read_limit, ours, running,
                    theirs)


def _report(bench, target, what, size, read_limit, ours, running, theirs):
    R = bench.results
    mib = size / MiB
    how = ('launch -> key listed at the target (polled every 0.2 s), then '
           'the copy read back and its MD5 checked; ours: 4 daemons --once; '
           'rclone copyto with its default settings (S3: 5 MiB chunks, 4 '
           'parts at once; Swift: one PUT)')
    detail = '%s; rclone: %s' % (ours['check'], theirs['check'])
    if ours['startup'] is not None:
        detail += ('; of our time, daemon start-up (launch -> last '
                   '"started" log line): %.1f s' % ours['startup'])
    if theirs['seconds'] is None:
        R.note('5', '%s, %s: rclone did not copy the SLO (%s)' % (
            what, target, theirs['check']))
    peer = mib / theirs['seconds'] if theirs['seconds'] else None
    for form, res, method in (
            ('ours --once', ours, how),
            ('ours, daemons already running', running,
             'the 4 daemons (poll_interval 1) started and through a first, '
             'empty pass before the manifest is PUT into their mapped '
             'container; manifest PUT -> key listed, copy read back and '
             'MD5-checked')):
        if res is None:
            continue
        if res['seconds'] is None:
            R.note('5', '%s, %s: %s did not copy the SLO (%s)' % (
                what, target, form, res['check']))
            continue
        R.add('5', target, '%s: %s' % (what, form), mib / res['seconds'],
              'MiB/s', method, peer='rclone copyto' if peer else None,
              peer_value=peer, detail=detail if res is ours else
              res['check'])
        if res['rss'] is not None:
            R.add('5', target, '%s: %s, peak RSS of one daemon' % (
                what, form), res['rss'], 'MiB',
                  'max VmRSS of each daemon process, sampled every 50 ms '
                  'while it ran', peer='goal (a limit, not measured)',
                  peer_value=RSS_GOAL_MIB)
    if ours['seconds'] is None:
        return
    R.add('5', target, '%s: ours --once' % what, mib / ours['seconds'],
          'MiB/s', how, peer='GET of the SLO from the source proxy, best '
          'of 3 (read limit)', peer_value=read_limit)
    startup = ours['startup']
    if peer and startup is not None and ours['seconds'] > startup:
        R.add('5', target, '%s: ours --once, daemon start-up left out'
              % what, mib / (ours['seconds'] - startup), 'MiB/s',
              'the same run of ours, its time less the daemon start-up '
              '(launch -> last "started" log line)',
              peer='rclone copyto (whole time)', peer_value=peer)


def _read_limit(world, container, size, tries=3):
    """MiB/s of the best of ``tries`` plain GETs of the SLO (read and
    discarded)."""
    conn = swift_conn(world)
    best = None
    for _ in range(tries):
        started = time.time()
        _, body = conn.get_object(container, NAME, resp_chunk_size=MiB)
        got = sum(len(chunk) for chunk in body)
        elapsed = time.time() - started
        if got != size:
            raise RuntimeError('read %d of %d bytes of the SLO' % (got, size))
        best = elapsed if best is None else min(best, elapsed)
    return size / MiB / best


def _wait_key(dest, key, started, timeout, done):
    finished_seen = False
    while True:
        # Names come back without the prefix: the key itself lists as ''.
        if '' in dest.listing(key):
            return time.time() - started
        if time.time() - started > timeout or finished_seen:
            return None
        if done():
            finished_seen = True
        time.sleep(0.2)


def _verify(dest, key, whole_md5):
    try:
        got = dest.md5(key)
    except Exception as err:
        return 'read back failed: %r' % err
    return 'MD5 verified' if got == whole_md5 else 'MD5 MISMATCH'


def _result(dest, key, whole_md5, seconds, failed=(), **extra):
    check = _verify(dest, key, whole_md5) if seconds else 'not listed'
    if failed:
        check += '; ' + '; '.join(failed)
    result = {'seconds': seconds if 'verified' in check else None,
              'check': check}
    result.update(extra)
    dest.delete()
    return result


def _ours(bench, cleanup, target, container, whole_md5):
    world = bench.world
    dest = Destination(world, target, unique('s5ours')).create()
    cleanup.add(dest.delete)
    mapping = daemon_mapping(world, target, dest.name, container,
                             endpoint_of(world, target))
    key = our_key_prefix(mapping, container) + NAME
    daemons = make_daemons(bench, unique('s5-%s' % target), [mapping])
    started = time.time()
    once = OnceRun(daemons, daemons.work_dir)
    cleanup.add(once.kill)
    seconds = _wait_key(dest, key, started,
                        bench.args.large_timeout, once.done)
    failed = once.wait()
    result = _result(dest, key, whole_md5, seconds, failed,
                     startup=daemon_startup(daemons.work_dir, started),
                     rss=once.rss.peak_mib)
    result['check'] = 'ours: ' + result['check']
    return result


def _ours_running(bench, cleanup, target, container, manifest, whole_md5):
    """The manifest PUT again, into a mapped container of its own, while
    the daemons run."""
    world = bench.world
    run_container = '%s-running-%s' % (container, target)
    conn = swift_conn(world)
    conn.put_container(run_container)
    cleanup.add(delete_source_container, world, run_container)
    dest = Destination(world, target, unique('s5run')).create()
    cleanup.add(dest.delete)
    mapping = daemon_mapping(world, target, dest.name, run_container,
                             endpoint_of(world, target))
    key = our_key_prefix(mapping, run_container) + NAME
    running = Running(bench, cleanup, make_daemons(
        bench, unique('s5run-%s' % target), [mapping], poll_interval=1))
    if not running.ready:
        running.stop()
        return {'seconds': None, 'rss': None,
                'check': 'the daemons did not finish a first pass in %d s'
                % running.FIRST_PASS_TIMEOUT}
    if '' in dest.listing(key):
        running.stop()
        return {'seconds': None, 'rss': None,
                'check': 'the key was at the target before the manifest '
                'was written'}
    started = time.time()
    conn.put_object(run_container, NAME, manifest,
                    query_string='multipart-manifest=put')
    seconds = _wait_key(dest, key, started, bench.args.large_timeout,
                        lambda: False)
    _, rss = running.finish()
    running.stop()
    return _result(dest, key, whole_md5, seconds, rss=rss)


def _rclone(bench, cleanup, rclone, target, container, whole_md5):
    world = bench.world
    dest = Destination(world, target, unique('s5rcl')).create()
    cleanup.add(dest.delete)
    remote = rclone.add_target(unique('dst'), target,
                               endpoint_of(world, target))
    rlog = bench.subdir('rclone5') + '/rclone.log'
    started = time.time()
    proc = rclone.popen('copyto', 'src:%s/%s' % (container, NAME),
                        '%s:%s/%s' % (remote, dest.name, NAME),
                        log_path=rlog)
    cleanup.add(lambda: proc.poll() is None and proc.kill())
    seconds = _wait_key(dest, NAME, started, bench.args.large_timeout,
                        lambda: proc.poll() is not None)
    proc.wait()
    failed = ['rclone exited %d (see %s)' % (proc.returncode, rlog)] \
        if proc.returncode else []
    return _result(dest, NAME, whole_md5, seconds, failed)
