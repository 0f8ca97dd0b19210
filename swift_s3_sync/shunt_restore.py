"""Writing an object back into Swift while it streams to the client
(``restore_object``): the PUT gets the same bytes, and is aborted when the
stream ends short, so a client that goes away leaves no partial object."""
import traceback

import eventlet
import eventlet.queue
from swift.common.exceptions import ChunkReadError
from swift.common.swob import Request
from swift.common.utils import close_if_possible
from swift.common.wsgi import make_pre_authed_env


# Requests the shunt makes are logged with this swift.source.
SWIFT_SOURCE = 'CS'

_EOF = object()
_ABORT = object()


class RestoreWriter(object):
    """The ``wsgi.input`` of a PUT, run in a green thread, that writes an
    object back into Swift from chunks fed to it.

    ``finish()`` ends the body; ``abort()`` makes the next read raise
    ChunkReadError, so Swift answers 499 and stores nothing.  Feeding never
    blocks for good: once the PUT is over, chunks are dropped.
    """
    QUEUE_CHUNKS = 8

    def __init__(self, app, env, headers, length, logger, what, path=None):
        self.logger = logger
        self.what = what
        self.queue = eventlet.queue.Queue(self.QUEUE_CHUNKS)
        self.buffer = b''
        self.eof = False
        self.done = False
        self.ended = False
        put_env = make_pre_authed_env(
            env, 'PUT', path=path or env['PATH_INFO'], query_string='',
            agent='%(orig)s CloudShunt', swift_source=SWIFT_SOURCE)
        put_env['wsgi.input'] = self
        put_env['CONTENT_LENGTH'] = str(length)
        req = Request(put_env)
        req.headers.update(headers)
        self.thread = eventlet.spawn(self._run, app, req)

    def _run(self, app, req):
        try:
            resp = req.get_response(app)
            close_if_possible(resp.app_iter)
            return resp.status_int
        except Exception:
            self.logger.error('cloud-shunt: restoring %s failed: %s',
                              self.what, traceback.format_exc())
            return None
        finally:
            self.done = True
            while not self.queue.empty():   # release a blocked feeder
                self.queue.get_nowait()

    # -- the PUT's side ----------------------------------------------------
    def read(self, size=-1):
        while not self.buffer:
            if self.eof:
                return b''
            item = self.queue.get()
            if item is _ABORT:
                raise ChunkReadError('restore aborted')
            if item is _EOF:
                self.eof = True
                return b''
            self.buffer = item
        if size is None or size < 0:
            size = len(self.buffer)
        chunk, self.buffer = self.buffer[:size], self.buffer[size:]
        return chunk

    # -- the client's side -------------------------------------------------
    def _put(self, item):
        while not self.done:
            try:
                self.queue.put(item, timeout=1.0)
                return
            except eventlet.queue.Full:
                continue

    def feed(self, chunk):
        if chunk:
            self._put(chunk)

    def end(self):
        """End the body and wait for the PUT: its status, or None when it
        could not be made."""
        if self.ended:
            return self.thread.wait()
        self.ended = True
        self._put(_EOF)
        return self.thread.wait()

    def finish(self):
        if self.ended:
            return
        status = self.end()
        if status == 201:
            self.logger.info('cloud-shunt: restored %s', self.what)
        elif status == 412:
            self.logger.info('cloud-shunt: not restoring %s: it was written '
                             'locally meanwhile', self.what)
        elif status is not None:
            self.logger.warning('cloud-shunt: restoring %s failed: %s',
                                self.what, status)

    def abort(self):
        if self.ended:
            return
        self.ended = True
        self.logger.info('cloud-shunt: restore of %s abandoned: incomplete '
                         'read', self.what)
        self._put(_ABORT)


class RestoringBody(object):
    """A remote body sent to the client and fed to a writer (a
    RestoreWriter, or a SegmentedRestore for large objects); the
    restore is finished only when exactly ``length`` bytes went through.
    Closing it (or the iterator it is; middlewares may hold either) before
    the end abandons the restore."""

    def __init__(self, body, writer, length):
        self.body = body
        self.writer = writer
        self.length = length
        self._iter = self._iterate()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._iter)

    def _iterate(self):
        seen, complete = 0, False
        try:
            for chunk in self.body:
                seen += len(chunk)
                self.writer.feed(chunk)
                yield chunk
            complete = seen == self.length
        finally:
            if complete:
                self.writer.finish()
            else:
                self.writer.abort()
            close_if_possible(self.body)

    def close(self):
        self._iter.close()
        self.writer.abort()   # in case it never started
