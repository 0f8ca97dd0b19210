"""Progress and failure records, one file per (mapping, container).

``<status_dir>/<mapping signature>/<account>/<container>.json``::

    {"policy": "<hash of the mapping's sync policy>",
     "mapping": "containers[0] (AUTH_test/photos)",
     "dbs": {"<db id>": {"last_row": 12, "last_verified_row": 9}},
     "failures": {"<object>": {"row": {...}, "reason": "...",
                               "permanent": false, "attempts": 2,
                               "retry_at": 1700000000.0, "since": ...}},
     "backlog": {"rows": 3, "oldest": 1700000000.0},
     "last_success": 1700000000.0}

Pointers are per DB replica id: ROWIDs differ between replicas.  A change of
the mapping's policy (bucket, endpoint, copy_after, ...) starts over from row
0.  Files are replaced atomically (temp file, fsync, rename), so a crash
leaves the old or the new state, never a torn one.
"""
import json
import os
import shutil
import tempfile
from urllib.parse import quote, unquote


def _name(part):
    # Names may hold any character but '/' is ours; keep files readable.
    return quote(part, safe='')


class ContainerProgress(object):

    def __init__(self, path, policy, label):
        self.path = path
        self.policy = policy
        self.label = label
        self.state = self._load()

    def _fresh(self):
        return {'policy': self.policy, 'mapping': self.label, 'dbs': {},
                'failures': {}, 'backlog': {}, 'last_success': None}

    def _load(self):
        try:
            with open(self.path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            return self._fresh()
        if not isinstance(state, dict) or state.get('policy') != self.policy:
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
    def set_backlog(self, rows, oldest):
        self.state['backlog'] = {'rows': rows, 'oldest': oldest}

    def mark_success(self, now):
        self.state['last_success'] = now

    def save(self):
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
        try:
            with os.fdopen(fd, 'w') as f:
                json.dump(self.state, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


class ProgressStore(object):
    """All progress files under ``status_dir``."""

    def __init__(self, status_dir):
        self.status_dir = status_dir

    def path(self, signature, account, container):
        return os.path.join(self.status_dir, signature, _name(account),
                            _name(container) + '.json')

    def open(self, mapping, account, container):
        return ContainerProgress(
            self.path(mapping.signature(), account, container),
            mapping.policy_hash(), mapping.label)

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
