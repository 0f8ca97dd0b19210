"""A deadline and a circuit breaker around one mapping's remote store, for
code that answers client requests (cloud-shunt).

A Swift proxy must not wait on a slow or dead remote: every local 404 --
including the HEAD many clients send before each upload -- asks the remote
whether it has the object.  Two things keep that cheap when the remote is
unwell:

* **Deadline.**  All the remote calls one client request makes together get
  ``remote_timeout`` seconds (default 5) to answer; past it the request
  fails with 503 and the call is abandoned (its connection closed).  A GET's
  body, once the remote started sending it, is bounded by the provider's
  own read timeout per chunk instead: a large object may take long to
  stream, but never stalls silently.
* **Circuit breaker.**  After ``remote_failures`` failures in a row (no
  answer, no answer in time, or a 5xx), the remote is left alone for
  ``remote_retry_interval`` seconds (default 30): requests that would ask
  it fail at once with 503 and ``Retry-After``.  Then one request is let
  through as a probe; if it succeeds the remote is used again, else it is
  left alone for another interval.  A 4xx (bad credentials, a missing
  bucket) is an answer, not a failure: it never opens the breaker.

Each proxy worker keeps its own breaker per provider.  Local objects are
never affected: they never reach the remote.
"""
import time
import weakref

import eventlet

from swift_s3_sync.providers.base import RemoteError

DEFAULT_TIMEOUT = 5.0
DEFAULT_FAILURES = 5
DEFAULT_RETRY_INTERVAL = 30.0

# Provider calls that talk to the remote and are worth guarding.
GUARDED = ('head', 'list', 'get', 'get_manifest', 'update_metadata',
           'delete', 'put', 'check')


class RemoteUnavailable(RemoteError):
    """The remote is not asked: it failed too often lately, or the
    request's deadline passed.  ``retry_after`` in seconds."""

    def __init__(self, reason, retry_after=None):
        super().__init__(reason, status=None)
        self.retry_after = retry_after


class Breaker(object):
    """Failures in a row of one remote, and whether to ask it now."""

    def __init__(self, failures=DEFAULT_FAILURES,
                 retry_interval=DEFAULT_RETRY_INTERVAL, clock=time.time,
                 logger=None, label='remote'):
        self.failures_to_open = failures
        self.retry_interval = retry_interval
        self.clock = clock
        self.logger = logger
        self.label = label
        self.failures = 0
        self.open_until = None   # None: closed
        self.probing = False

    def before_call(self):
        """Raise RemoteUnavailable unless the remote may be asked now;
        True when this call is the probe of an open breaker."""
        if self.open_until is None:
            return False
        now = self.clock()
        if now < self.open_until or self.probing:
            raise RemoteUnavailable(
                'remote left alone after %d failures' % self.failures,
                retry_after=max(1, int(self.open_until - now + 0.999)))
        self.probing = True
        return True

    def succeeded(self, probe):
        if probe:
            self.probing = False
        if self.open_until is not None and self.logger:
            self.logger.warning('cloud-shunt: %s answers again', self.label)
        self.failures = 0
        self.open_until = None

    def failed(self, probe, reason):
        if probe:
            self.probing = False
        self.failures += 1
        if self.failures >= self.failures_to_open:
            if self.open_until is None and self.logger:
                self.logger.error(
                    'cloud-shunt: %s failed %d times in a row (last: %s); '
                    'not asking it for %.0f s', self.label, self.failures,
                    reason, self.retry_interval)
            self.open_until = self.clock() + self.retry_interval

    def released(self, probe):
        """A call ended without telling whether the remote works."""
        if probe:
            self.probing = False


def counts_as_failure(err):
    """Whether an error says the remote is unwell (not just "no")."""
    if isinstance(err, RemoteUnavailable):
        return False
    if isinstance(err, RemoteError):
        return err.status is None or err.status >= 500
    return False


class Deadline(object):
    """The time left for one client request's remote calls."""

    def __init__(self, seconds, clock=time.time):
        self.seconds = seconds
        self.clock = clock
        self.ends = clock() + seconds

    def left(self):
        left = self.ends - self.clock()
        if left <= 0:
            raise RemoteUnavailable(
                'no answer within %.1f s' % self.seconds)
        return left


class GuardedProvider(object):
    """A provider whose remote calls, for one client request, share a
    Deadline and go through the provider's Breaker.  Everything else
    (``key_prefix``, ``compare``, ...) is the provider's own."""

    def __init__(self, provider, breaker, deadline):
        self._provider = provider
        self._breaker = breaker
        self._deadline = deadline

    def __getattr__(self, name):
        value = getattr(self._provider, name)
        if name not in GUARDED:
            return value
        if name == 'list':
            return self._guarded_list
        return lambda *args, **kwargs: self._call(value, args, kwargs)

    def _call(self, func, args, kwargs):
        probe = self._breaker.before_call()
        try:
            left = self._deadline.left()
            # eventlet.Timeout is not an Exception: no provider code can
            # swallow it on the way out.
            timer = eventlet.Timeout(left)
            try:
                result = func(*args, **kwargs)
            except eventlet.Timeout as late:
                if late is not timer:
                    raise
                raise RemoteUnavailable(
                    'no answer within %.1f s' % self._deadline.seconds)
            finally:
                timer.cancel()
        except RemoteUnavailable as err:
            self._breaker.failed(probe, err)
            raise
        except Exception as err:
            if counts_as_failure(err):
                self._breaker.failed(probe, err)
            elif isinstance(err, RemoteError):
                self._breaker.succeeded(probe)   # it answered
            else:
                self._breaker.released(probe)
            raise
        self._breaker.succeeded(probe)
        return result

    def _guarded_list(self, *args, **kwargs):
        """The provider's listing generator, each step under the
        deadline (a step may send a LIST request)."""
        names = self._call(lambda: iter(self._provider.list(*args, **kwargs)),
                           (), {})
        sentinel = object()
        while True:
            item = self._call(next, (names, sentinel), {})
            if item is sentinel:
                return
            yield item


class Guards(object):
    """One Breaker per provider, made on first use."""

    def __init__(self, timeout=DEFAULT_TIMEOUT, failures=DEFAULT_FAILURES,
                 retry_interval=DEFAULT_RETRY_INTERVAL, clock=time.time,
                 logger=None):
        self.timeout = timeout
        self.failures = failures
        self.retry_interval = retry_interval
        self.clock = clock
        self.logger = logger
        # Providers are replaced when the config changes; their breakers
        # go with them.
        self.breakers = weakref.WeakKeyDictionary()

    def guard(self, mapping, provider):
        """``provider`` guarded for one client request."""
        breaker = self.breakers.get(provider)
        if breaker is None:
            breaker = self.breakers[provider] = Breaker(
                self.failures, self.retry_interval, self.clock, self.logger,
                mapping.label)
        return GuardedProvider(provider, breaker,
                               Deadline(self.timeout, self.clock))
