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
import tempfile
from urllib.parse import quote, unquote

COUNTS = ('scanned', 'copied', 'bytes', 'deleted', 'failed')


def _name(part):
    return quote(part, safe='')


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


def write_atomically(path, text):
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
        if not os.path.isdir(self.status_dir):
            return
        for signature in sorted(os.listdir(self.status_dir)):
            sig_dir = os.path.join(self.status_dir, signature)
            if not os.path.isdir(sig_dir):
                continue
            for account in sorted(os.listdir(sig_dir)):
                acct_dir = os.path.join(sig_dir, account)
                for entry in sorted(os.listdir(acct_dir)):
                    if entry.endswith('.json') and not entry.startswith('.'):
                        yield (signature, unquote(account),
                               unquote(entry[:-5]),
                               os.path.join(acct_dir, entry))

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


def summary(state):
    """One container's figures for a status report (no secrets: the
    progress file holds none)."""
    last = state.get('last_sweep')
    return {
        'totals': dict(state.get('totals', {})),
        'sweep': dict(state.get('sweep', {})),
        'last_sweep': dict(last) if last else None,
        'walk': dict(state.get('walk', {})),
        'failures': [dict(f, object=name) for name, f in
                     sorted(state.get('failures', {}).items())],
    }


def collect(config):
    """Per configured migration, the figures of its containers on this
    node (``problem`` instead for a file that cannot be read)."""
    files = ProgressFiles(config.migrator.status_dir)
    by_signature = {}
    for signature, account, container, path in files.entries():
        by_signature.setdefault(signature, []).append(
            (account, container, path))
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
                entry.update(summary(state))
            except (OSError, ValueError) as err:
                entry['problem'] = 'progress file %s: %s' % (path, err)
            containers.append(entry)
        report.append({'migration': migration.label,
                       'source': '%s %s/%s' % (
                           migration.protocol,
                           migration.aws_endpoint or 'AWS S3',
                           migration.aws_bucket),
                       'containers': containers})
    return report


def format_text(report):
    lines = []
    for entry in report:
        lines.append('%s <- %s' % (entry['migration'], entry['source']))
        if not entry['containers']:
            lines.append('  (not started on this node)')
        for c in entry['containers']:
            where = '  %s/%s: ' % (c['account'], c['container'])
            if 'problem' in c:
                lines.append(where + c['problem'])
                continue
            totals, last = c['totals'], c['last_sweep']
            lines.append(where + 'copied %d objects (%d bytes), deleted %d, '
                         '%d failures; %s' % (
                             totals.get('copied', 0), totals.get('bytes', 0),
                             totals.get('deleted', 0), len(c['failures']),
                             'last full sweep scanned %d' % last['scanned']
                             if last else 'first sweep not finished'))
            for f in c['failures']:
                lines.append('    %s %s: %s (%d attempts)' % (
                    'FAILED' if f['permanent'] else 'retrying',
                    f['object'], f['reason'], f['attempts']))
    return '\n'.join(lines) + '\n'
