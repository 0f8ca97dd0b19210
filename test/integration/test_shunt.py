"""cloud-shunt in the source cluster's real proxy, against real remotes.

The world's source proxy loads cloud-shunt with ``conf_file`` = the world's
``shunt/sync.json``; tests write their mappings there and wait for the
shunt to notice (it checks the file at most once a second).  Archived
objects are made by putting them on the remote with the project's own
provider (the daemon's key layout), or once with the real daemon.

One test class per remote: adding a target (the Swift provider) is one
class ``TestShuntX(ShuntTargetTests, ShuntWorld)`` that overrides how a
bucket is made and emptied and how a mapping looks (create_bucket,
delete_bucket, endpoint, mapping).

SHUNT_TEST_PROXY=http://127.0.0.1:PORT (and SHUNT_TEST_PROXY_LOG, its log)
runs the tests through another proxy of the source cluster, e.g. one
loading changed shunt code while the world keeps running.
"""
import concurrent.futures
import hashlib
import http.client
import io
import json
import os
import socket
import sys
import shutil
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ElementTree

import requests
import swiftclient

from localworld.clients import remove_bucket
from localworld.daemons import SyncDaemons, s3_mapping, target_mapping
from swift_s3_sync.config import parse_config
from swift_s3_sync.providers import provider_for
from swift_s3_sync.providers.base import LocalObject
from swift_s3_sync.shunt import remote_location
from test.integration.counting_proxy import CountingProxy
from test.integration.world import get_world, s3_client, unique

RELOAD_TIMEOUT = 10
PAGE = 37


def swift_conn(user='test:tester'):
    """A client of the source proxy, or of the proxy at $SHUNT_TEST_PROXY
    (another proxy of the source cluster, e.g. one running changed shunt
    code while the world keeps running)."""
    info = get_world()['source']
    base = os.environ.get('SHUNT_TEST_PROXY')
    url = base + '/auth/v1.0' if base else info['auth_url']
    return swiftclient.Connection(url, user, info['users'][user]['key'],
                                  retries=1)


def proxy_log(world):
    return os.environ.get('SHUNT_TEST_PROXY_LOG') or os.path.join(
        world['world_dir'], 'logs', 'source-proxy.log')


def shunt_conf_file(world):
    return world['source']['project_conf']['cloud-shunt']['conf_file']


def log_size(world):
    try:
        return os.path.getsize(proxy_log(world))
    except OSError:
        return 0


def wait_for_log(world, text, offset, timeout=RELOAD_TIMEOUT):
    """Wait until the proxy log holds ``text`` after byte ``offset``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(proxy_log(world), 'rb') as f:
            f.seek(offset)
            if text.encode() in f.read():
                return
        time.sleep(0.05)
    raise AssertionError('the proxy never logged %r' % text)


def write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def write_shunt_config(world, mappings):
    """Replace the shunt's mappings and wait until it has read them."""
    path = shunt_conf_file(world)
    offset = log_size(world)
    write_atomically(path, json.dumps({
        'containers': mappings,
        'status_dir': os.path.join(os.path.dirname(path), 'status')}))
    wait_for_log(world, 'mapping(s) from', offset)


def tearDownModule():
    write_shunt_config(get_world(), [])


def parsed_mapping(mapping):
    return parse_config(json.dumps({'status_dir': '/tmp',
                                    'containers': [mapping]})).mappings[0]


def md5(data):
    return hashlib.md5(data).hexdigest()


def put_concurrently(func, items, workers=10):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(func, items))


class ShuntWorld(unittest.TestCase):
    """A source container per test, a bucket per class, and helpers."""
    target = 'moto'

    @classmethod
    def setUpClass(cls):
        cls.world = get_world()
        cls.bucket = unique('shunt')
        cls.create_bucket()

    @classmethod
    def tearDownClass(cls):
        cls.delete_bucket()

    # -- what a target subclass may change -----------------------------------
    @classmethod
    def create_bucket(cls):
        s3_client(cls.target).create_bucket(Bucket=cls.bucket)

    @classmethod
    def delete_bucket(cls):
        remove_bucket(s3_client(cls.target), cls.bucket)

    def endpoint(self):
        settings = (self.world['target']['s3'] if self.target == 's3api'
                    else self.world[self.target])
        return settings['endpoint']

    def mapping(self, container=None, **extra):
        extra.setdefault('merge_namespaces', True)
        mapping = s3_mapping(self.world, self.target, self.bucket,
                             container or self.container,
                             account=self.account, **extra)
        mapping['aws_endpoint'] = extra.get('aws_endpoint',
                                            self.endpoint())
        return mapping

    # -- per test -----------------------------------------------------------
    def setUp(self):
        self.conn = swift_conn()
        self.url, self.token = self.conn.get_auth()
        self.account = self.url.rsplit('/', 1)[1]
        self.container = unique('merged')
        self.conn.put_container(self.container)
        self.containers = [self.container]
        self._providers = {}

    def tearDown(self):
        for container in self.containers:
            try:
                _, listing = self.conn.get_container(
                    container, full_listing=True,
                    headers={'X-Cloud-Shunt-Bypass': 'true'})
                put_concurrently(lambda o: self.conn.delete_object(
                    container, o['name']), listing)
                self.conn.delete_container(container)
            except swiftclient.ClientException:
                pass

    def use(self, *mappings):
        write_shunt_config(self.world, list(mappings))

    def provider(self, mapping):
        key = json.dumps(mapping, sort_keys=True)
        if key not in self._providers:
            self._providers[key] = provider_for(parsed_mapping(mapping))
        return self._providers[key]

    def put_remote(self, mapping, name, body, container=None,
                   headers=None):
        """Write an object the way the daemon would have copied it."""
        headers = dict(headers or {})
        headers.setdefault('content-type', 'application/x-test')
        local = LocalObject(container or self.container, name, headers,
                            len(body), md5(body), '1700000000.00000',
                            lambda: io.BytesIO(body))
        self.provider(mapping).put(local)

    def local_head(self, name, container=None):
        """HEAD with the shunt bypassed: only the local object counts."""
        try:
            return self.conn.head_object(
                container or self.container, name,
                headers={'X-Cloud-Shunt-Bypass': 'true'})
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise

    def wait_for(self, check, timeout=15, what='condition'):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if check():
                return
            time.sleep(0.2)
        self.fail('timed out waiting for %s' % what)

    def raw(self, method, path, headers=None, token=True):
        headers = dict(headers or {})
        if token:
            headers['X-Auth-Token'] = self.token
        return requests.request(method, self.url + '/' + path,
                                headers=headers, timeout=60)

    def quoted(self, name, container=None):
        return urllib.parse.quote('%s/%s' % (container or self.container,
                                             name))


class ShuntTargetTests(object):
    """Everything that must work against each remote (a mixin: each
    target is a ShuntWorld subclass that mixes it in)."""

    name = 'archiv\u00e9/\u2603 object'
    # The listing formats paged through: xml and plain are listing_formats'
    # work on the same JSON, so one target checks them (see TestShuntMoto).
    listing_formats = ('json',)

    def test_archived_object_whole_and_ranges(self):
        mapping = self.mapping()
        self.use(mapping)
        body = os.urandom(3 * 1024 * 1024 + 17)
        self.put_remote(mapping, self.name, body, headers={
            'content-type': 'image/x-test', 'x-object-meta-color': 'bl\u00fc'})
        self.assertIsNone(self.local_head(self.name))

        headers, got = self.conn.get_object(self.container, self.name)
        self.assertEqual(body, got)
        self.assertEqual(md5(body), headers['etag'])
        self.assertEqual('image/x-test', headers['content-type'])
        self.assertEqual('bl\u00fc', headers['x-object-meta-color'])
        self.assertEqual('archived', headers['x-object-sync-status'])
        for spec, want in (('bytes=0-0', body[:1]),
                           ('bytes=1000-200999', body[1000:201000]),
                           ('bytes=-10', body[-10:]),
                           ('bytes=3145000-', body[3145000:])):
            headers, got = self.conn.get_object(
                self.container, self.name, headers={'Range': spec})
            self.assertEqual(want, got, spec)
            self.assertEqual(str(len(want)), headers['content-length'])
        headers = self.conn.head_object(self.container, self.name)
        self.assertEqual(str(len(body)), headers['content-length'])
        self.assertEqual('archived', headers['x-object-sync-status'])
        self.assertIsNone(self.local_head(self.name), 'no restore')
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.conn.get_object(self.container, 'never there')
        self.assertEqual(404, caught.exception.http_status)

    def test_conditional_requests(self):
        mapping = self.mapping()
        self.use(mapping)
        body = b'conditional body'
        self.put_remote(mapping, self.name, body)
        path = self.quoted(self.name)
        etag = md5(body)
        modified = self.raw('HEAD', path).headers['Last-Modified']
        for headers, status in (
                ({'If-None-Match': etag}, 304),
                ({'If-None-Match': '"%s"' % etag}, 304),
                ({'If-None-Match': 'other'}, 200),
                ({'If-Match': etag}, 200),
                ({'If-Match': '"%s"' % etag}, 200),
                ({'If-Match': 'other'}, 412),
                ({'If-Modified-Since': modified}, 304),
                ({'If-Modified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT'},
                 200),
                ({'If-Unmodified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT'},
                 412),
                ({'If-Unmodified-Since': modified}, 200),
                ({'If-Match': etag, 'Range': 'bytes=0-3'}, 206)):
            for method in ('GET', 'HEAD'):
                resp = self.raw(method, path, headers)
                want = status
                if method == 'HEAD' and status == 206:
                    want = 200
                self.assertEqual(want, resp.status_code, (method, headers))
                if method == 'GET' and want == 200:
                    self.assertEqual(body, resp.content)
                if want == 304:
                    self.assertEqual(etag, resp.headers['Etag'].strip('"'))
        self.assertEqual(b'cond', self.raw('GET', path, {
            'Range': 'bytes=0-3'}).content)

    def test_restore_on_full_get(self):
        mapping = self.mapping(restore_object=True,
                               show_remote_location=True)
        self.use(mapping)
        body = os.urandom(1024 * 1024)
        meta = {'content-type': 'image/x-restored',
                'x-object-meta-color': 'r\u00f6t'}
        self.put_remote(mapping, self.name, body, headers=meta)
        self.put_remote(mapping, 'ranged', body)
        # Range reads and HEADs do not restore.
        self.conn.get_object(self.container, 'ranged',
                             headers={'Range': 'bytes=0-99'})
        self.conn.head_object(self.container, 'ranged')
        _, got = self.conn.get_object(self.container, self.name)
        self.assertEqual(body, got)
        self.wait_for(lambda: self.local_head(self.name) is not None,
                      what='the restore')
        local = self.local_head(self.name)
        self.assertEqual(md5(body), local['etag'])
        self.assertEqual('image/x-restored', local['content-type'])
        self.assertEqual('r\u00f6t', local['x-object-meta-color'])
        _, got = self.conn.get_object(
            self.container, self.name,
            headers={'X-Cloud-Shunt-Bypass': 'true'})
        self.assertEqual(body, got)
        headers = self.conn.head_object(
            self.container, self.name,
            headers={'X-Object-Sync-Status': '?'})
        self.assertEqual('synced', headers['x-object-sync-status'])
        _, listing = self.conn.get_container(self.container)
        where = {e['name']: e['content_location'] for e in listing}
        location = remote_location(parsed_mapping(mapping),
                                   self.provider(mapping), self.container)
        self.assertEqual(['swift', location], where[self.name])
        self.assertEqual([location], where['ranged'])
        self.assertIsNone(self.local_head('ranged'))

    def test_disconnect_mid_body_leaves_nothing(self):
        mapping = self.mapping(restore_object=True)
        self.use(mapping)
        body = os.urandom(24 * 1024 * 1024)
        self.put_remote(mapping, 'big', body)
        parts = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                          timeout=30)
        conn.request('GET', parts.path + '/' + self.quoted('big'),
                     headers={'X-Auth-Token': self.token})
        resp = conn.getresponse()
        self.assertEqual(200, resp.status)
        self.assertEqual(body[:65536], resp.read(65536))
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b'\x01\x00\x00\x00\x00\x00\x00\x00')
        conn.sock.close()
        conn.close()
        # The restore PUT is abandoned at once (Swift answers it 499)...
        aborted = 'PUT %s/%s HTTP/1.0 499' % (
            urllib.parse.urlsplit(self.url).path,
            urllib.parse.quote(self.quoted('big'), safe='/'))

        def put_aborted():
            with open(proxy_log(self.world), errors='replace') as f:
                return aborted in f.read()
        self.wait_for(put_aborted, timeout=10, what='the aborted PUT')
        # ...and leaves nothing behind.
        self.assertIsNone(self.local_head('big'),
                          'a disconnected client left an object behind')
        # the next full read restores it whole
        _, got = self.conn.get_object(self.container, 'big')
        self.assertEqual(body, got)
        self.wait_for(lambda: self.local_head('big') is not None,
                      what='the restore')
        self.assertEqual(md5(body), self.local_head('big')['etag'])

    def test_post_and_delete_of_remote_only_objects(self):
        mapping = self.mapping()
        self.use(mapping)
        self.put_remote(mapping, self.name, b'metadata', headers={
            'content-type': 'text/x-kept', 'x-object-meta-old': 'old'})
        self.conn.post_object(self.container, self.name, headers={
            'X-Object-Meta-New': 'n\u00e9w'})
        head = self.provider(mapping).head(self.container, self.name)
        self.assertEqual('n\u00e9w', head.headers['x-object-meta-new'])
        self.assertNotIn('x-object-meta-old', head.headers)
        self.assertEqual('text/x-kept', head.headers['content-type'])
        headers = self.conn.head_object(self.container, self.name)
        self.assertEqual('n\u00e9w', headers['x-object-meta-new'])
        self.assertIsNone(self.local_head(self.name))

        self.conn.delete_object(self.container, self.name)
        self.assertIsNone(self.provider(mapping).head(self.container,
                                                      self.name))
        for call in (self.conn.get_object, self.conn.delete_object,
                     self.conn.post_object):
            args = (self.container, self.name) + (
                ({},) if call == self.conn.post_object else ())
            with self.assertRaises(swiftclient.ClientException) as caught:
                call(*args)
            self.assertEqual(404, caught.exception.http_status)

    def test_sync_status_of_local_objects(self):
        mapping = self.mapping()
        self.use(mapping)
        self.conn.put_object(self.container, 'local', b'here',
                             content_type='text/x-local',
                             headers={'X-Object-Meta-A': 'b'})
        ask = {'X-Object-Sync-Status': '?'}
        self.assertNotIn('x-object-sync-status',
                         self.conn.head_object(self.container, 'local'))
        self.assertEqual('pending', self.conn.head_object(
            self.container, 'local', headers=ask)['x-object-sync-status'])
        self.put_remote(mapping, 'local', b'here', headers={
            'content-type': 'text/x-local', 'x-object-meta-a': 'b'})
        self.assertEqual('synced', self.conn.head_object(
            self.container, 'local', headers=ask)['x-object-sync-status'])
        headers, _ = self.conn.get_object(self.container, 'local',
                                          headers=ask)
        self.assertEqual('synced', headers['x-object-sync-status'])
        self.conn.post_object(self.container, 'local',
                              headers={'X-Object-Meta-A': 'changed'})
        self.assertEqual('pending', self.conn.head_object(
            self.container, 'local', headers=ask)['x-object-sync-status'])

    def test_listing_splice(self):
        mapping = self.mapping(show_remote_location=True)
        self.use(mapping)
        local_only = ['l-%03d' % i for i in range(50)] + [
            'dir%d/l-%03d' % (i % 3, i) for i in range(20)] + [
            'ldir/\u00e9-%d' % i for i in range(5)]
        remote_only = ['r-%03d \u2603' % i for i in range(50)] + [
            'dir%d/r-%03d' % (i % 3, i) for i in range(20)] + [
            'rdir/x-%d' % i for i in range(5)]
        shared = ['s-%03d' % i for i in range(20)] + [
            'dir1/s-%03d' % i for i in range(5)]
        put_concurrently(lambda n: self.conn.put_object(
            self.container, n, b'local'), local_only + shared)
        put_concurrently(lambda n: self.put_remote(mapping, n, b'remote!'),
                         remote_only + shared)
        location = remote_location(parsed_mapping(mapping),
                                   self.provider(mapping), self.container)
        names = sorted(set(local_only + remote_only + shared))
        self.assertEqual(175, len(names))

        started = time.time()
        for delimiter in ('', '/'):
            for reverse in (False, True):
                want = expected_listing(names, delimiter, reverse)
                for fmt in self.listing_formats:
                    got, pages = self.page_through(fmt, delimiter, reverse)
                    self.assertEqual(want, [k for k, _ in got],
                                     (fmt, delimiter, reverse))
                    self.assertTrue(all(n == PAGE for n in pages[:-1]),
                                    pages)
                    if fmt != 'json':
                        continue
                    for key, entry in got:
                        if 'subdir' in entry:
                            continue
                        where = entry['content_location']
                        if key in shared:
                            self.assertEqual(['swift', location], where)
                            self.assertEqual(5, entry['bytes'])
                        elif key in local_only:
                            self.assertEqual(['swift'], where)
                        else:
                            self.assertEqual([location], where)
                            self.assertEqual(md5(b'remote!'), entry['hash'])
        sys.stderr.write('listing checks: %.1f s\n' % (time.time() - started))
        # swiftclient's own paging agrees
        _, listing = self.conn.get_container(self.container,
                                             full_listing=True)
        self.assertEqual(names, [e['name'] for e in listing])
        _, listing = self.conn.get_container(
            self.container, prefix='dir1/', marker='dir1/l-004',
            end_marker='dir1/s-003')
        self.assertEqual([n for n in names if n.startswith('dir1/')
                          and 'dir1/l-004' < n < 'dir1/s-003'],
                         [e['name'] for e in listing])
        self.assertNotIn(self.provider(mapping).mapping.aws_secret,
                         json.dumps(listing))

    def page_through(self, fmt, delimiter, reverse):
        entries, pages, marker = [], [], ''
        while True:
            query = {'format': fmt, 'limit': PAGE, 'marker': marker}
            if delimiter:
                query['delimiter'] = delimiter
            if reverse:
                query['reverse'] = 'on'
            resp = self.raw('GET', urllib.parse.quote(self.container) + '?'
                            + urllib.parse.urlencode(query))
            self.assertIn(resp.status_code, (200, 204), resp.content)
            page = parse_listing(fmt, resp.content)
            if not page:
                return entries, pages
            pages.append(len(page))
            entries.extend(page)
            marker = page[-1][0]


def parse_listing(fmt, body):
    """[(name or subdir, entry)] from a listing body."""
    if fmt == 'json':
        return [(e.get('name', e.get('subdir')), e)
                for e in json.loads(body)]
    if fmt == 'plain':
        return [(line, {}) for line in body.decode('utf-8').splitlines()]
    if not body:
        return []
    out = []
    for child in ElementTree.fromstring(body):
        if child.tag == 'subdir':
            out.append((child.get('name'), {'subdir': child.get('name')}))
        else:
            out.append((child.find('name').text, {}))
    return out


def expected_listing(names, delimiter, reverse):
    keys = []
    for name in sorted(names):
        if delimiter and delimiter in name:
            name = name[:name.index(delimiter) + len(delimiter)]
        if not keys or keys[-1] != name:
            keys.append(name)
    return keys[::-1] if reverse else keys


class TestShuntS3api(ShuntTargetTests, ShuntWorld):
    target = 's3api'


class TestShuntMoto(ShuntTargetTests, ShuntWorld):
    listing_formats = ('json', 'xml', 'plain')
    target = 'moto'


class TestShuntRadosgw(ShuntTargetTests, ShuntWorld):
    target = 'radosgw'


class TestShuntSwift(ShuntTargetTests, ShuntWorld):
    """The target Swift cluster as the remote.  Objects keep their names
    there, so each local container gets its own remote container
    (``<bucket>-<container>``)."""
    target = 'swift'

    @classmethod
    def create_bucket(cls):
        pass  # remote containers are created by the provider on first PUT

    @classmethod
    def delete_bucket(cls):
        conn = swift_conn_to_target()
        for container in conn.get_account(prefix=cls.bucket,
                                          full_listing=True)[1]:
            name = container['name']
            listing = conn.get_container(name, full_listing=True)[1]
            put_concurrently(lambda o: conn.delete_object(name, o['name']),
                             listing)
            conn.delete_container(name)

    def endpoint(self):
        return self.world['target']['auth_url']

    def mapping(self, container=None, **extra):
        extra.setdefault('merge_namespaces', True)
        container = container or self.container
        mapping = target_mapping(self.world, 'swift',
                                 '%s-%s' % (self.bucket, container),
                                 container, account=self.account, **extra)
        mapping['aws_endpoint'] = extra.get('aws_endpoint',
                                            self.endpoint())
        return mapping


def swift_conn_to_target():
    info = get_world()['target']
    return swiftclient.Connection(info['auth_url'], 'test:tester',
                                  info['users']['test:tester']['key'],
                                  retries=1)


class TestShuntSecurity(ShuntWorld):
    """Requests Swift refuses never reach the remote; local objects never
    touch it."""

    def setUp(self):
        super().setUp()
        self.proxy = CountingProxy(self.endpoint())
        self.addCleanup(self.proxy.close)
        self.direct = self.mapping()
        self.use(self.mapping(aws_endpoint=self.proxy.url))
        self.put_remote(self.direct, 'secret', b'remote only')
        self.conn.put_object(self.container, 'local', b'local')
        self.proxy.reset()

    def statuses(self, token_headers):
        out = {}
        for method, path in (('GET', self.quoted('secret')),
                             ('HEAD', self.quoted('secret')),
                             ('POST', self.quoted('secret')),
                             ('DELETE', self.quoted('secret')),
                             ('GET', urllib.parse.quote(self.container))):
            resp = self.raw(method, path, token_headers, token=False)
            out[(method, path)] = resp.status_code
            self.assertNotIn(b'remote only', resp.content)
        return out

    def token_of(self, user):
        return swift_conn(user=user).get_auth()[1]

    def test_refused_requests_never_reach_the_remote(self):
        for headers, status in (
                ({}, 401),
                ({'X-Auth-Token': 'AUTH_tk-bogus'}, 401),
                ({'X-Auth-Token': self.token_of('test2:tester2')}, 403),
                ({'X-Auth-Token': self.token_of('test:tester3')}, 403)):
            got = self.statuses(headers)
            self.assertEqual({status}, set(got.values()), (headers, got))
        self.assertEqual({}, self.proxy.counts())

        # read ACL for tester3: reads reach the remote, writes do not
        self.conn.post_container(self.container,
                                 {'X-Container-Read': 'test:tester3'})
        tester3 = swift_conn(user='test:tester3')
        _, body = tester3.get_object(self.container, 'secret')
        self.assertEqual(b'remote only', body)
        self.assertEqual(1, self.proxy.counts().get('GET'))
        self.proxy.reset()
        for call in (tester3.post_object, tester3.delete_object):
            args = (self.container, 'secret') + (
                ({},) if call == tester3.post_object else ())
            with self.assertRaises(swiftclient.ClientException) as caught:
                call(*args)
            self.assertEqual(403, caught.exception.http_status)
        self.assertEqual({}, self.proxy.counts())

    def test_local_objects_never_touch_the_remote(self):
        for _ in range(5):
            self.assertEqual(b'local', self.conn.get_object(
                self.container, 'local')[1])
            self.conn.head_object(self.container, 'local')
            self.conn.get_object(self.container, 'local',
                                 headers={'Range': 'bytes=0-1'})
        self.conn.post_object(self.container, 'local', {'X-Object-Meta-A':
                                                        'b'})
        self.conn.delete_object(self.container, 'local')
        self.assertEqual({}, self.proxy.counts())


class TestShuntUnderOtherMiddlewares(ShuntWorld):
    """Swift's own middlewares list merged containers through the shunt
    (dlo, symlink, s3api); they must get exactly what Swift gives them."""

    def setUp(self):
        super().setUp()
        self.mapping_used = self.mapping()
        self.use(self.mapping_used)

    def put_dlo(self):
        self.conn.put_object(self.container, 'seg_1', b'first-')
        self.conn.put_object(self.container, 'seg_2', b'second')
        self.conn.put_object(self.container, 'dlo', b'', headers={
            'X-Object-Manifest': '%s/seg_' % self.container})

    def test_dlo_and_symlink_to_it(self):
        # The bug: the DLO middleware's listing sub-request got plain text
        # from the shunt and every GET of a DLO was a 500.
        self.put_dlo()
        headers, body = self.conn.get_object(self.container, 'dlo')
        self.assertEqual(b'first-second', body)
        _, body = self.conn.get_object(self.container, 'dlo',
                                       headers={'Range': 'bytes=3-8'})
        self.assertEqual(b'st-sec', body)
        self.conn.put_object(self.container, 'link', b'', headers={
            'X-Symlink-Target': '%s/dlo' % self.container})
        self.assertEqual(b'first-second',
                         self.conn.get_object(self.container, 'link')[1])
        # A remote object under the DLO's prefix is not one of its
        # segments: segment listings are Swift's alone.
        self.put_remote(self.mapping_used, 'seg_3', b'remote')
        self.assertEqual(b'first-second',
                         self.conn.get_object(self.container, 'dlo')[1])
        self.assertEqual(b'remote',
                         self.conn.get_object(self.container, 'seg_3')[1])

    def test_listings_equal_swifts_while_the_remote_is_empty(self):
        self.put_dlo()
        self.conn.put_object(self.container, 'dir/\u00e9', b'x')
        self.conn.put_object(self.container, 'link', b'', headers={
            'X-Symlink-Target': '%s/seg_1' % self.container})
        for query in ('', '?format=json', '?format=xml', '?delimiter=/',
                      '?format=json&reverse=on&limit=2',
                      '?format=json&prefix=seg_&marker=seg_1'):
            path = urllib.parse.quote(self.container) + query
            merged = self.raw('GET', path)
            plain = self.raw('GET', path,
                             headers={'X-Cloud-Shunt-Bypass': 'true'})
            self.assertEqual(plain.status_code, merged.status_code, query)
            self.assertEqual(plain.content, merged.content, query)
            for header in ('Content-Type', 'Content-Length',
                           'X-Container-Object-Count'):
                self.assertEqual(plain.headers.get(header),
                                 merged.headers.get(header), (query, header))

    def test_reserved_metadata_refused_before_swift_stores_it(self):
        reserved = {'X-Object-Meta-Swift-S3-Sync-Large': 'slo'}
        resp = self.raw('PUT', self.quoted('planted'), headers=reserved)
        self.assertEqual(400, resp.status_code)
        self.assertIn(b'reserved', resp.content)
        self.assertIsNone(self.local_head('planted'))
        self.conn.put_object(self.container, 'plain', b'x')
        resp = self.raw('POST', self.quoted('plain'), headers=reserved)
        self.assertEqual(400, resp.status_code)
        self.assertNotIn('x-object-meta-swift-s3-sync-large',
                         self.local_head('plain'))
        # Swift's own refusal for a client that may not write at all.
        token = swift_conn(user='test:tester3').get_auth()[1]
        resp = self.raw('PUT', self.quoted('planted'), token=False,
                        headers=dict(reserved, **{'X-Auth-Token': token}))
        self.assertEqual(403, resp.status_code)

    def test_s3api_lists_remote_objects_of_a_merged_bucket(self):
        self.conn.put_object(self.container, 'local', b'l')
        self.put_remote(self.mapping_used, 'remote \u2603', b'r')
        s3 = s3_client_of_source(self.world)
        listed = s3.list_objects_v2(Bucket=self.container)
        self.assertEqual(['local', 'remote \u2603'],
                         [o['Key'] for o in listed['Contents']])
        self.assertEqual(b'r', s3.get_object(
            Bucket=self.container, Key='remote \u2603')['Body'].read())


def s3_client_of_source(world):
    """boto3 on the source proxy's s3api, as the tester user."""
    import boto3
    import botocore.config
    info = world['source']['s3']
    return boto3.client(
        's3', endpoint_url=os.environ.get('SHUNT_TEST_PROXY') or
        info['endpoint'], aws_access_key_id=info['access_key'],
        aws_secret_access_key=info['secret_key'], region_name=info['region'],
        config=botocore.config.Config(signature_version='s3v4',
                                      s3={'addressing_style': 'path'},
                                      retries={'max_attempts': 1}))


class TestShuntErrorsAndConfig(ShuntWorld):

    def test_remote_down(self):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            dead = 'http://127.0.0.1:%d' % s.getsockname()[1]
        self.use(self.mapping(aws_endpoint=dead))
        self.conn.put_object(self.container, 'local', b'local')
        started = time.time()
        self.assertEqual(b'local',
                         self.conn.get_object(self.container, 'local')[1])
        self.assertLess(time.time() - started, 1)
        resp = self.raw('GET', self.quoted('elsewhere'))
        self.assertEqual(503, resp.status_code)
        self.assertEqual(b'Remote store unavailable\n', resp.content)
        resp = self.raw('GET', urllib.parse.quote(self.container))
        self.assertEqual(503, resp.status_code)

    def test_silent_remote_holds_nothing(self):
        # A remote that accepts connections and never answers: each request
        # that needs it waits at most the world's remote_timeout (2 s),
        # and after 3 such failures it is not asked at all for a while.
        silent = socket.socket()
        silent.bind(('127.0.0.1', 0))
        silent.listen(64)
        self.addCleanup(silent.close)
        self.use(self.mapping(aws_endpoint='http://127.0.0.1:%d' %
                              silent.getsockname()[1]))
        self.conn.put_object(self.container, 'local', b'local')
        took = []
        for _ in range(3):
            started = time.time()
            resp = self.raw('HEAD', self.quoted('new-upload'))
            took.append(time.time() - started)
            self.assertEqual(503, resp.status_code)
        self.assertTrue(all(1.5 < t < 4 for t in took), took)
        started = time.time()
        for _ in range(5):
            resp = self.raw('GET', self.quoted('new-upload'))
            self.assertEqual(503, resp.status_code)
            self.assertTrue(resp.headers.get('Retry-After'))
        self.assertLess(time.time() - started, 1)
        started = time.time()
        self.assertEqual(b'local',
                         self.conn.get_object(self.container, 'local')[1])
        self.assertLess(time.time() - started, 0.5)

    def test_remote_error_and_no_secret_in_logs(self):
        # moto takes any credentials: radosgw checks signatures
        wrong = 'wrong-secret-%s' % unique('s')
        mapping = s3_mapping(self.world, 'radosgw', self.bucket,
                             self.container, account=self.account,
                             merge_namespaces=True, aws_secret=wrong)
        self.use(mapping)
        resp = self.raw('GET', self.quoted('x'))
        self.assertEqual(502, resp.status_code)
        self.assertEqual(b'Remote store error\n', resp.content)
        self.assertNotIn(wrong.encode(), resp.content)
        with open(proxy_log(self.world), errors='replace') as f:
            text = f.read()
        self.assertIn('cloud-shunt', text)
        self.assertNotIn(wrong, text)

    def test_bad_config_keeps_the_old_one(self):
        mapping = self.mapping()
        self.use(mapping)
        self.put_remote(mapping, 'x', b'still here')
        self.assertEqual(b'still here',
                         self.conn.get_object(self.container, 'x')[1])
        offset = log_size(self.world)
        write_atomically(shunt_conf_file(self.world), '{"containers": [')
        wait_for_log(self.world, 'keeping the previous mappings', offset)
        self.assertEqual(b'still here',
                         self.conn.get_object(self.container, 'x')[1])
        self.use()
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.conn.get_object(self.container, 'x')
        self.assertEqual(404, caught.exception.http_status)

    def test_per_account_mapping(self):
        other = unique('merged')
        self.conn.put_container(other)
        self.containers.append(other)
        mapping = self.mapping(container='/*')
        self.use(mapping)
        self.put_remote(mapping, 'one', b'first', container=self.container)
        self.put_remote(mapping, 'two', b'second', container=other)
        self.conn.put_object(other, 'local', b'l')
        self.assertEqual(b'first',
                         self.conn.get_object(self.container, 'one')[1])
        self.assertEqual(b'second', self.conn.get_object(other, 'two')[1])
        with self.assertRaises(swiftclient.ClientException):
            self.conn.get_object(self.container, 'two')
        _, listing = self.conn.get_container(other)
        self.assertEqual(['local', 'two'], [e['name'] for e in listing])

    def test_archived_by_the_real_daemon(self):
        mapping = self.mapping(retain_local=False, propagate_delete=False,
                               copy_after=0)
        self.use(mapping)
        body = os.urandom(200000)
        self.conn.put_object(self.container, 'daemon \u2603', body,
                             content_type='text/x-daemon',
                             headers={'X-Object-Meta-Kept': 'yes'})
        tmp = tempfile.mkdtemp(prefix='shunt-daemon-')
        self.addCleanup(shutil.rmtree, tmp, True)
        SyncDaemons(self.world, tmp, [mapping]).run_once()
        self.wait_for(lambda: self.local_head('daemon \u2603') is None,
                      what='the archive')
        headers, got = self.conn.get_object(self.container, 'daemon \u2603')
        self.assertEqual(body, got)
        self.assertEqual('text/x-daemon', headers['content-type'])
        self.assertEqual('yes', headers['x-object-meta-kept'])
        self.assertEqual('archived', headers['x-object-sync-status'])
        _, listing = self.conn.get_container(self.container)
        self.assertEqual(['daemon \u2603'], [e['name'] for e in listing])


if __name__ == '__main__':
    unittest.main()
