"""What the source should hold, as the writer knows it.

For every (container, name) the writer keeps the versions it wrote, in
order: a :class:`Version` (ETag, user metadata, content type, SLO or not)
per successful PUT or POST, and :data:`DELETED` per successful DELETE.  The
checks compare remotes with the latest entry; the archive watcher accepts a
remote copy of the version that vanished locally or of any later one.

It also remembers when each name was changed, so a daemon's failure on a
row that the writer superseded a moment later can be told apart.

The model is shared between the writer thread and the watchers: every
method takes the lock, and readers get copies.
"""
import threading
import time


class Version(object):
    __slots__ = ('seq', 'etag', 'meta', 'content_type', 'slo')

    def __init__(self, seq, etag, meta, content_type, slo=False):
        self.seq = seq
        self.etag = etag
        self.meta = dict(meta)
        self.content_type = content_type
        self.slo = slo

    def with_meta(self, seq, meta):
        return Version(seq, self.etag, meta, self.content_type, self.slo)

    def __repr__(self):
        return 'Version(%d, %s%s, %r)' % (self.seq, self.etag,
                                          ' slo' if self.slo else '',
                                          self.meta)


class Deleted(object):
    __slots__ = ('seq',)

    def __init__(self, seq):
        self.seq = seq

    def __repr__(self):
        return 'Deleted(%d)' % self.seq


def is_deleted(entry):
    return entry is None or isinstance(entry, Deleted)


class Model(object):

    def __init__(self):
        self.lock = threading.Lock()
        self.history = {}   # (container, name) -> [Version | Deleted]
        self.changes = {}   # (container, name) -> [time of each change]
        self.seq = 0
        self.busy = set()   # names with an operation in flight

    def begin(self, container, name):
        """An operation on ``name`` is about to be sent: until ``end``, the
        source may already show its effect while the model does not."""
        with self.lock:
            self.busy.add((container, name))

    def end(self, container, name):
        with self.lock:
            self.busy.discard((container, name))

    def settled(self, container, name, seq):
        """Whether ``seq`` is still the latest entry of ``name`` and no
        operation on it is in flight."""
        with self.lock:
            versions = self.history.get((container, name))
            return (container, name) not in self.busy and bool(versions) \
                and versions[-1].seq == seq

    def _next(self, container, name):
        self.changes.setdefault((container, name), []).append(time.time())
        self.seq += 1
        return self.seq

    def changed_near(self, container, name, when, before, after):
        """Whether the writer changed ``name`` from ``before`` seconds
        before ``when`` to ``after`` seconds after it."""
        with self.lock:
            return any(when - before <= t <= when + after
                       for t in self.changes.get((container, name), ()))

    def put(self, container, name, etag, meta, content_type, slo=False):
        with self.lock:
            self.history.setdefault((container, name), []).append(
                Version(self._next(container, name), etag, meta, content_type,
                        slo))

    def post(self, container, name, meta):
        with self.lock:
            versions = self.history.get((container, name))
            if not versions or is_deleted(versions[-1]):
                return False
            versions.append(versions[-1].with_meta(
                self._next(container, name), meta))
            return True

    def delete(self, container, name):
        with self.lock:
            self.history.setdefault((container, name), []).append(
                Deleted(self._next(container, name)))

    def latest(self, container, name):
        with self.lock:
            versions = self.history.get((container, name))
            return versions[-1] if versions else None

    def since(self, container, name, seq):
        """Versions of ``name`` written at or after ``seq``."""
        with self.lock:
            return [v for v in self.history.get((container, name), ())
                    if v.seq >= seq and not is_deleted(v)]

    def names(self, container):
        with self.lock:
            return sorted(n for c, n in self.history if c == container)

    def live(self, container):
        """{name: latest Version} of objects that should exist."""
        with self.lock:
            return {n: v[-1] for (c, n), v in self.history.items()
                    if c == container and not is_deleted(v[-1])}

    def deleted(self, container):
        """Names whose latest operation was a DELETE."""
        with self.lock:
            return {n for (c, n), v in self.history.items()
                    if c == container and is_deleted(v[-1])}
