"""proxymc: the namespace swift-s3-sync writes, served from the cloud side
through the Swift API.

proxymc is a WSGI application meant to run next to the remote store.  It
reads the same sync config as the daemon and cloud-shunt and answers Swift
API requests for the mapped accounts and containers straight from the remote
copies, under the daemon's key layout: an object synced from
``/v1/AUTH_x/photos/cat.jpg`` is read at the same path from proxymc, and an
object written through proxymc is where the daemon would have put it, so
cloud-shunt in the source cluster serves it too.

What it serves
--------------
* ``GET /auth/v1.0``: tokens for the users of its config (see
  :mod:`proxymc.auth`); every other request needs ``X-Auth-Token``.
  No or a bad token gets 401, another account 403.
* Account: ``GET`` lists the account's containers mapped by name (prefix,
  marker, end_marker, limit, reverse; json, xml or plain), ``HEAD`` counts
  them.  A ``"/*"`` mapping serves every container of its account but
  cannot list them.  Object counts and bytes are not kept.
* Container (mapped ones only; others are 404): ``GET`` lists the remote
  copy (prefix, delimiter, path, marker, end_marker, limit, reverse; json,
  xml, plain), ``HEAD`` checks the remote answers, ``PUT`` is accepted
  (202: a mapped container always exists).  ``POST`` and ``DELETE`` are
  refused (403): containers are defined by the sync config.
* Object: ``GET``/``HEAD`` (one Range; If-Match, If-None-Match,
  If-Modified-Since, If-Unmodified-Since), ``PUT`` (plain, ``X-Copy-From``
  within the account, and static large object manifests, see
  :mod:`proxymc.large`), ``COPY``, ``POST`` (replaces user metadata and
  content headers) and ``DELETE`` (``?multipart-manifest=delete`` also
  deletes an SLO's segments).
* ``GET /info`` (limits and the slo section clients look for) and
  ``GET /healthcheck``.

PUT bodies are spooled and checked (length, and ETag when the client sends
one; a mismatch is 422) before anything goes remote, then uploaded with
their MD5 for the remote to check; see :mod:`proxymc.uploads`.  Objects a
remote cannot take (metadata too large, a key too long) get 400 with the
reason.  X-Delete-At/X-Delete-After are refused (400), DLO manifests
(X-Object-Manifest) too (400): use SLOs.

A remote that cannot be reached gives 503 with a one-line body, a remote
error or a garbled answer 502; the details are logged with secrets masked,
never sent (see :mod:`proxymc.objects`).  Tokens, keys and token_secret
are never logged.

proxymc does not start without a valid ``token_secret`` or with a
``spool_dir`` it cannot create or write: ``proxymc --config`` says why in
one line naming the option.

Configuration
-------------
``proxymc --config /etc/swift-s3-sync/proxymc.conf`` runs it under Swift's
own WSGI server (Swift's ``run_wsgi``: workers, bind_ip/bind_port, user,
logging options).  The file is a paste.deploy config with an
``[app:proxymc]`` section and a ``[pipeline:main]`` that ends in it::

    [DEFAULT]
    bind_ip = 0.0.0.0
    bind_port = 8085
    workers = 2
    user = swift

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
        listing_formats proxymc

    [app:proxymc]
    use = egg:swift-s3-sync#proxymc
    # The sync config (required); relative paths are relative to this file.
    conf_file = /etc/swift-s3-sync/sync.json
    # Users: user_<account>_<user> = <key> [.admin]   (see proxymc.auth)
    user_test_tester = testing .admin
    reseller_prefix = AUTH
    token_life = 86400
    # Required: >= 32 random bytes, hex or base64 (see proxymc.auth).
    token_secret = <python3 -c 'import secrets; print(secrets.token_hex(32))'>
    # Failed /auth attempts (see proxymc.auth); 0 turns a limit off.
    auth_failure_window = 60
    auth_failures_per_user = 10
    auth_failures_per_address = 50
    # Where PUT bodies are spooled, and how much (see proxymc.uploads).
    spool_dir = /var/cache/proxymc
    max_spools = 32
    spool_reserve = 1%

(plus the usual ``[filter:...]`` sections for Swift's middleware).
``cache`` is optional; ``listing_formats`` too (proxymc formats listings
itself without it).  Both files are read again when they change (checked
at most once a second): new mappings, users and keys apply to the next
request; a sync config that does not load keeps the previous mappings.
"""
import json
import os

from swift.common import constraints
from swift.common.middleware.listing_formats import get_listing_content_type
from swift.common.swob import (
    HTTPAccepted, HTTPException, HTTPForbidden, HTTPMethodNotAllowed,
    HTTPNoContent, HTTPNotFound, HTTPOk, HTTPPreconditionFailed,
    HTTPServerError, HTTPServiceUnavailable, Request, Response,
    wsgi_to_str)
from swift.common.utils import Timestamp, get_logger, readconf

from swift_s3_sync.listing import (
    ListingTooCostly, RemoteListing, listing_params, render)
from swift_s3_sync.mapping_table import (
    Follower, MappingTable, WatchedFile, every_mapping)
from proxymc import auth, large, uploads
from proxymc.objects import ObjectHandler, remote_failure

APP_NAME = 'proxymc'
ACCOUNT_METHODS = ('GET', 'HEAD')
CONTAINER_METHODS = ('GET', 'HEAD', 'PUT', 'POST', 'DELETE')


def _conf_path(conf, key):
    """An absolute path for a path option (relative to the config file)."""
    path = conf.get(key)
    if path and not os.path.isabs(path) and conf.get('__file__'):
        path = os.path.join(os.path.dirname(conf['__file__']), path)
    return path


class Users(object):
    """The users of proxymc's own config, read again when the file
    changes.  ``conf`` is the app's settings as paste gave them."""

    def __init__(self, conf, logger):
        self.conf = conf
        self.logger = logger
        self.file = WatchedFile(conf['__file__']) \
            if conf.get('__file__') else None
        # Read once: failures are counted across reloads of the users.
        self.limiter = auth.FailureLimiter.from_conf(conf)
        self.auth = self._make(conf, self.limiter)
        self.follower = None
        if self.file is not None:
            self.file.changed()
            self.follower = Follower(self.current, self.file.interval,
                                     logger)

    @staticmethod
    def _make(conf, limiter=None):
        """An Auth for ``conf``; ValueError naming a bad option."""
        prefix = conf.get('reseller_prefix', 'AUTH').rstrip('_')
        return auth.Auth(auth.parse_users(conf, prefix), prefix,
                         auth.token_secret(conf),
                         conf.get('token_life', auth.DEFAULT_TOKEN_LIFE),
                         limiter=limiter)

    def _section(self, path):
        """Our section of the file: the one whose ``use`` names us."""
        for name, values in readconf(path).items():
            use = values.get('use', '') if isinstance(values, dict) else ''
            if name.startswith('app:') and use.endswith('#' + APP_NAME):
                return values
        raise ValueError('no [app:...] section with use = '
                         'egg:swift-s3-sync#proxymc')

    def current(self):
        if self.follower is not None:
            self.follower.ensure()
        if self.file is not None and self.file.changed():
            try:
                fresh = {k: v for k, v in self.conf.items()
                         if not k.startswith('user')}
                fresh.update(self._section(self.file.path))
                self.auth = self._make(fresh, self.limiter)
                self.logger.info('users: %d from %s',
                                 len(self.auth.users), self.file.path)
            except (ValueError, IOError, OSError) as err:
                self.logger.error('users: not reloaded from %s: %s',
                                  self.file.path, err)
        return self.auth


def _sync_config(conf):
    conf_file = _conf_path(conf, 'conf_file')
    if not conf_file:
        raise ValueError('proxymc needs conf_file (the sync config)')
    return conf_file


def check_conf(conf):
    """ValueError, one line naming the option, for a setting proxymc
    cannot start with (``proxymc --config`` asks before Swift's server
    loads the app); creates spool_dir as the app does."""
    _sync_config(conf)
    Users._make(conf, auth.FailureLimiter.from_conf(conf))
    uploads.Spools.from_conf(conf)


class ProxyMC(object):
    """The WSGI application: authenticates, then hands each request to the
    account, container or object handler."""

    def __init__(self, conf, logger=None, table=None):
        self.logger = logger or get_logger(conf, log_route=APP_NAME)
        conf_file = _sync_config(conf)
        self.users = Users(conf, self.logger)
        self.spools = uploads.Spools.from_conf(conf, self.logger)
        self.table = table or MappingTable(
            conf_file, self.logger, wanted=every_mapping, name='sync config',
            follow=True)

    def __call__(self, env, start_response):
        req = Request(env)
        try:
            resp = self.handle(req)
        except HTTPException as err:
            resp = err
        except Exception:
            self.logger.exception('%s %s', req.method, req.path)
            resp = HTTPServerError(request=req, body=b'Internal error\n',
                                   content_type='text/plain')
        return resp(env, start_response)

    def handle(self, req):
        if auth.is_auth_path(req.path):
            return self.users.current().get_token(req)
        if req.path == '/info' and req.method in ('GET', 'HEAD'):
            return self.info(req)
        if req.path == '/healthcheck':
            return HTTPOk(request=req, body=b'OK', content_type='text/plain')
        try:
            version, account, container, obj = req.split_path(2, 4, True)
        except ValueError:
            return HTTPNotFound(request=req)
        if not constraints.valid_api_version(version):
            return HTTPNotFound(request=req)
        account = wsgi_to_str(account)
        denied = self.users.current().authorize(req, account)
        if denied:
            return denied
        if obj:
            return ObjectHandler(self, req, account, wsgi_to_str(container),
                                 wsgi_to_str(obj)).handle()
        if container:
            return self.container(req, account, wsgi_to_str(container))
        return self.account(req, account)

    # -- /info ---------------------------------------------------------------
    def info(self, req):
        limits = {key: getattr(constraints, key.upper())
                  for key in ('max_file_size', 'max_meta_name_length',
                              'max_meta_value_length', 'max_meta_count',
                              'max_meta_overall_size',
                              'max_object_name_length',
                              'container_listing_limit',
                              'account_listing_limit')}
        limits['version'] = 'proxymc'
        body = json.dumps({
            'swift': limits,
            'slo': {'max_manifest_segments': large.MAX_MANIFEST_SEGMENTS,
                    'max_manifest_size': large.MAX_MANIFEST_SIZE,
                    'min_segment_size': 1},
            'tempauth': {'account_acls': False}}).encode('ascii')
        return HTTPOk(request=req, body=body,
                      content_type='application/json')

    # -- accounts ------------------------------------------------------------
    def account(self, req, account):
        if req.method not in ACCOUNT_METHODS:
            return HTTPMethodNotAllowed(request=req, headers={
                'Allow': ', '.join(ACCOUNT_METHODS)})
        names = self.table.containers(account)
        headers = {'X-Account-Container-Count': str(len(names)),
                   'X-Timestamp': Timestamp(0).normal}
        if req.method == 'HEAD':
            return HTTPNoContent(request=req, headers=headers)
        params = self._params(req, constraints.ACCOUNT_LISTING_LIMIT)
        names = [n for n in names if n.startswith(params.prefix)]
        low, high = ((params.end_marker, params.marker) if params.reverse
                     else (params.marker, params.end_marker))
        names = [n for n in names
                 if (not low or n > low) and (not high or n < high)]
        if params.reverse:
            names.reverse()
        listing = [{'name': n} for n in names[:params.limit]]
        return self._listing(req, listing, headers, account=account)

    @staticmethod
    def _params(req, most):
        """The listing's parameters; 412 for a limit over ``most``, as
        Swift answers."""
        params = listing_params(req)
        if params.limit > most:
            raise HTTPPreconditionFailed(
                request=req, body=b'Maximum limit is %d' % most)
        return params

    def _listing(self, req, listing, headers, container=None, account=None):
        out_type = None
        if 'swift.format_listing' not in req.environ:
            out_type = get_listing_content_type(req)
        body, content_type = render(listing, out_type, container, account)
        headers['Content-Type'] = content_type
        return Response(request=req, status=200 if body else 204,
                        body=body, headers=headers)

    # -- containers ----------------------------------------------------------
    def container(self, req, account, container):
        if req.method not in CONTAINER_METHODS:
            return HTTPMethodNotAllowed(request=req, headers={
                'Allow': ', '.join(CONTAINER_METHODS)})
        found = self.table.lookup(account, container)
        if req.method in ('POST', 'DELETE') or (
                req.method == 'PUT' and found is None):
            return HTTPForbidden(
                request=req, content_type='text/plain',
                body=b'Containers are defined by the sync config\n')
        if found is None:
            return HTTPNotFound(request=req)
        if req.method == 'PUT':
            return HTTPAccepted(request=req)   # a mapped container exists
        mapping, provider = found
        headers = {'X-Timestamp': Timestamp(0).normal}
        try:
            if req.method == 'HEAD':
                next(iter(provider.list(container, limit=1)), None)
                return HTTPNoContent(request=req, headers=headers)
            entries = RemoteListing(provider, container, None).page(
                self._params(req, constraints.CONTAINER_LISTING_LIMIT))
        except HTTPException:
            raise
        except ListingTooCostly:
            return HTTPServiceUnavailable(
                request=req, content_type='text/plain',
                body=b'Listing too costly, narrow it (prefix, markers)\n')
        except Exception as err:
            return remote_failure(req, self.logger, mapping,
                                  'listing %s/%s' % (account, container), err)
        return self._listing(req, entries, headers, container=container)


def app_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return ProxyMC(conf)
