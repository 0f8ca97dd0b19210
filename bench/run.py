"""Command line: run the selected scenarios, print a markdown table and
write the same figures as JSON.

    .venv/bin/python -m bench                      # everything, full size
    .venv/bin/python -m bench --only 1,2 --objects 50
    .venv/bin/python -m bench --objects 50 --duration 10 --rows 5000 \\
        --containers 100 --large-mib 20 --gets 100  # smoke run
"""
import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback

from bench.common import (
    ALL_TARGETS, Bench, Results, log)
from bench.peers import rclone_version

SCENARIOS = {
    '1': 'initial sync, small objects',
    '2': 'remote requests per object',
    '3': 'lag under steady load',
    '4': 'scale: big container, many containers',
    '5': 'large object',
    '6': 'shunt overhead',
    '7': 'proxymc against a direct client',
    '8': 'migration into Swift',
}


def _sizes(text):
    """'1000,10000' -> [1000, 10000] (zeros dropped)."""
    try:
        sizes = [int(part) for part in text.split(',') if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError('a number or numbers separated '
                                         'by commas, not %r' % text)
    if any(size < 0 for size in sizes):
        raise argparse.ArgumentTypeError('sizes must not be negative')
    return [size for size in sizes if size]


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='python -m bench',
        description='Benchmarks of swift-s3-sync against peers measured in '
                    'the same run on the local world.')
    p.add_argument('--only', default='1,2,3,4,5,6,7,8',
                   help='scenarios to run, e.g. 1,2 (default: all)')
    p.add_argument('--targets', default='moto,radosgw,s3api,swift',
                   help='targets of scenarios 1, 2 and 5 (default: '
                        'moto,radosgw,s3api,swift)')
    p.add_argument('--objects', type=_sizes, default='300,3000',
                   help='scenario 1/2: 4 KiB objects, one count or several '
                        '(300,3000)')
    p.add_argument('--no-running', action='store_true',
                   help='scenarios 1 and 5: skip the form with the daemons '
                        'already running')
    p.add_argument('--concurrency', type=int, default=12,
                   help='copies in flight for every method (12): rclone '
                        '--transfers/--checkers, copier threads, and '
                        'concurrency/replicas workers per daemon')
    p.add_argument('--no-container-sync', action='store_true',
                   help='scenario 1: skip Swift container-sync')
    p.add_argument('--duration', type=float, default=60,
                   help='scenario 3: seconds of writing (60)')
    p.add_argument('--rate', type=float, default=20,
                   help='scenario 3: PUTs per second (20)')
    p.add_argument('--lag-target', default='radosgw',
                   choices=ALL_TARGETS, help='scenario 3 target (radosgw)')
    p.add_argument('--lag-timeout', type=float, default=60,
                   help='scenario 3: seconds to wait after the last PUT')
    p.add_argument('--rows', type=int, default=100000,
                   help='scenario 4: container rows (100000)')
    p.add_argument('--row-kind', choices=('live', 'tombstone'),
                   default='live',
                   help='scenario 4: merge live rows (objects the daemon '
                        'finds gone locally; default) or tombstones')
    p.add_argument('--containers', type=_sizes, default='1000,10000',
                   help='scenario 4: mapped containers for the idle pass, '
                        'one size or several (1000,10000; 0 skips)')
    p.add_argument('--scale-target', default='moto', choices=ALL_TARGETS,
                   help='scenario 4 target (moto)')
    p.add_argument('--large-mib', type=_sizes, default='100,1024',
                   help='scenario 5: SLO sizes in MiB (100,1024)')
    p.add_argument('--segment-mib', type=float, default=10,
                   help='scenario 5: segment size in MiB (10)')
    p.add_argument('--large-timeout', type=float, default=600,
                   help='scenario 5: seconds allowed per copy')
    p.add_argument('--gets', type=int, default=300,
                   help='scenario 6: GETs per proxy (300)')
    p.add_argument('--shunt-objects', type=int, default=20,
                   help='scenario 6: local objects read (20)')
    p.add_argument('--proxymc-objects', type=int, default=100,
                   help='scenario 7: 4 KiB objects per target (100)')
    p.add_argument('--proxymc-mib', type=float, default=20,
                   help='scenario 7: big object size in MiB (20)')
    p.add_argument('--proxymc-rounds', type=int, default=3,
                   help='scenario 7: big object rounds (3)')
    p.add_argument('--migrate-objects', type=int, default=300,
                   help='scenario 8: 4 KiB objects in the source bucket '
                        '(300)')
    p.add_argument('--migrate-mpu-mib', type=int, default=100,
                   help='scenario 8: size of its multipart object in MiB '
                        '(100; 0: none)')
    p.add_argument('--json', default=None,
                   help='where to write the JSON results ("-": stdout; '
                        'default /tmp/swift-s3-sync-bench-<time>.json)')
    p.add_argument('--keep-work-dir', action='store_true',
                   help='keep configs and logs of the run')
    p.add_argument('--allow-busy', action='store_true',
                   help='measure even when the machine or the world is '
                        'busy before a scenario (noted in the results)')
    args = p.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(',') if s.strip()}
    unknown = args.only - set(SCENARIOS)
    if unknown:
        p.error('unknown scenario(s): %s' % ', '.join(sorted(unknown)))
    args.targets = [t.strip() for t in args.targets.split(',') if t.strip()]
    bad = [t for t in args.targets if t not in ALL_TARGETS]
    if bad:
        p.error('unknown target(s): %s (choose from %s)' % (
            ', '.join(bad), ', '.join(ALL_TARGETS)))
    if args.concurrency < 1:
        p.error('--concurrency must be at least 1')
    return args


def load_world():
    from localworld import world as localworld
    from localworld.procs import WorldError
    try:
        description = localworld.load()
        live, dead = localworld.running(description['world_dir'],
                                           servers_only=True)
        if not dead:
            return description
    except WorldError:
        pass
    log('the local world is not (fully) up: starting it')
    return localworld.up(python=sys.executable, out=sys.stderr)


def loadavg():
    try:
        with open('/proc/loadavg') as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return 'unknown'


def _interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM unwinds like ^C, so every scenario's clean-up runs.
    signal.signal(signal.SIGTERM, _interrupt)
    world = load_world()
    work_dir = tempfile.mkdtemp(prefix='swift-s3-sync-bench-')
    results = Results()
    bench = Bench(world, args, work_dir, results)
    meta = {'started': time.strftime('%Y-%m-%d %H:%M:%S'),
            'host': platform.node(), 'cpus': os.cpu_count(),
            'loadavg_start': loadavg(), 'rclone': rclone_version(),
            'python': platform.python_version(),
            'args': {k: sorted(v) if isinstance(v, set) else v
                     for k, v in vars(args).items()}}
    started = time.time()
    from bench import (initial, lag, large, migrate, proxymc, quiet, scale,
                       shunt)
    plan = [('1', initial.run), ('3', lag.run), ('4', scale.run),
            ('5', large.run), ('6', shunt.run), ('7', proxymc.run),
            ('8', migrate.run)]
    try:
        for key, fn in plan:
            wanted = key in args.only or (key == '1' and '2' in args.only)
            if not wanted:
                continue
            log('=== scenario %s: %s', key, SCENARIOS[key])
            text, calm = quiet.wait_for_quiet(world['world_dir'], log)
            results.note(key, 'before it: %s' % text)
            if not calm and not args.allow_busy:
                results.note(key, 'not run: the machine stayed busy (use '
                             '--allow-busy to measure anyway)')
                log('the machine is busy (%s): not measuring; stop what '
                    'runs or pass --allow-busy', text)
                break
            t = time.time()
            try:
                fn(bench)
            except KeyboardInterrupt:
                raise
            except Exception as err:
                traceback.print_exc()
                results.note(key, 'scenario failed: %r' % err)
            log('=== scenario %s done in %.0f s', key, time.time() - t)
    finally:
        if args.keep_work_dir:
            log('work dir kept: %s (and logs of started processes in '
                '%s/logs)', work_dir, world['world_dir'])
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
            bench.remove_logs()
    meta['seconds'] = round(time.time() - started, 1)
    meta['loadavg_end'] = loadavg()
    out = sys.stdout
    out.write('\n## swift-s3-sync benchmark (%s, %s CPUs, load %s -> %s, '
              '%.0f s)\n\n' % (meta['started'], meta['cpus'],
                                meta['loadavg_start'], meta['loadavg_end'],
                                meta['seconds']))
    out.write('Ratio = value / peer, both measured in this run (except '
              'where the peer says it is a constant). Scenarios: %s.\n\n'
              % ', '.join('%s %s' % (k, SCENARIOS[k])
                          for k in sorted(args.only)))
    out.write(results.markdown() + '\n')
    document = {'meta': meta, 'rows': results.rows, 'notes': results.notes}
    path = args.json or '/tmp/swift-s3-sync-bench-%s.json' % time.strftime(
        '%Y%m%d-%H%M%S')
    if path == '-':
        out.write(json.dumps(document, indent=2) + '\n')
    else:
        with open(path, 'w') as f:
            json.dump(document, f, indent=2)
        out.write('\nJSON: %s\n' % path)
    return 0
