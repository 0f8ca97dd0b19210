"""Large objects on a remote Swift: segments first, manifest last.

Segments go to ``<remote container>_segments`` as
``<object name>/<local timestamp>/<index:08d>``; those already there for
the same timestamp are found with one listing and not sent again, and the
segments of older versions are deleted once a new manifest is in place, so
a failed upload never leaves a manifest pointing at missing segments.
Up to PART_CONCURRENCY segments are read and sent at once, each streamed
from the local GET into the remote PUT (nothing spooled); the remote checks
each against the ETag sent with it.
"""
import base64
import functools
import json
from urllib.parse import quote, unquote

import eventlet

from swift_s3_sync.providers.base import PART_CONCURRENCY, RemoteError
from swift_s3_sync.providers.swift_wire import (
    SEGMENTS_SUFFIX,
    SEGMENT_EXPIRY_GRACE,
    MAX_FILE_SIZE,
    _SEGMENT_RE,
    _unquote_etag,
    _shape,
    _Part,
    _Source)


def _in_parallel(func, items, concurrency):
    """[func(item)] in order, ``concurrency`` at a time; every call has
    ended before the first failure is raised."""
    pool = eventlet.GreenPool(concurrency)
    running = [pool.spawn(func, item) for item in items]
    results, failure = [], None
    for job in running:
        try:
            results.append(job.wait())
        except Exception as err:
            failure = failure or err
    if failure is not None:
        raise failure
    return results


class SwiftLargeObjects(object):
    """The large-object half of SwiftProvider (a mixin: it uses the
    provider's _call, _put and remote_container)."""

    def store_key(self):
        """What names the remote store: providers with equal keys can
        refer to each other's objects."""
        m = self.mapping
        return ('swift', m.aws_endpoint, m.aws_identity, m.remote_account)

    def put_manifest(self, local, holders):
        """An SLO over segments this store already holds (``holders[i]``,
        a provider of this store, has ``local.segments[i]``): only the
        manifest is written, no bytes move.  Swift checks every segment."""
        self._refuse_name(local.container, local.name)
        manifest = []
        for segment, holder in zip(local.segments, holders):
            if segment.data is not None:
                manifest.append({'data': base64.b64encode(
                    segment.data).decode('ascii')})
                continue
            container = holder.remote_container(segment.container)
            entry = {'path': '/%s/%s' % (container, segment.name),
                     'etag': segment.etag}
            if segment.range:
                entry['range'] = '%d-%d' % segment.range
            manifest.append(entry)
        headers = self._object_headers(local)
        content_type = headers.pop('content-type', None)
        self._put(self.remote_container(local.container), local.name,
                  json.dumps(manifest), query_string='multipart-manifest=put',
                  content_type=content_type, headers=headers)
        if content_type:
            headers['content-type'] = content_type
        return self._written(local, headers)

    def segments_container(self, container):
        return self.remote_container(container) + SEGMENTS_SUFFIX

    @staticmethod
    def _timestamp(local):
        return getattr(local.timestamp, 'internal', local.timestamp)

    def segment_prefix(self, local):
        return '%s/%s/' % (local.name, self._timestamp(local))

    def _target_shape(self, local):
        if local.large == 'dlo' and not self.mapping.convert_dlo:
            return 'dlo'
        return 'slo' if local.large else None

    def _plan(self, local):
        """The remote segments of a large object, in order."""
        join = self._target_shape(local) == 'slo' and \
            self.mapping.min_segment_size
        parts, current, size = [], [], 0
        for segment in local.segments:
            if current and (size >= (join or 0) or
                            size + segment.size > MAX_FILE_SIZE):
                parts.append(_Part(len(parts), current))
                current, size = [], 0
            current.append(segment)
            size += segment.size
        if current:
            parts.append(_Part(len(parts), current))
        return parts

    # -- headers we send ----------------------------------------------------

    def _put_large(self, local):
        remote = self.remote_container(local.container)
        segments = self.segments_container(local.container)
        prefix = self.segment_prefix(local)
        parts = self._plan(local)
        existing = {item['name']: item for item in
                    self._listing(segments, prefix)}
        expiry = self._expiry_headers(local, grace=SEGMENT_EXPIRY_GRACE)

        def put(part):
            name = prefix + '%08d' % part.index
            etag = self._put_part(segments, name, local, part,
                                  existing.get(name), expiry)
            return {'path': '/%s/%s' % (segments, name), 'etag': etag,
                    'size_bytes': part.size}
        manifest = _in_parallel(put, parts, PART_CONCURRENCY)
        headers = self._object_headers(local)
        headers.update(self._expiry_headers(local))
        content_type = headers.pop('content-type', None)
        if self._target_shape(local) == 'slo':
            # Every segment was checked on its way; the SLO's own ETag is
            # not (it differs whenever pieces were joined or ranged).
            self._put(remote, local.name, json.dumps(manifest),
                      query_string='multipart-manifest=put',
                      content_type=content_type, headers=headers)
        else:
            headers['x-object-manifest'] = quote(segments + '/' + prefix)
            self._put(remote, local.name, '', content_length=0,
                      content_type=content_type, headers=headers)
        self._delete_old_segments(segments, local.name, prefix)
        if content_type:
            headers['content-type'] = content_type
        return self._written(local, headers)

    def _put_part(self, container, name, local, part, found, headers):
        """Upload one remote segment unless ``found`` (its listing entry)
        shows it is there already; returns its ETag."""
        if found and int(found['bytes']) == part.size and (
                part.etag is None or
                _unquote_etag(found['hash']) == part.etag):
            return _unquote_etag(found['hash'])
        body = _Source([functools.partial(local.open_segment, segment)
                        for segment in part.segments])
        try:
            reply = self._put(container, name, body, etag=part.etag,
                              content_length=part.size, headers=headers)
        finally:
            digest = body.md5.hexdigest()
            body.close()
        etag = _unquote_etag(reply.result)
        if part.etag is None and etag != digest:
            self._call('delete_object', container, name, expect=(404,))
            raise RemoteError('segment %s/%s: the server stored other bytes '
                              'than were read' % (container, name))
        return etag

    def _listing(self, container, prefix):
        reply = self._call('get_container', container, prefix=prefix,
                           full_listing=True, expect=(404,))
        return [] if reply.status == 404 else reply.result[1]

    def _delete_old_segments(self, container, name, keep_prefix):
        """Delete segments of older versions of ``name`` (only names of our
        own ``<name>/<timestamp>/<index>`` form)."""
        try:
            for item in self._listing(container, name + '/'):
                rest = item['name'][len(name) + 1:]
                if _SEGMENT_RE.match(rest) and \
                        not item['name'].startswith(keep_prefix):
                    self._call('delete_object', container, item['name'],
                               expect=(404,))
        except RemoteError as err:
            self.logger.warning('old segments of %r not deleted: %s',
                                name, err)

    def _remote_segments(self, container, name, headers):
        """[(container, name)] of the segments of a large object we wrote."""
        if _shape(headers) == 'slo':
            reply = self._call('get_object', container, name,
                               query_string='multipart-manifest=get',
                               expect=(404,))
            if reply.status == 404:
                return []
            found = []
            for entry in json.loads(reply.result[1]):
                path = entry.get('name', '').lstrip('/')
                if '/' in path:
                    found.append(tuple(path.split('/', 1)))
            return found
        segments, _, prefix = unquote(
            headers.get('x-object-manifest', '')).partition('/')
        if segments != container + SEGMENTS_SUFFIX or \
                not prefix.startswith(name + '/'):
            return []   # not our layout: leave it alone
        return [(segments, item['name'])
                for item in self._listing(segments, prefix)
                if _SEGMENT_RE.match(item['name'][len(name) + 1:])]

    def _expire_segments(self, local, remote_headers):
        container = self.remote_container(local.container)
        headers = self._expiry_headers(local, grace=SEGMENT_EXPIRY_GRACE)
        # Without X-Delete-At a POST removes the expiry.
        for segments, name in self._remote_segments(
                container, local.name, remote_headers):
            self._call('post_object', segments, name, headers=headers,
                       expect=(404,))
