"""The local side of a migration: listing, writing and deleting objects in
this cluster through Swift's InternalClient (an in-process proxy, no auth).

Every object the migrator writes carries the transient system metadata
``X-Object-Transient-Sysmeta-Swift-S3-Migrator-Source`` whose value is the
source timestamp the copy was given (also its X-Timestamp).  Swift drops
transient sysmeta when the object is overwritten or POSTed, so the header
says "this is still the migrator's copy": only such objects are deleted
when the source no longer has them.  Clients cannot set or see it through
a proxy (the gatekeeper removes sysmeta), only internal clients can.

Metadata and ACLs the migrator sets on a container (the account) from a
Swift source are recorded in the sysmeta ``X-Container-Sysmeta-Swift-S3-
Migrator-Followed`` (``X-Account-...``): a short digest of each name and
value it set.  When the source no longer has one, the local value is
removed if it is still the one the migrator set; a value a client changed
or added locally is never removed.

Large objects keep their pieces in ``<container>_segments`` as
``<name>/<source timestamp>/<index:08d>`` (see ``large``); the store
deletes the segments of a name with its manifest, and those of older
versions once a new manifest is in place.
"""
import hashlib
import json
import re

from swift.common.internal_client import UnexpectedResponse
from swift.common.swob import str_to_wsgi, wsgi_to_str
from swift.common.utils import Timestamp

from swift_s3_sync.migrator import done, errors
from swift_s3_sync.providers.base import CONTENT_HEADERS
from swift_s3_sync.local_swift import LocalError, LocalSwift, \
    has_middleware, object_timestamp

MIGRATED_HEADER = 'X-Object-Transient-Sysmeta-Swift-S3-Migrator-Source'

# Besides content headers and user metadata, what a copy keeps of its
# source: a Swift source's expiring object expires here at the same time.
KEPT_HEADERS = CONTENT_HEADERS + ('x-delete-at',)


def copy_headers(source_headers, timestamp):
    """The headers a copy of a source object is written with, from the
    source's Swift-style headers (metadata already decoded): its content
    headers, user metadata and X-Delete-At, and the source ``timestamp``
    (a Timestamp) as its X-Timestamp and the migrator's mark."""
    headers = {}
    for name, value in source_headers.items():
        name = name.lower()
        if value and (name.startswith('x-object-meta-') or
                      name in KEPT_HEADERS):
            headers[name] = value
    headers['x-timestamp'] = timestamp.internal
    headers[MIGRATED_HEADER] = timestamp.internal
    return headers


def refuse_unstorable(headers):
    """errors.Unsupported (until the source object changes) when Swift's
    own checks of user metadata refuse these headers (name and value
    sizes, count, total: S3 allows values Swift does not)."""
    from swift.common.constraints import check_metadata
    from swift.common.swob import Request
    refused = check_metadata(Request.blank('/', headers={
        k: str_to_wsgi(v) for k, v in headers.items()}), 'object')
    if refused is not None:
        raise errors.Unsupported('Swift refuses its metadata: %s' %
                                 refused.body.decode('utf-8', 'replace'))


def expired(source_headers, now):
    """Whether the source object's X-Delete-At has passed at ``now``: the
    source no longer serves it, and Swift refuses it in a PUT."""
    try:
        return float(source_headers.get('x-delete-at') or 'inf') <= now
    except ValueError:
        return False


SEGMENTS_SUFFIX = '_segments'
# What follows "<name>/" in the name of a segment the migrator wrote.
_OUR_SEGMENT = re.compile(r'^(\d{10}\.\d{5}(?:_[0-9a-f]{16})?/)\d{8}$')

# The name of a segment the migrator wrote, whole.
_OUR_SEGMENT_NAME = re.compile(
    r'/\d{10}\.\d{5}(?:_[0-9a-f]{16})?/\d{8}$')


def is_our_segment_name(name):
    """Whether ``name`` has the layout of the segments the migrator writes
    (``<name>/<timestamp>/<index, 8 digits>``)."""
    return bool(_OUR_SEGMENT_NAME.search(name))


# Results of delete_if_ours()
DELETED = 'deleted'
KEPT = 'kept'          # written or changed by a client: never deleted
ABSENT = 'absent'


# Sysmeta recording what follow_headers() set, per kind of path.
FOLLOWED = {'container': 'X-Container-Sysmeta-Swift-S3-Migrator-Followed',
            'account': 'X-Account-Sysmeta-Swift-S3-Migrator-Followed'}
# Sysmeta follow_headers() may set and remove (Swift's versioned writes);
# any other is never removed by it.
FOLLOWED_SYSMETA = ('x-container-sysmeta-versions-location',
                    'x-container-sysmeta-versions-mode')
# What the proxy shows its owner under a client's name but only an auth
# middleware (tempauth, keystoneauth) translates on a write, which the
# in-process proxy has none of: written as the sysmeta it is kept in.
WRITTEN_AS = {'x-account-access-control':
              'x-account-sysmeta-core-access-control'}


def _followed_digest(name, value):
    """8 hex digits of a header as set from the source: enough to tell
    whether a local value is still the one set (not a client's), and 90
    of them fit a header line."""
    data = '%s\n%s' % (name.lower(), value)
    return hashlib.md5(data.encode('utf-8', 'surrogateescape')).hexdigest()[:8]


def followed_record(wanted):
    """The FOLLOWED value for the source headers ``wanted``."""
    return ','.join(sorted(_followed_digest(k, v) for k, v in wanted.items()
                           if v))


MAX_CONTAINER_NAME_BYTES = 256   # Swift's default constraint


def is_valid_container(name):
    """Why ``name`` cannot be a local container, or None."""
    if not name or '/' in name:
        return 'not a container name'
    if len(name.encode('utf-8', 'surrogateescape')) > \
            MAX_CONTAINER_NAME_BYTES:
        return 'longer than %d bytes' % MAX_CONTAINER_NAME_BYTES
    return None


def segment_container(container):
    """Where the migrator puts the segments of ``container``'s large
    objects."""
    return container + SEGMENTS_SUFFIX


def _is_large(headers):
    return (headers.get('x-static-large-object', '').lower() in ('true', '1')
            or 'x-object-manifest' in headers)


class LocalStore(object):
    """Local operations the migrator needs, on one InternalClient."""

    def __init__(self, client):
        self.client = client
        self.swift = LocalSwift(client)
        self._containers = set()   # (account, container) known to exist
        self._symlinks = None

    def writes_symlinks(self):
        """Whether the in-process pipeline has Swift's symlink middleware
        (the migrator's own has; one from internal_client_conf_path may
        not)."""
        if self._symlinks is None:
            from swift.common.middleware.symlink import SymlinkMiddleware
            self._symlinks = has_middleware(self.client, SymlinkMiddleware)
        return self._symlinks

    # -- listing -------------------------------------------------------------
    def list_range(self, account, container, marker, end, prefix='',
                   page=1000):
        """Local listing entries (dicts) after ``marker`` up to ``end``
        included (None: to the end), with ``prefix``; pages of ``page``
        names are read only as far as needed.  A missing container lists
        nothing."""
        path = self.client.make_path(account, container)
        while True:
            # swob takes query values and headers as WSGI strings.
            params = {'format': 'json', 'marker': str_to_wsgi(marker),
                      'limit': str(page)}
            if prefix:
                params['prefix'] = str_to_wsgi(prefix)
            try:
                resp = self.client.make_request('GET', path, {}, (2, 404),
                                                params=params)
            except UnexpectedResponse as err:
                raise LocalError('listing %s/%s: %s' % (account, container,
                                                        err))
            if resp.status_int != 200:
                return
            items = json.loads(resp.body)
            for item in items:
                if end is not None and item['name'] > end:
                    return
                yield item
            if len(items) < page or (end is not None and
                                     items[-1]['name'] >= end):
                return
            marker = items[-1]['name']

    # -- containers ----------------------------------------------------------
    def ensure_container(self, account, container, storage_policy=None,
                         headers=None):
        """Create the local container (with the storage policy) unless it
        exists; remembered, so it costs a request once per process.
        ``headers``: more headers for the creating PUT (container metadata
        and ACLs), or a callable returning them, called only when the
        container is created.  Returns True when this call created it."""
        if (account, container) in self._containers:
            return False
        created = False
        try:
            exists = self.client.container_exists(account, container)
            if not exists:
                extra = (headers() if callable(headers) else headers) or {}
                put_headers = {k: str_to_wsgi(v) for k, v in extra.items()}
                if extra:
                    put_headers[FOLLOWED['container']] = \
                        followed_record(extra)
                if storage_policy:
                    put_headers['X-Storage-Policy'] = storage_policy
                self.client.make_request(
                    'PUT', self.client.make_path(account, container),
                    put_headers, (2,))
                created = True
        except UnexpectedResponse as err:
            raise LocalError('creating container %s/%s: %s' % (
                account, container, err))
        self._containers.add((account, container))
        return created

    def follow_headers(self, account, container, wanted):
        """Bring the ``wanted`` metadata and ACL values of the source onto
        the local container (the account with ``container`` None), the
        newer change winning as for objects: a value the source changed
        since the migrator last set it is set; one it removed goes if the
        local value is still the one the migrator set (see FOLLOWED); a
        value clients added, changed or removed locally since is left as
        it is.  A container that is not there is left alone (it gets them
        when created).  Returns the names changed, a removed one as
        ``"<name> (removed)"``."""
        record = FOLLOWED['container' if container else 'account'].lower()
        names = {k.lower() for k in wanted}

        def changes(current):
            ours = set(current.get(record, '').split(','))
            posted = {name: '' for name, value in current.items()
                      if name not in names and value
                      and ('-sysmeta-' not in name or
                           name in FOLLOWED_SYSMETA)
                      and _followed_digest(name, value) in ours}
            posted.update((k, v) for k, v in wanted.items()
                          if _followed_digest(k, v) not in ours)
            posted[record] = followed_record(wanted)
            return posted
        posted = self._post_changes(account, container, changes) or {}
        return sorted(name if value else '%s (removed)' % name
                      for name, value in posted.items() if name != record)

    def mark_migrated(self, account, container, indexes, mark):
        """Set the migrated mark of each replica index in ``indexes`` to
        ``mark`` (None: remove it); a container that is not there is left
        alone."""
        marks = {done.container_mark_name(i): mark or '' for i in indexes}
        self._post_changes(account, container, lambda current: marks)

    def mark_account_migrated(self, account, mark):
        """Set the account's ``"/*"`` mark (None: remove it)."""
        self._post_changes(account, None,
                           lambda current: {done.ACCOUNT_MARK: mark or ''})

    def _post_changes(self, account, container, changes):
        """One HEAD of the container (the account with ``container``
        None), then one POST of the headers ``changes(current headers)``
        returns whose values differ ('' removes one), if any.  Returns
        what was posted (lower-case names), or None when the container is
        not there."""
        path = self.client.make_path(account, container) if container \
            else self.client.make_path(account)
        where = '/'.join(filter(None, (account, container)))
        try:
            resp = self.client.make_request('HEAD', path, {}, (2, 404))
            if resp.status_int == 404:
                return None
            current = {k.lower(): wsgi_to_str(v)
                       for k, v in resp.headers.items()}
            posted = {k.lower(): v for k, v in changes(current).items()
                      if current.get(k.lower(), '') != v}
            if posted:
                self.client.make_request(
                    'POST', path, {WRITTEN_AS.get(k, k): str_to_wsgi(v)
                                   for k, v in posted.items()}, (2,))
        except UnexpectedResponse as err:
            raise LocalError('updating %s: %s' % (where, err))
        return posted

    def all_containers_exist(self, account, containers):
        """True when every one of ``containers`` exists locally (a HEAD for
        each not known to exist yet)."""
        for container in containers:
            if (account, container) in self._containers:
                continue
            try:
                if not self.client.container_exists(account, container):
                    return False
            except UnexpectedResponse as err:
                raise LocalError('checking container %s/%s: %s' % (
                    account, container, err))
            self._containers.add((account, container))
        return True

    def forget_container(self, account, container):
        """A PUT answered 404: the container went away."""
        self._containers.discard((account, container))

    # -- objects -------------------------------------------------------------
    def put(self, account, container, name, body, headers):
        """PUT ``body`` (a file-like read once); returns the response.
        The proxy answers 202 (not 201) when the object servers hold a
        newer object and refused it (409).  A 404 (container deleted
        meanwhile) forgets the container."""
        path = self.client.make_path(account, container, name)
        wsgi_headers = {k: str_to_wsgi(v) for k, v in headers.items()}
        try:
            resp = self.client.make_request('PUT', path, wsgi_headers, (2,),
                                            body_file=body)
        except UnexpectedResponse as err:
            if err.resp is not None and err.resp.status_int == 404:
                self.forget_container(account, container)
            raise LocalError('PUT %s/%s: %s' % (container, name, err))
        return resp

    def head(self, account, container, name):
        return self.swift.head(account, container, name)

    def delete(self, account, container, name):
        """DELETE an object (a segment); one already gone is fine."""
        path = self.client.make_path(account, container, name)
        try:
            self.client.make_request('DELETE', path, {}, (2, 404))
        except UnexpectedResponse as err:
            raise LocalError('DELETE %s/%s: %s' % (container, name, err))

    # -- segments of large objects -------------------------------------------
    def delete_segments(self, account, segments, names):
        """Delete segments (best effort: a failure is left for the next
        clean-up of that name)."""
        for name in names:
            try:
                self.delete(account, segments, name)
            except LocalError:
                pass

    def drop_other_segments(self, account, container, name, keep=None):
        """Delete the segments the migrator wrote for ``name`` except those
        under ``keep`` (``<name>/<timestamp>/``; None: all of them)."""
        segments = segment_container(container)
        prefix = name + '/'
        doomed = []
        for entry in self.list_range(account, segments, '', None,
                                     prefix=prefix):
            rest = entry['name'][len(prefix):]
            match = _OUR_SEGMENT.match(rest)
            if match and (keep is None or prefix + match.group(1) != keep):
                doomed.append(entry['name'])
        self.delete_segments(account, segments, doomed)
        return len(doomed)

    def delete_if_ours(self, account, container, name):
        """Delete the object only when it is still the copy the migrator
        wrote: it carries MIGRATED_HEADER and nothing changed it since (its
        newest timestamp is the one the migrator gave it).  The DELETE
        carries that timestamp plus one offset, so an object server that
        holds a newer write refuses it (LocalSwift.delete_version)."""
        headers = self.head(account, container, name)
        if headers is None:
            return ABSENT
        marker = headers.get(MIGRATED_HEADER.lower())
        if not marker:
            return KEPT
        try:
            written = Timestamp(marker)
        except ValueError:
            return KEPT
        if object_timestamp(headers) != written:
            return KEPT
        if not self.swift.delete_version(account, container, name, written):
            return KEPT
        if _is_large(headers):
            self.drop_other_segments(account, container, name)
        return DELETED
