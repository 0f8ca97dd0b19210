"""Progress and failure records, one file per (mapping, container).

``<status_dir>/<mapping signature>/<account>/<container>.json``::

    {"policy": "<hash of the mapping's sync policy>",
     "mapping": "containers[0] (AUTH_test/photos)",
     "dbs": {"<db id>": {"last_row": 12, "last_verified_row": 9}},
     "failures": {"<object>": {"row": {...}, "reason": "...",
                               "permanent": false, "attempts": 2,
                               "retry_at": 1700000000.0, "since": ...}},
     "backlog": {"rows": 3, "oldest": 1700000000.0},
     "last_success": 1700000000.0,
     "idle": [...]}

Pointers are per DB replica id: ROWIDs differ between replicas.  A change of
the mapping's policy (bucket, endpoint, copy_after, ...) starts over from row
0.  ``last_success`` is when the container last caught up with every row: it
stays put while the container stays in sync.  ``idle`` is what the DB
replica's files looked like when a pass last found nothing to do (see
``crawler.idle``).

A file is written only when its content changes, so a pass that finds
nothing new writes nothing; when it is written it is replaced atomically
(temp file, fsync, rename), so a crash leaves the old or the new state,
never a torn one.

A file that is not valid JSON (truncated, corrupted) is reported through
``problem`` and the container starts over from row 0: rows already copied
are found current at the remote and not sent again.  A file that exists but
cannot be read (permissions, I/O error) raises :class:`ProgressUnreadable`:
the container is left alone, so its progress is not overwritten.  A file
that cannot be written raises :class:`ProgressNotSaved` and stays as it was:
the rows handled since are handled again after the directory is fixed.
"""
import json
import os
import shutil
import tempfile
from urllib.parse import quote, unquote


class ProgressUnreadable(Exception):
    """A progress file exists but cannot be read; str() says which and
    why."""


class ProgressNotSaved(Exception):
    """A progress file could not be written (``status_dir`` missing,
    read-only or full); the file on disk is left as it was."""


def _name(part):
    # Names may hold any character but '/' is ours; keep files readable.
    return quote(part, safe='')


def _looks_like_progress(state):
    if not isinstance(state, dict) or not all(
            isinstance(state.get(key, {}), dict)
            for key in ('dbs', 'failures', 'backlog')):
        return False
    return all(isinstance(f, dict) and isinstance(f.get('row'), dict) and
               isinstance(f.get('retry_at'), (int, float)) and
               'permanent' in f
               for f in state.get('failures', {}).values()) and all(
        isinstance(db, dict) and
        isinstance(db.get('last_row', 0), int) and
        isinstance(db.get('last_verified_row', 0), int)
        for db in state.get('dbs', {}).values())


class ContainerProgress(object):
    """``writes`` counts the files written; ``on_write`` (if given) is
    called after each."""

    def __init__(self, path, policy, label, on_write=None):
        self.path = path
        self.policy = policy
        self.label = label
        self.on_write = on_write
        self.writes = 0
        self.problem = None
        self._on_disk = None   # the file's text, to skip unchanged writes
        self.state = self._load()

    def _fresh(self):
        return {'policy': self.policy, 'mapping': self.label, 'dbs': {},
                'failures': {}, 'backlog': {}, 'last_success': None}

    def _read(self):
        """The file's text, or None when there is no file."""
        try:
            with open(self.path, encoding='utf-8') as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise ProgressUnreadable('progress file %s cannot be read: %s' % (
                self.path, err.strerror or err)) from None
        except UnicodeDecodeError:
            return ''   # not text: corrupted, as below

    def _load(self):
        text = self._read()
        if text is None:
            return self._fresh()
        self._on_disk = text
        try:
            state = json.loads(text)
        except ValueError as err:
            self.problem = 'progress file %s is corrupted (%s)' % (
                self.path, err if text else 'empty or not text')
            return self._fresh()
        if not _looks_like_progress(state):
            self.problem = 'progress file %s is corrupted (not a progress ' \
                'record)' % self.path
            return self._fresh()
        if state.get('policy') != self.policy:
            return self._fresh()
        for key, value in self._fresh().items():
            state.setdefault(key, value)
        state['mapping'] = self.label
        return state

    # -- pointers ---------------------------------------------------------
    def _db(self, db_id):
        return self.state['dbs'].setdefault(
            db_id, {'last_row': 0, 'last_verified_row': 0})

    def pointer(self, db_id, name):
        """'last_row' (primary pass) or 'last_verified_row'."""
        return self._db(db_id)[name]

    def set_pointer(self, db_id, name, row_id):
        self._db(db_id)[name] = row_id

    def last_row(self, db_id):
        return self.pointer(db_id, 'last_row')

    def last_verified_row(self, db_id):
        return self.pointer(db_id, 'last_verified_row')

    def forget_dbs_except(self, db_ids):
        for db_id in set(self.state['dbs']) - set(db_ids):
            del self.state['dbs'][db_id]

    # -- failures ---------------------------------------------------------
    @property
    def failures(self):
        return self.state['failures']

    def record_failure(self, row, reason, permanent, retry_at, now):
        previous = self.failures.get(row['name'], {})
        self.failures[row['name']] = {
            'row': row, 'reason': reason, 'permanent': permanent,
            'attempts': previous.get('attempts', 0) + 1,
            'since': previous.get('since', now), 'retry_at': retry_at}

    def clear_failure(self, name):
        self.failures.pop(name, None)

    def due_retries(self, now):
        return [f['row'] for f in self.failures.values()
                if not f['permanent'] and f['retry_at'] <= now]

    # -- summary ----------------------------------------------------------
    def rows_behind(self):
        return self.state['backlog'].get('rows', 0)

    def set_backlog(self, rows, oldest, now):
        """Record what is left.  ``last_success`` is set when the container
        catches up and kept while it stays caught up, so that a pass that
        finds nothing new changes nothing."""
        caught_up_before = self.state['backlog'].get('rows') == 0 and \
            self.state.get('last_success') is not None
        self.state['backlog'] = {'rows': rows, 'oldest': oldest}
        if not rows and not caught_up_before:
            self.state['last_success'] = now

    # -- the file -----------------------------------------------------------
    def _replace(self, text):
        write_atomically(self.path, text)

    def save(self):
        """Write the state if it differs from the file; True if written."""
        text = json.dumps(self.state, sort_keys=True)
        if text == self._on_disk:
            return False
        try:
            self._replace(text)
        except OSError as err:
            raise ProgressNotSaved('progress file %s not saved: %s' % (
                self.path, err.strerror or err)) from None
        self._on_disk = text
        self.writes += 1
        if self.on_write is not None:
            self.on_write()
        return True


class ProgressStore(object):
    """All progress files under ``status_dir``."""

    def __init__(self, status_dir):
        self.status_dir = status_dir
        self.writes = 0   # progress files written, for the pass summary

    def _count_write(self):
        self.writes += 1

    def path(self, signature, account, container):
        return os.path.join(self.status_dir, signature, _name(account),
                            _name(container) + '.json')

    def open(self, mapping, account, container):
        return ContainerProgress(
            self.path(mapping.signature(), account, container),
            mapping.policy_hash(), mapping.label, self._count_write)

    def entries(self):
        """(signature, account, container, path) of every progress file."""
        return progress_entries(self.status_dir)

    def prune(self, keep):
        """Remove progress of (signature, account, container) not in
        ``keep`` and of mappings no longer configured."""
        signatures = {k[0] for k in keep}
        removed = []
        for signature, account, container, path in list(self.entries()):
            if (signature, account, container) not in keep:
                os.unlink(path)
                removed.append((signature, account, container))
        if os.path.isdir(self.status_dir):
            for signature in os.listdir(self.status_dir):
                if signature not in signatures:
                    shutil.rmtree(os.path.join(self.status_dir, signature),
                                  ignore_errors=True)
        return removed

    @staticmethod
    def read(path):
        with open(path) as f:
            return json.load(f)


def progress_entries(status_dir):
    """(signature, account, container, path) of every progress file under
    ``status_dir`` laid out as ``<signature>/<account>/<container>.json``
    (the sync daemon's and the migrator's alike)."""
    if not os.path.isdir(status_dir):
        return
    for signature in sorted(os.listdir(status_dir)):
        sig_dir = os.path.join(status_dir, signature)
        if not os.path.isdir(sig_dir):
            continue
        for account in sorted(os.listdir(sig_dir)):
            acct_dir = os.path.join(sig_dir, account)
            for entry in sorted(os.listdir(acct_dir)):
                if entry.endswith('.json') and not entry.startswith('.'):
                    yield (signature, unquote(account), unquote(entry[:-5]),
                           os.path.join(acct_dir, entry))


def write_atomically(path, text):
    """Replace ``path`` with ``text`` whole (temporary file, fsync,
    rename): a crash leaves the old file or the new, never a part."""
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
