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

Migrations
----------
The migrations of the same file (``migrations``, see swift-s3-migrator)
are served too: while one runs, the source's objects that are not copied
yet are read, listed and (on a whole GET) brought in through the local
container, and the source is never written.  Once the migrator has marked
a container migrated the shunt no longer asks the source for it.  See
:mod:`swift_s3_sync.shunt_migration`.

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
import eventlet
from swift.common import constraints
from swift.common.registry import register_swift_info
from swift.common.swob import Request, wsgi_to_str
from swift.common.utils import config_true_value, get_logger

from swift_s3_sync.mapping_table import MappingTable
from swift_s3_sync.providers.base import RemoteError
from swift_s3_sync.remote_guard import (
    DEFAULT_FAILURES,
    DEFAULT_RETRY_INTERVAL,
    DEFAULT_TIMEOUT,
    Guards)
from swift_s3_sync.shunt_contexts import (  # noqa: F401 (re-exported)
    AUTH_MIDDLEWARES,
    BYPASS,
    ENCRYPTION_MIDDLEWARES,
    SYNC_STATUS,
    ListingContext,
    ObjectContext,
    remote_location)
from swift_s3_sync.shunt_migration import (
    AccountListingContext,
    BucketCache,
    MigrationListingContext,
    MigrationObjectContext)
from swift_s3_sync.shunt_restore_large import Restorer


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
                                          follow=True, migrations=True)
        self.guards = Guards(
            timeout=conf_number(conf, 'remote_timeout', DEFAULT_TIMEOUT),
            failures=int(conf_number(conf, 'remote_failures',
                                     DEFAULT_FAILURES, whole=True)),
            retry_interval=conf_number(conf, 'remote_retry_interval',
                                       DEFAULT_RETRY_INTERVAL),
            logger=self.logger)
        self.restorer = Restorer(app, conf, self.logger)
        self.buckets = BucketCache(self._bucket_names)
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
                2, 4, True)
        except ValueError:
            return None
        if not constraints.valid_api_version(version):
            return None
        account = wsgi_to_str(account)
        container = wsgi_to_str(container) if container else None
        obj = wsgi_to_str(obj) if obj else None
        if container is None:
            return self._account_target(method, account)
        found = self.table.lookup(account, container)
        if found is None:
            return self._migration_target(method, account, container, obj)
        if not obj and method != 'GET':
            return None   # container HEAD/PUT/POST/DELETE
        mapping, provider = found
        provider = self.guards.guard(mapping, provider)
        args = [self, mapping, provider, account, container]
        if obj:
            return ObjectContext, args + [obj]
        return ListingContext, args

    def _migration_target(self, method, account, container, obj):
        """For a container a migration fills (see shunt_migration)."""
        sources = self.table.sources
        if sources is None or (obj and method == 'PUT') or (
                not obj and method not in ('GET', 'HEAD')):
            return None
        found = sources.lookup(account, container)
        if found is None:
            return None
        migration, mapping, provider = found
        args = [self, migration, mapping,
                self.guards.guard(mapping, provider), account, container]
        if obj:
            return MigrationObjectContext, args + [obj]
        return MigrationListingContext, args

    def _account_target(self, method, account):
        """An account GET with a "/*" migration: its buckets listed."""
        sources = self.table.sources
        migration = sources and method == 'GET' and \
            sources.migration(account)
        if not migration:
            return None
        return AccountListingContext, [self, migration, lambda: \
            self.buckets.names(migration), account]

    def _bucket_names(self, migration):
        """A "/*" migration's buckets, within the shunt's remote
        deadline."""
        timer = eventlet.Timeout(self.guards.timeout)
        try:
            return self.table.sources.bucket_names(migration)
        except eventlet.Timeout as late:
            if late is not timer:
                raise
            raise RemoteError('no bucket list within %s s' %
                              self.guards.timeout)
        finally:
            timer.cancel()

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
