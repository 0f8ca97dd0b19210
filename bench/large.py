"""Scenario 5: one large object (an SLO) to each S3 target.

The SLO (``--large-mib`` in ``--segment-mib`` segments) is copied by our 4
daemons (``--once``) and by ``rclone copyto``, which reads it through the
Swift API as one object.  Time = launch -> the key is in a (direct) listing
of the target, polled every 0.2 s; afterwards the whole copy is read back
and its MD5 checked.  The limit is a plain GET of the SLO from the source
proxy, read and discarded (best of 3), in the same run.
"""
import hashlib
import json
import os
import time

from bench.common import (
    MiB, Cleanup, Destination, OnceRun, S3_TARGETS, daemon_mapping, daemon_startup, delete_source_container, endpoint_of, log, make_daemons, our_key_prefix, parallel, swift_conn, unique)
from bench.peers import Rclone

NAME = 'large-slo'


def run(bench):
    args, world, R = bench.args, bench.world, bench.results
    targets = [t for t in args.targets if t in S3_TARGETS]
    if not targets:
        R.note('5', 'not measured: no S3 target selected')
        return
    size = int(args.large_mib * MiB)
    seg = int(args.segment_mib * MiB)
    with Cleanup() as cleanup:
        container = unique('s5')
        segments = container + '_segments'
        conn = swift_conn(world)
        conn.put_container(container)
        conn.put_container(segments)
        cleanup.add(delete_source_container, world, segments)
        cleanup.add(delete_source_container, world, container)
        log('scenario 5: uploading a %d MiB SLO', size // MiB)
        pieces = []
        offset = 0
        while offset < size:
            pieces.append(min(seg, size - offset))
            offset += pieces[-1]
        blobs = [os.urandom(n) for n in pieces]
        whole = hashlib.md5()
        for blob in blobs:
            whole.update(blob)
        whole_md5 = whole.hexdigest()

        def put_segment(i):
            c = swift_conn(world)
            etag = c.put_object(segments, '%s/%05d' % (NAME, i), blobs[i])
            return {'path': '/%s/%s/%05d' % (segments, NAME, i),
                    'etag': etag, 'size_bytes': pieces[i]}
        manifest = parallel(put_segment, range(len(blobs)), 4)
        blobs.clear()
        conn.put_object(container, NAME, json.dumps(manifest),
                        query_string='multipart-manifest=put')
        read_limit = _read_limit(world, container, size)
        rclone = Rclone(world, bench.subdir('rclone5'))
        what = '%d MiB SLO (%d segments of %g MiB)' % (
            size // MiB, len(pieces), args.segment_mib)
        for target in targets:
            try:
                ours = _ours(bench, cleanup, target, container, whole_md5)
                theirs = _rclone(bench, cleanup, rclone, target, container,
                                 whole_md5)
            except Exception as err:
                R.note('5', '%s: failed: %r' % (target, err))
                continue
            how = ('launch -> key listed at the target (polled every 0.2 s), '
                   'then the copy read back and its MD5 checked; ours: 4 '
                   'daemons --once; rclone copyto with its default S3 '
                   'multipart settings (5 MiB chunks, 4 parts at once)')
            detail = '%s; rclone: %s' % (ours['check'], theirs['check'])
            if ours['startup'] is not None:
                detail += ('; of our time, daemon start-up (launch -> last '
                           '"started" log line): %.1f s' % ours['startup'])
            if ours['seconds'] is None:
                R.note('5', '%s: our daemons did not copy the SLO (%s)' % (
                    target, ours['check']))
                continue
            mibs = size / MiB / ours['seconds']
            if theirs['seconds'] is not None:
                R.add('5', target, '%s: ours' % what, mibs, 'MiB/s',
                      how, peer='rclone copyto',
                      peer_value=size / MiB / theirs['seconds'],
                      detail=detail)
            else:
                R.note('5', '%s: rclone did not copy the SLO (%s)' % (
                    target, theirs['check']))
            R.add('5', target, '%s: ours' % what, mibs, 'MiB/s', how,
                  peer='GET of the SLO from the source proxy, best of 3 '
                  '(read limit)',
                  peer_value=read_limit, detail=detail)
            startup = ours['startup']
            if theirs['seconds'] is not None and startup is not None and \
                    ours['seconds'] > startup:
                R.add('5', target, '%s: ours, daemon start-up left out'
                      % what, size / MiB / (ours['seconds'] - startup),
                      'MiB/s', 'the same run of ours, its time less the '
                      'daemon start-up (launch -> last "started" log line)',
                      peer='rclone copyto (whole time)',
                      peer_value=size / MiB / theirs['seconds'])


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
        data = dest.read(key)
    except Exception as err:
        return 'read back failed: %r' % err
    if hashlib.md5(data).hexdigest() != whole_md5:
        return 'MD5 MISMATCH (%d bytes)' % len(data)
    return 'MD5 verified'


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
    check = _verify(dest, key, whole_md5) if seconds else 'not listed'
    if failed:
        check += '; ' + '; '.join(failed)
    result = {'seconds': seconds if 'verified' in check else None,
              'check': 'ours: ' + check,
              'startup': daemon_startup(daemons.work_dir, started)}
    dest.delete()
    return result


def _rclone(bench, cleanup, rclone, target, container, whole_md5):
    world = bench.world
    dest = Destination(world, target, unique('s5rcl')).create()
    cleanup.add(dest.delete)
    remote = rclone.add_target(unique('dst'), target,
                               endpoint_of(world, target))
    rlog = os.path.join(bench.subdir('rclone5'), 'rclone.log')
    started = time.time()
    proc = rclone.popen('copyto', 'src:%s/%s' % (container, NAME),
                        '%s:%s/%s' % (remote, dest.name, NAME),
                        log_path=rlog)
    cleanup.add(lambda: proc.poll() is None and proc.kill())
    seconds = _wait_key(dest, NAME, started, bench.args.large_timeout,
                        lambda: proc.poll() is not None)
    proc.wait()
    check = _verify(dest, NAME, whole_md5) if seconds else 'not listed'
    if proc.returncode:
        check += '; rclone exited %d (see %s)' % (proc.returncode, rlog)
    result = {'seconds': seconds if 'verified' in check else None,
              'check': check}
    dest.delete()
    return result
