"""cloud-shunt restores of large objects, in a real proxy of the source
cluster against a real remote (moto), with the real sync daemon.

The module starts its own proxy of the world's source cluster (the
world's proxy config on another port, loading cloud-shunt from this
checkout) with its own shunt config and a swift_dir copy whose
``max_file_size`` is small, so an object "above Swift's maximum size" is a
few MiB; the proxy is stopped at the end.  The world's own proxy and its
shunt config are not touched.
"""
import configparser
import hashlib
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import requests
import swiftclient

from localworld import procs
from localworld.clients import remove_bucket
from localworld.daemons import SyncDaemons, s3_mapping
from swift_s3_sync.config import parse_config
from swift_s3_sync.providers import provider_for
from swift_s3_sync.providers.base import LocalObject
from test.integration.world import get_world, put_slo, s3_client, unique

MiB = 1024 * 1024
MAX_FILE_SIZE = 4 * MiB
SEGMENT_SIZE = 3 * MiB // 2
TARGET = 'moto'
BYPASS = {'X-Cloud-Shunt-Bypass': 'true'}
_proxy = {}


def md5(data):
    return hashlib.md5(data).hexdigest()


def setUpModule():
    """Our own proxy of the source cluster: the world's config on a free
    port, with its own shunt config and a small max_file_size."""
    world = get_world()
    work = tempfile.mkdtemp(prefix='shunt-large-')
    swift_dir = os.path.join(work, 'etc')
    os.mkdir(swift_dir)
    source_dir = world['source']['swift_dir']
    for name in os.listdir(source_dir):
        if name.endswith('.ring.gz'):
            shutil.copy(os.path.join(source_dir, name), swift_dir)
    swift_conf = configparser.ConfigParser()
    swift_conf.read(os.path.join(source_dir, 'swift.conf'))
    swift_conf['swift-constraints'] = {'max_file_size': str(MAX_FILE_SIZE)}
    with open(os.path.join(swift_dir, 'swift.conf'), 'w') as f:
        swift_conf.write(f)
    shunt_conf = os.path.join(work, 'sync.json')
    write_shunt_config(shunt_conf, [])
    port = procs.free_port()
    proxy_conf = configparser.ConfigParser(interpolation=None)
    proxy_conf.read(world['source']['proxy_conf'])
    proxy_conf['DEFAULT'].update(bind_port=str(port), swift_dir=swift_dir,
                                 log_name='shunt-large-proxy')
    proxy_conf['filter:cloud-shunt'].update(
        conf_file=shunt_conf, restore_segment_size=str(SEGMENT_SIZE))
    conf_path = os.path.join(work, 'proxy-server.conf')
    with open(conf_path, 'w') as f:
        proxy_conf.write(f)
    log_path = os.path.join(work, 'proxy.log')
    log = open(log_path, 'wb')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'localworld.run_swift', 'wsgi', swift_dir,
         conf_path, 'proxy-server'],
        cwd=procs.REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    _proxy.update(proc=proc, work=work, log=log_path, shunt_conf=shunt_conf,
                  url='http://127.0.0.1:%d' % port)
    procs.wait_until(
        lambda: requests.get(_proxy['url'] + '/healthcheck',
                             timeout=1).ok,
        'the test proxy', time.time() + 30, pid=proc.pid, log=log_path)


def tearDownModule():
    proc = _proxy.get('proc')
    if proc:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(_proxy['work'], ignore_errors=True)


def write_shunt_config(path, mappings):
    """Replace the shunt's mappings; the proxy reads them within a second."""
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump({'containers': mappings,
                   'status_dir': os.path.join(os.path.dirname(path),
                                              'status')}, f)
    os.rename(tmp, path)
    time.sleep(1.2)


def parsed_mapping(mapping):
    return parse_config(json.dumps({'status_dir': '/tmp',
                                    'containers': [mapping]})).mappings[0]


class ShuntLargeRestores(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.world = get_world()
        cls.bucket = unique('shunt-large')
        s3_client(TARGET).create_bucket(Bucket=cls.bucket)

    @classmethod
    def tearDownClass(cls):
        remove_bucket(s3_client(TARGET), cls.bucket)

    def setUp(self):
        info = self.world['source']
        self.conn = swiftclient.Connection(
            _proxy['url'] + '/auth/v1.0', 'test:tester',
            info['users']['test:tester']['key'], retries=1)
        self.url, self.token = self.conn.get_auth()
        self.account = self.url.rsplit('/', 1)[1]
        self.container = unique('large')
        self.segments = self.container + '_segments'
        for container in (self.container, self.segments):
            self.conn.put_container(container)
        self.addCleanup(self.remove_containers)

    def remove_containers(self):
        write_shunt_config(_proxy['shunt_conf'], [])
        for container in (self.container, self.segments):
            try:
                _, listing = self.conn.get_container(
                    container, full_listing=True, headers=BYPASS)
                for entry in listing:
                    self.conn.delete_object(container, entry['name'],
                                            headers=BYPASS)
                self.conn.delete_container(container)
            except swiftclient.ClientException:
                pass

    def mapping(self, **extra):
        return s3_mapping(self.world, TARGET, self.bucket, self.container,
                          account=self.account, merge_namespaces=True,
                          restore_object=True, **extra)

    def daemons(self, mapping):
        work = tempfile.mkdtemp(prefix='shunt-large-daemon-')
        self.addCleanup(shutil.rmtree, work, True)
        return SyncDaemons(self.world, work, [mapping])

    def local_head(self, name, container=None):
        try:
            return self.conn.head_object(container or self.container, name,
                                         headers=BYPASS)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise

    def local_names(self, container):
        _, listing = self.conn.get_container(container, full_listing=True,
                                             headers=BYPASS)
        return [entry['name'] for entry in listing]

    def wait_for(self, check, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if check():
                return
            time.sleep(0.2)
        self.fail('timed out waiting for %s' % what)

    def proxy_log(self):
        with open(_proxy['log'], errors='replace') as f:
            return f.read()

    def put_slo(self, name, pieces, headers):
        return put_slo(self.conn, self.container, self.segments, name, pieces,
                       headers)

    def archive_slo(self, name, pieces, daemons):
        """An SLO written locally, archived by the real daemon (the
        manifest leaves, its segments stay); returns its bytes."""
        body = self.put_slo(name, pieces, {
            'Content-Type': 'video/x-restored',
            'X-Object-Meta-Colour': 'gr\u00fcn'})
        daemons.run_once()
        self.wait_for(lambda: self.local_head(name) is None,
                      'the archive of %s' % name)
        return body

    def start_get(self, name):
        parts = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                          timeout=30)
        conn.request('GET', '%s/%s/%s' % (
            parts.path, self.container, urllib.parse.quote(name)),
            headers={'X-Auth-Token': self.token})
        resp = conn.getresponse()
        self.assertEqual(200, resp.status)
        return conn, resp

    def test_archived_slo_comes_back_as_the_same_slo(self):
        mapping = self.mapping(retain_local=False, propagate_delete=False,
                               copy_after=0)
        write_shunt_config(_proxy['shunt_conf'], [mapping])
        daemons = self.daemons(mapping)
        name = 'movie \u2603'
        pieces = [os.urandom(2 * MiB), os.urandom(2 * MiB),
                  os.urandom(MiB + 17)]
        body = self.archive_slo(name, pieces, daemons)
        seg_names = ['%s/%03d' % (name, i) for i in range(3)]
        # Two of its segments are gone too: the restore writes those.
        for seg_name in seg_names[1:]:
            self.conn.delete_object(self.segments, seg_name, headers=BYPASS)
        kept = self.conn.head_object(self.segments, seg_names[0])
        s3 = s3_client(TARGET)
        key = provider_for(parsed_mapping(mapping)).key_for(
            self.container, name)
        archived_at = s3.head_object(Bucket=self.bucket,
                                     Key=key)['LastModified']

        headers, got = self.conn.get_object(self.container, name)
        self.assertEqual(body, got)
        self.assertEqual('archived', headers['x-object-sync-status'])
        self.wait_for(lambda: self.local_head(name) is not None,
                      'the restore')
        local = self.local_head(name)
        slo_etag = md5(''.join(md5(p) for p in pieces).encode('ascii'))
        self.assertEqual('True', local['x-static-large-object'])
        self.assertEqual(slo_etag, local['etag'].strip('"'))
        self.assertEqual(str(len(body)), local['content-length'])
        self.assertEqual('video/x-restored', local['content-type'])
        self.assertEqual('gr\u00fcn', local['x-object-meta-colour'])
        _, manifest = self.conn.get_object(
            self.container, name, query_string='multipart-manifest=get',
            headers=BYPASS)
        self.assertEqual(['/%s/%s' % (self.segments, n) for n in seg_names],
                         [e['name'] for e in json.loads(manifest)])
        self.assertEqual(seg_names, self.local_names(self.segments))
        self.assertEqual(kept['last-modified'], self.conn.head_object(
            self.segments, seg_names[0])['last-modified'])
        _, got = self.conn.get_object(self.container, name, headers=BYPASS)
        self.assertEqual(body, got)
        self.assertIn('as a static large object (3 segments, 2 written)',
                      self.proxy_log())

        # The daemon finds the remote copy equal: nothing is uploaded, and
        # the archive mapping removes the local manifest again.
        time.sleep(1.1)
        daemons.run_once()
        self.wait_for(lambda: self.local_head(name) is None,
                      'the second archive')
        self.assertEqual(archived_at, s3.head_object(
            Bucket=self.bucket, Key=key)['LastModified'])

    def test_client_going_away_leaves_no_half_restored_slo(self):
        mapping = self.mapping(retain_local=False, propagate_delete=False,
                               copy_after=0)
        write_shunt_config(_proxy['shunt_conf'], [mapping])
        daemons = self.daemons(mapping)
        name = 'left'
        pieces = [os.urandom(3 * MiB), os.urandom(3 * MiB),
                  os.urandom(3 * MiB)]
        body = self.archive_slo(name, pieces, daemons)
        for index in (0, 1, 2):
            self.conn.delete_object(self.segments, '%s/%03d' % (name, index),
                                    headers=BYPASS)
        conn, resp = self.start_get(name)
        got = resp.read(4 * MiB)     # the first segment is written by now
        conn.close()
        self.assertEqual(body[:4 * MiB], got)
        self.wait_for(lambda: 'restore of %s/%s/%s abandoned' % (
            self.account, self.container, name) in self.proxy_log(),
            'the abandoned restore')
        self.wait_for(lambda: self.local_names(self.segments) == [],
                      'the written segments to go')
        self.assertIsNone(self.local_head(name))
        # A whole read restores it.
        _, got = self.conn.get_object(self.container, name)
        self.assertEqual(body, got)
        self.wait_for(lambda: self.local_head(name) is not None,
                      'the restore')
        self.assertEqual(3, len(self.local_names(self.segments)))

    def test_object_above_max_file_size_comes_back_as_an_slo(self):
        mapping = self.mapping()
        write_shunt_config(_proxy['shunt_conf'], [mapping])
        self.conn.delete_container(self.segments)   # made when needed
        name = 'huge \u00e9'
        body = os.urandom(MAX_FILE_SIZE + MiB + 5)
        local = LocalObject(self.container, name,
                            {'content-type': 'application/x-huge',
                             'x-object-meta-size': 'big'},
                            len(body), md5(body), '1700000000.00000',
                            lambda: io.BytesIO(body))
        provider_for(parsed_mapping(mapping)).put(local)

        headers, got = self.conn.get_object(self.container, name)
        self.assertEqual(body, got)
        self.assertEqual(md5(body), headers['etag'])
        self.wait_for(lambda: self.local_head(name) is not None,
                      'the restore')
        restored = self.local_head(name)
        self.assertEqual('True', restored['x-static-large-object'])
        self.assertEqual(str(len(body)), restored['content-length'])
        self.assertEqual('application/x-huge', restored['content-type'])
        self.assertEqual('big', restored['x-object-meta-size'])
        names = self.local_names(self.segments)
        self.assertEqual(4, len(names))
        for index, seg_name in enumerate(names):
            obj, timestamp, size, segment_size, number = \
                seg_name.rsplit('/', 4)
            self.assertEqual((name, str(len(body)), str(SEGMENT_SIZE),
                              '%08d' % index),
                             (obj, size, segment_size, number))
        _, got = self.conn.get_object(self.container, name, headers=BYPASS)
        self.assertEqual(body, got)


if __name__ == '__main__':
    unittest.main()
