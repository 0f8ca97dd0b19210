"""Progress of each migration, one file per migration and local container.

``<migrator status_dir>/<migration signature>/<account>/<container>.json``
(names URL-quoted)::

    {"migration": "migrations[0] (AUTH_test/bucket)",
     "walk": {"sweep": 2, "marker": "photos/0999.jpg"},
     "standins": {"1": {"sweep": 2, "marker": "photos/0499.jpg"}},
     "checkpoints": [[1700000000.0, 2, "photos/0999.jpg"], ...],
     "failures": {"<object>": {"reason": "...", "permanent": false,
                               "attempts": 2, "since": ..., "retry_at": ...}},
     "totals": {"scanned": 0, "copied": 0, "bytes": 0, "deleted": 0,
                "failed": 0},
     "sweep": {"started": ..., "scanned": ..., "copied": ..., "bytes": ...},
     "last_sweep": {"started": ..., "finished": ..., "scanned": ...,
                    "copied": ..., "bytes": ..., "deleted": ...}}

``walk`` and ``standins`` are where this node's walks are (see ``split``):
after a restart, even after SIGKILL, the migrator goes on from there; the
page in flight when it died is listed again and its objects already copied
compare EQUAL, so nothing is copied twice.  ``totals`` count since the
migration started on this node, ``sweep`` the walk in progress and
``last_sweep`` the last complete one (``finished`` is when it reached the
source's end).

The file is replaced atomically (temporary file, fsync, rename) and only
when its content changed.  A file that is not a progress record (truncated,
not JSON) is reported through ``problem`` (the daemon logs one line) and the
migration of that container starts over: what was copied compares EQUAL and
is not copied again.  The signature depends on the source, the destination
and the prefix, so changing any of them starts over too; credentials and
settings may change freely.
"""
import json
import os
import shutil
import time

from swift_s3_sync.crawler.progress import (
    _name, progress_entries, write_atomically)

COUNTS = ('scanned', 'copied', 'bytes', 'deleted', 'failed')


def _fresh(label):
    return {'migration': label, 'walk': {'sweep': 0, 'marker': ''},
            'standins': {}, 'checkpoints': [], 'failures': {},
            'totals': dict.fromkeys(COUNTS, 0),
            'sweep': dict(dict.fromkeys(COUNTS, 0), started=None),
            'last_sweep': None}


def _is_position(value):
    return (isinstance(value, dict) and isinstance(value.get('sweep'), int)
            and isinstance(value.get('marker'), str))


def _looks_like_progress(state):
    return (isinstance(state, dict) and _is_position(state.get('walk'))
            and isinstance(state.get('standins'), dict)
            and all(_is_position(p) for p in state['standins'].values())
            and isinstance(state.get('checkpoints'), list)
            and all(isinstance(p, list) and len(p) == 3
                    for p in state['checkpoints'])
            and isinstance(state.get('failures'), dict)
            and isinstance(state.get('totals'), dict)
            and isinstance(state.get('sweep'), dict))


class MigrationProgress(object):
    """The progress record of one migration into one local container."""

    def __init__(self, path, label):
        self.path = path
        self.label = label
        self.problem = None
        self._on_disk = None
        self.state = self._load()

    def _load(self):
        try:
            with open(self.path, encoding='utf-8') as f:
                text = f.read()
        except FileNotFoundError:
            return _fresh(self.label)
        except UnicodeDecodeError:
            text = ''
        self._on_disk = text
        try:
            state = json.loads(text)
        except ValueError:
            state = None
        if not _looks_like_progress(state):
            self.problem = ('progress file %s is corrupted; this container '
                            'starts over' % self.path)
            return _fresh(self.label)
        state['migration'] = self.label
        return state

    # -- counts ------------------------------------------------------------
    def count(self, name, value=1):
        self.state['totals'][name] = self.state['totals'].get(name, 0) + \
            value
        self.state['sweep'][name] = self.state['sweep'].get(name, 0) + value

    def sweep_started(self, now):
        if self.state['sweep'].get('started') is None:
            self.state['sweep']['started'] = now

    def sweep_finished(self, now):
        """The normal walk reached the source's end: the sweep's counts
        become ``last_sweep``."""
        done = dict(self.state['sweep'], finished=now)
        self.state['last_sweep'] = done
        self.state['sweep'] = dict(dict.fromkeys(COUNTS, 0), started=None)

    # -- failures ----------------------------------------------------------
    @property
    def failures(self):
        return self.state['failures']

    def record_failure(self, name, reason, permanent, retry_at, now):
        previous = self.failures.get(name, {})
        self.failures[name] = {
            'reason': reason, 'permanent': permanent,
            'attempts': previous.get('attempts', 0) + 1,
            'since': previous.get('since', now), 'retry_at': retry_at}

    def clear_failure(self, name):
        self.failures.pop(name, None)

    def retry_permanent(self, now):
        """Make every permanent failure due for a retry now (the operator
        fixed what made it permanent); returns how many."""
        permanent = [f for f in self.failures.values() if f['permanent']]
        for failure in permanent:
            failure.update(permanent=False, retry_at=now)
        return len(permanent)

    def due_retries(self, now):
        return sorted(name for name, f in self.failures.items()
                      if not f['permanent'] and f['retry_at'] <= now)

    # -- the file ------------------------------------------------------------
    def save(self):
        """Write the state if it changed; True if written."""
        text = json.dumps(self.state, sort_keys=True)
        if text == self._on_disk:
            return False
        write_atomically(self.path, text)
        self._on_disk = text
        return True


class ProgressFiles(object):
    """Every migration progress file under the migrator's status_dir."""

    def __init__(self, status_dir):
        self.status_dir = status_dir

    def path(self, signature, account, container):
        return os.path.join(self.status_dir, signature, _name(account),
                            _name(container) + '.json')

    def open(self, migration, account, container):
        return MigrationProgress(
            self.path(migration.signature(), account, container),
            migration.label)

    def entries(self):
        """(signature, account, container, path) of every progress file."""
        return progress_entries(self.status_dir)

    def containers(self, migration):
        """The local containers ``migration`` has progress of here."""
        return [container for signature, account, container, _
                in self.entries() if signature == migration.signature()
                and account == migration.account]

    @staticmethod
    def remove(progress):
        try:
            os.unlink(progress.path)
        except FileNotFoundError:
            pass

    def prune(self, signatures):
        """Remove the progress of migrations no longer configured."""
        removed = []
        if not os.path.isdir(self.status_dir):
            return removed
        for signature in sorted(os.listdir(self.status_dir)):
            if signature not in signatures:
                shutil.rmtree(os.path.join(self.status_dir, signature),
                              ignore_errors=True)
                removed.append(signature)
        return removed


def estimate(state, now):
    """How long the sweep in progress still needs, when that can be said
    honestly: the last full sweep listed N names, this one has scanned M
    in T seconds, so about (N - M) / (M / T) seconds are left.  A first
    sweep from a Swift source (without a prefix) goes by the container's
    object count read when the sweep started; any other first sweep has
    nothing to go by (an S3 listing does not say how many objects a
    bucket holds): ``seconds`` is None and ``basis`` says why.
    The pace includes copying, pauses between passes and any time the
    migrator was stopped, and a source that grew since the last sweep
    makes the estimate too short; it is a guide, not a promise.
    None when no sweep is in progress."""
    sweep = state.get('sweep') or {}
    started = sweep.get('started')
    if started is None:
        return None
    last = state.get('last_sweep')
    if last:
        known = last.get('scanned', 0)
        size = 'the last full sweep listed %d names' % known
    elif sweep.get('source_objects') is not None:
        known = sweep['source_objects']
        size = ('the source container held %d objects when this sweep '
                'started' % known)
    else:
        return {'seconds': None, 'names_left': None,
                'basis': "first sweep: the source's size is not known "
                         "until it has been listed once"}
    done = sweep.get('scanned', 0)
    elapsed = now - started
    if done <= 0 or elapsed <= 0:
        return {'seconds': None, 'names_left': None,
                'basis': 'nothing scanned in this sweep yet'}
    left = max(known - done, 0)
    return {'seconds': round(left * elapsed / done, 1), 'names_left': left,
            'basis': '%s; this one has scanned %d in %.0fs' % (
                size, done, elapsed)}


def summary(state, now=None):
    """One container's figures for a status report (no secrets: the
    progress file holds none): ``totals`` since the migration started on
    this node, ``sweep`` the one in progress (``started`` None between
    sweeps), ``last_sweep`` the last complete one, ``walk`` where this
    node's walk is, ``estimated_remaining`` (see ``estimate``) and the
    ``failures`` with their reasons."""
    now = time.time() if now is None else now
    last = state.get('last_sweep')
    walk = dict(state.get('walk', {}))
    sweep = dict(state.get('sweep', {}))
    sweep['number'] = walk.get('sweep', 0) + 1
    return {
        'totals': dict(state.get('totals', {})),
        'sweep': sweep,
        'last_sweep': dict(last) if last else None,
        'walk': walk,
        'estimated_remaining': estimate(state, now),
        'failures': [dict(f, object=name) for name, f in
                     sorted(state.get('failures', {}).items())],
    }


def collect(config, now=None):
    """Per configured migration, the figures of its containers on this
    node (``problem`` instead for a file that cannot be read, and for the
    whole report when the status_dir cannot be listed)."""
    now = time.time() if now is None else now
    files = ProgressFiles(config.migrator.status_dir)
    by_signature = {}
    listing_problem = None
    try:
        for signature, account, container, path in files.entries():
            by_signature.setdefault(signature, []).append(
                (account, container, path))
    except OSError as err:
        listing_problem = 'migrator status_dir %s cannot be read: %s' % (
            files.status_dir, err.strerror or err)
    report = []
    for migration in config.migrations:
        containers = []
        for account, container, path in by_signature.get(
                migration.signature(), []):
            entry = {'account': account, 'container': container}
            try:
                with open(path, encoding='utf-8') as f:
                    state = json.load(f)
                if not _looks_like_progress(state):
                    raise ValueError('not a progress record')
                entry.update(summary(state, now))
            except (OSError, ValueError, TypeError, AttributeError) as err:
                entry['problem'] = 'progress file %s: %s' % (path, err)
            containers.append(entry)
        entry = {'migration': migration.label,
                 'source': source_text(migration),
                 'containers': containers}
        if listing_problem:
            entry['problem'] = listing_problem
        report.append(entry)
    return report


def source_text(migration):
    where = migration.aws_endpoint or 'AWS S3'
    bucket = '*' if migration.all_buckets else migration.aws_bucket
    return '%s %s/%s' % (migration.protocol, where, bucket)


def _when(ts):
    if not ts:
        return 'never'
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(ts))


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return '%ds' % seconds
    if seconds < 3600:
        return '%dm%02ds' % divmod(seconds, 60)
    hours, rest = divmod(seconds, 3600)
    if hours < 48:
        return '%dh%02dm' % (hours, rest // 60)
    return '%dd%02dh' % divmod(hours, 24)


def _size(count):
    for unit in ('bytes', 'KiB', 'MiB', 'GiB', 'TiB'):
        if count < 1024 or unit == 'TiB':
            return ('%d %s' % (count, unit) if unit == 'bytes'
                    else '%.1f %s' % (count, unit))
        count /= 1024.0


def _counts(figures):
    return 'scanned %d, copied %d (%s), deleted %d, failed %d' % (
        figures.get('scanned', 0), figures.get('copied', 0),
        _size(figures.get('bytes', 0)), figures.get('deleted', 0),
        figures.get('failed', 0))


def _container_lines(c):
    lines = []
    sweep, last, left = c['sweep'], c['last_sweep'], c['estimated_remaining']
    if sweep.get('started') is not None:
        text = 'sweep %d since %s: %s' % (
            sweep['number'], _when(sweep['started']), _counts(sweep))
        if left and left['seconds'] is not None:
            text += '; about %s left (%d names)' % (
                _duration(left['seconds']), left['names_left'])
        elif left:
            text += '; time left unknown (%s)' % left['basis']
        lines.append(text)
    else:
        lines.append('between sweeps')
    if last:
        lines.append('last full sweep %s -> %s (%s): %s' % (
            _when(last.get('started')), _when(last.get('finished')),
            _duration((last.get('finished') or 0) -
                      (last.get('started') or last.get('finished') or 0)),
            _counts(last)))
    else:
        lines.append('no full sweep yet')
    totals = c['totals']
    lines.append('since the start: copied %d objects (%s), deleted %d, '
                 '%d failures now' % (
                     totals.get('copied', 0), _size(totals.get('bytes', 0)),
                     totals.get('deleted', 0), len(c['failures'])))
    return lines


def format_text(report):
    lines = []
    for entry in report:
        lines.append('%s <- %s' % (entry['migration'], entry['source']))
        if entry.get('problem'):
            lines.append('  ' + entry['problem'])
        elif not entry['containers']:
            lines.append('  (not started on this node)')
        for c in entry['containers']:
            where = '  %s/%s: ' % (c['account'], c['container'])
            if 'problem' in c:
                lines.append(where + c['problem'])
                continue
            first, *rest = _container_lines(c)
            lines.append(where + first)
            lines.extend('    ' + line for line in rest)
            for f in c['failures']:
                lines.append('    %s %s: %s (%d attempts)' % (
                    'FAILED' if f['permanent'] else 'retrying',
                    f['object'], f['reason'], f['attempts']))
            if any(f['permanent'] for f in c['failures']):
                lines.append('    (FAILED: not tried again until the '
                             'source object changes, or a pass with '
                             '--retry-permanent)')
    return '\n'.join(lines) + '\n'
