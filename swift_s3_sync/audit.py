"""Check that remote copies match their containers, and repair them.

    swift-s3-sync-audit --config /etc/swift-s3-sync/sync.json
                        [--mapping N] [--container C] [--json] [--repair]
                        [--metadata] [--max-heads N] [--grace SECONDS]
                        [--limit N]

For each mapped container it compares every row of this node's replica of
the container DB (tombstones included) with a listing of the remote copy,
reading no object data, and reports per container:

* missing: a live object the remote does not have;
* extra: a remote object that was deleted locally, or has no row at all,
  in a mapping that propagates deletes;
* stale: remote bytes differ (ETag, size, large-object kind) and the copy
  is not recorded newer than the local object;
* metadata: same bytes, metadata out of date;
* remote_newer: the remote differs but is recorded newer (the local DB
  replica is behind, or something else wrote it): never repaired;
* unverified: the listing disagrees but the HEAD budget was spent;
* error: a check failed (the reason says how);

plus what the mapping's policy leaves alone (pending within ``copy_after``
or ``--grace``, excluded, not selected, kept by ``propagate_delete: false``
or an archive, gone locally), the requests it made, and totals.

Run it on a container node, with that node's sync.json (the daemon's): it
reads the container DB replica this node holds, found through the ring as
the daemon finds it.  One node holding a replica is enough per container;
``--container`` on a node without one exits 2 naming the nodes that have
one.  A sharded container is audited for the shard ranges whose DBs are on
this node; the others are reported as not covered.

Costs: one remote listing request per 1,000 names plus one local DB read per
1,000 rows; remote HEADs only where the listing cannot settle a name
(at most ``--max-heads``, default 1000, per container); local HEADs only for
those names and for missing ones.  ``--metadata`` HEADs every object present
on both sides to compare metadata (no limit unless ``--max-heads`` is given).
See docs/audit.md for what the listing can and cannot show.

``--repair`` fixes each difference as soon as its batch is checked, through
the daemon's own row handling (see ``audit_repair``): safe while the
daemons run, never overwriting or deleting a copy recorded newer, never
deleting local data (archives included).

Exit status: 0 when every audited container is consistent (or all its
differences were repaired), 1 when differences remain or a container could
not be fully audited (listing failed, shard ranges on other nodes), 2 on a
usage or config error (one line on stderr).  ``--json`` prints the report as
JSON; on a terminal a progress bar goes to stderr.
"""
import argparse
import json
import os
import sys
import time

from swift_s3_sync.config import ConfigError, load_config

PROG = 'swift-s3-sync-audit'


class UsageError(Exception):
    """A bad flag or config: one line, exit 2."""


# -- arguments and what to audit --------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description='Compare mapped containers with their '
        'remote copies (and repair them with --repair).')
    parser.add_argument('--config', required=True, help='sync.json path')
    parser.add_argument('--mapping', type=int, metavar='N',
                        help='only containers[N] of the config')
    parser.add_argument('--container', metavar='C',
                        help='only this local container')
    parser.add_argument('--json', action='store_true',
                        help='print the report as JSON')
    parser.add_argument('--repair', action='store_true',
                        help='fix the differences found')
    parser.add_argument('--metadata', action='store_true',
                        help='HEAD every object on both sides to compare '
                        'metadata too')
    parser.add_argument('--max-heads', type=int, metavar='N',
                        help='remote HEADs per container (1000; no limit '
                        'with --metadata)')
    parser.add_argument('--grace', type=float, default=0, metavar='SECONDS',
                        help='rows changed this recently are pending, not '
                        'differences (0)')
    parser.add_argument('--limit', type=int, default=100, metavar='N',
                        help='names shown per kind of difference (100)')
    args = parser.parse_args(argv)
    for flag in ('max_heads', 'grace', 'limit'):
        value = getattr(args, flag)
        if value is not None and value < 0:
            parser.error('--%s must not be negative' % flag.replace('_', '-'))
    if args.max_heads is None and not args.metadata:
        args.max_heads = 1000
    return args


def check_surroundings(config):
    """What the daemon checks at start-up that the audit needs too (Swift's
    files, ``devices``, the internal client's config), loading swift.conf
    on the way; one line naming the key when something is wrong."""
    from swift_s3_sync import surroundings
    try:
        surroundings.check_swift_dir(config.swift_dir)
        surroundings.use_swift_dir(config.swift_dir)
        surroundings.check_object_rings(config.swift_dir)
        surroundings.check_container_ring(config.swift_dir)
    except surroundings.SurroundingsError as err:
        raise UsageError('%s: %s' % (config.source, err)) from None
    if not os.path.isdir(config.devices):
        raise UsageError('%s: devices %r: no such directory' % (
            config.source, config.devices))
    path = config.internal_client_conf_path
    if path and not os.access(path, os.R_OK):
        raise UsageError('%s: internal_client_conf_path %r: cannot be read'
                         % (config.source, path))


def chosen_mappings(config, args):
    mappings = config.mappings
    if args.mapping is not None:
        if not 0 <= args.mapping < len(mappings):
            raise UsageError('--mapping %d: %s has %d mappings' % (
                args.mapping, config.source, len(mappings)))
        mappings = [mappings[args.mapping]]
    if args.container is not None:
        mappings = [m for m in mappings
                    if m.per_account or m.container == args.container]
        if not mappings:
            raise UsageError('--container %s: no chosen mapping of %s '
                             'copies it' % (args.container, config.source))
    return mappings


def containers_of(mapping, local, args):
    if args.container is not None:
        return [args.container]
    if not mapping.per_account:
        return [mapping.container]
    return list(local.iter_containers(mapping.account))


def replica_places(locator, account, container):
    _, nodes = locator.ring.get_nodes(account, container)
    return ', '.join('%s:%s/%s' % (n['ip'], n['port'], n['device'])
                     for n in nodes)


# -- progress on a terminal ---------------------------------------------------

class ProgressBar(object):
    """``label [#####.....] 45% 4500/10000 rows`` on stderr, redrawn at most
    five times a second; nothing unless stderr is a terminal."""

    WIDTH = 30

    def __init__(self, label, total, stream=sys.stderr, clock=time.time):
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream
        self.clock = clock
        self.shown_at = 0
        self.active = stream.isatty()

    def __call__(self, rows):
        self.done += rows
        now = self.clock()
        if self.active and now - self.shown_at >= 0.2:
            self.shown_at = now
            filled = min(self.WIDTH, self.WIDTH * self.done // self.total)
            self.stream.write('\r%s [%s%s] %3d%% %d/%d rows' % (
                self.label, '#' * filled, '.' * (self.WIDTH - filled),
                min(100, 100 * self.done // self.total), self.done,
                self.total))
            self.stream.flush()

    def close(self):
        if self.active and self.shown_at:
            self.stream.write('\r\033[K')
            self.stream.flush()


# -- the report ---------------------------------------------------------------

def totals(containers):
    total = {'containers': len(containers), 'local_rows': 0,
             'remote_listed': 0, 'remote_heads': 0, 'local_heads': 0,
             'differences': {}, 'policy': {}, 'repaired': 0, 'remaining': 0,
             'not_fully_audited': 0}
    for c in containers:
        for key in ('local_rows', 'remote_listed', 'remote_heads',
                    'local_heads', 'repaired', 'remaining'):
            total[key] += c[key]
        for group in ('differences', 'policy'):
            for kind, count in c[group].items():
                total[group][kind] = total[group].get(kind, 0) + count
        if c['error'] or c['uncovered']:
            total['not_fully_audited'] += 1
    return total


def _counts(counts):
    return ', '.join('%d %s' % (n, k) for k, n in counts.items() if n) \
        or 'none'


def format_text(report):
    lines = []
    for c in report['containers']:
        lines.append('%s/%s (%s -> %s): %d rows, %d remote objects, '
                     '%d remote HEADs, %d local HEADs' % (
                         c['account'], c['container'], c['mapping'],
                         c['destination'], c['local_rows'],
                         c['remote_listed'], c['remote_heads'],
                         c['local_heads']))
        lines.append('  differences: %s' % _counts(c['differences']))
        lines.append('  policy: %s' % _counts(c['policy']))
        for obj in c['objects']:
            lines.append('    %-12s %s: %s' % (obj['kind'], obj['name'],
                                               obj['reason']))
            if 'repair' in obj:
                r = obj['repair']
                lines.append('      %s: %s' % (
                    'repaired' if r['fixed'] else 'NOT repaired',
                    r['reason']))
        if c['repaired'] or report['repair']:
            lines.append('  repaired %d, remaining %d' % (c['repaired'],
                                                          c['remaining']))
        if c['error']:
            lines.append('  NOT FULLY AUDITED: %s' % c['error'])
        for lower, upper in c['uncovered']:
            lines.append('  NOT COVERED here: shard range %r..%r (its DB is '
                         'on another node)' % (lower, upper or '(end)'))
    for failed in report['failed']:
        lines.append('FAILED %s/%s (%s): %s' % (
            failed['account'], failed['container'], failed['mapping'],
            failed['reason']))
    for skipped in report['skipped']:
        lines.append('skipped %s/%s (%s): %s' % (
            skipped['account'], skipped['container'], skipped['mapping'],
            skipped['reason']))
    lines.append('metadata compared for %s' % report['checked']['metadata'])
    t = report['totals']
    lines.append('totals: %d containers, %d rows, %d remote objects, '
                 '%d remote HEADs; differences: %s%s' % (
                     t['containers'], t['local_rows'], t['remote_listed'],
                     t['remote_heads'], _counts(t['differences']),
                     '; repaired %d, remaining %d' % (
                         t['repaired'], t['remaining'])
                     if report['repair'] else ''))
    lines.append('consistent' if report['consistent'] else 'NOT consistent')
    return '\n'.join(lines) + '\n'


# -- running ------------------------------------------------------------------

class Audit(object):
    """Everything one invocation audits, with the clients it shares."""

    def __init__(self, config, args, local, locator, pool, make_provider):
        self.config = config
        self.args = args
        self.local = local
        self.locator = locator
        self.pool = pool
        self.make_provider = make_provider
        self.containers = []
        self.skipped = []
        self.failures = []

    def run(self, mappings):
        from swift_s3_sync.audit_compare import Options
        options = Options(metadata=self.args.metadata,
                          max_heads=self.args.max_heads,
                          grace=self.args.grace)
        for mapping in mappings:
            try:
                provider = self.make_provider(mapping)
                containers = containers_of(mapping, self.local, self.args)
            except Exception as err:
                self._failed(mapping, mapping.container, err)
                continue
            try:
                for container in containers:
                    try:
                        self.one(mapping, provider, container, options)
                    except Exception as err:
                        # One broken container must not hide the others.
                        self._failed(mapping, container, err)
            finally:
                provider.close()
        return self.report()

    def _failed(self, mapping, container, err):
        self.failures.append({
            'mapping': mapping.label, 'account': mapping.account,
            'container': container,
            'reason': '%s: %s' % (type(err).__name__, err)})

    def one(self, mapping, provider, container, options):
        from swift_s3_sync.audit_container import ContainerAudit
        from swift_s3_sync.crawler.by_name import count_rows, name_ranges
        from swift_s3_sync.status import destination
        ranges = name_ranges(self.locator, mapping.account, container)
        if ranges is None:
            self.skipped.append({
                'mapping': mapping.label, 'account': mapping.account,
                'container': container,
                'reason': 'no DB replica on this node (replicas: %s)' %
                replica_places(self.locator, mapping.account, container)})
            return
        here, elsewhere = ranges
        bar = ProgressBar('%s/%s' % (mapping.account, container),
                          sum(count_rows(r) for r in here)
                          if sys.stderr.isatty() else 0)
        audit = ContainerAudit(mapping, provider, self.local,
                               mapping.account, container, options,
                               repair=self.args.repair, pool=self.pool,
                               limit=self.args.limit, progress=bar)
        try:
            audit.run(here, elsewhere)
        finally:
            bar.close()
        report = audit.report()
        report['destination'] = destination(mapping)
        self.containers.append(report)

    def report(self):
        return {
            'containers': self.containers,
            'skipped': self.skipped,
            'failed': self.failures,
            'totals': totals(self.containers),
            'repair': bool(self.args.repair),
            'checked': {
                'metadata': 'every object on both sides' if
                self.args.metadata else 'objects changed since their copy '
                'was written, and those the listing cannot compare',
                'max_heads_per_container': self.args.max_heads,
                'grace_seconds': self.args.grace},
            'consistent': not self.failures and all(
                c['consistent'] for c in self.containers),
        }


def exit_status(report):
    return 0 if report['consistent'] else 1


def _setup(config):
    """The clients the daemon uses, pointed at this node."""
    import eventlet
    from swift_s3_sync.crawler.locate import Locator
    from swift_s3_sync.local_swift import LocalSwift, make_internal_client
    eventlet.monkey_patch()   # swift.conf was loaded by the checks
    local = LocalSwift(make_internal_client(
        config.swift_dir, config.internal_client_conf_path,
        user_agent='swift-s3-sync-audit'))
    locator = Locator(config.swift_dir, config.devices, config.swift_bind_ip,
                      config.swift_bind_port)
    return local, locator, eventlet.GreenPool(config.workers)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config(args.config)
        mappings = chosen_mappings(config, args)
        check_surroundings(config)
    except (ConfigError, UsageError) as err:
        sys.stderr.write('%s: %s\n' % (PROG, err))
        return 2
    from swift_s3_sync.providers import provider_for
    local, locator, pool = _setup(config)
    audit = Audit(config, args, local, locator, pool,
                  lambda m: provider_for(m, max_connections=config.workers))
    report = audit.run(mappings)
    if args.container is not None and not report['containers'] and \
            not report['failed']:
        sys.stderr.write('%s: --container %s: %s\n' % (
            PROG, args.container, report['skipped'][0]['reason']
            if report['skipped'] else 'nothing to audit'))
        return 2
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + '\n')
    else:
        sys.stdout.write(format_text(report))
    return exit_status(report)


if __name__ == '__main__':
    sys.exit(main())
