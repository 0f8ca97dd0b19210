"""proxymc's users and tokens (tempauth-style, no shared state).

Users are lines of proxymc's own config, as Swift's tempauth writes them::

    user_<account>_<user> = <key> [.admin]
    user64_<account, base64url>_<user, base64url> = <key> [.admin]

The user ``<account>:<user>`` is bound to the account
``<reseller_prefix>_<account>`` (``AUTH_<account>`` by default).  A user
with ``.admin`` may read and write its account; a user without it may only
read (GET and HEAD).  A user never reaches another account.

Tokens are signed, not stored: ``<reseller_prefix>_tk`` followed by the
user name and expiry time and an HMAC-SHA256 over both, keyed by
``token_secret`` and the user's key.  Every worker and every restart with
the same ``token_secret`` accepts the tokens of the others; changing a
user's key or ``token_secret``, or removing the user, revokes its tokens at
once.  ``token_life`` (seconds, default 86400) bounds how long one lasts.

``token_secret`` is required: at least 32 random bytes written as hex
(64 or more hex digits) or base64/base64url, for instance the output of::

    python3 -c 'import secrets; print(secrets.token_hex(32))'

proxymc does not start without one, nor with a short one or one that is
plainly not random (a repeated byte or a short repeated pattern).  Without
the secret a leaked token would let anyone test guesses of the user's key
offline, and would be valid on every proxymc with the same users.

The work done for a request does not depend on whether its user name
exists (a wrong key, an unknown user and a forged token all cost the same
hashing), so timing tells no one which users exist.

Failed ``/auth`` requests are counted per user name and per client address
(REMOTE_ADDR: behind a load balancer that is the balancer) in fixed windows
of ``auth_failure_window`` seconds (default 60).  Once a name has
``auth_failures_per_user`` failures (default 10) or an address
``auth_failures_per_address`` (default 50) in the current window, ``/auth``
answers 429 with Retry-After for it until the window ends, whatever key is
sent; 0 turns a limit off.  The counts live in each worker's memory (each
worker counts alone; a restart forgets them) and at most
``auth_failure_entries`` names and addresses (default 10000) are kept, the
longest quiet ones forgotten first, so no client can make them grow
without bound.
"""
import base64
import binascii
import collections
import hashlib
import hmac
import math
import os
import re
import time

from swift.common.swob import (
    HTTPForbidden, HTTPOk, HTTPUnauthorized, Response, wsgi_to_str)
from swift.common.utils import config_positive_int_value, non_negative_int, \
    split_path

READ_METHODS = ('GET', 'HEAD')
DEFAULT_TOKEN_LIFE = 86400
MIN_SECRET_BYTES = 32
# 32 random bytes hold ~30 distinct values; fewer than 16 is no accident.
MIN_DISTINCT_SECRET_BYTES = 16
HEX = re.compile(r'^(?:[0-9a-fA-F]{2})+$')
LIMIT_DEFAULTS = {'auth_failure_window': 60, 'auth_failures_per_user': 10,
                  'auth_failures_per_address': 50,
                  'auth_failure_entries': 10000}


def _decode_secret(text):
    if HEX.match(text):
        return binascii.unhexlify(text)
    text = text.replace('-', '+').replace('_', '/').rstrip('=')
    return base64.b64decode(text + '=' * (-len(text) % 4), validate=True)


def token_secret(conf):
    """The bytes of ``token_secret``; ValueError (naming the option, never
    its value) when it is missing, short or plainly not random."""
    text = (conf.get('token_secret') or '').strip()
    if not text:
        raise ValueError(
            'token_secret is required: set it to at least %d random bytes, '
            'e.g. the output of python3 -c \'import secrets; '
            'print(secrets.token_hex(32))\'' % MIN_SECRET_BYTES)
    try:
        secret = _decode_secret(text)
    except (binascii.Error, ValueError):
        raise ValueError('token_secret is neither hex nor base64')
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError('token_secret holds %d bytes; it needs at least %d '
                         'random bytes' % (len(secret), MIN_SECRET_BYTES))
    if len(set(secret)) < MIN_DISTINCT_SECRET_BYTES:
        raise ValueError('token_secret is not random (too few distinct '
                         'bytes); make one with secrets.token_hex(32)')
    return secret


class User(object):
    __slots__ = ('name', 'account', 'key', 'admin')

    def __init__(self, name, account, key, admin):
        self.name = name
        self.account = account
        self.key = key
        self.admin = admin

    def __repr__(self):
        # Never the key.
        return 'User(%r, %r, admin=%r)' % (self.name, self.account,
                                          self.admin)


def _b64decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4)).decode(
        'utf-8')


def parse_users(conf, reseller_prefix='AUTH'):
    """{'account:user': User} from ``user_*``/``user64_*`` options;
    ValueError naming the option when one cannot be read."""
    users = {}
    for option, value in conf.items():
        if option.startswith('user64_'):
            account, _, user = option[len('user64_'):].partition('_')
            try:
                account, user = _b64decode(account), _b64decode(user)
            except (binascii.Error, UnicodeError, ValueError):
                raise ValueError('%s: not base64url account_user' % option)
        elif option.startswith('user_'):
            account, _, user = option[len('user_'):].partition('_')
        else:
            continue
        words = (value or '').split()
        if not account or not user or not words:
            raise ValueError('%s: needs "user_<account>_<user> = <key> '
                             '[.admin]"' % option)
        if any(w != '.admin' for w in words[1:]):
            # The word is not echoed: it may be part of a mistyped key.
            raise ValueError('%s: only ".admin" may follow the key' % option)
        name = '%s:%s' % (account, user)
        users[name] = User(name, '%s_%s' % (reseller_prefix, account),
                           words[0], '.admin' in words[1:])
    return users


class FailureLimiter(object):
    """Failed /auth attempts per user name and per client address, in
    fixed windows, in this worker's memory (see the module's docs)."""

    def __init__(self, window=60, per_user=10, per_address=50,
                 entries=10000, clock=time.time):
        self.window = window
        self.limits = {'user': per_user, 'address': per_address}
        self.entries = entries
        self.clock = clock
        # (kind, name) -> [window start, failures]; least recent first.
        self.counts = collections.OrderedDict()

    @classmethod
    def from_conf(cls, conf, clock=time.time):
        values = {}
        for option, default in LIMIT_DEFAULTS.items():
            value = conf.get(option, default)
            try:
                values[option] = (non_negative_int(value)
                                  if option.startswith('auth_failures_')
                                  else config_positive_int_value(value))
            except ValueError:
                raise ValueError('%s must be a whole number%s, not %r' % (
                    option, '' if option.startswith('auth_failures_')
                    else ' over 0', value))
        return cls(values['auth_failure_window'],
                   values['auth_failures_per_user'],
                   values['auth_failures_per_address'],
                   values['auth_failure_entries'], clock)

    def _keys(self, user, address):
        for kind, name in (('user', user), ('address', address)):
            if name and self.limits[kind]:
                yield (kind, name), self.limits[kind]

    def retry_after(self, user, address):
        """Seconds until ``user`` from ``address`` may try again; 0: now."""
        now = self.clock()
        wait = 0
        for key, limit in self._keys(user, address):
            start, failures = self.counts.get(key, (now, 0))
            if failures >= limit and now < start + self.window:
                wait = max(wait, int(math.ceil(start + self.window - now)))
        return wait

    def failed(self, user, address):
        now = self.clock()
        for key, _limit in self._keys(user, address):
            count = self.counts.pop(key, None)
            if count is None or now >= count[0] + self.window:
                count = [now, 0]
            count[1] += 1
            self.counts[key] = count
        while len(self.counts) > self.entries:
            self.counts.popitem(last=False)


class Auth(object):
    """Issues tokens at ``/auth/v1.0`` and checks them on every request.
    ``secret`` is the decoded ``token_secret``."""

    def __init__(self, users, reseller_prefix='AUTH', secret=b'',
                 token_life=DEFAULT_TOKEN_LIFE, clock=time.time,
                 limiter=None):
        self.users = users
        self.token_prefix = reseller_prefix + '_tk'
        self.secret = secret
        self.token_life = int(token_life)
        self.clock = clock
        self.limiter = limiter or FailureLimiter(clock=clock)
        # Stands in for unknown users, so that they cost what users do.
        self.nobody = User('', '', os.urandom(32).hex(), False)
        self.key_digests = {
            name: hashlib.sha256(user.key.encode('utf-8')).digest()
            for name, user in list(users.items()) + [(None, self.nobody)]}

    # -- tokens ---------------------------------------------------------------
    def _signature(self, user, payload):
        key = hmac.new(self.secret, user.key.encode('utf-8'),
                       hashlib.sha256).digest()
        return hmac.new(key, payload.encode('ascii'),
                        hashlib.sha256).hexdigest()

    def issue(self, user):
        """(token, expires) for ``user``."""
        expires = int(self.clock()) + self.token_life
        name = base64.urlsafe_b64encode(user.name.encode('utf-8')).decode(
            'ascii').rstrip('=')
        payload = '%s.%x' % (name, expires)
        return ('%s%s.%s' % (self.token_prefix, payload,
                             self._signature(user, payload)), expires)

    def user_for(self, token):
        """The User a token was issued to, or None when it is not one of
        ours, is forged or stale, or its user or key changed."""
        if not token or not token.startswith(self.token_prefix):
            return None
        payload, _, signature = token[len(self.token_prefix):].rpartition(
            '.')
        name, _, expires = payload.partition('.')
        try:
            user = self.users.get(_b64decode(name))
            expires = int(expires, 16)
            payload.encode('ascii')
        except (binascii.Error, UnicodeError, ValueError):
            return None
        # Signed even for an unknown user or a stale token: same work.
        good = hmac.compare_digest(
            signature.encode('utf-8', 'surrogateescape'),
            self._signature(user or self.nobody, payload).encode('ascii'))
        if user is None or not good or expires < self.clock():
            return None
        return user

    # -- requests -------------------------------------------------------------
    def _key_matches(self, user, key):
        """Compare digests, so that neither the key's length nor whether
        the user exists changes the work done."""
        given = hashlib.sha256((key or '').encode(
            'utf-8', 'surrogateescape')).digest()
        known = self.key_digests.get(user.name if user else None,
                                     self.key_digests[None])
        return hmac.compare_digest(given, known) and \
            user is not None and key is not None

    def get_token(self, req):
        """Answer ``GET /auth/v1.0`` (X-Auth-User/X-Auth-Key or
        X-Storage-User/X-Storage-Pass)."""
        name = wsgi_to_str(req.headers.get('x-auth-user') or
                           req.headers.get('x-storage-user') or '')
        key = req.headers.get('x-auth-key') or \
            req.headers.get('x-storage-pass')
        key = None if key is None else wsgi_to_str(key)
        address = req.remote_addr
        wait = self.limiter.retry_after(name, address)
        if wait:
            return Response(
                request=req, status='429 Too Many Requests',
                headers={'Retry-After': str(wait)}, content_type='text/plain',
                body=b'Too many failed attempts; try again later\n')
        user = self.users.get(name)
        if not self._key_matches(user, key):
            self.limiter.failed(name, address)
            return HTTPUnauthorized(request=req, headers={
                'Www-Authenticate': 'Swift realm="unknown"'})
        token, expires = self.issue(user)
        url = '%s/v1/%s' % (req.host_url, user.account)
        return HTTPOk(request=req, headers={
            'X-Auth-Token': token, 'X-Storage-Token': token,
            'X-Auth-Token-Expires': str(max(0, expires - int(self.clock()))),
            'X-Storage-Url': url}, body=b'')

    def authorize(self, req, account):
        """None when the request's token allows it on ``account``, else
        the 401/403 to send."""
        token = req.headers.get('x-auth-token') or \
            req.headers.get('x-storage-token')
        user = self.user_for(wsgi_to_str(token) if token else None)
        if user is None:
            return HTTPUnauthorized(request=req, headers={
                'Www-Authenticate': 'Swift realm="%s"' % account})
        if user.account != account:
            return HTTPForbidden(request=req)
        if req.method not in READ_METHODS and not user.admin:
            return HTTPForbidden(request=req)
        req.environ['REMOTE_USER'] = user.name
        return None


def is_auth_path(path):
    """``/auth/v1.0`` and friends (``/auth/v1.0/``, ``/v1.0``)."""
    try:
        parts = split_path(path.rstrip('/') or '/', 1, 2, True)
    except ValueError:
        return False
    if parts[0] == 'auth':
        return parts[1] in ('v1.0', 'v1', '')
    return parts == ['v1.0', None]
