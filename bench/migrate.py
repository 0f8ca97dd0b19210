"""Scenario 8: a migration into Swift against rclone copying the same
bucket into the same Swift.

For each S3 target: a bucket of N 4 KiB objects with user metadata and one
multipart object (5 MiB parts) is made; then, in the same run, it is
copied into fresh local containers three times, with the same concurrency
(rclone ``--transfers``/``--checkers``; ours ``workers`` per node so that
the nodes holding the container's replicas together copy as many):

* the 4 nodes' ``swift-s3-migrator --once``, timed from launch to the end
  of the last process (interpreter start, imports and all);
* the form operators run: the 4 nodes' migrators already running (started
  with no migration, through a first empty pass), the migration added to
  their config and SIGHUP sent; timed from the signal to the end of every
  node's pass;
* ``rclone copy``, from launch to exit.

Each copy is checked: every name present locally, the multipart object's
ETag (ours keep the source's ``md5-of-md5s-N`` ETag and the metadata,
which rclone does not carry into Swift).
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

from bench.common import (
    USER, KiB, MiB, Cleanup, delete_source_container, endpoint_of, log,
    parallel, s3_client, s3_settings, swift_conn, unique)
from bench.peers import Rclone
from bench.running import cpu_seconds, reap
from localworld import procs
from swift_s3_sync.migrator.local import segment_container

MPU_NAME = 'big/mpu.bin'
PART = 5 * MiB


def run(bench):
    targets = [t for t in bench.args.targets if t != 'swift']
    for target in targets:
        try:
            _run_target(bench, target)
        except Exception as err:
            bench.results.note('8', '%s: failed: %r' % (target, err))


def _run_target(bench, target):
    args, world = bench.args, bench.world
    n, mib = args.migrate_objects, args.migrate_mpu_mib
    with Cleanup() as cleanup:
        bucket = unique('s8src')
        s3 = s3_client(world, target, pool=16)
        s3.create_bucket(Bucket=bucket)
        cleanup.add(_remove_bucket, s3, bucket)
        log('scenario 8: %s: %d objects and a %d MiB multipart object',
            target, n, mib)
        _fill(s3, bucket, n)
        mpu_etag = _put_mpu(s3, bucket, mib) if mib else None
        expected = n + (1 if mib else 0)
        ours = _ours(bench, cleanup, target, bucket, expected, mpu_etag)
        running = _ours_running(bench, cleanup, target, bucket, expected,
                                mpu_etag)
        theirs = _rclone(bench, cleanup, target, bucket, expected)
        _report(bench, target, n, mib, ours, running, theirs)


class WorldCpu(object):
    """CPU seconds the local world (Swift servers, proxy, S3 servers) spent
    between start() and stop(): the cluster's share of a copy."""

    def __init__(self, world):
        self.sessions = set(procs.recorded(world['world_dir']).values())

    def start(self):
        self._before = procs.sessions_cpu(self.sessions)

    def stop(self):
        return procs.sessions_cpu(self.sessions) - self._before


def _fill(s3, bucket, n):
    def put(i):
        s3.put_object(Bucket=bucket, Key='obj/%06d' % i,
                      Body=os.urandom(4 * KiB), ContentType='text/x-bench',
                      Metadata={'index': str(i)})
    parallel(put, range(n), 16)


def _put_mpu(s3, bucket, mib):
    up = s3.create_multipart_upload(Bucket=bucket, Key=MPU_NAME)
    sizes = [PART] * (mib * MiB // PART)
    if mib * MiB % PART:
        sizes.append(mib * MiB % PART)
    digests = []

    def part(number):
        data = os.urandom(sizes[number - 1])
        digests.append((number, hashlib.md5(data).digest()))
        resp = s3.upload_part(Bucket=bucket, Key=MPU_NAME,
                              PartNumber=number, UploadId=up['UploadId'],
                              Body=data)
        return {'PartNumber': number, 'ETag': resp['ETag']}
    parts = parallel(part, range(1, len(sizes) + 1), 4)
    s3.complete_multipart_upload(
        Bucket=bucket, Key=MPU_NAME, UploadId=up['UploadId'],
        MultipartUpload={'Parts': sorted(parts,
                                         key=lambda p: p['PartNumber'])})
    joined = b''.join(d for _, d in sorted(digests))
    return '%s-%d' % (hashlib.md5(joined).hexdigest(), len(sizes))


def _remove_bucket(s3, bucket):
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):
        for item in page.get('Contents', []):
            s3.delete_object(Bucket=bucket, Key=item['Key'])
    s3.delete_bucket(Bucket=bucket)


def _local_check(world, container, expected, mpu_etag=None):
    """'' when the container holds ``expected`` names (and the multipart
    object's ETag is ``mpu_etag``), else what is wrong."""
    conn = swift_conn(world)
    _, listing = conn.get_container(container, full_listing=True)
    if len(listing) != expected:
        return 'holds %d of %d objects' % (len(listing), expected)
    if mpu_etag:
        etag = conn.head_object(container, MPU_NAME)['etag'].strip('"')
        if etag != mpu_etag:
            return 'multipart object ETag %s, source %s' % (etag, mpu_etag)
    return ''


def _remove_afterwards(cleanup, world, container):
    """The local container a migration fills, and the one its large
    objects' segments go to."""
    for name in (container, segment_container(container)):
        cleanup.add(delete_source_container, world, name)


def _node_configs(bench, target, bucket, container, work_dir,
                  with_migration=True):
    world = bench.world
    settings = s3_settings(world, target)
    account = world['source']['users'][USER]['account']
    migration = {
        'account': account, 'aws_bucket': bucket, 'container': container,
        'aws_endpoint': settings['endpoint'],
        'aws_identity': settings['access_key'],
        'aws_secret': settings['secret_key'],
        'merge_namespaces': False}
    workers = bench.workers_per_daemon()
    paths = []
    for node, info in enumerate(world['source']['nodes'], 1):
        config = {
            'status_dir': os.path.join(work_dir, 'sync-node%d' % node),
            'swift_dir': world['source']['swift_dir'],
            'devices': info['devices'], 'swift_bind_ip': info['ip'],
            'swift_bind_port': info['ports']['container'],
            'migrations': [migration] if with_migration else [],
            'migrator_settings': {
                'status_dir': os.path.join(work_dir, 'node%d' % node),
                'workers': workers, 'part_workers': 4,
                'poll_interval': 3600,   # a pass when signalled
                'log_file': os.path.join(work_dir, 'node%d.log' % node)}}
        path = os.path.join(work_dir, 'node%d.json' % node)
        with open(path, 'w') as f:
            json.dump(config, f)
        paths.append(path)
    return paths


def _ours(bench, cleanup, target, bucket, expected, mpu_etag):
    world = bench.world
    container = unique('s8ours')
    _remove_afterwards(cleanup, world, container)
    work_dir = bench.subdir(unique('s8-%s' % target))
    configs = _node_configs(bench, target, bucket, container, work_dir)
    world_cpu = WorldCpu(world)
    world_cpu.start()
    started = time.time()
    running = [subprocess.Popen(
        [sys.executable, '-m', 'swift_s3_sync.migrator.daemon', '--config',
         path, '--once'], cwd=procs.REPO_ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        for path in configs]
    for proc in running:
        cleanup.add(lambda p=proc: p.poll() is None and p.kill())
    failed = []
    for node, proc in enumerate(running, 1):
        if reap(proc, bench.args.large_timeout) is None:
            proc.kill()
            failed.append('node %d timed out' % node)
        elif proc.returncode:
            failed.append('node %d exited %d' % (node, proc.returncode))
    seconds = time.time() - started
    cluster = world_cpu.stop()
    cpu = sum(getattr(p, 'cpu_seconds', 0) or 0 for p in running)
    problem = '; '.join(failed) or _local_check(world, container, expected,
                                                mpu_etag)
    return {'seconds': None if problem else seconds, 'cpu': cpu,
            'world_cpu': cluster,
            'check': problem or 'every object, the multipart ETag kept'}


def _ours_running(bench, cleanup, target, bucket, expected, mpu_etag):
    world = bench.world
    container = unique('s8run')
    _remove_afterwards(cleanup, world, container)
    work_dir = bench.subdir(unique('s8r-%s' % target))
    configs = _node_configs(bench, target, bucket, container, work_dir,
                            with_migration=False)
    logs = [os.path.join(work_dir, 'node%d.log' % node)
            for node in range(1, len(configs) + 1)]
    running = [subprocess.Popen(
        [sys.executable, '-m', 'swift_s3_sync.migrator.daemon', '--config',
         path], cwd=procs.REPO_ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        for path in configs]
    for proc in running:
        cleanup.add(_stop, proc)
    try:
        if not _wait_logs(logs, 'started', 'pass done', 120):
            return {'seconds': None, 'check': 'no first (empty) pass'}
        _node_configs(bench, target, bucket, container, work_dir)
        cpu_before = sum(cpu_seconds(p.pid) or 0.0 for p in running)
        world_cpu = WorldCpu(world)
        world_cpu.start()
        started = time.time()
        for proc in running:
            proc.send_signal(signal.SIGHUP)
        done = _wait_logs(logs, 'config reloaded', 'pass done',
                          bench.args.large_timeout)
        seconds = time.time() - started
        cpu = sum(cpu_seconds(p.pid) or 0.0 for p in running) - cpu_before
        cluster = world_cpu.stop()
    finally:
        for proc in running:
            _stop(proc)
    problem = ('a node\'s pass did not end' if not done else
               _local_check(world, container, expected, mpu_etag))
    return {'seconds': None if problem else seconds, 'cpu': cpu,
            'world_cpu': cluster,
            'check': problem or 'every object, the multipart ETag kept'}


def _wait_logs(logs, first, then, timeout):
    """True once every log shows ``then`` after its last ``first``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        seen = 0
        for path in logs:
            try:
                with open(path, errors='replace') as f:
                    text = f.read()
            except OSError:
                continue
            at = text.rfind(first)
            seen += at >= 0 and then in text[at:]
        if seen == len(logs):
            return True
        time.sleep(0.05)
    return False


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _rclone(bench, cleanup, target, bucket, expected):
    world = bench.world
    container = unique('s8rcl')
    cleanup.add(delete_source_container, world, container)
    rclone = Rclone(world, bench.subdir('rclone8'))
    remote = rclone.add_target(unique('s8'), target,
                               endpoint_of(world, target))
    c = str(bench.args.concurrency)
    rlog = bench.subdir('rclone8') + '/rclone.log'
    world_cpu = WorldCpu(world)
    world_cpu.start()
    started = time.time()
    proc = rclone.popen('copy', '%s:%s' % (remote, bucket),
                        'src:%s' % container, '--transfers', c,
                        '--checkers', c, log_path=rlog)
    cleanup.add(lambda: proc.poll() is None and proc.kill())
    if reap(proc, bench.args.large_timeout) is None:
        proc.kill()
        return {'seconds': None, 'check': 'timed out'}
    seconds = time.time() - started
    cluster = world_cpu.stop()
    problem = ('rclone exited %d (see %s)' % (proc.returncode, rlog)
               if proc.returncode else
               _local_check(world, container, expected))
    return {'seconds': None if problem else seconds,
            'cpu': getattr(proc, 'cpu_seconds', None), 'world_cpu': cluster,
            'check': problem or 'every object'}


def _cpu_detail(name, res):
    cpu = res.get('cpu')
    return '%s: %s, CPU %s s, the world\'s %.1f s' % (
        name, res['check'], '%.1f' % cpu if cpu is not None else '?',
        res.get('world_cpu') or 0.0)


def _report(bench, target, n, mib, ours, running, theirs):
    R = bench.results
    what = '%d x 4 KiB + a %d MiB multipart object into Swift' % (n, mib)
    for name, res in (('ours', ours), ('ours, running', running),
                      ('rclone', theirs)):
        if res['seconds'] is None:
            R.note('8', '%s, %s, %s: %s' % (what, target, name,
                                             res['check']))
    forms = (
        (ours, 'swift-s3-migrator --once',
         'launch of the 4 nodes\' migrators -> the last one exits; then the '
         'local listing and the multipart ETag checked; CPU of our '
         'processes and of the world (Swift servers and proxy, S3 server) '
         'meanwhile'),
        (running, 'migrators running, migration added by SIGHUP',
         'the 4 nodes\' migrators through an empty first pass; the '
         'migration written into their config and SIGHUP sent -> every '
         'node\'s pass done; then checked as above'))
    for res, form, how in forms:
        if res['seconds'] is not None:
            R.add('8', target, '%s: %s' % (what, form), res['seconds'], 's',
                  how, peer='rclone copy (same concurrency)',
                  peer_value=theirs['seconds'],
                  detail='%s; %s' % (_cpu_detail('ours', res),
                                     _cpu_detail('rclone', theirs)))
