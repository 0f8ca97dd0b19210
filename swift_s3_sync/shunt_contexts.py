"""cloud-shunt's WSGI contexts: one object of a merged container, and
one listing of it (the operator's manual is :mod:`swift_s3_sync.shunt`)."""
import json
from urllib.parse import parse_qs, urlsplit, urlunsplit

from swift.common.http import is_success
from swift.common.swob import (
    HTTPConflict,
    HTTPException,
    HTTPServiceUnavailable,
    Request,
    Response,
    wsgi_to_str)
from swift.common.utils import (
    close_if_possible,
    config_true_value)
from swift.common.wsgi import WSGIContext

from swift_s3_sync import remote_object
from swift_s3_sync.listing import (
    ListingTooCostly, RemoteListing, listing_params, splice)
from swift_s3_sync.providers.base import (
    EQUAL,
    LocalObject)
from swift_s3_sync.remote_guard import RemoteUnavailable

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

    def _replay(self, app_iter):
        try:
            body = b''.join(app_iter)
        finally:
            close_if_possible(app_iter)
        return Response(status=self._response_status,
                        headers=self._response_headers, body=body)

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
        if allowed and self._get_status_int() == 404:
            missing = self.missing_container(req, app_iter)
            if missing is not None:
                return missing(env, start_response)
        content_type = self._response_header_value('content-type') or ''
        if not (allowed and self._get_status_int() in (200, 204)
                and content_type.partition(';')[0] == 'application/json') \
                or self.skip_remote():
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
            remote = self.remote_page(params)
        except HTTPException as err:
            return err(env, start_response)
        except ListingTooCostly:
            return self._too_costly(req)(env, start_response)
        except Exception as err:
            resp = self.remote_failed(req, err, body)
            return resp(env, start_response)
        located = self.located()
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

    def remote_page(self, params):
        """The remote's entries for the page ``params`` asks for."""
        return RemoteListing(self.provider, self.container,
                             self._shown_location()).page(params)

    def remote_failed(self, req, err, body):
        """The answer when the remote's page could not be read (``body``:
        Swift's own listing)."""
        return self._failure(req, 'listing %s/%s' % (
            self.account, self.container), err)

    def located(self):
        """Whether entries say where each object is."""
        return self.mapping.show_remote_location

    def missing_container(self, req, app_iter):
        """A response for a container Swift does not have, or None for
        Swift's own 404 (``app_iter`` then stays unread)."""
        return None

    def skip_remote(self):
        """True when Swift's listing (its headers are at hand) is the
        whole answer."""
        return False

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


