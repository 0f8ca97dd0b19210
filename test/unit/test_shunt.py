"""cloud-shunt against a fake Swift (real container broker for listings)
and a fake provider."""
import email.utils
import hashlib
import http.client
import json
import os
import shutil
import tempfile
import time
import unittest
from unittest import mock

import eventlet

from swift.common.exceptions import ChunkReadError
from swift.common.middleware.listing_formats import ListingFilter
from swift.common.swob import (
    HTTPForbidden, HTTPUnauthorized, Request, Response, str_to_wsgi)

from swift_s3_sync import shunt, mapping_table
from swift_s3_sync.providers.base import (
    DATA, EQUAL, METADATA, RemoteError, RemoteObject)
from test.unit.test_listing import Broker

SECRET = 's3cr3t-value'
ACCOUNT = 'AUTH_test'


class CaptureLogger(object):
    def __init__(self):
        self.lines = []

    def _log(self, level, msg, *args):
        self.lines.append((level, msg % args if args else msg))

    def error(self, msg, *args):
        self._log('error', msg, *args)

    def warning(self, msg, *args):
        self._log('warning', msg, *args)

    def info(self, msg, *args):
        self._log('info', msg, *args)

    def debug(self, msg, *args):
        self._log('debug', msg, *args)

    def text(self):
        return '\n'.join(line for _, line in self.lines)


def md5(data):
    return hashlib.md5(data).hexdigest()


def http_date(epoch):
    return email.utils.formatdate(epoch, usegmt=True)


class FakeSwift(object):
    """What lies below the shunt: objects in memory, a real container
    broker per container, and the proxy's way of calling swift.authorize
    (again, with the ACL, after a first denial of a GET/HEAD)."""

    def __init__(self):
        self.objects = {}
        self.brokers = {}
        self.calls = []
        self.acl = None
        self.put_started = []
        self.put_results = []

    def close(self):
        for broker in self.brokers.values():
            broker.close()

    def add_container(self, container):
        self.brokers[container] = Broker()

    def add(self, container, name, body, headers=None, timestamp=None):
        headers = dict(headers or {})
        headers.setdefault('Content-Type', 'application/octet-stream')
        headers['Etag'] = md5(body)
        headers['X-Timestamp'] = timestamp or '%.5f' % time.time()
        headers['Last-Modified'] = http_date(float(headers['X-Timestamp']))
        self.objects[(container, name)] = (headers, body)
        self.brokers[container].put(name, len(body), md5(body))

    def __call__(self, env, start_response):
        req = Request(env)
        self.calls.append((req.method, req.path, req.query_string))
        try:
            _, _, container, obj = req.split_path(2, 4, True)
        except ValueError:
            return Response(status=404)(env, start_response)
        if not container:
            return Response(status=204)(env, start_response)
        authorize = env.get('swift.authorize')
        if authorize:
            denial = authorize(req)
            if denial and req.method in ('GET', 'HEAD'):
                req.acl = self.acl
                denial = authorize(req)
            if denial:
                return denial(env, start_response)
        if not obj:
            return self._listing(req, container)(env, start_response)
        handler = getattr(self, '_' + req.method.lower(),
                          lambda *a: Response(status=405))
        return handler(req, container, obj)(env, start_response)

    def _listing(self, req, container):
        broker = self.brokers.get(container)
        if broker is None:
            return Response(status=404)
        from swift_s3_sync.listing import listing_params
        entries = broker.params_listing(listing_params(req))
        return Response(status=200, body=json.dumps(entries).encode(),
                        content_type='application/json; charset=utf-8',
                        headers={'X-Container-Object-Count': '1',
                                 'X-Trans-Id': 'tx-list'})

    def _get(self, req, container, obj):
        if (container, obj) not in self.objects:
            return Response(status=404, body=b'Not Found',
                            headers=dict(getattr(self, 'cors', {}),
                                         **{'X-Trans-Id': 'tx-404'}))
        headers, body = self.objects[(container, obj)]
        return Response(status=200, headers=dict(headers), body=body,
                        request=req, conditional_response=True)
    _head = _get

    def _put(self, req, container, obj):
        self.put_started.append(obj)
        resp = self._store(req, container, obj)
        self.put_results.append(resp.status_int)
        return resp

    def _store(self, req, container, obj):
        if req.headers.get('If-None-Match') == '*' and \
                (container, obj) in self.objects:
            return Response(status=412)
        length = int(req.headers['Content-Length'])
        data = b''
        try:
            while len(data) < length:
                chunk = req.environ['wsgi.input'].read(65536)
                if not chunk:
                    break
                data += chunk
        except ChunkReadError:
            return Response(status=499)
        if len(data) < length:
            return Response(status=499)
        if 'Etag' in req.headers and req.headers['Etag'] != md5(data):
            return Response(status=422)
        headers = {k: v for k, v in req.headers.items()
                   if k.lower().startswith('x-object-meta-')
                   or k.lower() == 'content-type'}
        self.add(container, obj, data, headers)
        return Response(status=201)

    def _post(self, req, container, obj):
        if (container, obj) not in self.objects:
            return Response(status=404)
        return Response(status=202)

    def _delete(self, req, container, obj):
        if self.objects.pop((container, obj), None) is None:
            return Response(status=404)
        return Response(status=204)


class FakeProvider(object):
    """Provider contract in memory; bodies come in small chunks."""

    def __init__(self, mapping=None, logger=None):
        self.mapping = mapping
        self.objects = {}
        self.calls = []
        self.error = None
        self.chunk = 5
        self.short = False
        self.delay = 0

    def key_prefix(self, container):
        return 'pre/%s/' % container

    def put_object(self, container, name, body, headers=None,
                   last_modified=1700000000.0):
        headers = dict(headers or {})
        headers.setdefault('content-type', 'text/plain')
        self.objects[(container, name)] = (headers, body, last_modified)

    def _call(self, op, *args):
        self.calls.append((op,) + args)
        if self.delay:
            eventlet.sleep(self.delay)
        if self.error:
            raise self.error

    def _headers(self, container, name):
        headers, body, modified = self.objects[(container, name)]
        headers = dict(headers, etag=md5(body),
                       **{'content-length': str(len(body)),
                          'last-modified': http_date(modified)})
        return headers, body, modified

    def head(self, container, name):
        self._call('head', container, name)
        if (container, name) not in self.objects:
            return None
        headers, body, modified = self._headers(container, name)
        return RemoteObject(name, md5(body), len(body), modified,
                            headers=headers)

    def get(self, container, name, headers=None):
        self._call('get', container, name, dict(headers or {}))
        if (container, name) not in self.objects:
            return 404, {}, iter([])
        out, body, modified = self._headers(container, name)
        headers = headers or {}
        since = headers.get('if-modified-since')
        if since and modified <= email.utils.parsedate_to_datetime(
                since).timestamp():
            return 304, {'etag': out['etag']}, iter([])
        status = 200
        if 'range' in headers:
            first, last = headers['range'].split('=')[1].split('-')
            first, last = int(first), min(int(last), len(body) - 1)
            out['content-range'] = 'bytes %d-%d/%d' % (first, last,
                                                       len(body))
            body = body[first:last + 1]
            out['content-length'] = str(len(body))
            status = 206
        if self.short:
            body = body[:-1]
        return status, out, iter([body[i:i + self.chunk]
                                  for i in range(0, len(body), self.chunk)])

    def list(self, container, prefix='', marker='', end_marker='',
             limit=1000):
        self._call('list', container)
        names = sorted(n for c, n in self.objects if c == container)
        count = 0
        for name in names:
            if not name.startswith(prefix) or (marker and name <= marker):
                continue
            if end_marker and name >= end_marker:
                return
            _, body, modified = self.objects[(container, name)]
            yield RemoteObject(name, md5(body), len(body), modified)
            count += 1
            if count >= limit:
                return

    def get_manifest(self, container, name, remote=None):
        self._call('get_manifest', container, name)
        return getattr(self, 'manifests', {}).get((container, name))

    def compare(self, local, remote):
        if local.etag != remote.etag:
            return DATA
        meta = {k: v for k, v in local.headers.items()
                if k.startswith('x-object-meta-')}
        theirs = {k: v for k, v in remote.headers.items()
                  if k.startswith('x-object-meta-')}
        return EQUAL if meta == theirs else METADATA

    def update_metadata(self, local, remote):
        self._call('update_metadata', local.container, local.name)
        _, body, modified = self.objects[(local.container, local.name)]
        self.objects[(local.container, local.name)] = (
            dict(local.headers), body, modified)
        self.updated = local

    def delete(self, container, name, remote=None):
        self._call('delete', container, name)
        return self.objects.pop((container, name), None) is not None


def mapping(container='photos', **extra):
    values = {'account': ACCOUNT, 'container': container,
              'aws_bucket': 'bucket', 'aws_identity': 'id',
              'aws_secret': SECRET,
              'aws_endpoint': 'http://user:%s@remote.example:9000' % SECRET,
              'merge_namespaces': True}
    values.update(extra)
    return values


class ShuntTestCase(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='shunt-test-')
        self.conf_file = os.path.join(self.tmp, 'sync.json')
        self.providers = {}
        patcher = mock.patch.object(mapping_table, 'provider_for', self._provider)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.write_config([mapping()])
        self.swift = FakeSwift()
        self.swift.add_container('photos')
        self.logger = CaptureLogger()
        self.now = [1000.0]
        self.table = shunt.MappingTable(self.conf_file, self.logger,
                                        clock=lambda: self.now[0])
        self.app = shunt.CloudShunt(self.swift, {'conf_file':
                                                 self.conf_file},
                                    logger=self.logger, table=self.table)

    def tearDown(self):
        self.swift.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _provider(self, m, logger=None, **options):
        provider = FakeProvider(m, logger)
        self.providers[m.container] = provider
        return provider

    @property
    def remote(self):
        return self.providers['photos']

    def write_config(self, mappings, text=None):
        with open(self.conf_file + '.tmp', 'w') as f:
            f.write(text if text is not None else json.dumps(
                {'status_dir': self.tmp, 'containers': mappings}))
        os.rename(self.conf_file + '.tmp', self.conf_file)

    def reload(self):
        self.now[0] += 1.5
        self.table.check()

    def request(self, path, method='GET', headers=None, allow=True,
                **kwargs):
        env = {}
        if allow is not None:
            env['swift.authorize'] = (
                (lambda req: None) if allow is True else allow)
        env.update(kwargs.pop('environ', {}))
        req = Request.blank('/v1/%s/%s' % (ACCOUNT, path),
                            environ=dict(env, REQUEST_METHOD=method),
                            headers=headers or {}, **kwargs)
        return req.get_response(self.app)

    def settle(self):
        for _ in range(20):
            eventlet.sleep(0)


class TestPassThrough(ShuntTestCase):

    def test_filter_factory(self):
        with self.assertRaises(ValueError):
            shunt.filter_factory({})
        factory = shunt.filter_factory({}, conf_file=self.conf_file)
        self.assertIsInstance(factory(self.swift), shunt.CloudShunt)

    def test_unmapped_container_and_other_paths(self):
        self.swift.add_container('other')
        for path in ('other/x', 'other', ''):
            resp = self.request(path)
            self.assertIn(resp.status_int, (200, 204, 404))
        resp = Request.blank('/info').get_response(self.app)
        self.assertEqual(404, resp.status_int)
        self.assertEqual([], self.remote.calls)

    def test_mapping_without_merge_namespaces(self):
        self.remote.put_object('photos', 'x', b'data')
        self.write_config([mapping(merge_namespaces=False)])
        self.reload()
        self.assertIsNone(self.table.lookup(ACCOUNT, 'photos'))
        self.assertEqual(404, self.request('photos/x').status_int)
        self.assertEqual([], self.remote.calls)

    def test_local_objects_never_touch_the_remote(self):
        self.swift.add('photos', 'here', b'local bytes')
        self.remote.put_object('photos', 'here', b'remote bytes')
        for method in ('GET', 'HEAD', 'POST', 'DELETE'):
            resp = self.request('photos/here', method)
            self.assertTrue(resp.is_success, method)
        self.assertEqual([], self.remote.calls)

    def test_other_methods_pass(self):
        self.remote.put_object('photos', 'x', b'data')
        for method, path in (('PUT', 'photos/x'), ('OPTIONS', 'photos/x'),
                             ('COPY', 'photos/x'), ('HEAD', 'photos'),
                             ('POST', 'photos')):
            before = len(self.swift.calls)
            resp = self.request(path, method, body=b'')
            # Swift got the request itself, once, and its answer is ours.
            self.assertEqual([(method, '/v1/%s/%s' % (ACCOUNT, path))],
                             [c[:2] for c in self.swift.calls[before:]])
            direct = Request.blank('/v1/%s/%s' % (ACCOUNT, path),
                                   environ={'REQUEST_METHOD': method},
                                   body=b'').get_response(self.swift)
            self.assertEqual((direct.status_int, direct.body),
                             (resp.status_int, resp.body), method)
        self.assertEqual(b'', self.swift.objects[('photos', 'x')][1])
        self.assertEqual([], self.remote.calls)

    def test_bypass_header(self):
        self.remote.put_object('photos', 'x', b'data')
        resp = self.request('photos/x',
                            headers={'X-Cloud-Shunt-Bypass': 'true'})
        self.assertEqual(404, resp.status_int)
        self.assertEqual([], self.remote.calls)


class TestAuthorisation(ShuntTestCase):

    def test_denied_requests_never_reach_the_remote(self):
        self.remote.put_object('photos', 'x', b'data')
        for denial in (HTTPUnauthorized, HTTPForbidden):
            for method, path in (('GET', 'photos/x'), ('HEAD', 'photos/x'),
                                 ('POST', 'photos/x'),
                                 ('DELETE', 'photos/x'), ('GET', 'photos')):
                resp = self.request(path, method,
                                    allow=lambda req, d=denial: d())
                self.assertEqual(denial().status_int, resp.status_int)
        self.assertEqual([], self.remote.calls)

    def test_allowed_on_second_look_with_the_acl(self):
        self.remote.put_object('photos', 'x', b'data')
        self.swift.acl = '.r:*'

        def authorize(req):
            return None if getattr(req, 'acl', None) == '.r:*' else \
                HTTPUnauthorized()
        resp = self.request('photos/x', allow=authorize)
        self.assertEqual(200, resp.status_int)
        self.assertEqual(b'data', resp.body)

    def test_denied_on_second_look(self):
        self.remote.put_object('photos', 'x', b'data')
        resp = self.request('photos/x', allow=lambda req: HTTPForbidden())
        self.assertEqual(403, resp.status_int)
        self.assertEqual([], self.remote.calls)

    def test_no_auth_middleware_means_open(self):
        self.remote.put_object('photos', 'x', b'data')
        self.assertEqual(200, self.request('photos/x', allow=None).status_int)

    def test_authorize_is_put_back(self):
        original = lambda req: None  # noqa: E731
        req = Request.blank('/v1/%s/photos/x' % ACCOUNT,
                            environ={'swift.authorize': original})
        req.get_response(self.app)
        self.assertIs(original, req.environ['swift.authorize'])


class TestObjectRead(ShuntTestCase):

    def setUp(self):
        super().setUp()
        self.body = b'0123456789abcdefghij'
        self.remote.put_object('photos', 'pic \u2603', self.body, {
            'content-type': 'image/png', 'x-object-meta-color': 'blue',
            'x-object-meta-name': 'caf\u00e9',
            'x-amz-storage-class': 'STANDARD'})
        self.path = 'photos/pic%20%E2%98%83'

    def test_get(self):
        resp = self.request(self.path)
        self.assertEqual(200, resp.status_int)
        self.assertEqual(self.body, resp.body)
        self.assertEqual('image/png', resp.headers['Content-Type'])
        self.assertEqual('blue', resp.headers['X-Object-Meta-Color'])
        self.assertEqual(str_to_wsgi('caf\u00e9'),
                         resp.headers['X-Object-Meta-Name'])
        self.assertEqual(md5(self.body), resp.headers['Etag'])
        self.assertEqual('archived', resp.headers['X-Object-Sync-Status'])
        self.assertEqual('tx-404', resp.headers['X-Trans-Id'])
        # The remote's whereabouts are only shown when the mapping says so.
        self.assertNotIn('X-Object-Content-Location', resp.headers)
        self.assertNotIn('X-Amz-Storage-Class', resp.headers)
        self.assertEqual([('get', 'photos', 'pic \u2603', {})],
                         self.remote.calls)
        self.assertNotIn(('photos', 'pic \u2603'), self.swift.objects)

    def test_a_number_in_the_environ_is_a_header_like_any(self):
        # s3api leaves ints among the HTTP_* keys of sub-requests.
        resp = self.request(self.path, 'HEAD',
                            environ={'HTTP_X_SOME_COUNT': 3})
        self.assertEqual(200, resp.status_int)
        self.assertEqual(['head'], [c[0] for c in self.remote.calls])

    def test_head(self):
        resp = self.request(self.path, 'HEAD')
        self.assertEqual(200, resp.status_int)
        self.assertEqual(str(len(self.body)),
                         resp.headers['Content-Length'])
        self.assertEqual(b'', resp.body)
        self.assertEqual('archived', resp.headers['X-Object-Sync-Status'])
        self.assertEqual(['head'], [c[0] for c in self.remote.calls])

    def test_range(self):
        resp = self.request(self.path, headers={'Range': 'bytes=3-6'})
        self.assertEqual(206, resp.status_int)
        self.assertEqual(b'3456', resp.body)
        self.assertEqual('bytes 3-6/20', resp.headers['Content-Range'])
        self.assertEqual({'range': 'bytes=3-6'}, self.remote.calls[0][3])

    def test_multiple_ranges_get_the_whole_object(self):
        resp = self.request(self.path, headers={'Range': 'bytes=1-2,5-6'})
        self.assertEqual(200, resp.status_int)
        self.assertEqual(self.body, resp.body)
        self.assertEqual({}, self.remote.calls[0][3])

    def test_etag_conditions_are_settled_by_a_head(self):
        etag = md5(self.body)
        resp = self.request(self.path, headers={'If-None-Match': etag})
        self.assertEqual(304, resp.status_int)
        self.assertEqual(b'', resp.body)
        self.assertEqual(etag, resp.headers['Etag'])
        resp = self.request(self.path, headers={'If-Match': '"nope"'})
        self.assertEqual(412, resp.status_int)
        self.assertEqual(['head', 'head'],
                         [c[0] for c in self.remote.calls])
        resp = self.request(self.path, headers={'If-Match': '"%s"' % etag})
        self.assertEqual(200, resp.status_int)
        self.assertEqual(self.body, resp.body)
        self.assertEqual({}, self.remote.calls[-1][3])

    def test_head_conditions(self):
        resp = self.request(self.path, 'HEAD',
                            headers={'If-None-Match': '*'})
        self.assertEqual(304, resp.status_int)

    def test_date_conditions(self):
        for headers, status in (
                ({'If-Modified-Since': http_date(1800000000)}, 304),
                ({'If-Modified-Since': http_date(1600000000)}, 200),
                ({'If-Unmodified-Since': http_date(1600000000)}, 412),
                ({'If-Unmodified-Since': http_date(1800000000)}, 200),
                ({'If-Unmodified-Since': http_date(1800000000),
                  'Range': 'bytes=0-1'}, 206)):
            self.remote.calls = []
            resp = self.request(self.path, headers=headers)
            self.assertEqual(status, resp.status_int, headers)
            self.assertEqual('head', self.remote.calls[0][0])
            if status in (304, 412):
                self.assertEqual(md5(self.body), resp.headers['Etag'])
                self.assertEqual(1, len(self.remote.calls))
            else:
                # the GET carries no condition, at most the Range
                self.assertEqual({k.lower(): v for k, v in headers.items()
                                  if k == 'Range'}, self.remote.calls[1][3])

    def test_conditions_checked_again_on_the_get(self):
        real_head = self.remote.head

        def stale_head(container, name):
            obj = real_head(container, name)
            obj.headers['etag'] = 'stale'
            return obj
        self.remote.head = stale_head
        resp = self.request(self.path, headers={'If-Match': 'stale'})
        self.assertEqual(412, resp.status_int)

    def test_missing_on_both_sides(self):
        for method in ('GET', 'HEAD'):
            resp = self.request('photos/nothing', method)
            self.assertEqual(404, resp.status_int)
            self.assertEqual('tx-404', resp.headers['X-Trans-Id'])

    def test_large_object_marker_is_not_shown(self):
        self.remote.put_object('photos', 'big', b'bytes', {
            'x-static-large-object': 'True'})
        resp = self.request('photos/big')
        self.assertEqual(b'bytes', resp.body)
        self.assertNotIn('X-Static-Large-Object', resp.headers)


class TestRemoteFailures(ShuntTestCase):

    def test_unreachable_is_503(self):
        self.remote.error = RemoteError(
            'EndpointConnectionError: could not connect (GetObject)')
        for method in ('GET', 'HEAD', 'POST', 'DELETE'):
            resp = self.request('photos/x', method)
            self.assertEqual(503, resp.status_int, method)
            if method != 'HEAD':
                self.assertEqual(b'Remote store unavailable\n', resp.body)

    def test_garbled_answer_is_502(self):
        # It answered, but not in HTTP: reached, so not "unavailable".
        try:
            try:
                raise http.client.BadStatusLine('SSH-2.0-OpenSSH')
            except http.client.HTTPException as err:
                raise RemoteError('could not read the answer') from err
        except RemoteError as err:
            self.remote.error = err
        resp = self.request('photos/x')
        self.assertEqual(502, resp.status_int)
        self.assertEqual(b'Remote store error\n', resp.body)

    def test_remote_error_is_502(self):
        self.remote.error = RemoteError('AccessDenied: no (GetObject)', 403)
        resp = self.request('photos/x')
        self.assertEqual(502, resp.status_int)
        self.assertEqual(b'Remote store error\n', resp.body)

    def test_bug_is_502_without_traceback_or_secret(self):
        self.remote.error = RuntimeError('boom with %s' % SECRET)
        resp = self.request('photos/x')
        self.assertEqual(502, resp.status_int)
        self.assertNotIn(b'Traceback', resp.body)
        self.assertIn('Traceback', self.logger.text())
        self.assertNotIn(SECRET, self.logger.text())

    def test_listing_fails_rather_than_hiding_remote_objects(self):
        self.remote.error = RemoteError('timeout')
        resp = self.request('photos?format=json')
        self.assertEqual(503, resp.status_int)

    def test_local_objects_work_with_the_remote_down(self):
        self.remote.error = RemoteError('timeout')
        self.swift.add('photos', 'here', b'local')
        self.assertEqual(b'local', self.request('photos/here').body)

    def test_sync_status_with_the_remote_down(self):
        self.remote.error = RemoteError('timeout')
        self.swift.add('photos', 'here', b'local')
        resp = self.request('photos/here',
                            headers={'X-Object-Sync-Status': '?'})
        self.assertEqual(200, resp.status_int)
        self.assertEqual('unknown', resp.headers['X-Object-Sync-Status'])


class TestRemoteGuard(ShuntTestCase):
    """A slow or dead remote never holds a request for long."""

    def setUp(self):
        super().setUp()
        self.app = shunt.CloudShunt(
            self.swift, {'conf_file': self.conf_file, 'remote_timeout': '0.2',
                         'remote_failures': '3',
                         'remote_retry_interval': '30'},
            logger=self.logger, table=self.table)
        self.app.guards.clock = lambda: self.now[0]

    def test_deadline(self):
        self.remote.delay = 5
        started = time.time()
        resp = self.request('photos/x')
        self.assertEqual(503, resp.status_int)
        self.assertLess(time.time() - started, 1)
        # the listing's calls share one deadline too
        started = time.time()
        self.assertEqual(503, self.request('photos?format=json').status_int)
        self.assertLess(time.time() - started, 1)

    def test_breaker_opens_then_probes(self):
        self.remote.error = RemoteError('could not connect')
        for _ in range(3):
            self.assertEqual(503, self.request('photos/x').status_int)
        self.assertEqual(3, len(self.remote.calls))
        self.assertIn('failed 3 times in a row', self.logger.text())
        # Open: answered at once, the remote is not asked.
        for path in ('photos/x', 'photos?format=json', 'photos/y'):
            resp = self.request(path)
            self.assertEqual(503, resp.status_int)
            self.assertEqual('30', resp.headers['Retry-After'])
        self.assertEqual(3, len(self.remote.calls))
        # Local objects are served as ever.
        self.swift.add('photos', 'here', b'local')
        self.assertEqual(b'local', self.request('photos/here').body)
        # After the interval one probe goes through; it fails: open again.
        self.now[0] += 31
        self.assertEqual(503, self.request('photos/x').status_int)
        self.assertEqual(4, len(self.remote.calls))
        self.assertEqual(503, self.request('photos/x').status_int)
        self.assertEqual(4, len(self.remote.calls))
        # The remote is back: the next probe closes the breaker.
        self.now[0] += 31
        self.remote.error = None
        self.remote.put_object('photos', 'x', b'remote')
        self.assertEqual(b'remote', self.request('photos/x').body)
        self.assertIn('answers again', self.logger.text())
        self.assertEqual(404, self.request('photos/nope').status_int)

    def test_refusals_do_not_open_it(self):
        self.remote.error = RemoteError('AccessDenied', 403)
        for _ in range(5):
            self.assertEqual(502, self.request('photos/x').status_int)
        self.assertEqual(5, len(self.remote.calls))

    def test_bad_settings_name_the_key(self):
        for key, value in (('remote_timeout', 'soon'),
                           ('remote_failures', '0'),
                           ('remote_retry_interval', '-1')):
            with self.assertRaises(ValueError) as caught:
                shunt.CloudShunt(self.swift, {'conf_file': self.conf_file,
                                              key: value},
                                 logger=self.logger, table=self.table)
            self.assertIn(key, str(caught.exception))

    def test_pipeline_warnings(self):
        class TempAuth(object):
            pass

        class KeyMaster(object):
            pass
        for before, warned in (([TempAuth()], []),
                               ([], ['no auth middleware']),
                               ([TempAuth(), KeyMaster()],
                                ['restored objects are written '
                                 'unencrypted'])):
            self.logger = CaptureLogger()
            app = shunt.CloudShunt(self.swift, {'conf_file': self.conf_file},
                                   logger=self.logger, table=self.table)
            app._pipeline = before + [app, self.swift]
            app.check_pipeline()
            text = self.logger.text()
            for words in warned:
                self.assertIn(words, text)
            self.assertEqual(len(warned), len(
                [line for line in self.logger.lines if line[0] == 'warning']))


class TestRestore(ShuntTestCase):

    def setUp(self):
        super().setUp()
        self.write_config([mapping(restore_object=True)])
        self.reload()
        self.body = os.urandom(1000)
        self.remote.put_object('photos', 'pic', self.body, {
            'content-type': 'image/png', 'x-object-meta-color': 'blue'})

    def test_full_get_restores(self):
        resp = self.request('photos/pic')
        self.assertEqual(self.body, resp.body)
        self.settle()
        headers, body = self.swift.objects[('photos', 'pic')]
        self.assertEqual(self.body, body)
        self.assertEqual('image/png', headers['Content-Type'])
        self.assertEqual('blue', headers['X-Object-Meta-Color'])
        self.assertIn('restored AUTH_test/photos/pic', self.logger.text())
        # now it is local: the remote is not asked again
        calls = len(self.remote.calls)
        self.assertEqual(self.body, self.request('photos/pic').body)
        self.assertEqual(calls, len(self.remote.calls))

    def test_range_and_head_do_not_restore(self):
        self.request('photos/pic', headers={'Range': 'bytes=0-9'})
        self.request('photos/pic', 'HEAD')
        self.settle()
        self.assertEqual([], self.swift.put_started)

    def test_client_disconnect_leaves_nothing(self):
        req = Request.blank('/v1/%s/photos/pic' % ACCOUNT)
        app_iter = self.app(req.environ, lambda *a: None)
        it = iter(app_iter)
        self.assertEqual(self.body[:5], next(it))
        next(it)
        app_iter.close()
        self.settle()
        self.assertEqual(['pic'], self.swift.put_started)
        self.assertNotIn(('photos', 'pic'), self.swift.objects)
        self.assertIn('abandoned', self.logger.text())

    def test_closing_a_wrapping_iterator_leaves_nothing(self):
        # proxy-logging wraps the app_iter's iterator, not the app_iter
        from swift.common.utils import reiterate
        req = Request.blank('/v1/%s/photos/pic' % ACCOUNT)
        wrapped = reiterate(self.app(req.environ, lambda *a: None))
        next(iter(wrapped))
        wrapped.close()
        self.settle()
        self.assertEqual(['pic'], self.swift.put_started)
        self.assertNotIn(('photos', 'pic'), self.swift.objects)
        self.assertIn('abandoned', self.logger.text())

    def test_short_remote_stream_leaves_nothing(self):
        self.remote.short = True
        resp = self.request('photos/pic')
        self.assertEqual(self.body[:-1], resp.body)
        self.settle()
        # The restore's PUT was aborted (Swift saw the body fail), not
        # left waiting for the byte that never came.
        self.assertEqual([499], self.swift.put_results)
        self.assertIn('abandoned', self.logger.text())
        self.assertNotIn(('photos', 'pic'), self.swift.objects)

    def test_failed_conditions_do_not_restore(self):
        resp = self.request('photos/pic', headers={
            'If-Unmodified-Since': http_date(1600000000)})
        self.assertEqual(412, resp.status_int)
        self.settle()
        self.assertNotIn(('photos', 'pic'), self.swift.objects)

    def test_object_written_meanwhile_is_kept(self):
        req = Request.blank('/v1/%s/photos/pic' % ACCOUNT)
        app_iter = self.app(req.environ, lambda *a: None)
        self.swift.add('photos', 'pic', b'newer')
        body = b''.join(app_iter)
        self.assertEqual(self.body, body)
        self.settle()
        self.assertEqual(b'newer', self.swift.objects[('photos', 'pic')][1])
        self.assertIn('written locally meanwhile', self.logger.text())

    def test_restore_uses_etag_and_content_length(self):
        captured = {}
        real_put = self.swift._put

        def put(req, container, obj):
            captured.update(req.headers)
            return real_put(req, container, obj)
        self.swift._put = put
        self.request('photos/pic')
        self.settle()
        self.assertEqual(md5(self.body), captured['Etag'])
        self.assertEqual(str(len(self.body)), captured['Content-Length'])
        self.assertEqual('*', captured['If-None-Match'])

    def test_feeding_a_finished_put_does_not_block(self):
        self.swift._put = lambda req, c, o: Response(status=507)
        resp = self.request('photos/pic')
        self.assertEqual(self.body, resp.body)
        self.assertIn('failed: 507', self.logger.text())

    def test_large_objects_are_not_restored(self):
        self.remote.put_object('photos', 'big', b'x' * 50, {
            'x-static-large-object': 'True'})
        self.assertEqual(b'x' * 50, self.request('photos/big').body)
        self.settle()
        self.assertEqual([], self.swift.put_started)


class TestSyncStatus(ShuntTestCase):

    def test_only_when_asked(self):
        self.swift.add('photos', 'here', b'local')
        resp = self.request('photos/here', 'HEAD')
        self.assertNotIn('X-Object-Sync-Status', resp.headers)
        self.assertEqual([], self.remote.calls)

    def test_pending_synced_and_metadata(self):
        self.swift.add('photos', 'here', b'local',
                       {'X-Object-Meta-A': str_to_wsgi('\u00e9')})
        ask = {'X-Object-Sync-Status': '?'}
        for method in ('HEAD', 'GET'):
            self.assertEqual('pending', self.request(
                'photos/here', method, headers=ask).headers[
                    'X-Object-Sync-Status'])
        self.remote.put_object('photos', 'here', b'local',
                               {'x-object-meta-a': '\u00e9'})
        self.assertEqual('synced', self.request(
            'photos/here', 'HEAD', headers=ask).headers[
                'X-Object-Sync-Status'])
        resp = self.request('photos/here', headers=dict(
            ask, Range='bytes=1-2'))
        self.assertEqual('synced', resp.headers['X-Object-Sync-Status'])
        self.remote.put_object('photos', 'here', b'local',
                               {'x-object-meta-a': '2'})
        self.assertEqual('pending', self.request(
            'photos/here', 'HEAD', headers=ask).headers[
                'X-Object-Sync-Status'])

    def test_dlo_is_unknown(self):
        self.swift.add('photos', 'dlo', b'',
                       {'X-Object-Manifest': 'segs/x'})
        resp = self.request('photos/dlo', 'HEAD',
                            headers={'X-Object-Sync-Status': '?'})
        self.assertEqual('unknown', resp.headers['X-Object-Sync-Status'])

    def test_archived(self):
        self.remote.put_object('photos', 'gone', b'x')
        resp = self.request('photos/gone', 'HEAD',
                            headers={'X-Object-Sync-Status': '?'})
        self.assertEqual('archived', resp.headers['X-Object-Sync-Status'])


class TestWrites(ShuntTestCase):

    def setUp(self):
        super().setUp()
        self.remote.put_object('photos', 'pic', b'data', {
            'content-type': 'image/png', 'x-object-meta-old': 'yes',
            'content-encoding': 'gzip'})

    def test_post_replaces_metadata(self):
        resp = self.request('photos/pic', 'POST', headers={
            'X-Object-Meta-New': str_to_wsgi('n\u00e9w'),
            'X-Object-Meta-Empty': ''})
        self.assertEqual(202, resp.status_int)
        local = self.remote.updated
        self.assertEqual({'x-object-meta-new': 'n\u00e9w',
                          'content-type': 'image/png'}, local.headers)
        self.assertEqual(md5(b'data'), local.etag)
        self.assertEqual(4, local.size)
        self.assertEqual(b'data', local.open_body().read())

    def test_post_content_type(self):
        self.request('photos/pic', 'POST',
                     headers={'Content-Type': 'text/x-new'})
        self.assertEqual('text/x-new',
                         self.remote.updated.headers['content-type'])

    def test_post_missing(self):
        self.assertEqual(404, self.request('photos/nope', 'POST').status_int)

    def test_post_expiry_refused(self):
        resp = self.request('photos/pic', 'POST',
                            headers={'X-Delete-After': '60'})
        self.assertEqual(400, resp.status_int)
        self.assertEqual(['head'], [c[0] for c in self.remote.calls])
        resp = self.request('photos/nope', 'POST',
                            headers={'X-Delete-At': '1900000000'})
        self.assertEqual(404, resp.status_int)

    def test_delete(self):
        self.assertEqual(204, self.request('photos/pic', 'DELETE')
                         .status_int)
        self.assertNotIn(('photos', 'pic'), self.remote.objects)
        self.assertEqual(404, self.request('photos/pic', 'DELETE')
                         .status_int)


class TestSwiftOnlyQueries(ShuntTestCase):
    """Questions only Swift can answer are not answered wrongly from the
    remote."""

    def setUp(self):
        super().setUp()
        self.remote.put_object('photos', 'plain', b'plain bytes')
        self.remote.put_object('photos', 'slo', b'all the bytes', headers={
            'x-static-large-object': 'True'})
        self.manifest = json.dumps([{'name': '/segs/1', 'bytes': 13,
                                     'hash': md5(b'all the bytes')}])
        self.remote.manifests = {('photos', 'slo'): self.manifest}

    def test_multipart_manifest_get(self):
        resp = self.request('photos/slo?multipart-manifest=get')
        self.assertEqual(200, resp.status_int)
        self.assertEqual(self.manifest.encode(), resp.body)
        self.assertEqual('True', resp.headers['X-Static-Large-Object'])
        # a plain object is itself, as in Swift
        resp = self.request('photos/plain?multipart-manifest=get')
        self.assertEqual(b'plain bytes', resp.body)
        del self.remote.manifests[('photos', 'slo')]
        resp = self.request('photos/slo?multipart-manifest=get')
        self.assertEqual(409, resp.status_int)

    def test_versions_and_symlinks_are_swifts(self):
        for query in ('version-id=1700000000.00000', 'symlink=get'):
            resp = self.request('photos/plain?' + query)
            self.assertEqual(404, resp.status_int, query)
        self.assertEqual([], self.remote.calls)

    def test_cors_headers_of_swift_carry_over(self):
        # Swift decided CORS for this container and origin on its 404.
        self.swift.cors = {
            'Access-Control-Allow-Origin': 'https://app.example',
            'Access-Control-Expose-Headers': 'etag, x-trans-id'}
        self.remote.put_object('photos', 'meta', b'm', headers={
            'x-object-meta-color': 'red'})
        resp = self.request('photos/meta',
                            headers={'Origin': 'https://app.example'})
        self.assertEqual(200, resp.status_int)
        self.assertEqual('https://app.example',
                         resp.headers['Access-Control-Allow-Origin'])
        exposed = resp.headers['Access-Control-Expose-Headers']
        for name in ('etag', 'x-object-meta-color', 'x-trans-id',
                     'x-object-sync-status'):
            self.assertIn(name, exposed)


class TestReservedWrites(ShuntTestCase):
    """What the remote must never take is refused before Swift stores it."""

    RESERVED = {'X-Object-Meta-Swift-S3-Sync-Etag': 'd41d8cd98f00b204e980'}

    def test_put_and_post_with_reserved_metadata(self):
        resp = self.request('photos/new', 'PUT', headers=self.RESERVED,
                            body=b'x')
        self.assertEqual(400, resp.status_int)
        self.assertIn(b'reserved', resp.body)
        self.assertNotIn(('photos', 'new'), self.swift.objects)
        self.swift.add('photos', 'here', b'local')
        resp = self.request('photos/here', 'POST', headers=self.RESERVED)
        self.assertEqual(400, resp.status_int)
        self.assertEqual([], [c for c in self.swift.calls
                              if c[0] in ('PUT', 'POST')])
        self.assertEqual([], self.remote.calls)

    def test_ordinary_writes_reach_swift(self):
        resp = self.request('photos/new', 'PUT', body=b'x',
                            headers={'X-Object-Meta-Color': 'red'})
        self.assertEqual(201, resp.status_int)
        self.assertIn(('photos', 'new'), self.swift.objects)
        self.assertEqual([], self.remote.calls)

    def test_clients_swift_refuses_learn_nothing(self):
        resp = self.request('photos/new', 'PUT', headers=self.RESERVED,
                            body=b'x', allow=lambda req: HTTPUnauthorized())
        self.assertEqual(401, resp.status_int)


class TestListing(ShuntTestCase):

    def setUp(self):
        super().setUp()
        for name in ('a', 'both', 'd/1', 'z'):
            self.swift.add('photos', name, b'L')
        self.fill_remote()
        self.loc = 'http://remote.example:9000;bucket;pre/photos/'

    def fill_remote(self):
        for name in ('b', 'both', 'd/2', 'e/1', '\u00e9'):
            self.remote.put_object('photos', name, b'RR')

    def test_json(self):
        resp = self.request('photos?format=json')
        self.assertEqual(200, resp.status_int)
        listing = json.loads(resp.body)
        self.assertEqual(['a', 'b', 'both', 'd/1', 'd/2', 'e/1', 'z',
                          '\u00e9'], [e['name'] for e in listing])
        self.assertEqual(1, listing[2]['bytes'])   # the local copy's
        # Without show_remote_location no entry says where it is.
        self.assertFalse([e for e in listing if 'content_location' in e])
        self.assertEqual('application/octet-stream',
                         listing[1]['content_type'])
        self.assertEqual('1', resp.headers['X-Container-Object-Count'])
        self.assertEqual('tx-list', resp.headers['X-Trans-Id'])
        self.assertEqual(str(len(resp.body)), resp.headers['Content-Length'])
        self.assertEqual('application/json; charset=utf-8',
                         resp.headers['Content-Type'])

    def test_locations_when_the_mapping_shows_them(self):
        self.write_config([mapping(show_remote_location=True)])
        self.reload()
        self.fill_remote()   # the changed mapping has a provider of its own
        listing = json.loads(self.request('photos?format=json').body)
        both = listing[2]
        self.assertEqual(['swift', self.loc], both['content_location'])
        self.assertEqual([self.loc], listing[1]['content_location'])
        self.assertEqual(['swift'], listing[0]['content_location'])
        raw = json.dumps(listing)
        self.assertNotIn(SECRET, raw)
        self.assertNotIn('user', raw)

    def test_nothing_remote_leaves_swifts_answer_unchanged(self):
        self.swift.add_container('quiet')
        self.swift.add('quiet', 'x', b'L')
        self.write_config([mapping(), mapping('quiet')])
        self.reload()
        resp = self.request('quiet?format=json')
        plain = Request.blank('/v1/%s/quiet?format=json' % ACCOUNT).\
            get_response(self.swift)
        self.assertEqual(plain.body, resp.body)
        self.assertEqual(plain.headers['Content-Length'],
                         resp.headers['Content-Length'])
        self.assertEqual([('list', 'quiet')],
                         [c[:2] for c in self.providers['quiet'].calls])

    def test_swift_is_asked_for_json(self):
        self.request('photos?format=xml')
        self.assertIn('format=xml', self.swift.calls[-1][2])

    def test_json_without_listing_formats(self):
        # Below listing_formats Swift answers JSON whatever the format, and
        # so does the shunt: a DLO's, symlink's or s3api's sub-request reads
        # it as JSON (the bug: a plain-text answer broke every DLO GET).
        for query in ('?delimiter=/', '?format=xml&limit=2', '?format=txt'):
            resp = self.request('photos' + query)
            self.assertEqual('application/json; charset=utf-8',
                             resp.headers['Content-Type'])
            names = [e.get('name', e.get('subdir'))
                     for e in json.loads(resp.body)]
            self.assertIn('b', names)

    def test_with_listing_formats_in_front(self):
        front = ListingFilter(self.app, {})
        for query, want in (('', b'a\nb\n'),
                            ('&format=xml', b'<name>b</name>'),
                            ('&format=json', b'"name": "b"')):
            req = Request.blank('/v1/%s/photos?limit=2%s' % (ACCOUNT, query),
                                environ={'swift.authorize': lambda r: None})
            resp = req.get_response(front)
            self.assertEqual(200, resp.status_int)
            self.assertIn(want, resp.body)

    def test_listings_others_own_pass_untouched(self):
        cases = (
            ('photos?versions', {}),
            ('photos?states=listing&format=json', {}),
            ('photos?format=json', {'swift.format_listing': False}),
            ('photos?format=json', {'swift.source': 'DLO'}),
            ('photos?format=json', {
                'HTTP_X_BACKEND_ALLOW_RESERVED_NAMES': 'true'}),
            ('photos?format=json', {'HTTP_X_BACKEND_RECORD_TYPE': 'shard'}),
        )
        for path, env in cases:
            req = Request.blank('/v1/%s/%s' % (ACCOUNT, path),
                                environ=dict(env, **{
                                    'swift.authorize': lambda r: None}))
            resp = req.get_response(self.app)
            self.assertEqual(200, resp.status_int, (path, env))
            names = [e['name'] for e in json.loads(resp.body)]
            self.assertNotIn('b', names, (path, env))
        self.assertEqual([], self.remote.calls)
        # s3api listing a bucket's multipart parts: its +segments container.
        self.swift.add_container('photos+segments')
        self.write_config([mapping('/*')])
        self.reload()
        req = Request.blank('/v1/%s/photos+segments?format=json' % ACCOUNT,
                            environ={'swift.source': 'S3',
                                     'swift.authorize': lambda r: None})
        self.assertEqual(b'[]', req.get_response(self.app).body)
        self.assertEqual({}, {k: p.calls for k, p in self.providers.items()
                              if p.calls})

    def test_paging_reverse_and_delimiter(self):
        seen, marker = [], ''
        while True:
            resp = self.request(
                'photos?format=json&limit=2&reverse=on&delimiter=/&marker='
                + marker)
            page = json.loads(resp.body)
            if not page:
                break
            seen.extend(e.get('name', e.get('subdir')) for e in page)
            marker = seen[-1]
        self.assertEqual(['\u00e9', 'z', 'e/', 'd/', 'both', 'b', 'a'], seen)

    def test_empty(self):
        self.swift.add_container('empty')
        self.write_config([mapping(), mapping('empty')])
        self.reload()
        resp = self.request('empty?format=json')
        self.assertEqual(200, resp.status_int)
        self.assertEqual(b'[]', resp.body)
        req = Request.blank('/v1/%s/empty' % ACCOUNT,
                            environ={'swift.authorize': lambda r: None})
        self.assertEqual(204, req.get_response(ListingFilter(self.app, {}))
                         .status_int)

    def test_missing_local_container_is_404(self):
        self.write_config([mapping('/*')])
        self.reload()
        self.assertEqual(404, self.request('nocontainer').status_int)

    def test_per_account_mapping(self):
        self.write_config([mapping('/*')])
        self.reload()
        provider = self.providers['/*']
        provider.put_object('photos', 'remote-one', b'r')
        provider.put_object('other', 'x', b'o')
        listing = json.loads(self.request('photos?format=json').body)
        self.assertIn('remote-one', [e['name'] for e in listing])
        self.assertNotIn('x', [e['name'] for e in listing])
        self.assertEqual(b'o', self.request('other/x').body)


class TestConfig(ShuntTestCase):

    def test_reload_when_the_file_changes(self):
        self.remote.put_object('photos', 'x', b'data')
        self.write_config([mapping('other')])
        self.assertEqual(200, self.request('photos/x').status_int)
        self.now[0] += 0.5   # checked at most once a second
        self.assertEqual(200, self.request('photos/x').status_int)
        self.now[0] += 1
        self.assertEqual(404, self.request('photos/x').status_int)

    def test_bad_config_keeps_the_old_one(self):
        self.remote.put_object('photos', 'x', b'data')
        self.write_config(None, text='{"containers": [')
        self.reload()
        self.assertEqual(200, self.request('photos/x').status_int)
        self.assertIn('keeping the previous mappings', self.logger.text())
        errors = len(self.logger.lines)
        self.reload()
        self.request('photos/x')
        self.assertEqual(errors, len(self.logger.lines))   # logged once
        self.write_config([mapping(aws_secret=SECRET, bogus=1)])
        self.reload()
        self.assertEqual(200, self.request('photos/x').status_int)
        self.assertNotIn(SECRET, self.logger.text())

    def test_providers_survive_an_unrelated_reload(self):
        first = self.remote
        self.write_config([mapping(), mapping('other')])
        self.reload()
        self.request('photos/x')
        self.assertIs(first, self.table.lookup(ACCOUNT, 'photos')[1])
        self.write_config([mapping(aws_bucket='new')])
        self.reload()
        self.assertIsNot(first, self.table.lookup(ACCOUNT, 'photos')[1])

    def test_missing_file_merges_nothing(self):
        table = shunt.MappingTable(os.path.join(self.tmp, 'nope.json'),
                                   self.logger)
        self.assertIsNone(table.lookup(ACCOUNT, 'photos'))
        self.assertIn('no container is mapped', self.logger.text())

    def test_exact_mapping_wins_over_per_account(self):
        self.write_config([mapping('/*', aws_bucket='all'),
                           mapping(aws_bucket='one')])
        self.reload()
        self.assertEqual('one', self.table.lookup(
            ACCOUNT, 'photos')[0].aws_bucket)
        self.assertEqual('all', self.table.lookup(
            ACCOUNT, 'else')[0].aws_bucket)
        self.assertIsNone(self.table.lookup('AUTH_other', 'photos'))

    def test_unavailable_protocol_is_skipped(self):
        with mock.patch.object(mapping_table, 'provider_for',
                               side_effect=NotImplementedError('no swift')):
            self.write_config([mapping(aws_bucket='other-one')])
            self.reload()
            self.assertIsNone(self.table.lookup(ACCOUNT, 'photos'))
        self.assertIn('no swift', self.logger.text())

    def test_location_without_credentials(self):
        m, provider = self.table.lookup(ACCOUNT, 'photos')
        self.assertEqual('http://remote.example:9000;bucket;pre/c/',
                         shunt.remote_location(m, provider, 'c'))


if __name__ == '__main__':
    unittest.main()
