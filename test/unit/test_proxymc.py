"""proxymc against an in-memory mapping table and fake providers."""
import base64
import json
import os
import tempfile
import traceback
import types
import unittest
from unittest import mock
from urllib.parse import quote

from swift.common.swob import Request

from swift_s3_sync.listing import ListingTooCostly

from proxymc.app import ProxyMC
from swift_s3_sync.providers.base import RemoteError
from test.unit.test_shunt import CaptureLogger, FakeProvider, md5

ACCOUNT = 'AUTH_test'
SECRET = 'aws-s3cr3t-value'
TOKEN_SECRET = ('5f0c2b9e8d7a6f41c3b2a19e8d7c6b5a'
                '4f3e2d1c0b9a8f7e6d5c4b3a29180716')
CONF = {'conf_file': '/nonexistent-is-fine-if-table-given',
        'token_secret': TOKEN_SECRET,
        'spool_dir': os.path.join(tempfile.gettempdir(),
                                  'proxymc-unit-spool'),
        'user_test_tester': 'testing .admin',
        'user_test_reader': 'readpw',
        'user_other_admin': 'otherpw .admin'}
USERS = {'tester': ('test:tester', 'testing'),
         'reader': ('test:reader', 'readpw'),
         'other': ('other:admin', 'otherpw')}
WRITES = {'check', 'put', 'update_metadata', 'delete'}


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip('=')


class Logger(CaptureLogger):
    def exception(self, msg, *args):
        self._log('error', (msg % args) + '\n' + traceback.format_exc())


class Remote(FakeProvider):
    """FakeProvider with the writing half of the provider contract."""

    def __init__(self):
        super().__init__()
        self.manifests = {}
        self.refuse = None
        self.stored = []

    def check(self, local):
        self._call('check', local.container, local.name)
        if self.refuse:
            raise RemoteError(self.refuse, None, permanent=True)

    def put(self, local):
        self._call('put', local.container, local.name)
        headers = dict(local.headers)
        if local.large == 'slo':
            headers['x-static-large-object'] = 'True'
            self.manifests[(local.container, local.name)] = local.manifest
        self.objects[(local.container, local.name)] = (
            headers, local.open_body().read(), 1700000000.0)
        self.stored.append(local)

    def get_manifest(self, container, name, remote=None):
        return self.manifests.get((container, name))

    def delete(self, container, name, remote=None):
        self.manifests.pop((container, name), None)
        return super().delete(container, name)

    def body(self, container, name):
        return self.objects[(container, name)][1]

    def headers(self, container, name):
        return self.objects[(container, name)][0]

    def ops(self):
        return {call[0] for call in self.calls}


class Table(object):
    def __init__(self):
        self.index = {}

    def add(self, account, container):
        self.index[(account, container)] = found = (types.SimpleNamespace(
            label='%s/%s' % (account, container), aws_secret=SECRET,
            aws_session_token='session-tok-value'), Remote())
        return found[1]

    def lookup(self, account, container):
        return self.index.get((account, container))

    def containers(self, account):
        return sorted(c for a, c in self.index if a == account)


class ProxyTestCase(unittest.TestCase):

    def setUp(self):
        self.logger = Logger()
        self.table = Table()
        self.remotes = {c: self.table.add(ACCOUNT, c)
                        for c in ('docs', 'music', 'photos', 'segs')}
        self.table.add('AUTH_other', 'stuff')
        self.app = ProxyMC(dict(CONF), logger=self.logger, table=self.table)
        self.tokens = {}

    def get_token(self, user, key, path='/auth/v1.0', headers=None):
        headers = dict(headers or {'X-Auth-User': user, 'X-Auth-Key': key})
        return Request.blank(path, headers=headers).get_response(self.app)

    def token(self, who='tester'):
        if who not in self.tokens:
            resp = self.get_token(*USERS[who])
            self.assertEqual(200, resp.status_int)
            self.tokens[who] = resp.headers['X-Auth-Token']
        return self.tokens[who]

    def make(self, path='', method='GET', headers=None, body=None,
             user='tester', account=ACCOUNT):
        headers = dict(headers or {})
        if user:
            headers.setdefault('X-Auth-Token', self.token(user))
        url = '/v1/' + account + ('/' + path if path else '')
        return Request.blank(url, environ={'REQUEST_METHOD': method},
                             headers=headers, body=body)

    def request(self, *args, **kwargs):
        return self.make(*args, **kwargs).get_response(self.app)

    def status(self, *args, **kwargs):
        return self.request(*args, **kwargs).status_int

    def listing(self, path, **kwargs):
        resp = self.request(path, **kwargs)
        self.assertEqual(200, resp.status_int, resp.body)
        return json.loads(resp.body)

    def put(self, container, name, body, headers=None):
        self.remotes[container].put_object(container, name, body, headers)


class TestAccount(ProxyTestCase):

    def names(self, query):
        return [e['name'] for e in self.listing('?format=json' + query)]

    def test_formats(self):
        want = ['docs', 'music', 'photos', 'segs']
        self.assertEqual(want, self.names(''))
        self.assertEqual('application/json; charset=utf-8',
                         self.request('?format=json').headers['Content-Type'])
        req = self.make()
        req.environ['swift.format_listing'] = True   # listing_formats
        self.assertEqual(want, [e['name'] for e in
                                json.loads(req.get_response(self.app).body)])
        for query in ('', '?format=plain', '?format=text'):
            resp = self.request(query)
            self.assertEqual(b'docs\nmusic\nphotos\nsegs\n', resp.body)
            self.assertEqual('text/plain; charset=utf-8',
                             resp.headers['Content-Type'])

    def test_xml(self):
        # Entries have no counts (proxymc does not keep them): the XML
        # lists names only.
        resp = self.request('?format=xml')
        self.assertEqual(200, resp.status_int)
        self.assertIn(b'<name>photos</name>', resp.body)

    def test_paging(self):
        for query, want in (('&marker=docs&end_marker=s&limit=9',
                             ['music', 'photos']),
                            ('&marker=music', ['photos', 'segs']),
                            ('&end_marker=p', ['docs', 'music']),
                            ('&limit=1', ['docs']), ('&prefix=mu', ['music']),
                            ('&reverse=on', ['segs', 'photos', 'music',
                                             'docs']),
                            ('&reverse=on&marker=photos', ['music', 'docs'])):
            self.assertEqual(want, self.names(query), query)

    def test_reverse_with_end_marker(self):
        # Reversed, end_marker is the lower bound, as in Swift.
        self.assertEqual(['segs', 'photos'],
                         self.names('&reverse=on&end_marker=music'))

    def test_head_and_other_methods(self):
        resp = self.request(method='HEAD')
        self.assertEqual(204, resp.status_int)
        self.assertEqual('4', resp.headers['X-Account-Container-Count'])
        resp = self.request(method='POST')
        self.assertEqual((405, 'GET, HEAD'),
                         (resp.status_int, resp.headers['Allow']))


class TestContainers(ProxyTestCase):

    def setUp(self):
        super().setUp()
        for name in ('a', 'b/1', 'b/2', 'c', '\u00e9'):
            self.put('photos', name, b'data-' + name.encode())

    def test_unmapped_and_refused(self):
        for method, unmapped, mapped in (('GET', 404, 200),
                                         ('HEAD', 404, 204),
                                         ('PUT', 403, 202),
                                         ('POST', 403, 403),
                                         ('DELETE', 403, 403)):
            self.assertEqual(unmapped, self.status('nowhere', method))
            self.assertEqual(mapped, self.status('photos', method))
        self.assertEqual(5, len(self.remotes['photos'].objects))

    def test_json(self):
        listing = self.listing('photos?format=json')
        self.assertEqual(['a', 'b/1', 'b/2', 'c', '\u00e9'],
                         [e['name'] for e in listing])
        self.assertEqual((md5(b'data-a'), 6),
                         (listing[0]['hash'], listing[0]['bytes']))
        self.assertFalse([e for e in listing if 'content_location' in e])
        listing = self.listing('photos?format=json&delimiter=/&limit=3')
        self.assertEqual(['a', {'subdir': 'b/'}, 'c'],
                         [e.get('name', e) for e in listing])

    def test_limits_over_swifts_are_refused(self):
        self.assertEqual(412, self.status('photos?format=json&limit=10001'))
        self.assertEqual(412, self.status('?format=json&limit=10001'))
        self.assertEqual(200, self.status('photos?format=json&limit=10000'))

    def test_plain_and_xml(self):
        self.assertEqual(b'a\nb/\nc\n\xc3\xa9\n',
                         self.request('photos?delimiter=/').body)
        self.assertEqual(b'b/1\nb/2\n',
                         self.request('photos?format=plain&prefix=b/').body)
        body = self.request('photos?format=xml&limit=2&marker=a').body
        self.assertTrue(body.startswith(b'<?xml'))
        self.assertIn(b'<name>b/2</name>', body)
        self.assertNotIn(b'<name>c</name>', body)
        self.assertNotIn(b'content_location', body)

    def test_empty(self):
        self.assertEqual([], self.listing('docs?format=json'))
        self.assertEqual(204, self.status('docs'))

    def test_remote_failures(self):
        for status, want in ((None, (503, b'Remote store unavailable\n')),
                             (500, (502, b'Remote store error\n'))):
            self.remotes['photos'].error = RemoteError('x', status)
            resp = self.request('photos?format=json')
            self.assertEqual(want, (resp.status_int, resp.body))
            self.assertEqual(want[0], self.status('photos', 'HEAD'))


    def test_listing_too_costly_is_503(self):
        class Costly(object):
            def __init__(self, *args, **kwargs):
                pass

            def page(self, params):
                raise ListingTooCostly('nothing within the budget')
        with mock.patch('proxymc.app.RemoteListing', Costly):
            resp = self.request('photos?format=json&path=deep')
        self.assertEqual(503, resp.status_int)
        self.assertEqual(b'Listing too costly, narrow it (prefix, markers)\n',
                         resp.body)


class TestObjects(ProxyTestCase):

    def setUp(self):
        super().setUp()
        self.remote = self.remotes['photos']
        self.put('photos', 'cat.jpg', b'meow meow',
                 {'content-type': 'image/jpeg', 'x-object-meta-color': 'red'})

    def assertNothingStored(self, name):
        self.assertNotIn(('photos', name), self.remote.objects)
        self.assertNotIn('put', self.remote.ops())

    def test_put(self):
        resp = self.request('photos/note', 'PUT', body=b'hello', headers={
            'Content-Type': 'text/x-note', 'X-Object-Meta-Mood': 'fine',
            'Content-Disposition': 'inline', 'X-Other': 'dropped'})
        self.assertEqual(201, resp.status_int)
        self.assertEqual(md5(b'hello'), resp.headers['Etag'].strip('"'))
        self.assertEqual(b'hello', self.remote.body('photos', 'note'))
        self.assertEqual({'content-type': 'text/x-note',
                          'x-object-meta-mood': 'fine',
                          'content-disposition': 'inline'},
                         self.remote.headers('photos', 'note'))
        local = self.remote.stored[-1]
        self.assertEqual((5, md5(b'hello'), None),
                         (local.size, local.etag, local.large))
        for name, want in (('dog.jpg', 'image/jpeg'),
                           ('noext', 'application/octet-stream')):
            self.assertEqual(201, self.status('photos/' + name, 'PUT',
                                              body=b'x'))
            self.assertEqual(want, self.remote.headers(
                'photos', name)['content-type'])
        # X-Detect-Content-Type: true guesses even when one is given.
        self.assertEqual(201, self.status('photos/d.png', 'PUT', body=b'x',
                                          headers={
                                              'Content-Type': 'text/plain',
                                              'X-Detect-Content-Type': 'true'}))
        self.assertEqual('image/png', self.remote.headers(
            'photos', 'd.png')['content-type'])

    def test_info_and_healthcheck(self):
        info = json.loads(Request.blank('/info').get_response(self.app).body)
        self.assertEqual(1000, info['slo']['max_manifest_segments'])
        self.assertIn('max_file_size', info['swift'])
        self.assertEqual(b'OK', Request.blank('/healthcheck').get_response(
            self.app).body)

    def test_put_etag(self):
        self.assertEqual(422, self.status('photos/e', 'PUT', body=b'hello',
                                          headers={'Etag': md5(b'other')}))
        self.assertNothingStored('e')
        self.assertEqual(201, self.status('photos/e', 'PUT', body=b'hello',
                                          headers={'Etag': '"%s"' % md5(
                                              b'hello').upper()}))

    def test_short_body(self):
        self.assertEqual(499, self.status('photos/short', 'PUT', body=b'abc',
                                          headers={'Content-Length': '10'}))
        self.assertNothingStored('short')

    def test_chunked_and_length_required(self):
        req = self.make('photos/chunky', 'PUT', body=b'chunk' * 3000,
                        headers={'Transfer-Encoding': 'chunked'})
        del req.environ['CONTENT_LENGTH']
        self.assertEqual(201, req.get_response(self.app).status_int)
        self.assertEqual(b'chunk' * 3000,
                         self.remote.body('photos', 'chunky'))
        self.assertEqual(411, self.status('photos/nolen', 'PUT'))
        self.assertNotIn(('photos', 'nolen'), self.remote.objects)

    def test_refused_puts(self):
        for headers in ({'X-Delete-At': '9999999999'},
                        {'X-Delete-After': '60'},
                        {'X-Object-Manifest': 'segs/p'},
                        {'X-Object-Meta-' + 'k' * 200: 'v'}):
            self.assertEqual(400, self.status('photos/no', 'PUT', body=b'x',
                                              headers=headers), headers)
        self.assertEqual(400, self.status('photos/' + 'n' * 1025, 'PUT',
                                          body=b'x'))
        self.remote.refuse = 'metadata is over 2 KiB on this remote'
        resp = self.request('photos/no', 'PUT', body=b'x')
        self.assertEqual(400, resp.status_int)
        self.assertIn(b'metadata is over 2 KiB on this remote', resp.body)
        self.assertNothingStored('no')

    def test_put_if_none_match_star(self):
        # As in Swift: 412 when the object exists, nothing overwritten.
        self.assertEqual(412, self.status('photos/cat.jpg', 'PUT', body=b'w',
                                          headers={'If-None-Match': '*'}))

    def test_get_head_range_and_conditions(self):
        resp = self.request('photos/cat.jpg')
        self.assertEqual((200, b'meow meow'), (resp.status_int, resp.body))
        self.assertEqual('image/jpeg', resp.headers['Content-Type'])
        self.assertEqual('red', resp.headers['X-Object-Meta-Color'])
        resp = self.request('photos/cat.jpg', 'HEAD')
        self.assertEqual('9', resp.headers['Content-Length'])
        self.assertEqual(md5(b'meow meow'), resp.headers['Etag'].strip('"'))
        resp = self.request('photos/cat.jpg', headers={'Range': 'bytes=1-3'})
        self.assertEqual((206, b'eow'), (resp.status_int, resp.body))
        etag = '"%s"' % md5(b'meow meow')
        for headers, status in (({'If-None-Match': etag}, 304),
                                ({'If-None-Match': '"x"'}, 200),
                                ({'If-Match': '"x"'}, 412),
                                ({'If-Match': etag}, 200)):
            self.assertEqual(status, self.status('photos/cat.jpg',
                                                 headers=headers), headers)

    def test_missing_and_unmapped(self):
        for method in ('GET', 'HEAD', 'POST', 'DELETE'):
            self.assertEqual(404, self.status('photos/none', method), method)
            self.assertEqual(404, self.status('nowhere/x', method), method)
        self.assertEqual(404, self.status('nowhere/x', 'PUT', body=b'x'))

    def test_post(self):
        self.assertEqual(202, self.status('photos/cat.jpg', 'POST', headers={
            'X-Object-Meta-Size': 'big'}))
        self.assertEqual({'content-type': 'image/jpeg',
                          'x-object-meta-size': 'big'},
                         self.remote.headers('photos', 'cat.jpg'))
        self.assertEqual(b'meow meow', self.remote.body('photos', 'cat.jpg'))
        self.request('photos/cat.jpg', 'POST',
                     headers={'Content-Type': 'image/png'})
        self.assertEqual({'content-type': 'image/png'},
                         self.remote.headers('photos', 'cat.jpg'))
        self.assertEqual(400, self.status('photos/cat.jpg', 'POST', headers={
            'X-Delete-After': '5'}))

    def test_post_checks_metadata(self):
        # POST applies Swift's metadata limits, as PUT does.
        self.assertEqual(400, self.status('photos/cat.jpg', 'POST', headers={
            'X-Object-Meta-' + 'k' * 200: 'v'}))

    def test_delete(self):
        self.assertEqual(204, self.status('photos/cat.jpg', 'DELETE'))
        self.assertEqual(404, self.status('photos/cat.jpg', 'DELETE'))
        self.assertEqual({}, self.remote.objects)

    def test_copy_from(self):
        self.assertEqual(201, self.status('docs/copy', 'PUT', body=b'',
                                          headers={
            'X-Copy-From': '/photos/cat.jpg', 'X-Object-Meta-Size': 'big'}))
        docs = self.remotes['docs']
        self.assertEqual(b'meow meow', docs.body('docs', 'copy'))
        self.assertEqual({'content-type': 'image/jpeg',
                          'x-object-meta-color': 'red',
                          'x-object-meta-size': 'big'},
                         docs.headers('docs', 'copy'))
        self.request('docs/fresh', 'PUT', body=b'', headers={
            'X-Copy-From': 'photos/cat.jpg', 'X-Fresh-Metadata': 'true'})
        self.assertEqual({'content-type': 'application/octet-stream'},
                         docs.headers('docs', 'fresh'))
        for source, status in (('photos/none', 404), ('nowhere/x', 412),
                               ('photos', 412)):
            self.assertEqual(status, self.status('docs/c2', 'PUT', body=b'',
                                                 headers={'X-Copy-From':
                                                          source}), source)

    def test_copy_verb(self):
        self.assertEqual(201, self.status('photos/cat.jpg', 'COPY', headers={
            'Destination': 'docs/moved'}))
        self.assertEqual(b'meow meow',
                         self.remotes['docs'].body('docs', 'moved'))
        self.assertEqual(412, self.status('photos/cat.jpg', 'COPY', headers={
            'Destination': 'docs'}))

    def test_copy_from_is_url_decoded(self):
        # Swift url-decodes X-Copy-From: '/photos/a%20b' names 'a b'.
        self.put('photos', 'a b', b'spaced')
        self.assertEqual(201, self.status('docs/c', 'PUT', body=b'', headers={
            'X-Copy-From': '/photos/a%20b'}))

    def test_destination_is_url_decoded(self):
        # Swift url-decodes Destination.
        self.request('photos/cat.jpg', 'COPY',
                     headers={'Destination': '/docs/x%20y'})
        self.assertIn(('docs', 'x y'), self.remotes['docs'].objects)

    def test_copy_verb_non_ascii_source(self):
        # Names travel as WSGI strings inside: a non-ASCII source is found.
        self.put('photos', 'caf\u00e9', b'latte')
        self.assertEqual(201, self.status(quote('photos/caf\u00e9'), 'COPY',
                                          headers={'Destination': 'docs/c'}))

    def test_remote_unreachable(self):
        self.remote.error = RemoteError('could not connect with %s' % SECRET)
        resp = self.request('photos/cat.jpg')
        self.assertEqual((503, b'Remote store unavailable\n'),
                         (resp.status_int, resp.body))
        self.assertIn('could not connect with ***', self.logger.text())
        self.assertNotIn(SECRET, self.logger.text())
        self.remote.error = RemoteError('InternalError', 500)
        self.assertEqual(502, self.status('photos/cat.jpg'))


class TestSlo(ProxyTestCase):

    def setUp(self):
        super().setUp()
        self.segs = self.remotes['segs']
        self.put('segs', 'one', b'abcde')
        self.put('segs', 'two', b'XYZ')
        self.remote = self.remotes['photos']

    def entry(self, name, data, **extra):
        return dict({'path': '/segs/' + name, 'etag': md5(data),
                     'size_bytes': len(data)}, **extra)

    def put_manifest(self, manifest, headers=None):
        body = manifest if isinstance(manifest, bytes) else \
            json.dumps(manifest).encode()
        return self.request('photos/big?multipart-manifest=put', 'PUT',
                            body=body, headers=headers)

    def test_put(self):
        resp = self.put_manifest([self.entry('one', b'abcde'),
                                  self.entry('two', b'XYZ')])
        self.assertEqual(201, resp.status_int, resp.body)
        etag = md5((md5(b'abcde') + md5(b'XYZ')).encode())
        self.assertEqual(etag, resp.headers['Etag'].strip('"'))
        local = self.remote.stored[-1]
        self.assertEqual(('slo', 8, etag),
                         (local.large, local.size, local.etag))
        self.assertEqual([('segs', 'one', md5(b'abcde'), 5, None),
                          ('segs', 'two', md5(b'XYZ'), 3, None)],
                         [(s.container, s.name, s.etag, s.size, s.range)
                          for s in local.segments])
        stored = json.loads(local.manifest)
        self.assertEqual([('/segs/one', 5), ('/segs/two', 3)],
                         [(e['name'], e['bytes']) for e in stored])
        self.assertEqual(b'abcdeXYZ', self.remote.body('photos', 'big'))

    def test_segments_the_store_holds_are_not_read(self):
        made = []
        for remote in (self.remote, self.segs):
            remote.store_key = lambda: ('s3', 'endpoint', 'key', 'bucket')
        self.remote.put_manifest = lambda local, holders: made.append(
            (local.large, local.size, holders))
        resp = self.put_manifest([self.entry('one', b'abcde'),
                                  {'data': base64.b64encode(b'!').decode()},
                                  self.entry('two', b'XYZ')])
        self.assertEqual(201, resp.status_int, resp.body)
        self.assertEqual([('slo', 9, [self.segs, None, self.segs])], made)
        self.assertNotIn('put', self.remote.ops())
        self.assertNotIn('get', self.segs.ops())

    def test_segments_of_another_store_are_copied(self):
        self.remote.store_key = lambda: ('s3', 'endpoint', 'key', 'bucket')
        self.segs.store_key = lambda: ('s3', 'endpoint', 'key', 'other')
        self.remote.put_manifest = None   # would fail if called
        resp = self.put_manifest([self.entry('one', b'abcde')])
        self.assertEqual(201, resp.status_int, resp.body)
        self.assertEqual(b'abcde', self.remote.body('photos', 'big'))

    def test_bad_segments(self):
        resp = self.put_manifest([
            {'path': '/segs/nope'}, self.entry('one', b'abcdef'),
            self.entry('two', b'XYZ', size_bytes=None, etag=md5(b'x')),
            {'path': '/nowhere/x'}])
        self.assertEqual(400, resp.status_int)
        for problem in (b'/segs/nope: 404 Not Found',
                        b'/segs/one: Size Mismatch',
                        b'/segs/two: Etag Mismatch',
                        b'/nowhere/x: container nowhere is not mapped'):
            self.assertIn(problem, resp.body)
        self.assertNotIn(('photos', 'big'), self.remote.objects)

    def test_malformed_manifests(self):
        for body in (b'{nope', b'[]', b'{}', b'[{"path": "/segs"}]',
                     b'[{"path": "/segs/one", "extra": 1}]'):
            self.assertEqual(400, self.put_manifest(body).status_int, body)
        self.assertIn(b'valid JSON', self.put_manifest(b'{nope').body)
        self.assertEqual(422, self.put_manifest(
            [self.entry('one', b'abcde')],
            headers={'Etag': md5(b'abcde')}).status_int)
        self.assertEqual([], self.remote.stored)

    def test_wrongly_typed_entry_fields(self):
        # Wrongly typed JSON values are the client's error (400), not the
        # remote's (502).
        resp = self.put_manifest([self.entry('one', b'abcde', etag=123)])
        self.assertEqual(400, resp.status_int)

    def test_ranges_and_inline_data(self):
        resp = self.put_manifest([
            self.entry('one', b'abcde', range='1-3'),
            {'data': base64.b64encode(b'--').decode()},
            self.entry('two', b'XYZ', range='0-2')])
        self.assertEqual(201, resp.status_int, resp.body)
        local = self.remote.stored[-1]
        self.assertEqual([(1, 3), None, None],
                         [s.range for s in local.segments])
        self.assertEqual(8, local.size)
        want = md5(('%s:1-3;' % md5(b'abcde') + md5(b'--') + md5(b'XYZ'))
                   .encode())
        self.assertEqual(want, resp.headers['Etag'].strip('"'))
        self.assertEqual(b'bcd--XYZ', self.remote.body('photos', 'big'))

    def test_get_manifest(self):
        self.put_manifest([self.entry('one', b'abcde', range='1-3'),
                           self.entry('two', b'XYZ')])
        resp = self.request('photos/big?multipart-manifest=get')
        self.assertEqual('True', resp.headers['X-Static-Large-Object'])
        first = json.loads(resp.body)[0]
        self.assertEqual(('/segs/one', md5(b'abcde'), 5, '1-3'),
                         tuple(first[k] for k in ('name', 'hash', 'bytes',
                                                  'range')))
        raw = self.request('photos/big?multipart-manifest=get&format=raw')
        self.assertEqual([self.entry('one', b'abcde', range='1-3'),
                          self.entry('two', b'XYZ')], json.loads(raw.body))
        self.assertEqual(b'bcdXYZ', self.request('photos/big').body)

    def test_delete_with_segments(self):
        self.put_manifest([self.entry('one', b'abcde'),
                           self.entry('two', b'XYZ')])
        self.segs.objects.pop(('segs', 'two'))
        resp = self.request('photos/big?multipart-manifest=delete', 'DELETE')
        self.assertEqual(200, resp.status_int)
        result = json.loads(resp.body)
        self.assertEqual((2, 1), (result['Number Deleted'],
                                  result['Number Not Found']))
        self.assertEqual(({}, {}), (self.segs.objects, self.remote.objects))


if __name__ == '__main__':
    unittest.main()
