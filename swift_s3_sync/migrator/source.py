"""The source of a migration, read through the sync daemon's providers.

A provider is made for a *mapping*; the migrator hands it one built from
the migration: the same endpoint, credentials and bucket, the local
container as the mapping's container, and the object names as they are
(``custom_prefix`` ""), so ``list``, ``head`` and ``get`` see the source's
own names.  The migration's ``storage_policy`` is for the local containers
and is not passed on (a mapping's would be for remote ones).

Other buckets (containers) of the same source -- every bucket of a ``"/*"``
migration, the segment containers of a Swift source -- are read through
*derived* providers: the same connections (one boto3 client, one Swift
connection pool and token) with another bucket, so a source with many
buckets costs one client, not one per bucket.

What the providers do not offer (the Provider contract is about objects)
is here: the source's buckets or containers (``list_buckets``) and the
metadata and ACLs of a Swift source's container (``container_headers``).
A provider (or a test's fake) that has methods of those names is asked
through them instead.
"""
import copy

from swift_s3_sync.config import MAPPING_KEYS, REQUIRED, Mapping
from swift_s3_sync.providers import provider_for

# Container headers of a Swift source that the local container gets when
# the migrator creates it.
ACL_HEADERS = ('x-container-read', 'x-container-write')
CONTAINER_META_PREFIX = 'x-container-meta-'


def source_mapping(migration, bucket, container):
    """A Mapping that reads ``bucket`` of ``migration``'s source for the
    local ``container``."""
    values = {key: spec.default for key, spec in MAPPING_KEYS.items()
              if spec.default is not REQUIRED}
    values.update({key: value for key, value in migration.values().items()
                   if key in MAPPING_KEYS})
    values.update(container=container, aws_bucket=bucket, custom_prefix='',
                  storage_policy=None)
    return Mapping(migration.index, values, migration.label)


def source_provider(migration, bucket, container, logger=None,
                    max_connections=10):
    return provider_for(source_mapping(migration, bucket, container), logger,
                        max_connections=max_connections)


def derived_provider(base, migration, bucket, container):
    """A provider for another ``bucket`` of ``base``'s source sharing its
    connections; close ``base`` only (closing it closes them all)."""
    if migration.protocol == 's3':
        base.client   # made now, so that every derived provider shares it
    derived = copy.copy(base)
    derived.mapping = source_mapping(migration, bucket, container)
    return derived


def list_buckets(provider):
    """The names of every bucket (S3) or container (Swift) the source's
    credentials see, sorted.  Raises RemoteError."""
    own = getattr(provider, 'list_buckets', None)
    if own is not None:
        return sorted(own())
    if provider.mapping.protocol == 'swift':
        reply = provider._call('get_account', full_listing=True)
        return sorted(item['name'] for item in reply.result[1])
    names, params = [], {}
    while True:
        resp = provider._call('list_buckets', **params)
        names.extend(b['Name'] for b in resp.get('Buckets', []))
        token = resp.get('ContinuationToken')
        if not token:
            return sorted(names)
        params = {'ContinuationToken': token}


def container_headers(provider, container):
    """The metadata (``x-container-meta-*``), read/write ACLs and
    versioned-writes setting (see versioning_sysmeta) of a Swift source's
    container ({} for S3, or when it is gone).  The ACLs are only shown to
    the container's owner (or a reseller admin): with other credentials
    there are none to copy."""
    own = getattr(provider, 'container_headers', None)
    if own is not None:
        return own(container)
    if provider.mapping.protocol != 'swift':
        return {}
    reply = provider._call('head_container', provider.remote_container(
        container), expect=(404,))
    if reply.status == 404:
        return {}
    wanted = {name: value for name, value in reply.headers.items()
              if (name.startswith(CONTAINER_META_PREFIX) or
                  name in ACL_HEADERS) and value}
    wanted.update(versioning_sysmeta(reply.headers))
    return wanted


# Swift's (legacy) versioned writes: the container's setting as a client
# sees it, and the sysmeta its middleware keeps it in.
VERSIONS_CLIENT = {'x-versions-location': 'stack',
                   'x-history-location': 'history'}
VERSIONS_LOCATION = 'x-container-sysmeta-versions-location'
VERSIONS_MODE = 'x-container-sysmeta-versions-mode'


def versioning_sysmeta(headers):
    """A source container's versioned-writes setting (X-Versions-Location
    or X-History-Location) as the sysmeta Swift keeps it in; written so
    through the migrator's in-process proxy, which has no versioned_writes
    middleware to translate it ({} when it has none)."""
    for name, mode in VERSIONS_CLIENT.items():
        if headers.get(name):
            return {VERSIONS_LOCATION: headers[name], VERSIONS_MODE: mode}
    return {}


def acl_headers(headers):
    """The read/write ACLs among a source container's ``headers``: what
    the ``_segments`` container of its large objects gets too (a reader
    the ACL lets in must be able to read the segments)."""
    return {k: v for k, v in headers.items() if k in ACL_HEADERS}


class GoneSource(object):
    """A bucket (container) gone from the source: it lists nothing, so
    every local copy the migrator wrote from it is deleted as its source
    object's delete would delete it (not one a client changed since)."""

    def __init__(self, provider):
        self._provider = provider

    def __getattr__(self, name):
        return getattr(self._provider, name)

    def list(self, *args, **kwargs):
        return iter(())


def bucket_gone(provider, bucket):
    """True only when the source answers that ``bucket`` (the bucket of
    ``provider``) is not there: a 404, not any other answer or error."""
    own = getattr(provider, 'bucket_gone', None)
    if own is not None:
        return own(bucket)
    if provider.mapping.protocol == 'swift':
        reply = provider._call('head_container', provider.remote_container(
            bucket), expect=(404,))
        return reply.status == 404
    resp = provider._call('head_bucket', expect=(404,),
                          Bucket=provider.mapping.aws_bucket)
    return resp.get('ResponseMetadata', {}).get('HTTPStatusCode') == 404


ACCOUNT_META_PREFIX = 'x-account-meta-'


ACCOUNT_ACL = 'x-account-access-control'


def account_headers(provider):
    """The account metadata (``x-account-meta-*``) and account ACL
    (X-Account-Access-Control) of a Swift source ({} for S3, which has
    none).  Swift shows the ACL to the account's owner only."""
    own = getattr(provider, 'account_headers', None)
    if own is not None:
        return own()
    if provider.mapping.protocol != 'swift':
        return {}
    reply = provider._call('head_account')
    wanted = {name: value for name, value in reply.headers.items()
              if name.startswith(ACCOUNT_META_PREFIX) and value}
    acl = _account_acl(reply.headers.get(ACCOUNT_ACL))
    if acl:
        wanted[ACCOUNT_ACL] = acl
    return wanted


def _account_acl(value):
    """An account ACL as the local proxy shows it (Swift's own format of
    the parsed JSON), so that it compares equal to what was set; None
    when there is none (or it is not an ACL)."""
    from swift.common.middleware.acl import format_acl, parse_acl
    acl = parse_acl(version=2, data=value) if value else None
    return format_acl(version=2, acl_dict=acl) if acl else None


def object_count(provider, container):
    """How many objects a Swift source's container holds (its
    X-Container-Object-Count, which Swift updates asynchronously), or None
    (S3 does not say, or the container is gone)."""
    own = getattr(provider, 'object_count', None)
    if own is not None:
        return own(container)
    if provider.mapping.protocol != 'swift':
        return None
    reply = provider._call('head_container', provider.remote_container(
        container), expect=(404,))
    if reply.status == 404:
        return None
    try:
        return int(reply.headers.get('x-container-object-count'))
    except (TypeError, ValueError):
        return None
