"""proxymc's users and tokens (tempauth-style, no shared state).

Users are lines of proxymc's own config, as Swift's tempauth writes them::

    user_<account>_<user> = <key> [.admin]
    user64_<account, base64url>_<user, base64url> = <key> [.admin]

The user ``<account>:<user>`` is bound to the account
``<reseller_prefix>_<account>`` (``AUTH_<account>`` by default).  A user
with ``.admin`` may read and write its account; a user without it may only
read (GET and HEAD).  A user never reaches another account.

Tokens are signed, not stored: ``<reseller_prefix>_tk`` followed by the
user name and expiry time and an HMAC-SHA256 over both, keyed by the user's
key and the optional ``token_secret``.  Every worker and every restart
accepts the tokens of the others; changing a user's key (or
``token_secret``) or removing the user revokes its tokens at once.
``token_life`` (seconds, default 86400) bounds how long one lasts.
"""
import base64
import binascii
import hashlib
import hmac
import time

from swift.common.swob import (
    HTTPForbidden, HTTPOk, HTTPUnauthorized, wsgi_to_str)
from swift.common.utils import split_path

READ_METHODS = ('GET', 'HEAD')
DEFAULT_TOKEN_LIFE = 86400


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


class Auth(object):
    """Issues tokens at ``/auth/v1.0`` and checks them on every request."""

    def __init__(self, users, reseller_prefix='AUTH', token_secret='',
                 token_life=DEFAULT_TOKEN_LIFE, clock=time.time):
        self.users = users
        self.token_prefix = reseller_prefix + '_tk'
        self.token_secret = token_secret or ''
        self.token_life = int(token_life)
        self.clock = clock

    # -- tokens ---------------------------------------------------------------
    def _signature(self, user, payload):
        key = hashlib.sha256(('%s\0%s' % (self.token_secret, user.key))
                             .encode('utf-8')).digest()
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
        except (binascii.Error, UnicodeError, ValueError):
            return None
        if user is None or expires < self.clock():
            return None
        if not hmac.compare_digest(
                signature.encode('utf-8', 'surrogateescape'),
                self._signature(user, payload).encode('ascii')):
            return None
        return user

    # -- requests -------------------------------------------------------------
    def get_token(self, req):
        """Answer ``GET /auth/v1.0`` (X-Auth-User/X-Auth-Key or
        X-Storage-User/X-Storage-Pass)."""
        name = wsgi_to_str(req.headers.get('x-auth-user') or
                           req.headers.get('x-storage-user') or '')
        key = req.headers.get('x-auth-key') or \
            req.headers.get('x-storage-pass')
        key = None if key is None else wsgi_to_str(key)
        user = self.users.get(name)
        if user is None or key is None or not hmac.compare_digest(
                key.encode('utf-8', 'surrogateescape'),
                user.key.encode('utf-8')):
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
