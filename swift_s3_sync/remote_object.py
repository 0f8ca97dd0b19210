"""One object's remote copy, read and changed through the Swift API.

cloud-shunt uses this for objects its Swift cluster does not have, proxymc
for every object.  Each function answers one client request with a swob
Response, given the mapping's provider; what the caller adds (sync status,
transaction ids) comes in ``extra`` headers, and the caller says what "not
there" looks like (``not_found``: Swift's own 404 for the shunt, a fresh
one for proxymc).

* GET and HEAD honour one Range and If-Match, If-None-Match,
  If-Modified-Since and If-Unmodified-Since.  Conditions are judged from a
  HEAD before any bytes move, against what clients are shown (which need
  not be the remote's own ETag: large objects, SSE-KMS), the same way for
  every remote.
* POST replaces user metadata and content headers (the content type is kept
  unless given), like a Swift POST.  Refused with a one-line 400 before the
  remote is asked (:func:`refuse_write`, which proxymc's PUTs use too): a
  name the remote cannot hold (``Provider.name_problem``: a key over the
  store's limit, a name among the S3 provider's saved manifests) and
  reserved metadata (``X-Object-Meta-Swift-S3-Sync-*``, which would change
  the ETag or the large-object kind later reads report).  For an object
  that exists, X-Delete-At/X-Delete-After (a remote copy cannot expire)
  and metadata the remote cannot store (too much, bad keys:
  ``Provider.check_metadata``) are 400s too.
* A name the remote cannot hold is simply not there for GET, HEAD and
  DELETE: the provider answers "not found" without a request.
* A remote failure becomes a short 503 (cannot reach it) or 502 (it
  answered with an error); the details go to the log with secrets masked.
"""
import http.client
import traceback

from swift.common.swob import (
    HTTPAccepted,
    HTTPBadGateway,
    HTTPBadRequest,
    HTTPNoContent,
    HTTPServiceUnavailable,
    Response,
    str_to_wsgi)
from swift.common.utils import Timestamp, close_if_possible, \
    config_true_value

from swift_s3_sync.providers.base import CONTENT_HEADERS, LocalObject, \
    Provider, RemoteError, reserved_metadata

# Remote headers a client sees; user metadata (x-object-meta-*) too.
# content-location: where a symlink read through it led (as Swift says).
CLIENT_HEADERS = CONTENT_HEADERS + (
    'content-length', 'content-range', 'etag', 'last-modified',
    'accept-ranges', 'content-location')
LARGE_MARKER = 'x-static-large-object'
CONDITIONS = ('if-match', 'if-none-match', 'if-modified-since',
              'if-unmodified-since')
EXPIRY_HEADERS = ('x-delete-at', 'x-delete-after')


def scrub(text, mapping):
    """``text`` with the mapping's secrets masked."""
    for key in ('aws_secret', 'aws_session_token'):
        secret = getattr(mapping, key, None)
        if secret:
            text = text.replace(secret, '***')
    return text


def shown_headers(remote_headers, extra=None, show_large=False):
    """The remote's headers a client gets (as WSGI strings), plus
    ``extra``; the large-object marker only with ``show_large``."""
    shown = CLIENT_HEADERS + ((LARGE_MARKER,) if show_large else ())
    headers = {k: str_to_wsgi(v) for k, v in remote_headers.items()
               if k in shown or k.startswith('x-object-meta-')}
    headers.update(extra or {})
    return headers


class RemoteReader(object):
    """A file-like over a remote GET (the whole object, or ``range`` =
    ``(first, last)``), for writing the bytes somewhere again."""

    def __init__(self, provider, container, name, range=None):
        wanted = {'range': 'bytes=%d-%d' % range} if range else {}
        status, _, body = provider.get(container, name, wanted)
        if status not in (200, 206):
            close_if_possible(body)
            raise RemoteError('%s/%s vanished while reading it' % (
                container, name), status)
        self.body = iter(body)
        self.buffer = b''

    def read(self, size=-1):
        while size is None or size < 0 or len(self.buffer) < size:
            chunk = next(self.body, b'')
            if not chunk:
                break
            self.buffer += chunk
        if size is None or size < 0:
            size = len(self.buffer)
        chunk, self.buffer = self.buffer[:size], self.buffer[size:]
        return chunk

    def close(self):
        close_if_possible(self.body)


def verdict(req, resp):
    """304 or 412 when the request's conditions fail for ``resp`` (Swift's
    order: ETags first, then dates), else None."""
    etag = resp.headers.get('etag')
    if etag and req.if_none_match and etag in req.if_none_match:
        return 304
    if etag and req.if_match and etag not in req.if_match:
        return 412
    modified = resp.last_modified
    if modified and req.if_modified_since and \
            modified <= req.if_modified_since:
        return 304
    if modified and req.if_unmodified_since and \
            modified > req.if_unmodified_since:
        return 412
    return None


def read(req, provider, container, name, client_headers, not_found,
         extra=None, wrap_body=None, show_large=False):
    """GET or HEAD.  ``client_headers``: the request's headers (lower-case,
    str); ``wrap_body(remote_headers, body)`` may replace the body of a
    200 (cloud-shunt's restore); ``show_large`` shows the SLO marker
    (X-Static-Large-Object) to clients that can act on it."""
    conditional = any(k in client_headers for k in CONDITIONS)
    if req.method == 'HEAD' or conditional:
        remote = provider.head(container, name)
        if remote is None:
            return not_found
        headers = shown_headers(remote.headers, extra, show_large)
        headers['content-length'] = str(remote.size)
        head = Response(status=200, headers=headers, request=req,
                        conditional_response=True)
        if req.method == 'HEAD':
            return head
        failed = verdict(req, head)
        if failed:
            return Response(status=failed, request=req, headers={
                k: v for k, v in headers.items()
                if k.lower() not in ('content-length', 'content-type')})
    wanted = {}
    if 'range' in client_headers and ',' not in client_headers['range']:
        wanted['range'] = client_headers['range']   # one range only
    status, remote_headers, body = provider.get(container, name, wanted)
    if status == 404:
        close_if_possible(body)
        return not_found
    headers = shown_headers(remote_headers, extra, show_large)
    if status == 416:
        close_if_possible(body)
        headers.pop('content-length', None)
        return Response(status=status, request=req, headers=headers)
    if status == 200 and wrap_body is not None:
        body = wrap_body(remote_headers, body)
    # Conditions are checked again on what the GET found.
    return Response(status=status, headers=headers, app_iter=body,
                    request=req, conditional_response=True)


def new_metadata(client_headers, old_headers):
    """The headers a POST leaves: the request's user metadata and content
    headers; the old content type unless the request gives one."""
    headers = {k: v for k, v in client_headers.items()
               if v and (k.startswith('x-object-meta-')
                         or k in CONTENT_HEADERS)}
    if 'content-type' not in headers and old_headers.get('content-type'):
        headers['content-type'] = old_headers['content-type']
    return headers


def _contract(provider, method):
    """``provider.<method>``, or the contract's default for a stand-in
    that does not derive from Provider (test doubles)."""
    found = getattr(provider, method, None)
    return found or getattr(Provider, method).__get__(provider)


def refused(req, reason, extra=None):
    """A 400 whose body is ``reason`` on one line."""
    return HTTPBadRequest(request=req, content_type='text/plain',
                          body=(reason + '\n').encode('utf-8'),
                          headers=extra)


def refuse_expiry(req, client_headers):
    """A 400 when the request asks for expiry, which a remote copy
    cannot do; else None."""
    if any(k in client_headers for k in EXPIRY_HEADERS):
        return refused(req, 'X-Delete-At and X-Delete-After cannot be set '
                            'on an object stored remotely')
    return None


def refuse_write(req, provider, container, name, client_headers,
                 extra=None):
    """A 400 for a write (PUT, POST, a copy's destination) of ``name``
    that the remote must not take whatever it holds, decided without
    asking it: a name it cannot hold, reserved metadata.  None when it may
    go on."""
    reason = _contract(provider, 'name_problem')(container, name) or \
        reserved_metadata(client_headers)
    return refused(req, reason, extra) if reason else None


def post(req, provider, container, name, client_headers, not_found,
         extra=None):
    refusal = refuse_write(req, provider, container, name, client_headers,
                           extra)
    if refusal:
        return refusal
    remote = provider.head(container, name)
    if remote is None:
        return not_found
    refusal = refuse_expiry(req, client_headers)
    if refusal:
        return refusal
    headers = new_metadata(client_headers, remote.headers)
    # A large object keeps its kind (and its recorded Swift ETag).
    large = 'slo' if config_true_value(
        remote.headers.get(LARGE_MARKER)) else None

    def open_body():
        return RemoteReader(provider, container, name)
    local = LocalObject(container, name, headers, remote.size, remote.etag,
                        Timestamp.now().internal, open_body, large=large)
    try:
        _contract(provider, 'check_metadata')(local)
    except RemoteError as err:
        if not err.permanent:
            raise
        return refused(req, err.reason, extra)
    provider.update_metadata(local, remote)
    return HTTPAccepted(request=req, headers=extra)


def delete(req, provider, container, name, not_found, extra=None):
    remote = provider.head(container, name)
    if remote is None:
        return not_found
    # The HEAD says what kind of object it is: no second look needed.
    provider.delete(container, name, remote=remote)
    return HTTPNoContent(request=req, headers=extra)


def _chain(err):
    """``err`` and every exception it was raised from or wraps."""
    todo, seen = [err], set()
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        wrapped = getattr(err, 'kwargs', None)   # botocore keeps it there
        todo += [err.__cause__, err.__context__,
                 wrapped.get('error') if isinstance(wrapped, dict) else None]
        todo += [arg for arg in err.args if isinstance(arg, BaseException)]


def garbled(err):
    """A remote that answered, but not in HTTP (a status line that is not
    one, a body cut short): its error has no status, yet it was reached."""
    return any(isinstance(e, http.client.HTTPException) and
               not isinstance(e, http.client.RemoteDisconnected)
               for e in _chain(err))


def failure(req, logger, who, mapping, what, err, extra=None):
    """A short 502/503 for a remote failure; the details are logged.  503
    only when the remote could not be reached (refused, timed out, gone
    without a word); an error answer or a garbled one is 502."""
    if isinstance(err, RemoteError):
        logger.error('%s: %s: %s: %s', who, mapping.label, what,
                     scrub(str(err), mapping))
        unreachable = err.status is None and not garbled(err)
    else:
        logger.error('%s: %s: %s: %s', who, mapping.label, what,
                     scrub(traceback.format_exc(), mapping))
        unreachable = False
    if unreachable:
        return HTTPServiceUnavailable(
            request=req, body=b'Remote store unavailable\n',
            content_type='text/plain', headers=extra)
    return HTTPBadGateway(
        request=req, body=b'Remote store error\n',
        content_type='text/plain', headers=extra)
