"""What the sync daemon on this node has done and has left to do.

    swift-s3-sync-status --config sync.json [--json]

Exit status: 0; 1 when swift_dir lacks swift.conf or a ring the daemon
needs (one warning line on stderr after the report: this node's daemon
cannot start); 2 when the config or status_dir cannot be read (one line).

Per mapping and container: rows not yet handled, the age of the oldest of
them, objects that failed (with the reason and whether they are retried),
and since when the container has been in sync (or, while it is behind, when
it last caught up: ``last_success``).  Read from the daemon's progress
files; it never contacts a remote and never prints credentials.  A progress
file that cannot be read or is corrupted is listed with the reason
(``problem``) instead of figures.

When the file has ``migrations``, the report goes on with them, read from
swift-s3-migrator's progress files on this node
(``migrator_settings.status_dir``): per migration and local container,
the sweep in progress (start, names scanned, objects copied, bytes,
deletes, failures) with an estimate of the time left when one can be
made, the last full sweep (start, finish and the same figures), the
totals, and each failing object with its reason.  In ``--json`` the
migrations are entries of the same list, after the mappings, with the key
``migration`` where mappings have ``mapping`` (see
``swift_s3_sync.migrator.status.summary`` for their fields).
"""
import argparse
import json
import sys
import time

from swift_s3_sync.config import ConfigError, load_config
from swift_s3_sync.crawler.progress import ProgressStore
from swift_s3_sync.surroundings import SurroundingsError, check_swift_dir


def collect(config, now=None):
    now = time.time() if now is None else now
    store = ProgressStore(config.status_dir)
    by_signature = {}
    for signature, account, container, path in store.entries():
        by_signature.setdefault(signature, []).append(
            (account, container, path))
    report = []
    for mapping in config.mappings:
        containers = []
        for account, container, path in by_signature.get(
                mapping.signature(), []):
            try:
                entry = _entry(account, container, store.read(path), now)
            except (OSError, ValueError, LookupError, TypeError,
                    AttributeError) as err:
                entry = {'account': account, 'container': container,
                         'problem': _problem(path, err)}
            containers.append(entry)
        report.append({'mapping': mapping.label,
                       'destination': destination(mapping),
                       'containers': containers})
    return report


def _entry(account, container, state, now):
    """One container's figures from its progress record (errors when the
    record is not one)."""
    backlog = state.get('backlog') or {}
    oldest = backlog.get('oldest')
    return {
        'account': account,
        'container': container,
        'rows_behind': backlog.get('rows', 0),
        'oldest_unhandled_age': (round(now - oldest, 1)
                                 if oldest else None),
        'last_success': state.get('last_success'),
        'failures': [{
            'object': name,
            'reason': failure['reason'],
            'permanent': failure['permanent'],
            'attempts': failure['attempts'],
        } for name, failure in sorted(state['failures'].items())],
    }


def _problem(path, err):
    if isinstance(err, OSError):
        return 'progress file %s cannot be read: %s' % (
            path, err.strerror or err)
    return 'progress file %s is corrupted; the daemon starts this ' \
        'container over' % path


def destination(mapping):
    where = mapping.aws_endpoint or 'AWS S3'
    return '%s %s/%s' % (mapping.protocol, where, mapping.aws_bucket)


def _when(ts):
    if not ts:
        return 'never'
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ts))


def _summary(c):
    if 'problem' in c:
        return c['problem']
    if not c['rows_behind']:
        return 'in sync since %s' % _when(c['last_success'])
    age = c['oldest_unhandled_age']
    return '%d rows behind%s, last caught up %s' % (
        c['rows_behind'],
        ', oldest %.0fs old' % age if age is not None else '',
        _when(c['last_success']))


def format_text(report):
    lines = []
    for entry in report:
        lines.append('%s -> %s' % (entry['mapping'], entry['destination']))
        if not entry['containers']:
            lines.append('  (no container DB of this mapping on this node '
                         'has been crawled yet)')
        for c in entry['containers']:
            lines.append('  %s/%s: %s' % (c['account'], c['container'],
                                          _summary(c)))
            for f in c.get('failures', ()):
                lines.append('    %s %s: %s (%d attempts)' % (
                    'FAILED' if f['permanent'] else 'retrying',
                    f['object'], f['reason'], f['attempts']))
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(prog='swift-s3-sync-status')
    parser.add_argument('--config', required=True)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config(args.config)
        report = collect(config)
    except ConfigError as err:
        sys.stderr.write('swift-s3-sync-status: %s\n' % err)
        return 2
    except OSError as err:
        sys.stderr.write('swift-s3-sync-status: status_dir %r: %s\n' % (
            config.status_dir, err.strerror or err))
        return 2
    migrations = collect_migrations(config)
    if args.json:
        sys.stdout.write(json.dumps(report + migrations, indent=2,
                                    sort_keys=True) + '\n')
    else:
        sys.stdout.write(format_text(report))
        if migrations:
            sys.stdout.write(format_migrations(config, migrations))
    return _warn_about_swift_dir(config)


def collect_migrations(config, now=None):
    """The migrations' progress on this node ([] without migrations)."""
    if not config.migrations:
        return []
    from swift_s3_sync.migrator import status as migrator_status
    return migrator_status.collect(config, now)


def format_migrations(config, migrations):
    from swift_s3_sync.migrator import status as migrator_status
    return ('\nmigrations (swift-s3-migrator progress on this node, %s):\n'
            % config.migrator.status_dir +
            migrator_status.format_text(migrations))


def _warn_about_swift_dir(config):
    """1 (after a line on stderr) when the daemon of this node cannot
    start for want of swift.conf or rings; else 0."""
    try:
        check_swift_dir(config.swift_dir)
    except SurroundingsError as err:
        sys.stderr.write('swift-s3-sync-status: warning: %s (the daemon '
                         'cannot start)\n' % err)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
