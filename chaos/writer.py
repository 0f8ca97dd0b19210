"""The writer: a seeded mix of client operations on the mapped containers.

Operations (weights in ``MIX``): PUT of a new name, overwrite of a live one,
SLO (2-3 segments in an unmapped ``<container>_segments``), POST of new
metadata, DELETE.  Sizes go from 0 B to ``max_size`` (see ``SIZES``); names
carry accents, CJK, emoji, spaces, '%', '+' and '&'.  The sequence of
operations depends only on the seed; the writer is paced at ``rate``
operations per second so that the timed faults happen while it writes.

Every successful operation is recorded in the :class:`~chaos.model.Model`.
An operation whose outcome is unknown (a 5xx, a timeout while a source node
is down) is settled by a HEAD with ``X-Newest``; a name that cannot be
settled is marked uncertain and left out of the checks (and counted).
"""
import hashlib
import json
import random
import time

import swiftclient

MIX = (('put-new', 30), ('overwrite', 20), ('slo', 5), ('post', 25),
       ('delete', 20))
# (weight, smallest, largest) in bytes; the last bound is max_size.
SIZES = ((5, 0, 0), (35, 1, 1024), (30, 1025, 64 * 1024),
         (22, 64 * 1024 + 1, 512 * 1024), (8, 512 * 1024 + 1, None))
WORDS = ('\u00f6bj\u00e9t', '\u2603 snow', '\u65e5\u672c\u8a9e',
         'emoji \U0001f419', 'per%cent', 'plus+sign', 'a&b',
         'caf\u00e9 au lait')
CONTENT_TYPES = ('application/octet-stream', 'text/plain',
                 'image/x-chaos', 'application/json; charset=utf-8')
SEGMENT_SIZES = (100 * 1024, 1024 * 1024)


def object_name(serial):
    return 'd%d/%s-%05d' % (serial % 5, WORDS[serial % len(WORDS)], serial)


def metadata(rng, op_index):
    meta = {'x-object-meta-op': str(op_index),
            'x-object-meta-note': 'cr\u00e8me br\u00fbl\u00e9e %d \u2603' %
            rng.randrange(1000)}
    if rng.random() < 0.3:
        meta['x-object-meta-extra'] = 'two  spaces, a comma'
    return meta


def slo_etag(segment_etags):
    return hashlib.md5(''.join(segment_etags).encode()).hexdigest()


class Writer(object):

    def __init__(self, conn_factory, model, containers, settings,
                 log=lambda msg: None):
        """``containers``: {container: 'sync' | 'archive'}."""
        self.conn = conn_factory()
        self.model = model
        self.containers = sorted(containers)
        self.kinds = dict(containers)
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.log = log
        self.serial = 0
        self.counts = {}
        self.uncertain = set()
        self.segments = []   # (container, name) of SLO segments written
        self.stop = False
        self.finished_at = None

    # -- choices --------------------------------------------------------------
    def _size(self):
        weights = [w for w, _, _ in SIZES]
        _, low, high = self.rng.choices(SIZES, weights)[0]
        return self.rng.randint(low, high or self.settings.max_size)

    def every_name(self, account):
        """(account, container, name) of everything written so far."""
        names = [(c, n) for c in self.containers
                 for n in self.model.names(c)] + list(self.segments)
        return [(account, c, n) for c, n in names]

    def _live_name(self, container):
        live = sorted(self.model.live(container))
        return self.rng.choice(live) if live else None

    def _new_name(self):
        self.serial += 1
        return object_name(self.serial)

    def _count(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    # -- the loop -------------------------------------------------------------
    def run(self):
        started = time.time()
        for index in range(self.settings.ops):
            if self.stop:
                break
            delay = started + index / self.settings.rate - time.time()
            if delay > 0:
                time.sleep(delay)
            self.one(index)
        self.finished_at = time.time()

    def one(self, index):
        container = self.rng.choice(self.containers)
        kind = self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        name = None
        if kind in ('overwrite', 'post', 'delete') or \
                (kind == 'slo' and self.rng.random() < 0.5):
            name = self._live_name(container)
        if name is None:
            name = self._new_name()
            if kind in ('overwrite', 'post', 'delete'):
                kind = 'put-new'
        meta = metadata(self.rng, index)
        if kind == 'post' and not self.settings.archive_posts and \
                self.kinds[container] == 'archive':
            self._count('post-skipped')
            return
        self.model.begin(container, name)
        try:
            if kind in ('put-new', 'overwrite'):
                self._put(container, name, meta, kind)
            elif kind == 'slo':
                self._slo(container, name, meta)
            elif kind == 'post':
                self._post(container, name, meta)
            else:
                self._delete(container, name)
        finally:
            self.model.end(container, name)

    # -- operations -----------------------------------------------------------
    def _put(self, container, name, meta, kind):
        body = self.rng.randbytes(self._size())
        ctype = self.rng.choice(CONTENT_TYPES)
        etag = hashlib.md5(body).hexdigest()
        try:
            self.conn.put_object(container, name, body, content_type=ctype,
                                 headers=meta)
        except Exception as err:
            self._settle(container, name, etag, meta, ctype, False, kind, err)
            return
        self.model.put(container, name, etag, meta, ctype)
        self._count(kind)

    def _slo(self, container, name, meta):
        segments, etags = [], []
        count = self.rng.randint(2, 3)
        for i in range(count):
            body = self.rng.randbytes(self.rng.randint(*SEGMENT_SIZES))
            path = '%s/%s/%d' % (name, self.serial, i)
            etag = hashlib.md5(body).hexdigest()
            try:
                self.conn.put_object(container + '_segments', path, body)
            except Exception as err:
                self._count('slo-segment-failed')
                self.log('segment %s/%s failed: %s' % (container, path, err))
                return
            self.segments.append((container + '_segments', path))
            segments.append({'path': '/%s_segments/%s' % (container, path),
                             'etag': etag, 'size_bytes': len(body)})
            etags.append(etag)
        ctype = self.rng.choice(CONTENT_TYPES)
        etag = slo_etag(etags)
        try:
            self.conn.put_object(container, name, json.dumps(segments),
                                 content_type=ctype, headers=meta,
                                 query_string='multipart-manifest=put')
        except Exception as err:
            self._settle(container, name, etag, meta, ctype, True, 'slo', err)
            return
        self.model.put(container, name, etag, meta, ctype, slo=True)
        self._count('slo')

    def _post(self, container, name, meta):
        try:
            self.conn.post_object(container, name, headers=meta)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                # Archived (or not there): nothing changed locally.
                self._count('post-404')
                return
            self._settle(container, name, None, meta, None, None, 'post', err)
            return
        except Exception as err:
            self._settle(container, name, None, meta, None, None, 'post', err)
            return
        self.model.post(container, name, meta)
        self._count('post')

    def _delete(self, container, name):
        try:
            self.conn.delete_object(container, name)
        except swiftclient.ClientException as err:
            if err.http_status != 404:
                self._settle(container, name, None, None, None, None,
                             'delete', err)
                return
            self._count('delete-404')
        except Exception as err:
            self._settle(container, name, None, None, None, None, 'delete',
                         err)
            return
        else:
            self._count('delete')
        self.model.delete(container, name)

    # -- unknown outcomes -----------------------------------------------------
    def _settle(self, container, name, etag, meta, ctype, slo, kind, err):
        """After a failed request: what does the source hold now?"""
        self._count(kind + '-unsure')
        self.log('%s %s/%s: %s; settling with a HEAD' % (kind, container,
                                                         name, err))
        for _ in range(10):
            try:
                headers = self.conn.head_object(
                    container, name, headers={'X-Newest': 'true'})
            except swiftclient.ClientException as head_err:
                if head_err.http_status == 404:
                    if kind == 'delete':
                        self.model.delete(container, name)
                    return
                time.sleep(1)
                continue
            except Exception:
                time.sleep(1)
                continue
            self._settled(container, name, headers, etag, meta, ctype, slo,
                          kind)
            return
        self.uncertain.add((container, name))

    def _settled(self, container, name, headers, etag, meta, ctype, slo,
                 kind):
        # The operation's index is in its metadata, in plain ASCII (other
        # values may come back with another decoding).
        ours = bool(meta) and \
            headers.get('x-object-meta-op') == meta.get('x-object-meta-op')
        if kind == 'post':
            if ours:
                self.model.post(container, name, meta)
        elif kind != 'delete' and ours and \
                headers.get('etag', '').strip('"') == etag:
            self.model.put(container, name, etag, meta, ctype, slo)
