"""proxymc, as the world runs it (``proxymc --config``, two workers, Swift's
middleware in front), against real remotes, with python-swiftclient.

The world's proxymc reads ``<world>/proxymc/sync.json``; each test writes
the same mappings there and into the source proxy's cloud-shunt config, so
what the daemon copies, proxymc serves, and what proxymc writes, the shunt
serves.  One test class per remote, as for the shunt: s3api, moto, radosgw
and the target Swift.
"""
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import unittest
import urllib.parse

import requests
import swiftclient
from swiftclient.service import SwiftService, SwiftUploadObject

from localworld.daemons import SyncDaemons, target_mapping
from localworld.procs import free_port
from swift_s3_sync.providers import provider_for
from test.integration.test_shunt import (
    parsed_mapping, put_concurrently, swift_conn_to_target,
    write_shunt_config)
from test.integration.world import get_world, s3_client, swift_conn, unique

MiB = 1024 * 1024
# Each worker reads a changed file within a second.
RELOAD_WAIT = 1.2


def md5(data):
    return hashlib.md5(data).hexdigest()


def write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def write_proxymc_config(world, mappings):
    """Replace proxymc's mappings and wait until it has read them."""
    path = world['proxymc']['sync_conf']
    write_atomically(path, json.dumps({
        'containers': mappings,
        'status_dir': os.path.join(os.path.dirname(path), 'status')}))
    time.sleep(RELOAD_WAIT)


def tearDownModule():
    world = get_world()
    write_proxymc_config(world, [])
    write_shunt_config(world, [])


def proxymc_conn(user='test:tester'):
    info = get_world()['proxymc']
    return swiftclient.Connection(info['auth_url'], user,
                                  info['users'][user]['key'], retries=0)


def proxymc_log(world):
    return os.path.join(world['world_dir'], 'logs', 'proxymc.log')


def wait_for_log(path, offset, text, timeout=15, count=1):
    """Wait until proxymc logged ``text`` (``count`` times: once per
    worker for a reload) after ``offset`` of its log."""
    deadline = time.time() + timeout
    while True:
        with open(path, 'rb') as f:
            f.seek(offset)
            if f.read().decode('utf-8', 'replace').count(text) >= count:
                return
        if time.time() > deadline:
            raise AssertionError('proxymc did not log %r in %d s' % (
                text, timeout))
        time.sleep(0.1)


class ProxyMCWorld(unittest.TestCase):
    """A bucket per class; per test a container (and its _segments
    container) mapped for the daemon, the shunt and proxymc alike."""
    target = 'moto'

    @classmethod
    def setUpClass(cls):
        cls.world = get_world()
        cls.bucket = unique('pmc')
        if cls.target != 'swift':
            s3_client(cls.target).create_bucket(Bucket=cls.bucket)

    @classmethod
    def tearDownClass(cls):
        if cls.target == 'swift':
            conn = swift_conn_to_target()
            for item in conn.get_account(prefix=cls.bucket,
                                         full_listing=True)[1]:
                listing = conn.get_container(item['name'],
                                             full_listing=True)[1]
                put_concurrently(lambda o: conn.delete_object(
                    item['name'], o['name']), listing)
                conn.delete_container(item['name'])
            return
        s3 = s3_client(cls.target)
        for page in s3.get_paginator('list_objects_v2').paginate(
                Bucket=cls.bucket):
            for obj in page.get('Contents', []):
                s3.delete_object(Bucket=cls.bucket, Key=obj['Key'])
        s3.delete_bucket(Bucket=cls.bucket)

    def mapping(self, container, **extra):
        extra.setdefault('merge_namespaces', True)
        remote = ('%s-%s' % (self.bucket, container)
                  if self.target == 'swift' else self.bucket)
        return target_mapping(self.world, self.target, remote, container,
                              **extra)

    def setUp(self):
        self.source = swift_conn()
        self.pmc = proxymc_conn()
        self.container = unique('pmc')
        self.segments = self.container + '_segments'
        self.mappings = [self.mapping(self.container),
                         self.mapping(self.segments)]
        self.source.put_container(self.container)
        write_shunt_config(self.world, self.mappings)
        write_proxymc_config(self.world, self.mappings)

    def tearDown(self):
        for container in (self.container, self.segments):
            try:
                for obj in self.pmc.get_container(container,
                                                  full_listing=True)[1]:
                    self.pmc.delete_object(container, obj['name'])
            except swiftclient.ClientException:
                pass
            try:
                listing = self.source.get_container(
                    container, full_listing=True,
                    headers={'X-Cloud-Shunt-Bypass': 'true'})[1]
                for obj in listing:
                    self.source.delete_object(container, obj['name'])
                self.source.delete_container(container)
            except swiftclient.ClientException:
                pass

    def provider(self, container):
        return provider_for(parsed_mapping(self.mapping(container)))

    def upload_segmented(self, name, data, segment_size):
        """``swift upload --segment-size`` through proxymc."""
        info = self.world['proxymc']
        work = tempfile.mkdtemp(prefix='pmc-')
        self.addCleanup(shutil.rmtree, work, True)
        path = os.path.join(work, 'body')
        with open(path, 'wb') as f:
            f.write(data)
        options = {'auth': info['auth_url'], 'user': 'test:tester',
                   'key': info['users']['test:tester']['key'],
                   'segment_size': segment_size}
        with SwiftService(options) as service:
            results = list(service.upload(self.container, [
                SwiftUploadObject(path, object_name=name)]))
        os.unlink(path)
        failed = [r for r in results if not r['success']]
        self.assertEqual([], failed)


class ProxyMCTargetTests(object):
    """What must work against each remote (mixed into a ProxyMCWorld)."""

    names = ('plain.txt', 'caf\u00e9/cr\u00e8me \u2603.bin', 'dir/sub/obj')

    def test_objects_synced_by_the_daemon_read_through_proxymc(self):
        bodies = {}
        for index, name in enumerate(self.names):
            bodies[name] = os.urandom(1000 + index)
            self.source.put_object(
                self.container, name, bodies[name],
                content_type='application/x-%d' % index,
                headers={'X-Object-Meta-Index': str(index),
                         'X-Object-Meta-Cafe': 'cr\u00e8me \u2603'})
        work = tempfile.mkdtemp(prefix='pmc-daemon-')
        self.addCleanup(shutil.rmtree, work, True)
        SyncDaemons(self.world, work, self.mappings).run_once()

        _, listing = self.pmc.get_container(self.container)
        self.assertEqual(sorted(self.names), [e['name'] for e in listing])
        for index, name in enumerate(self.names):
            local = self.source.head_object(self.container, name)
            headers, body = self.pmc.get_object(self.container, name)
            self.assertEqual(bodies[name], body, name)
            self.assertEqual(local['etag'], headers['etag'])
            self.assertEqual(local['content-type'], headers['content-type'])
            metadata = {k: v for k, v in headers.items()
                        if k.startswith('x-object-meta-')}
            self.assertEqual({k: v for k, v in local.items()
                              if k.startswith('x-object-meta-')}, metadata)

    def test_written_through_proxymc_under_the_daemons_layout(self):
        name = 'w\u00e9b/upload \u2603'
        body = os.urandom(70000)
        etag = self.pmc.put_object(
            self.container, name, body, content_type='image/x-pmc',
            headers={'X-Object-Meta-From': 'proxymc'})
        self.assertEqual(md5(body), etag)
        # Where the daemon's provider looks for it, with what it keeps.
        remote = self.provider(self.container).head(self.container, name)
        self.assertIsNotNone(remote)
        self.assertEqual(md5(body), remote.etag)
        self.assertEqual('proxymc', remote.headers['x-object-meta-from'])
        self.assertIsNotNone(remote.timestamp)
        if self.target != 'swift':
            key = self.provider(self.container).key_for(self.container,
                                                        name)
            self.assertTrue(re.match(r'^[0-9a-f]{1,6}/AUTH_test/%s/' %
                                     self.container, key))
            s3_client(self.target).head_object(Bucket=self.bucket, Key=key)
        # ... and the source cluster's shunt serves it.
        headers, got = self.source.get_object(self.container, name)
        self.assertEqual(body, got)
        self.assertEqual('image/x-pmc', headers['content-type'])
        self.assertEqual('proxymc', headers['x-object-meta-from'])
        self.assertEqual('archived', headers['x-object-sync-status'])

    def test_20_mib_plain_and_segmented(self):
        body = os.urandom(20 * MiB)
        self.pmc.put_object(self.container, 'plain-20', body)
        self.upload_segmented('slo-20', body, 6 * MiB)
        for name in ('plain-20', 'slo-20'):
            headers, got = self.pmc.get_object(self.container, name)
            self.assertTrue(got == body, 'proxymc read of %s' % name)
            self.assertEqual(str(len(body)), headers['content-length'])
            headers, got = self.source.get_object(self.container, name)
            self.assertTrue(got == body, 'shunt read of %s' % name)
        headers = self.pmc.head_object(self.container, 'slo-20')
        self.assertEqual('True', headers.get('x-static-large-object'))
        uploaded = self.pmc.get_container(self.segments)[1]
        self.assertEqual(4, len(uploaded))   # and no copies of them
        if self.target != 'swift':
            # S3 keeps the client's manifest beside the multipart object.
            manifest = json.loads(self.pmc.get_object(
                self.container, 'slo-20',
                query_string='multipart-manifest=get')[1])
            self.assertEqual(['/%s/%s' % (self.segments, s['name'])
                              for s in uploaded],
                             [m['name'] for m in manifest])
        # A range across two segments.
        _, got = self.pmc.get_object(
            self.container, 'slo-20',
            headers={'Range': 'bytes=%d-%d' % (6 * MiB - 5, 6 * MiB + 4)})
        self.assertEqual(body[6 * MiB - 5:6 * MiB + 5], got)
        # `swift delete` removes the segments with the manifest.
        with SwiftService({'auth': self.world['proxymc']['auth_url'],
                           'user': 'test:tester', 'key': 'testing'}) as svc:
            results = list(svc.delete(self.container, ['slo-20']))
        self.assertTrue(all(r['success'] for r in results), results)
        self.assertEqual([], self.pmc.get_container(self.segments)[1])
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.pmc.head_object(self.container, 'slo-20')
        self.assertEqual(404, caught.exception.http_status)

    def test_read_post_copy_delete(self):
        body = b'0123456789' * 100
        self.pmc.put_object(self.container, 'obj', body,
                            content_type='text/x-one',
                            headers={'X-Object-Meta-A': '1'})
        headers, got = self.pmc.get_object(self.container, 'obj',
                                           headers={'Range': 'bytes=5-14'})
        self.assertEqual(body[5:15], got)
        for extra, status in (({'If-None-Match': md5(body)}, 304),
                              ({'If-Match': 'nope'}, 412),
                              ({'If-Match': md5(body)}, 200)):
            resp = requests.get(self.url('obj'), headers=dict(
                extra, **{'X-Auth-Token': self.token()}), timeout=30)
            self.assertEqual(status, resp.status_code, extra)
        self.pmc.post_object(self.container, 'obj',
                             headers={'X-Object-Meta-B': '2'})
        headers = self.pmc.head_object(self.container, 'obj')
        self.assertEqual('2', headers['x-object-meta-b'])
        self.assertNotIn('x-object-meta-a', headers)
        self.assertEqual('text/x-one', headers['content-type'])
        self.pmc.put_object(self.container, 'copy', b'',
                            headers={'X-Copy-From': '/%s/obj' %
                                     self.container})
        headers, got = self.pmc.get_object(self.container, 'copy')
        self.assertEqual(body, got)
        self.assertEqual('2', headers['x-object-meta-b'])
        self.pmc.delete_object(self.container, 'obj')
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.pmc.get_object(self.container, 'obj')
        self.assertEqual(404, caught.exception.http_status)

    def test_listing_pages_and_formats(self):
        names = ['a/%02d' % i for i in range(12)] + ['b', 'c/x', 'c/y']
        put_concurrently(lambda n: self.pmc.put_object(
            self.container, n, n.encode()), names)
        seen, marker = [], ''
        while True:
            page = self.pmc.get_container(self.container, marker=marker,
                                          limit=5)[1]
            if not page:
                break
            seen += [e['name'] for e in page]
            marker = page[-1]['name']
        self.assertEqual(sorted(names), seen)
        top = self.pmc.get_container(self.container, delimiter='/')[1]
        self.assertEqual(['a/', 'b', 'c/'],
                         [e.get('subdir', e.get('name')) for e in top])
        text = requests.get(self.url('', prefix='c/'), timeout=30, headers={
            'X-Auth-Token': self.token()}).text
        self.assertEqual('c/x\nc/y\n', text)
        xml = requests.get(self.url('', format='xml', limit=1), timeout=30,
                           headers={'X-Auth-Token': self.token()}).text
        self.assertIn('<name>a/00</name>', xml)
        self.assertNotIn('a/01', xml)

    # -- helpers -------------------------------------------------------------
    def token(self):
        return self.pmc.get_auth()[1]

    def url(self, name, **params):
        url = '%s/%s/%s' % (self.pmc.get_auth()[0], self.container,
                            urllib.parse.quote(name))
        if params:
            url += '?' + urllib.parse.urlencode(params)
        return url


class TestProxyMCS3api(ProxyMCTargetTests, ProxyMCWorld):
    target = 's3api'


class TestProxyMCMoto(ProxyMCTargetTests, ProxyMCWorld):
    target = 'moto'


class TestProxyMCRadosgw(ProxyMCTargetTests, ProxyMCWorld):
    target = 'radosgw'


class TestProxyMCSwift(ProxyMCTargetTests, ProxyMCWorld):
    target = 'swift'


class TestProxyMCAuthAndErrors(ProxyMCWorld):
    """Tokens, accounts, read-only users, a remote that is down, config
    reloads (against moto)."""

    def request(self, method, path, token=None, **kwargs):
        base = self.world['proxymc']['endpoint']
        headers = kwargs.pop('headers', {})
        if token:
            headers['X-Auth-Token'] = token
        return requests.request(method, base + path, headers=headers,
                                timeout=30, **kwargs)

    def test_tokens_and_accounts(self):
        self.pmc.put_object(self.container, 'secret', b'mine')
        path = '/v1/AUTH_test/%s/secret' % self.container
        self.assertEqual(401, self.request('GET', path).status_code)
        self.assertEqual(401, self.request('GET', path,
                                           token='AUTH_tkforged').status_code)
        token = self.token_of('test:tester')
        self.assertEqual(401, self.request(
            'GET', path, token=token[:-4] + 'beef').status_code)
        # Two workers serve the world's proxymc: a token works on either.
        for _ in range(6):
            self.assertEqual(b'mine', self.request(
                'GET', path, token=token).content)
        other = self.token_of('test2:tester2')
        self.assertEqual(403, self.request('GET', path,
                                           token=other).status_code)
        self.assertEqual(403, self.request(
            'GET', '/v1/AUTH_test', token=other).status_code)
        names = [c['name'] for c in proxymc_conn('test2:tester2')
                 .get_account()[1]]
        self.assertNotIn(self.container, names)
        self.assertIn(self.container,
                      [c['name'] for c in self.pmc.get_account()[1]])
        reader = self.token_of('test:tester3')
        self.assertEqual(200, self.request('GET', path,
                                           token=reader).status_code)
        self.assertEqual(403, self.request('PUT', path, token=reader,
                                           data=b'x').status_code)
        self.assertEqual(403, self.request('DELETE', path,
                                           token=reader).status_code)
        self.assertEqual(b'mine', self.pmc.get_object(self.container,
                                                      'secret')[1])
        bad = self.request('GET', '/auth/v1.0', headers={
            'X-Auth-User': 'test:tester', 'X-Auth-Key': 'wrong'})
        self.assertEqual(401, bad.status_code)

    def token_of(self, user):
        info = self.world['proxymc']['users'][user]
        resp = self.request('GET', '/auth/v1.0', headers={
            'X-Auth-User': user, 'X-Auth-Key': info['key']})
        self.assertEqual(200, resp.status_code)
        return resp.headers['X-Auth-Token']

    def test_remote_down_is_503_without_secrets(self):
        secret = 'pmc-secret-%s' % unique()
        down = dict(self.mapping('down'),
                    aws_endpoint='http://127.0.0.1:%d' % free_port(),
                    aws_secret=secret)
        write_proxymc_config(self.world, self.mappings + [down])
        token = self.token_of('test:tester')
        for method, path in (('GET', '/v1/AUTH_test/down/obj'),
                             ('GET', '/v1/AUTH_test/down'),
                             ('PUT', '/v1/AUTH_test/down/obj')):
            resp = self.request(method, path, token=token, data=b'x'
                                if method == 'PUT' else None)
            self.assertEqual(503, resp.status_code, (method, path))
            self.assertEqual(b'Remote store unavailable\n', resp.content)
        with open(proxymc_log(self.world), errors='replace') as f:
            log = f.read()
        self.assertIn('down', log)
        self.assertNotIn(secret, log)
        self.assertNotIn(token, log)

    def test_config_reloads(self):
        conf = self.world['proxymc']['conf']
        log = proxymc_log(self.world)
        with open(conf) as f:
            original = f.read()
        try:
            write_atomically(conf, original.replace(
                '[app:proxymc]\n',
                '[app:proxymc]\nuser_test_newbie = fresh .admin\n'))
            time.sleep(RELOAD_WAIT)
            newbie = swiftclient.Connection(
                self.world['proxymc']['auth_url'], 'test:newbie', 'fresh',
                retries=0)
            newbie.put_object(self.container, 'by-newbie', b'hi')
            token = newbie.get_auth()[1]
            write_atomically(conf, original)
            time.sleep(RELOAD_WAIT)
            resp = self.request('GET', '/v1/AUTH_test/%s/by-newbie' %
                                self.container, token=token)
            self.assertEqual(401, resp.status_code)
        finally:
            write_atomically(conf, original)
        # A sync config that does not load keeps the previous mappings:
        # once proxymc has said so, the object is still served (by either
        # worker).
        offset = os.path.getsize(log)
        write_atomically(self.world['proxymc']['sync_conf'], '{"containers')
        wait_for_log(log, offset, 'keeping the previous mappings')
        for _ in range(4):
            self.assertEqual(b'hi', self.pmc.get_object(self.container,
                                                        'by-newbie')[1])


if __name__ == '__main__':
    unittest.main()
