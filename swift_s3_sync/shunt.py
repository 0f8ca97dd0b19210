"""cloud-shunt: show a container's remote copy through the Swift API.

A Swift proxy middleware for containers that swift-s3-sync copies to a
remote store.  For every mapping of the sync config with
``"merge_namespaces": true`` the local container and its remote copy look
like one container to Swift clients:

* an object GET or HEAD that Swift answers 404 is answered from the remote
  (Range, If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since
  honoured), with ``X-Object-Sync-Status: archived``;
* with ``"restore_object": true`` a GET of the whole object also writes it
  back into the local container while it streams to the client;
* a container GET lists local and remote objects together (see
  :mod:`swift_s3_sync.listing`), in the JSON Swift's proxy gives to the
  middlewares in front of it (``listing_formats`` turns it into what the
  client asked for, and dlo, symlink or s3api read it as they read
  Swift's); with ``"show_remote_location": true`` each entry's
  ``content_location`` says where the object is;
* a POST or DELETE of an object that exists only remotely acts on the
  remote copy (POST replaces its metadata, DELETE deletes it).

Requests for other containers, account and container HEAD/PUT/POST/DELETE,
object PUT and COPY, and every request for an object that exists locally are
passed through untouched: they never wait on, nor reach, the remote.  So are
listings that belong to other middlewares: object versioning's
``?versions``, shard (``states=``) and reserved-name listings, listings
another middleware formats itself, and the sub-requests that list a large
object's segments (a DLO's, s3api's multipart parts): a DLO is made of its
local segments only.  While the remote has nothing on a listing's page, the
listing is Swift's own, byte for byte.

Configuration
-------------
Place the filter after authentication and before the final
``proxy-logging proxy-server``::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
        listing_formats ... tempauth ... slo dlo versioned_writes symlink
        cloud-shunt proxy-logging proxy-server

    [filter:cloud-shunt]
    use = egg:swift-s3-sync#cloud-shunt
    # The sync daemon's config file (required).  Every proxy worker checks
    # its modification time once a second and reads it again when it
    # changed; a file that does not load keeps the previous mappings and
    # logs the error.
    conf_file = /etc/swift-s3-sync/sync.json
    # Seconds all the remote calls of one client request may take together
    # (the HEAD a local 404 makes, a listing's LISTs, ...); past it: 503.
    remote_timeout = 5
    # After this many remote failures in a row (no answer, 5xx) the remote
    # is left alone for remote_retry_interval seconds: requests that need
    # it get 503 with Retry-After at once; then one request probes it.
    remote_failures = 5
    remote_retry_interval = 30
    # Bytes per segment when a restored object is above max_file_size and
    # comes back as an SLO (default 1 GiB, at most max_file_size).
    restore_segment_size = 1073741824
    # Swift's logger options apply (log_name, log_facility, log_level, ...).

Place it after the auth middleware (it warns at the first request when no
tempauth or keystoneauth sits before it: remote objects would be served to
anyone) and before encryption's keymaster (it warns otherwise: objects it
restores would be written below the encrypter, unencrypted).

The same sync.json serves the daemon and the shunt; the shunt only uses the
mappings with ``merge_namespaces`` true.  A mapping of container ``"/*"``
covers every container of its account; a mapping of the container itself
wins over it, and of two mappings of the same container the first wins.

Security
--------
The shunt acts only on requests Swift has authorised.  Every request goes
through Swift first; the shunt watches the ``swift.authorize`` callback the
proxy calls and consults the remote only when Swift answered 404 (objects) or
2xx (listings) *and* the last authorisation check allowed the request.  A
request Swift refuses (no token, another account, an ACL) gets Swift's
401/403 and the remote never sees it.  Objects written back by a restore are
written with the proxy's own authority (the reader need not be allowed to
write).  Credentials never appear in responses or logs.

Sync status
-----------
A response served from the remote carries ``X-Object-Sync-Status: archived``,
and with ``show_remote_location`` ``X-Object-Content-Location`` (the
remote's description, as in listings: endpoint, bucket and key prefix, which
is why it is off by default).  For a local object the status costs a remote HEAD, so it is only
computed when the request carries the header ``X-Object-Sync-Status`` (any
value, e.g. ``?``): ``synced`` when the remote copy has the same content and
metadata, ``pending`` when there is no remote copy yet or it differs, and
``unknown`` when the remote cannot be asked or the object is a DLO.
``failed`` is not reported: the daemon's failure records are on the
container nodes, not on the proxy.

Restores
--------
The object is written with a PUT whose body is the stream sent to the
client, with the remote's Content-Length and (for MD5 ETags) its ETag, so
Swift itself refuses an incomplete or corrupt body; if the client
disconnects or the remote stream ends short, the PUT is aborted and Swift
keeps nothing.  The PUT carries ``If-None-Match: *``: an object written
locally meanwhile is never overwritten.  Range requests and HEADs are not
restored.  SLOs come back as their segments and saved manifest, objects
above max_file_size as SLOs, all or nothing (see
:mod:`swift_s3_sync.shunt_restore_large`).  The restored object has
a new timestamp, so the daemon sees it again: it finds the remote copy equal,
and for an archive mapping removes the local copy again after copy_after.

Errors
------
A remote that cannot be reached (or does not answer within
``remote_timeout``) gives 503, a remote error 502, each with a one-line
body; the details are logged.  A listing of a merged container fails the
same way rather than silently leaving the remote objects out.  While the
breaker keeps a failing remote alone (see :mod:`swift_s3_sync.remote_guard`)
every request that needs the remote -- a GET or HEAD Swift answers 404, a
listing, a POST or DELETE of a remote-only object -- gets 503 with
``Retry-After`` at once, so clients that HEAD before each upload see a 503
instead of a 404 for new names until the remote answers again: the shunt
cannot tell a new name from an archived one without asking.

Limits
------
* Large objects archived as a multipart upload are served as one plain
  object with their bytes; a POST to one keeps it a large object.
  ``?multipart-manifest=get`` of one returns its saved manifest (409 when
  the remote kept none).  ``?version-id=`` and ``?symlink=get`` are Swift's
  alone: the remote keeps no versions, and a symlink's copy holds its
  target's bytes, so Swift's 404 stands for a remote-only object.
* Remote listing entries of an S3 remote have content type
  ``application/octet-stream``: an S3 listing carries no content types
  (a HEAD per entry would make every listing cost one request per object);
  container HEAD and listing headers (object count, bytes used) are local.
* Responses served from the remote carry the CORS headers Swift chose for
  the container and origin on its 404, with the remote object's metadata
  exposed as Swift exposes a local object's.
* A PUT or POST (a COPY arrives as a PUT) of an object of a merged
  container with metadata the remote must not take
  (``X-Object-Meta-Swift-S3-Sync-*``) or a name it cannot hold is refused
  with 400 before Swift stores it, for clients the auth middleware allows
  outright; others get Swift's own answer.
* One listing request reads at most 10,000 remote names in at most 32
  LISTs (see :mod:`swift_s3_sync.listing`); past that the page is shorter
  than ``limit`` but correct, or ``503 Listing too costly`` when not one
  entry could be found (e.g. ``path=`` over many deeper names).
* POST of X-Delete-At/X-Delete-After to a remote-only object is refused
  (400): the remote copy cannot expire.
* With ``propagate_delete`` false a deleted local object that still has a
  remote copy shows again from the remote; deleting it again deletes the
  remote copy.
* The header ``X-Cloud-Shunt-Bypass: true`` turns the shunt off for one
  request (it only hides remote objects, so any client may send it).
"""
import json
from urllib.parse import parse_qs, urlsplit, urlunsplit

from swift.common import constraints
from swift.common.http import is_success
from swift.common.registry import register_swift_info
from swift.common.swob import (
    HTTPConflict,
    HTTPException,
    HTTPServiceUnavailable,
    Request,
    Response,
    wsgi_to_str)
from swift.common.utils import (
    close_if_possible,
    config_true_value,
    get_logger)
from swift.common.wsgi import WSGIContext

from swift_s3_sync import remote_object
from swift_s3_sync.listing import (
    ListingTooCostly, RemoteListing, listing_params, splice)
from swift_s3_sync.providers.base import (
    EQUAL,
    LocalObject)
from swift_s3_sync.mapping_table import MappingTable
from swift_s3_sync.remote_guard import (
    DEFAULT_FAILURES,
    DEFAULT_RETRY_INTERVAL,
    DEFAULT_TIMEOUT,
    Guards,
    RemoteUnavailable)
from swift_s3_sync.shunt_restore_large import Restorer

SYNC_STATUS = 'X-Object-Sync-Status'
LOCATION = 'X-Object-Content-Location'
BYPASS = ('HTTP_X_CLOUD_SHUNT_BYPASS', 'HTTP_X_CLOUD_SYNC_SHUNT_BYPASS')
TRANS_HEADERS = ('x-trans-id', 'x-openstack-request-id')
AUTH_MIDDLEWARES = {'TempAuth', 'KeystoneAuth'}
ENCRYPTION_MIDDLEWARES = {'KeyMaster', 'KmsKeyMaster', 'KmipKeyMaster',
                          'Encrypter', 'Decrypter'}


def remote_location(mapping, provider, container):
    """How listings and headers name the remote copy of ``container``:
    ``<endpoint>;<bucket>[;<key prefix>]`` (endpoint without credentials,
    "AWS S3" when none is set)."""
    if mapping.aws_endpoint:
        parts = urlsplit(mapping.aws_endpoint)
        netloc = parts.hostname or ''
        if ':' in netloc:
            netloc = '[%s]' % netloc   # IPv6
        if parts.port:
            netloc += ':%d' % parts.port
        endpoint = urlunsplit((parts.scheme, netloc, parts.path, '', ''))
    else:
        endpoint = 'AWS S3'
    location = [endpoint, mapping.aws_bucket]
    key_prefix = getattr(provider, 'key_prefix', None)
    if key_prefix and key_prefix(container):
        location.append(key_prefix(container))
    return ';'.join(location)


class AuthorizeWatcher(object):
    """Stands in for ``env['swift.authorize']`` during the call into Swift
    and remembers what the last authorisation check said.  Without an
    authorize callback Swift has no auth and allows everything."""

    def __init__(self, env):
        self.env = env
        self.original = env.get('swift.authorize')
        self.allowed = self.original is None
        if self.original is not None:
            env['swift.authorize'] = self

    def __call__(self, req):
        denial = self.original(req)
        self.allowed = denial is None
        return denial

    def restore(self):
        if self.env.get('swift.authorize') is self:
            self.env['swift.authorize'] = self.original


def _client_headers(req):
    """The request's headers as str.  Other middlewares sometimes put a
    number in the environ (s3api does); Swift copes, so must we."""
    return {k.lower(): wsgi_to_str(v if isinstance(v, str) else str(v))
            for k, v in req.headers.items()}


def _local_object(container, name, headers):
    """A LocalObject (no body) from a local GET/HEAD response's headers,
    for Provider.compare(); None when Swift does not tell enough (DLO)."""
    headers = {k.lower(): wsgi_to_str(v) for k, v in headers}
    if 'x-object-manifest' in headers:
        return None
    if config_true_value(headers.get('x-static-large-object')):
        etag = headers.get('x-object-sysmeta-slo-etag')
        size = headers.get('x-object-sysmeta-slo-size')
        large = 'slo'
    else:
        etag = headers.get('etag', '').strip('"')
        size = headers.get('content-range', '').rpartition('/')[2] or \
            headers.get('content-length')
        large = None
    if not etag or not (size or '').isdigit():
        return None
    return LocalObject(container, name, headers, int(size), etag,
                       headers.get('x-timestamp'), open_body=None,
                       large=large)


class _ShuntContext(WSGIContext):
    """Common ground of the object and listing contexts."""

    def __init__(self, shunt, mapping, provider, account, container):
        super().__init__(shunt.app)
        self.shunt = shunt
        self.logger = shunt.logger
        self.mapping = mapping
        self.provider = provider
        self.account = account
        self.container = container

    def _call_swift(self, env):
        """Call Swift; True if the request was authorised."""
        watcher = AuthorizeWatcher(env)
        try:
            app_iter = self._app_call(env)
        finally:
            watcher.restore()
        return app_iter, watcher.allowed

    def _trans_headers(self):
        return {k: v for k, v in self._response_headers
                if k.lower() in TRANS_HEADERS}

    def _shown_location(self):
        """The remote's description for clients, or None unless the
        mapping shows it (it names the endpoint, bucket and key prefix)."""
        if not self.mapping.show_remote_location:
            return None
        return remote_location(self.mapping, self.provider, self.container)

    def _failure(self, req, what, err):
        headers = self._trans_headers()
        if isinstance(err, RemoteUnavailable):
            # Said once by the breaker, not once per request.
            if err.retry_after:
                headers['Retry-After'] = str(err.retry_after)
            self.logger.debug('cloud-shunt: %s: %s', what, err)
            return HTTPServiceUnavailable(
                request=req, body=b'Remote store unavailable\n',
                content_type='text/plain', headers=headers)
        return remote_object.failure(req, self.logger, 'cloud-shunt',
                                     self.mapping, what, err, headers)


class ObjectContext(_ShuntContext):
    """GET/HEAD/POST/DELETE of one object of a merged container."""

    def __init__(self, shunt, mapping, provider, account, container, obj):
        super().__init__(shunt, mapping, provider, account, container)
        self.obj = obj
        self.what = '%s/%s/%s' % (account, container, obj)

    def handle(self, env, start_response):
        req = Request(env)
        method = req.method
        want_status = (env.pop('HTTP_X_OBJECT_SYNC_STATUS', None) is not None
                       and method in ('GET', 'HEAD'))
        # Swift may change the request's headers on the way: keep the
        # client's own (as str, not WSGI strings) for the remote.
        client_headers = _client_headers(req)
        if method in ('PUT', 'POST'):
            # What the remote must never take (reserved metadata, names in
            # the saved manifests' space) is refused before Swift stores
            # it: the daemon could never copy it.
            refusal = remote_object.refuse_write(
                req, self.provider, self.container, self.obj,
                client_headers)
            if refusal and authorized_outright(env, req):
                return refusal(env, start_response)
            if method == 'PUT':
                return self.app(env, start_response)
        app_iter, allowed = self._call_swift(env)
        status = self._get_status_int()
        if status == 404 and allowed and not _swift_only(req):
            local_404 = self._replay(app_iter)
            handler = {'GET': self._read, 'HEAD': self._read,
                       'POST': self._post, 'DELETE': self._delete}[method]
            try:
                resp = handler(req, client_headers, local_404)
            except Exception as err:
                resp = self._failure(req, '%s %s' % (method, self.what), err)
            if resp is not local_404:
                _copy_cors(local_404, resp)
            return resp(env, start_response)
        if want_status and is_success(status):
            self._response_headers.append(
                (SYNC_STATUS, self._local_sync_status()))
        start_response(self._response_status, self._response_headers,
                       self._response_exc_info)
        return app_iter

    def _replay(self, app_iter):
        try:
            body = b''.join(app_iter)
        finally:
            close_if_possible(app_iter)
        return Response(status=self._response_status,
                        headers=self._response_headers, body=body)

    def _local_sync_status(self):
        local = _local_object(self.container, self.obj,
                              self._response_headers)
        if local is None:
            return 'unknown'
        try:
            remote = self.provider.head(self.container, self.obj)
            if remote is None:
                return 'pending'
            return 'synced' if self.provider.compare(local, remote) == \
                EQUAL else 'pending'
        except Exception as err:
            self.logger.warning('cloud-shunt: sync status of %s: %s',
                                self.what,
                                remote_object.scrub(str(err), self.mapping))
            return 'unknown'

    # -- GET and HEAD --------------------------------------------------------
    def _read(self, req, client_headers, local_404):
        if req.params.get('multipart-manifest') == 'get':
            return self._saved_manifest(req, local_404)
        return self._read_object(req, client_headers, local_404)

    def _saved_manifest(self, req, local_404):
        """``?multipart-manifest=get`` of a remote-only object: for an SLO
        its manifest as Swift stores it, when the remote kept it (else 409:
        the bytes alone are not what was asked for); for anything else
        the object itself, as Swift does."""
        remote = self.provider.head(self.container, self.obj)
        if remote is None:
            return local_404
        if not config_true_value(
                (remote.headers or {}).get('x-static-large-object')):
            return self._read_object(req, {}, local_404)
        manifest = self.provider.get_manifest(self.container, self.obj,
                                              remote)
        headers = self._trans_headers()
        if manifest is None:
            return HTTPConflict(request=req, headers=headers,
                                content_type='text/plain',
                                body=b'The remote copy kept no manifest\n')
        headers.update({'X-Static-Large-Object': 'True',
                        SYNC_STATUS: 'archived'})
        body = manifest.encode('utf-8')
        return Response(status=200, request=req, headers=headers,
                        content_type='application/json; charset=utf-8',
                        body=b'' if req.method == 'HEAD' else body,
                        content_length=len(body))

    def _read_object(self, req, client_headers, local_404):
        extra = self._trans_headers()
        extra[SYNC_STATUS] = 'archived'
        location = self._shown_location()
        if location:
            extra[LOCATION] = location
        return remote_object.read(
            req, self.provider, self.container, self.obj, client_headers,
            local_404, extra, self._maybe_restoring(req))

    def _maybe_restoring(self, req):
        if req.method != 'GET' or not self.mapping.restore_object:
            return None

        def wrap(remote_headers, body):
            return self.shunt.restorer.restoring_body(
                req.environ, self.what, self.provider, self.container,
                self.obj, remote_headers, body)
        return wrap

    # -- POST and DELETE -----------------------------------------------------
    def _post(self, req, client_headers, local_404):
        return remote_object.post(req, self.provider, self.container,
                                  self.obj, client_headers, local_404,
                                  self._trans_headers())

    def _delete(self, req, client_headers, local_404):
        return remote_object.delete(req, self.provider, self.container,
                                    self.obj, local_404,
                                    self._trans_headers())


class ListingContext(_ShuntContext):
    """GET of a merged container: the local listing spliced with the
    remote's.

    Below ``listing_formats`` Swift's proxy always answers container GETs
    in JSON, whatever format the client asked for: listing_formats (for a
    client request) or the middleware that made a sub-request (dlo,
    symlink, s3api, ...) reads that JSON.  The shunt therefore takes JSON
    and gives JSON, with Swift's own status and headers; only the body and
    its length change."""

    def handle(self, env, start_response):
        if untouched_listing(env):
            return self.app(env, start_response)
        req = Request(env)
        app_iter, allowed = self._call_swift(env)
        content_type = self._response_header_value('content-type') or ''
        if not (allowed and self._get_status_int() in (200, 204)
                and content_type.partition(';')[0] == 'application/json'):
            start_response(self._response_status, self._response_headers,
                           self._response_exc_info)
            return app_iter
        try:
            body = b''.join(app_iter)
        finally:
            close_if_possible(app_iter)
        try:
            local = json.loads(body) if body.strip() else []
            if not isinstance(local, list):
                raise ValueError
        except ValueError:
            start_response(self._response_status, self._response_headers)
            return [body]
        try:
            params = listing_params(req)
            remote = RemoteListing(self.provider, self.container,
                                   self._shown_location()).page(params)
        except HTTPException as err:
            return err(env, start_response)
        except ListingTooCostly:
            return self._too_costly(req)(env, start_response)
        except Exception as err:
            resp = self._failure(req, 'listing %s/%s' % (
                self.account, self.container), err)
            return resp(env, start_response)
        located = self.mapping.show_remote_location
        if not remote and not located:
            # Nothing remote on this page: Swift's own answer, unchanged.
            start_response(self._response_status, self._response_headers)
            return [body]
        try:
            merged = splice(local, remote, params.limit, params.reverse,
                            located)
        except ListingTooCostly:
            return self._too_costly(req)(env, start_response)
        return self._respond(start_response, merged)

    def _too_costly(self, req):
        self.logger.info('cloud-shunt: listing %s/%s: not one entry within '
                         'the remote scan budget', self.account,
                         self.container)
        return HTTPServiceUnavailable(
            request=req, content_type='text/plain',
            headers=self._trans_headers(),
            body=b'Listing too costly, narrow it (prefix, markers)\n')

    def _respond(self, start_response, listing):
        body = json.dumps(listing).encode('ascii')
        headers = [(k, v) for k, v in self._response_headers
                   if k.lower() != 'content-length']
        headers.append(('Content-Length', str(len(body))))
        status = self._response_status
        if self._get_status_int() == 204 and listing:
            status = '200 OK'
        start_response(status, headers)
        return [body]


def _swift_only(req):
    """Requests about a Swift-only kind of object (an older version, a
    symlink itself): the remote keeps neither, so Swift's 404 stands."""
    return 'version-id' in req.params or \
        req.params.get('symlink') == 'get'


def _copy_cors(local, resp):
    """Swift's CORS answer (it decided it for the container and origin)
    on a response served from the remote; the remote's user metadata is
    exposed too, as Swift exposes a local object's."""
    cors = {k: v for k, v in local.headers.items()
            if k.lower().startswith('access-control-')}
    if not cors:
        return
    exposed = cors.get('Access-Control-Expose-Headers')
    if exposed is not None:
        names = [n.strip() for n in exposed.split(',') if n.strip()]
        names += [k.lower() for k in resp.headers
                  if k.lower().startswith('x-object-meta-')
                  or k.lower() == SYNC_STATUS.lower()]
        cors['Access-Control-Expose-Headers'] = ', '.join(
            sorted(set(names)))
    resp.headers.update(cors)


def authorized_outright(env, req):
    """Whether the auth middleware allows ``req`` on its own (without a
    container ACL).  Refusals are only told to such clients; anyone else
    gets Swift's own answer (401, 403, or for an ACL writer the write, which
    the daemon then reports as failed), so nobody learns which containers
    are mapped."""
    authorize = env.get('swift.authorize')
    return authorize is None or authorize(req) is None


def untouched_listing(env):
    """True for container GETs the shunt passes on as they are: listings
    another middleware formats or answers itself (object versioning's
    ``?versions``), shard and reserved-name listings, and sub-requests that
    list a large object's segments (a DLO's, s3api's multipart parts)."""
    if env.get('swift.format_listing') is False:
        return True
    if 'HTTP_X_BACKEND_ALLOW_RESERVED_NAMES' in env or \
            'HTTP_X_BACKEND_RECORD_TYPE' in env:
        return True
    query = parse_qs(env.get('QUERY_STRING', ''), keep_blank_values=True)
    if 'versions' in query or 'states' in query:
        return True
    source = env.get('swift.source')
    if source == 'DLO':
        return True
    if source == 'S3' and env.get('PATH_INFO', '').endswith(
            '+segments'):
        return True
    return False


class CloudShunt(object):
    """The middleware: picks the requests that concern a merged container
    and hands them to a context; everything else goes straight on."""

    def __init__(self, app, conf, logger=None, table=None):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='cloud-shunt')
        conf_file = conf.get('conf_file')
        if not conf_file:
            raise ValueError('cloud-shunt needs conf_file (the sync config)')
        self.table = table or MappingTable(conf_file, self.logger,
                                          follow=True)
        self.guards = Guards(
            timeout=conf_number(conf, 'remote_timeout', DEFAULT_TIMEOUT),
            failures=int(conf_number(conf, 'remote_failures',
                                     DEFAULT_FAILURES, whole=True)),
            retry_interval=conf_number(conf, 'remote_retry_interval',
                                       DEFAULT_RETRY_INTERVAL),
            logger=self.logger)
        self.restorer = Restorer(app, conf, self.logger)
        self.pipeline_checked = False

    def check_pipeline(self):
        """Warn once about placements that weaken the shunt: no auth
        before it (remote objects served to anyone), encryption before it
        (restored objects written unencrypted)."""
        self.pipeline_checked = True
        pipeline = getattr(self, '_pipeline', None)
        if not pipeline or self not in pipeline:
            return
        before = {type(app).__name__ for app in
                  pipeline[:pipeline.index(self)]}
        if not before & AUTH_MIDDLEWARES:
            self.logger.warning(
                'cloud-shunt: no auth middleware (tempauth, keystoneauth) '
                'before cloud-shunt in the pipeline: remote objects of '
                'merged containers are served to any client')
        if before & ENCRYPTION_MIDDLEWARES:
            self.logger.warning(
                'cloud-shunt: encryption (keymaster) sits before '
                'cloud-shunt in the pipeline: restored objects are written '
                'unencrypted; place cloud-shunt before keymaster')

    def _target(self, env):
        """(context class, args) for a request to handle, or None."""
        method = env.get('REQUEST_METHOD')
        if method not in ('GET', 'HEAD', 'PUT', 'POST', 'DELETE') or any(
                config_true_value(env.get(key)) for key in BYPASS):
            return None
        try:
            version, account, container, obj = Request(env).split_path(
                3, 4, True)
        except ValueError:
            return None
        if not constraints.valid_api_version(version):
            return None
        if not obj and method != 'GET':
            return None   # account, container HEAD/PUT/POST/DELETE
        found = self.table.lookup(wsgi_to_str(account),
                                  wsgi_to_str(container))
        if found is None:
            return None
        mapping, provider = found
        provider = self.guards.guard(mapping, provider)
        args = [self, mapping, provider, wsgi_to_str(account),
                wsgi_to_str(container)]
        if obj:
            return ObjectContext, args + [wsgi_to_str(obj)]
        return ListingContext, args

    def __call__(self, env, start_response):
        if not self.pipeline_checked:
            self.check_pipeline()
        target = self._target(env)
        if target is None:
            return self.app(env, start_response)
        context, args = target
        return context(*args).handle(env, start_response)


def conf_number(conf, key, default, whole=False):
    """A positive number from the filter's conf; ValueError naming the key
    (the proxy then refuses to start with that line)."""
    value = conf.get(key)
    if value in (None, ''):
        return default
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        number = None
    if number is None or number <= 0:
        raise ValueError('cloud-shunt: %s must be a positive %s, not %r' % (
            key, 'integer' if whole else 'number', value))
    return number


def filter_factory(global_conf, **local_conf):
    conf = global_conf.copy()
    conf.update(local_conf)
    if not conf.get('conf_file'):
        raise ValueError('cloud-shunt needs conf_file (the sync config)')
    register_swift_info('cloud_shunt', sync_status_header=SYNC_STATUS)

    def shunt_filter(app):
        return CloudShunt(app, conf)
    return shunt_filter
