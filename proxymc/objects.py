"""proxymc's object requests: GET/HEAD, PUT (plain, copies, SLO
manifests), COPY, POST and DELETE of one object of a mapped container.

The reads and metadata changes are cloud-shunt's (:mod:`swift_s3_sync.
remote_object`); writes spool the body first (:mod:`proxymc.uploads`) and
hand a LocalObject to the mapping's provider, exactly as the sync daemon
does, so every writer leaves the same layout.

Errors: a remote that cannot be reached (refused, timed out, gone without
an answer) is 503 ``Remote store unavailable``; one that answers with an
error or with something that is not a valid answer is 502 ``Remote store
error``; the details are logged, never sent to the client.  Local trouble
is not the remote's: no room to spool 507, a client that goes away 499, a
stalled one 408 (see :mod:`proxymc.uploads`).  Copies between accounts
(``X-Copy-From-Account``, ``Destination-Account`` naming another account)
are refused with 403.
"""
import json
import mimetypes
import time
from urllib.parse import quote, unquote

from swift.common import constraints
from swift.common.request_helpers import get_param
from swift.common.swob import (
    HTTPBadRequest, HTTPCreated, HTTPException,
    HTTPForbidden, HTTPLengthRequired, HTTPMethodNotAllowed, HTTPNotFound,
    HTTPOk, HTTPPreconditionFailed, HTTPRequestEntityTooLarge,
    HTTPUnprocessableEntity, Request, str_to_wsgi, wsgi_to_str)
from swift.common.utils import Timestamp

from swift_s3_sync import remote_object
from swift_s3_sync.providers.base import (
    CONTENT_HEADERS, LocalObject, RemoteError)
from proxymc import large, uploads

OBJECT_METHODS = ('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY')
ACCOUNT_HEADERS = ('x-copy-from-account', 'destination-account')


def remote_failure(req, logger, mapping, what, err):
    """The 502/503 for a remote failure (see the module's docs)."""
    return remote_object.failure(req, logger, 'remote', mapping, what, err)


class ObjectHandler(object):
    """One object request."""

    def __init__(self, app, req, account, container, obj):
        self.app = app
        self.req = req
        self.account = account
        self.container = container
        self.obj = obj
        self.logger = app.logger
        self.found = app.table.lookup(account, container)
        self.client_headers = {k.lower(): wsgi_to_str(v)
                               for k, v in req.headers.items()}

    def lookup(self, container):
        """(mapping, provider) of another container of the account."""
        return self.app.table.lookup(self.account, container)

    def handle(self):
        req = self.req
        if req.method not in OBJECT_METHODS:
            return HTTPMethodNotAllowed(request=req, headers={
                'Allow': ', '.join(OBJECT_METHODS)})
        if self.found is None:
            return HTTPNotFound(request=req)
        refused = self._other_account()
        if refused:
            return refused
        mapping, provider = self.found
        what = '%s %s/%s/%s' % (req.method, self.account, self.container,
                                self.obj)
        try:
            return getattr(self, req.method.lower())(provider)
        except HTTPException:
            raise
        except uploads.Refused as err:
            return err.response(req)
        except Exception as err:
            if isinstance(err, RemoteError) and err.permanent:
                return self._cannot_take(mapping, what, err)
            return remote_failure(req, self.logger, mapping, what, err)

    def _other_account(self):
        """403 for a copy from or to another account: not served here."""
        for header in ACCOUNT_HEADERS:
            other = self.client_headers.get(header)
            if other is not None and unquote(other) != self.account:
                return HTTPForbidden(
                    request=self.req, content_type='text/plain',
                    body=b'Copies between accounts are not supported\n')
        return None

    def _cannot_take(self, mapping, what, err):
        """400 for an object the remote cannot take: our own check's reason
        (no status) is told; a remote's refusal is only logged."""
        if err.status is None:
            return HTTPBadRequest(request=self.req, content_type='text/plain',
                                  body=(err.reason + '\n').encode())
        self.logger.error('remote: %s: %s: refused: %s', mapping.label, what,
                          remote_object.scrub(str(err), mapping))
        return HTTPBadRequest(request=self.req, content_type='text/plain',
                              body=b'The remote store refused the object\n')

    def _multipart(self, value):
        return get_param(self.req, 'multipart-manifest') == value

    # -- reading -------------------------------------------------------------
    def get(self, provider):
        if self._multipart('get'):
            manifest = self._manifest(provider)
            if manifest is not None:
                if get_param(self.req, 'format') == 'raw':
                    manifest = large.raw_manifest(manifest)
                return HTTPOk(request=self.req,
                              body=json.dumps(manifest).encode('ascii'),
                              content_type='application/json; '
                                           'charset=utf-8',
                              headers={'X-Static-Large-Object': 'True'})
        return self.head(provider)

    def head(self, provider):
        return remote_object.read(self.req, provider, self.container,
                                  self.obj, self.client_headers,
                                  HTTPNotFound(request=self.req),
                                  show_large=True)

    def _manifest(self, provider):
        """The saved SLO manifest (parsed), or None."""
        return large.saved_manifest(provider, self.container, self.obj)

    # -- changing ------------------------------------------------------------
    def post(self, provider):
        refused = constraints.check_metadata(self.req, 'object')
        if refused:
            return refused
        return remote_object.post(self.req, provider, self.container,
                                  self.obj, self.client_headers,
                                  HTTPNotFound(request=self.req))

    def delete(self, provider):
        manifest = self._manifest(provider) if self._multipart('delete') \
            else None
        if manifest is None:
            return remote_object.delete(self.req, provider, self.container,
                                        self.obj,
                                        HTTPNotFound(request=self.req))
        deleted, missing, errors = large.delete_segments(self.lookup,
                                                         manifest)
        if provider.delete(self.container, self.obj):
            deleted += 1
        else:
            missing += 1
        body = json.dumps({'Number Deleted': deleted,
                           'Number Not Found': missing,
                           'Errors': errors,
                           'Response Status': '200 OK',
                           'Response Body': ''}).encode('ascii')
        return HTTPOk(request=self.req, body=body,
                      content_type='application/json')

    def copy(self, provider):
        """COPY with Destination: a PUT of the destination from here."""
        destination = unquote(self.client_headers.get('destination', ''))
        container, _, name = destination.lstrip('/').partition('/')
        if not container or not name:
            return HTTPPreconditionFailed(
                request=self.req, content_type='text/plain',
                body=b'Destination must be <container>/<object>\n')
        env = dict(self.req.environ, REQUEST_METHOD='PUT',
                   CONTENT_LENGTH='0')
        env['PATH_INFO'] = str_to_wsgi('/v1/%s/%s/%s' % (
            self.account, container, name))
        env['HTTP_X_COPY_FROM'] = str_to_wsgi(
            quote('/%s/%s' % (self.container, self.obj)))
        env.pop('HTTP_DESTINATION', None)
        env.pop('HTTP_TRANSFER_ENCODING', None)
        return ObjectHandler(self.app, Request(env), self.account, container,
                             name).handle()

    def _object_headers(self):
        """User metadata and content headers of the request; a content
        type guessed from the name when none is given, as Swift does."""
        headers = {k: v for k, v in self.client_headers.items()
                   if k.startswith('x-object-meta-') or k in CONTENT_HEADERS}
        if not headers.get('content-type') or \
                self.client_headers.get('x-detect-content-type') == 'true':
            headers['content-type'] = mimetypes.guess_type(self.obj)[0] \
                or 'application/octet-stream'
        return headers

    def _check_put(self):
        req = self.req
        # Names and metadata the remote keeps for itself: before any body.
        refused = remote_object.refuse_write(
            req, self.found[1], self.container, self.obj,
            self.client_headers) or \
            remote_object.refuse_expiry(req, self.client_headers)
        if refused:
            return refused
        if 'x-object-manifest' in self.client_headers:
            return HTTPBadRequest(request=req, content_type='text/plain',
                                  body=b'Dynamic large objects (X-Object-'
                                       b'Manifest) are not supported; '
                                       b'use a static large object\n')
        return self._check_size_and_name() or \
            constraints.check_metadata(req, 'object')

    def _check_size_and_name(self):
        """Swift proxy's checks of a new object's length and name."""
        req = self.req
        try:
            length = req.message_length()
        except (ValueError, AttributeError) as err:
            return HTTPBadRequest(request=req, content_type='text/plain',
                                  body=str(err).encode())
        if length is not None and length > constraints.MAX_FILE_SIZE:
            return HTTPRequestEntityTooLarge(request=req)
        if length is None and \
                req.headers.get('transfer-encoding') != 'chunked':
            return HTTPLengthRequired(request=req)
        size = len(self.obj.encode('utf-8'))
        if size > constraints.MAX_OBJECT_NAME_LENGTH:
            return HTTPBadRequest(
                request=req, content_type='text/plain',
                body=b'Object name length of %d longer than %d' % (
                    size, constraints.MAX_OBJECT_NAME_LENGTH))
        return None

    def put(self, provider):
        refused = self._check_put()
        if refused:
            return refused
        if_none_match = self.client_headers.get('if-none-match')
        if if_none_match is not None:
            if if_none_match.strip() != '*':
                return HTTPBadRequest(request=self.req,
                                      content_type='text/plain',
                                      body=b'If-None-Match only supports *\n')
            if provider.head(self.container, self.obj) is not None:
                return HTTPPreconditionFailed(request=self.req)
        headers = self._object_headers()
        timestamp = Timestamp.now()
        if self._multipart('put'):
            return self._put_manifest(provider, headers, timestamp)
        if 'x-copy-from' in self.client_headers:
            spool = self._copy_source(headers)
            if not isinstance(spool, uploads.Spool):
                return spool
        else:
            spool = self.app.spools.spool_request(self.req)
        try:
            local = LocalObject(self.container, self.obj, headers,
                                spool.size, spool.md5, timestamp.internal,
                                spool.open)
            return self._store(provider, local)
        finally:
            spool.close()

    def _store(self, provider, local, holders=None):
        """Check ``local`` against the client's ETag and the remote's
        limits, then write it: with ``holders``, from segments the remote
        holds already (provider.put_manifest)."""
        expected = self.client_headers.get('etag', '').strip('"')
        if expected and expected.lower() != local.etag:
            return HTTPUnprocessableEntity(request=self.req)
        provider.check(local)
        if holders is not None:
            provider.put_manifest(local, holders)
        else:
            provider.put(local)
        return HTTPCreated(request=self.req, headers={
            'Etag': local.etag,
            'Last-Modified': time.strftime(
                '%a, %d %b %Y %H:%M:%S GMT',
                time.gmtime(float(Timestamp(local.timestamp)))),
            'X-Timestamp': Timestamp(local.timestamp).normal})

    def _copy_source(self, headers):
        """A Spool of the X-Copy-From object with the metadata the copy
        gets merged into ``headers``, or the response to send."""
        source = unquote(self.client_headers['x-copy-from'])
        container, _, name = source.lstrip('/').partition('/')
        found = self.lookup(container) if name else None
        if found is None:
            return HTTPPreconditionFailed(
                request=self.req, body=b'X-Copy-From must name an object '
                                       b'of a mapped container\n')
        provider = found[1]
        remote = provider.head(container, name)
        if remote is None:
            return HTTPNotFound(request=self.req)
        if remote.headers.get('x-static-large-object'):
            return HTTPBadRequest(request=self.req, content_type='text/plain',
                                  body=b'Copying a large object is not '
                                       b'supported\n')
        fresh = self.client_headers.get('x-fresh-metadata') == 'true'
        merged = {} if fresh else {
            k: v for k, v in remote.headers.items()
            if k.startswith('x-object-meta-') or k in CONTENT_HEADERS}
        given = self.client_headers.get('content-type')
        merged.update({k: v for k, v in headers.items()
                       if k != 'content-type' or given})
        merged.setdefault('content-type', headers['content-type'])
        headers.clear()
        headers.update(merged)
        reader = remote_object.RemoteReader(provider, container, name)
        return self.app.spools.spool_reader(reader, remote.size)

    def _put_manifest(self, provider, headers, timestamp):
        body = self.req.environ['wsgi.input'].read(
            large.MAX_MANIFEST_SIZE + 1)
        builder = large.SloBuilder(self.lookup)
        try:
            entries = large.parse_manifest(body)
            local = builder.build(self.container, self.obj, entries, headers,
                                  timestamp.internal)
        except large.ManifestError as err:
            lines = [err.reason] + ['%s: %s' % (path, reason)
                                    for path, reason in err.problems]
            return HTTPBadRequest(request=self.req, content_type='text/plain',
                                  body=('\n'.join(lines) + '\n').encode())
        # A remote that holds the segments already builds it there.
        return self._store(provider, local, builder.held_by(provider))
