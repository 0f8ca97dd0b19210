"""cloud-shunt during a migration: the source's objects that are not copied
yet, read through the local container as if they were already there.

For every migration of the config (``migrations``, read by
``swift-s3-migrator``; see docs/migrator.md) with ``merge_namespaces`` true
(the default), the shunt of every proxy:

* answers a GET or HEAD that Swift answers 404 from the source (Range and
  conditions as for merged containers), with ``X-Object-Sync-Status:
  migrating``;
* with ``restore_object`` true (the default) writes an object read whole
  into the local container while it streams to the client, exactly as the
  migrator would have (``copier.put_headers``): the source's ETag,
  content headers, metadata and X-Delete-At, its Last-Modified (from the
  source's listing) as the X-Timestamp, and the migrator's marker, so
  that the migrator later finds it EQUAL and a source delete may still
  remove it.  Large objects (S3 multipart, Swift SLOs and
  DLOs) are left to the migrator, which keeps them large;
* reads a Swift source's symlinks themselves and follows them only within
  the same source container and account (see SourceView): the source
  would follow them with the migration's credentials;
* answers a POST of a not yet migrated object by restoring it first and
  then letting Swift apply the POST (409 for large objects: they are not
  restored here), and a DELETE with 204: Swift's tombstone, newer than the
  source object, hides it from then on and the migrator never brings it
  back;
* splices the source's names into the container's listings (only names
  under the migration's ``prefix``), answers GET and HEAD of a container
  the migrator has not made yet from the source alone, and for a ``"/*"``
  migration adds the source's buckets to the account listing (count and
  bytes 0; the bucket list is read at most every ``BUCKETS_TTL`` seconds
  per proxy worker).

A local object, a local tombstone newer than the source object, a name
outside the prefix: Swift's answer stands.  When the migrator has marked a
container migrated (see :mod:`swift_s3_sync.migrator.done`), the shunt no
longer asks the source for it, and for an account whose ``"/*"`` buckets
all have their containers, no longer lists the source's buckets.

The source is only read: nothing a client does through the shunt writes to
it.  Remote calls share the shunt's deadline and circuit breaker
(``remote_timeout``, ``remote_failures``, ``remote_retry_interval``).
"""
import json
import re
import time
from urllib.parse import quote, unquote

from swift.common.swob import (
    HTTPConflict,
    HTTPNoContent,
    HTTPServiceUnavailable,
    Request,
    Response,
    str_to_wsgi)
from swift.common.utils import Timestamp, close_if_possible, \
    config_true_value
from swift.proxy.controllers.base import get_container_info

from swift_s3_sync import remote_object
from swift_s3_sync.listing import (
    ListingTooCostly, RemoteListing, entry_key, listing_params, splice,
    swift_time)
from swift_s3_sync.migrator import done
from swift_s3_sync.migrator.copier import is_multipart_etag, put_headers
from swift_s3_sync.migrator.local import is_valid_container
from swift_s3_sync.migrator.symlinks import SYMLINK_ACCOUNT, SYMLINK_GET, \
    SYMLINK_TARGET
from swift_s3_sync.providers.base import RemoteError
from swift_s3_sync.shunt_contexts import (
    SYNC_STATUS, ListingContext, ObjectContext, _client_headers,
    _copy_cors, _swift_only, untouched_listing)
from swift_s3_sync.shunt_restore import RestoreWriter, RestoringBody
from swift_s3_sync.shunt_restore_large import md5_etag

MIGRATING = 'migrating'
SYMLOOP_MAX = 2   # Swift's default: symlinks in a row followed
# Seconds a proxy worker keeps the bucket list of a "/*" migration's source
# for account listings.
BUCKETS_TTL = 30
# A "/*" migration's bucket list is used for account listings only up to
# this many names (a source that shows more is not listed at all).
MAX_BUCKETS = 10000


class SourceView(object):
    """A migration's source provider seen through its ``prefix``: names
    outside it are not there.  A Swift source's symlinks are followed
    here, not by the source: the source would follow them with the
    migration's credentials, which may read more than the client may
    (another container, another account).  So a symlink is read with
    ``symlink=get`` and followed hop by hop (at most SYMLOOP_MAX, as
    Swift) only to objects of the same source container and account,
    within the prefix; one pointing elsewhere, or a static link whose
    target changed, is not there until the migrator copies the symlink
    (the local symlink middleware then follows it with the client's own
    rights).  What a followed symlink answers carries Content-Location
    (the target's local path), as Swift's does.  Everything else is the
    provider's own."""

    def __init__(self, provider, prefix, account=''):
        self._provider = provider
        self._prefix = prefix or ''
        self._account = account
        self._swift = getattr(getattr(provider, 'mapping', None),
                              'protocol', None) == 'swift'

    def __getattr__(self, name):
        return getattr(self._provider, name)

    def _outside(self, name):
        return not name.startswith(self._prefix)

    def head(self, container, name):
        if self._outside(name):
            return None
        if not self._swift:
            return self._provider.head(container, name)
        return self._follow(container, name, lambda target: self._answer(
            self._provider.head(container, target, query_string=SYMLINK_GET)))

    def get(self, container, name, headers=None):
        if self._outside(name):
            return 404, {}, iter(())
        if not self._swift:
            return self._provider.get(container, name, headers)

        def get(target):
            status, got, body = self._provider.get(
                container, target, headers, query_string=SYMLINK_GET)
            return got, (status, got, body)
        found = self._follow(container, name, get)
        return found if found is not None else (404, {}, iter(()))

    @staticmethod
    def _answer(remote):
        return (None if remote is None else remote.headers), remote

    def _follow(self, container, name, read):
        """What ``read(name)`` answers (``(headers, answer)``), symlinks
        followed; None when one cannot be here."""
        target, static_etag = name, None
        for _ in range(SYMLOOP_MAX + 1):
            headers, answer = read(target)
            if headers is None or SYMLINK_TARGET not in headers:
                break
            close_if_possible(answer[2] if isinstance(answer, tuple)
                              else None)
            static_etag = headers.get('x-symlink-target-etag') or static_etag
            target = self._next_hop(container, headers)
            if target is None:
                return None
        else:
            return None   # too many symlinks in a row
        if target == name:
            return answer
        if headers is None or (static_etag and static_etag != (
                headers.get('etag') or '').strip('"')):
            close_if_possible(answer[2] if isinstance(answer, tuple)
                              else None)
            return None
        headers['content-location'] = '/v1/%s' % quote('/'.join(
            (self._account, container, target)))
        return answer

    def _next_hop(self, container, headers):
        """The object a symlink's ``headers`` point at when the client may
        be given it (the same source container and account, within the
        prefix), else None."""
        bucket, _, obj = unquote(headers[SYMLINK_TARGET]).partition('/')
        account = headers.get(SYMLINK_ACCOUNT)
        if bucket != self._provider.remote_container(container) or \
                not obj or self._outside(obj):
            return None
        if account and unquote(account) != self._provider.account_name():
            return None
        return obj

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        if prefix.startswith(self._prefix):
            narrowed = prefix
        elif self._prefix.startswith(prefix):
            narrowed = self._prefix
        else:
            return iter(())
        return self._provider.list(container, prefix=narrowed,
                                   marker=marker, end_marker=end_marker,
                                   limit=limit)


_S3_BUCKET = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')


def bucket_problem(migration, bucket):
    """Why a container of a "/*" migration cannot be a bucket of its
    source (then the shunt leaves it alone), or None."""
    if bucket.startswith('\x00'):
        return 'a reserved name'
    problem = is_valid_container(bucket)
    if problem:
        return problem
    if migration.protocol == 's3' and not _S3_BUCKET.match(bucket):
        return 'not an S3 bucket name'
    return None


def source_entry(provider, container, name):
    """The source listing's entry for ``name`` (its Last-Modified to the
    millisecond or better), or None."""
    for entry in provider.list(container, prefix=name, limit=1):
        if entry.name == name:
            return entry
    return None


def restorable(remote_headers):
    """Whether the shunt may write this source object back itself: plain
    objects with an MD5 ETag (large ones are the migrator's, and so are
    symlinks, which a Swift source followed: it says where to with
    Content-Location)."""
    etag = (remote_headers.get('etag') or '').strip('"')
    return (not is_multipart_etag(etag) and md5_etag(remote_headers)
            and 'x-object-manifest' not in remote_headers
            and 'content-location' not in remote_headers
            and not config_true_value(
                remote_headers.get('x-static-large-object')))


class _MigrationMixin(object):
    """What the object and listing contexts of a migration share."""

    def _migrated(self, sysmeta):
        return done.container_migrated(sysmeta, self.migration)

    def _restore_headers(self, remote_headers, entry):
        # What the migrator would write (see copier.put_headers).
        headers = {k: str_to_wsgi(v) for k, v in put_headers(
            remote_headers, Timestamp(entry.last_modified)).items()}
        headers['if-none-match'] = '*'
        return headers


class MigrationObjectContext(_MigrationMixin, ObjectContext):
    """GET/HEAD/POST/DELETE of one object of a migration's container."""

    def __init__(self, shunt, migration, mapping, provider, account,
                 container, obj):
        super().__init__(shunt, mapping, provider, account, container, obj)
        self.migration = migration

    def handle(self, env, start_response):
        req = Request(env)
        method = req.method
        if method == 'PUT':
            return self.app(env, start_response)
        client_headers = _client_headers(req)
        replay_env = dict(env) if method == 'POST' else None
        app_iter, allowed = self._call_swift(env)
        if self._get_status_int() != 404 or not allowed or \
                _swift_only(req) or self._container_migrated(env):
            start_response(self._response_status, self._response_headers,
                           self._response_exc_info)
            return app_iter
        local_404 = self._replay(app_iter)
        handler = {'GET': self._read, 'HEAD': self._read,
                   'POST': self._post, 'DELETE': self._delete}[method]
        try:
            resp = handler(req, client_headers, local_404, replay_env)
        except Exception as err:
            resp = self._failure(req, '%s %s' % (method, self.what), err)
        if resp is not local_404:
            _copy_cors(local_404, resp)
        return resp(env, start_response)

    def _container_migrated(self, env):
        info = get_container_info(env, self.app, swift_source='cloud-shunt')
        return self._migrated(info.get('sysmeta'))

    def _tombstone(self, local_404):
        """The timestamp of the local delete Swift's 404 reports, or
        None."""
        value = local_404.headers.get('X-Backend-Timestamp')
        try:
            tombstone = Timestamp(value) if value else None
        except ValueError:
            return None
        return tombstone if tombstone and tombstone.raw > 0 else None

    def _hidden(self, local_404):
        """True when a local delete is newer than the source object."""
        tombstone = self._tombstone(local_404)
        if tombstone is None:
            return False
        entry = source_entry(self.provider, self.container, self.obj)
        return entry is None or Timestamp(entry.last_modified) <= tombstone

    # -- GET and HEAD --------------------------------------------------------
    def _read(self, req, client_headers, local_404, replay_env=None):
        if self._hidden(local_404):
            return local_404
        extra = self._trans_headers()
        extra[SYNC_STATUS] = MIGRATING
        wrap = None
        if req.method == 'GET' and self.migration.restore_object:
            wrap = self._restoring(req)
        return remote_object.read(
            req, self.provider, self.container, self.obj, client_headers,
            local_404, extra, wrap)

    def _restoring(self, req):
        def wrap(remote_headers, body):
            writer = self._writer(req.environ, remote_headers)
            if writer is None:
                return body
            return RestoringBody(body, writer,
                                 int(remote_headers['content-length']))
        return wrap

    def _writer(self, env, remote_headers):
        """A RestoreWriter for the whole object, or None when the shunt
        leaves it to the migrator (logged)."""
        length = remote_headers.get('content-length', '')
        if not length.isdigit() or not restorable(remote_headers):
            self.logger.debug('cloud-shunt: %s is left to the migrator',
                              self.what)
            return None
        try:
            entry = source_entry(self.provider, self.container, self.obj)
        except Exception as err:
            self.logger.info('cloud-shunt: not restoring %s: %s', self.what,
                             remote_object.scrub(str(err), self.mapping))
            return None
        if entry is None or (entry.etag or '').strip('"') != \
                md5_etag(remote_headers):
            return None   # changed meanwhile: the migrator will see
        return RestoreWriter(self.app, env,
                             self._restore_headers(remote_headers, entry),
                             int(length), self.logger, self.what)

    # -- POST and DELETE -----------------------------------------------------
    def _post(self, req, client_headers, local_404, replay_env):
        """Restore the object, then let Swift apply the POST."""
        if self._hidden(local_404):
            return local_404
        status, remote_headers, body = self.provider.get(
            self.container, self.obj, {})
        if status == 404:
            close_if_possible(body)
            return local_404
        writer = self._writer(req.environ, remote_headers) \
            if status == 200 else None
        if writer is None:
            close_if_possible(body)
            return HTTPConflict(
                request=req, headers=self._trans_headers(),
                content_type='text/plain',
                body=b'Not migrated yet; try again once it is\n')
        for _ in RestoringBody(body, writer,
                               int(remote_headers['content-length'])):
            pass
        written = writer.end()
        if written not in (201, 202, 412):
            return HTTPServiceUnavailable(
                request=req, headers=self._trans_headers(),
                content_type='text/plain',
                body=b'Could not bring the object in; try again\n')
        return Request(replay_env).get_response(self.app)

    def _delete(self, req, client_headers, local_404, replay_env=None):
        # Swift's object servers have just written a tombstone (they do
        # for a name they do not hold): newer than the source object, it
        # hides the source's copy from now on.  (Its 404 carries that new
        # tombstone's time, so an earlier delete cannot be told: deleting
        # a name the source holds answers 204 again, as S3 would.)
        if self.provider.head(self.container, self.obj) is None:
            return local_404
        return HTTPNoContent(request=req, headers=self._trans_headers())


class MigrationListingContext(_MigrationMixin, ListingContext):
    """GET of a migration's container: the local listing spliced with the
    source's; a container the migrator has not made yet (a ``"/*"``
    bucket, or the migration's container before its first copy) listed
    (GET) or described (HEAD) from the source alone."""

    def __init__(self, shunt, migration, mapping, provider, account,
                 container):
        super().__init__(shunt, mapping, provider, account, container)
        self.migration = migration

    def handle(self, env, start_response):
        if env['REQUEST_METHOD'] != 'HEAD' or untouched_listing(env):
            return super().handle(env, start_response)
        req = Request(env)
        app_iter, allowed = self._call_swift(env)
        if allowed and self._get_status_int() == 404:
            return self.missing_container(req, app_iter)(env, start_response)
        start_response(self._response_status, self._response_headers,
                       self._response_exc_info)
        return app_iter

    def skip_remote(self):
        sysmeta = {k.lower()[len('x-container-sysmeta-'):]: v
                   for k, v in self._response_headers
                   if k.lower().startswith('x-container-sysmeta-')}
        return self._migrated(sysmeta)

    def missing_container(self, req, app_iter):
        local_404 = self._replay(app_iter)
        try:
            return self._source_only(req, local_404)
        except Exception as err:
            return self._failure(req, 'listing %s/%s' % (
                self.account, self.container), err)

    def _source_only(self, req, local_404):
        try:
            first = list(self.provider.list(self.container, limit=1))
        except RemoteError as err:
            if err.status == 404:
                return local_404   # no such bucket either
            raise
        headers = self._trans_headers()
        headers.update({'X-Container-Object-Count': '0',
                        'X-Container-Bytes-Used': '0',
                        SYNC_STATUS: MIGRATING})
        entries = []
        if first and req.method == 'GET':
            params = listing_params(req)
            try:
                entries = splice([], RemoteListing(
                    self.provider, self.container, None).page(params),
                    params.limit, params.reverse, False)
            except ListingTooCostly:
                return self._too_costly(req)
        if req.method == 'HEAD':
            return HTTPNoContent(request=req, headers=headers)
        # Below listing_formats a listing is JSON, "[]" when empty, as
        # Swift's own: the middlewares in front of us parse it.
        return Response(status=200, request=req, headers=headers,
                        body=json.dumps(entries).encode('ascii'),
                        content_type='application/json; charset=utf-8')


class AccountListingContext(ListingContext):
    """GET of an account with a ``"/*"`` migration: Swift's containers and
    the source's buckets that have no local container yet."""

    def __init__(self, shunt, migration, buckets, account):
        super().__init__(shunt, None, None, account, '')
        self.migration = migration
        self.buckets = buckets

    def skip_remote(self):
        return self._account_migrated()

    def remote_page(self, params):
        return account_entries(self.buckets(), params)

    def remote_failed(self, req, err, body):
        # An account listing is still worth having without the buckets.
        self.logger.warning('cloud-shunt: %s: buckets not listed: %s',
                            self.migration.label, err)
        return Response(status=self._response_status,
                        headers=self._response_headers, body=body)

    def located(self):
        return False

    def _account_migrated(self):
        sysmeta = {k.lower()[len('x-account-sysmeta-'):]: v
                   for k, v in self._response_headers
                   if k.lower().startswith('x-account-sysmeta-')}
        return done.account_migrated(sysmeta, self.migration)


def account_entries(names, params):
    """Account listing entries for bucket ``names`` (sorted) within a
    listing's prefix, markers and delimiter, in its order."""
    entries, seen = [], set()
    low, high = (params.end_marker, params.marker) if params.reverse else \
        (params.marker, params.end_marker)
    for name in names:
        if not name.startswith(params.prefix) or (low and name <= low) or \
                (high and name >= high):
            continue
        if params.delimiter:
            cut = name.find(params.delimiter, len(params.prefix))
            if cut >= 0:
                subdir = name[:cut + len(params.delimiter)]
                if subdir not in seen:
                    seen.add(subdir)
                    entries.append({'subdir': subdir})
                continue
        entries.append({'name': name, 'count': 0, 'bytes': 0,
                        'last_modified': swift_time(0)})
    entries.sort(key=entry_key, reverse=params.reverse)
    return entries[:params.limit]


class BucketCache(object):
    """The bucket names of each ``"/*"`` migration's source, read at most
    every ``ttl`` seconds; ``lister(migration)`` reads them."""

    def __init__(self, lister, ttl=BUCKETS_TTL, clock=time.time):
        self.lister = lister
        self.ttl = ttl
        self.clock = clock
        self.cached = {}

    def names(self, migration):
        key = migration.signature()
        now = self.clock()
        hit = self.cached.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        names = sorted(self.lister(migration))
        if len(names) > MAX_BUCKETS:
            raise RemoteError('the source shows over %d buckets' %
                              MAX_BUCKETS)
        self.cached[key] = (now, names)
        return names
