"""proxymc's refusals, against proxymc servers of the tests' own (started
as the world starts its proxymc, ``proxymc --config``, with the settings
each test tries) and real remotes: token_secret, tokens across workers and
restarts, failed /auth attempts, spool limits, local failures and remote
failures.

The servers run in a directory of their own, so the world's proxymc and
its config are not touched; each is stopped (by the PID it recorded there)
when its test class ends.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import requests

from localworld import procs
from localworld.daemons import target_mapping
from localworld.procs import free_port
from localworld.proxymc import ProxyMCServer
from test.integration.test_proxymc import write_atomically
from test.integration.world import get_world, s3_client, unique

MiB = 1024 * 1024
USER, KEY = 'test:tester', 'testing'


class OwnProxyMC(object):
    """A proxymc server of our own, serving ``mappings``."""

    def __init__(self, mappings=(), app_options=None, default_options=None):
        self.dir = tempfile.mkdtemp(prefix='pmc-own-')
        self.server = ProxyMCServer(self.dir, sys.executable, free_port(),
                                    app_options, default_options)
        os.makedirs(self.server.root)
        write_atomically(self.server.sync_conf_path(), json_config(
            mappings, self.dir))

    def start(self):
        self.server.start()
        self.server.wait_ready(time.time() + 60)
        return self

    def stop(self):
        procs.stop(self.dir)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, path=''):
        return self.server.url() + path

    def log(self):
        with open(self.server.log_path(), errors='replace') as f:
            return f.read()

    def auth(self, user=USER, key=KEY):
        return requests.get(self.url('/auth/v1.0'), timeout=30, headers={
            'X-Auth-User': user, 'X-Auth-Key': key})

    def token(self, user=USER, key=KEY):
        resp = self.auth(user, key)
        assert resp.status_code == 200, resp.status_code
        return resp.headers['X-Auth-Token']


def json_config(mappings, directory):
    return json.dumps({'containers': list(mappings),
                       'status_dir': os.path.join(directory, 'status')})


def raw_request(port, method, path, headers, body=b''):
    """A socket that sent ``method path``, ``headers`` and ``body`` (which
    may be less than its Content-Length), for the test to go on with."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=30)
    head = '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n' % (
        method, path, ''.join('%s: %s\r\n' % h for h in headers.items()))
    sock.sendall(head.encode('latin-1') + body)
    return sock


def answer(sock):
    """(status, headers, body) of the response on ``sock``."""
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    try:
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        sock.close()


def run_briefly(argv, timeout=60):
    """Run ``argv`` in a session of its own; one that is still running
    after ``timeout`` (a server that started) is stopped, with its
    workers."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


class TestTokenSecret(unittest.TestCase):

    def test_no_start_without_a_good_one(self):
        for secret, why in (('', 'token_secret is required'),
                            ('ab' * 32, 'token_secret is not random')):
            own = OwnProxyMC(app_options={'token_secret': secret})
            self.addCleanup(own.remove)
            own.server.write_config()
            run = run_briefly([sys.executable, '-m', 'proxymc.server',
                               '--config', own.server.conf_path()])
            self.assertEqual(1, run.returncode)
            lines = run.stderr.strip().splitlines()
            self.assertEqual(1, len(lines), run.stderr)
            self.assertIn(why, lines[0])
            self.assertNotIn('Traceback', run.stderr)
            if secret:
                self.assertNotIn(secret, run.stderr)

    def test_tokens_outlive_a_restart_and_serve_every_worker(self):
        own = OwnProxyMC().start()
        self.addCleanup(own.remove)
        token = own.token()
        account = own.url('/v1/AUTH_test')
        for _ in range(6):       # two workers: both see it
            self.assertEqual(204, requests.head(account, timeout=30, headers={
                'X-Auth-Token': token}).status_code)
        own.stop()
        own.start()
        self.assertEqual(204, requests.head(account, timeout=30, headers={
            'X-Auth-Token': token}).status_code)
        with open(os.path.join(own.server.root, 'token_secret')) as f:
            secret = f.read().strip()
        log = own.log()
        self.assertNotIn(secret, log)
        self.assertNotIn(token, log)


class TestFailedAuth(unittest.TestCase):

    def test_limited_per_user_then_per_address(self):
        own = OwnProxyMC(app_options={
            'auth_failures_per_user': 3, 'auth_failures_per_address': 6},
            default_options={'workers': 1}).start()
        self.addCleanup(own.remove)
        for _ in range(3):
            self.assertEqual(401, own.auth(key='wrong').status_code)
        for key in ('wrong', KEY):
            resp = own.auth(key=key)
            self.assertEqual(429, resp.status_code)
            self.assertLessEqual(int(resp.headers['Retry-After']), 60)
            self.assertNotIn('X-Auth-Token', resp.headers)
        self.assertEqual(200, own.auth('test:tester3', 'testing3')
                         .status_code)
        for _ in range(3):
            self.assertEqual(401, own.auth('test2:tester2', 'x').status_code)
        # Six failures from this address: every name is refused now.
        self.assertEqual(429, own.auth('test:tester3', 'testing3')
                         .status_code)


class LimitsWorld(unittest.TestCase):
    """One own proxymc over a moto bucket with tight limits: one worker,
    one spool at a time, no room on the spool disk for anything that does
    not fit in memory, a 2 s client timeout."""

    @classmethod
    def setUpClass(cls):
        cls.world = get_world()
        cls.bucket = unique('pmc-limits')
        s3_client('moto').create_bucket(Bucket=cls.bucket)
        cls.container = unique('c')
        cls.mappings = [target_mapping(cls.world, 'moto', cls.bucket,
                                       cls.container)]
        cls.own = OwnProxyMC(cls.mappings, app_options={
            'max_spools': 1, 'spool_reserve': '100%'},
            default_options={'workers': 1, 'client_timeout': 2}).start()
        cls.token = cls.own.token()

    @classmethod
    def tearDownClass(cls):
        cls.own.remove()
        s3 = s3_client('moto')
        for obj in s3.list_objects_v2(Bucket=cls.bucket).get('Contents', []):
            s3.delete_object(Bucket=cls.bucket, Key=obj['Key'])
        s3.delete_bucket(Bucket=cls.bucket)

    def path(self, name):
        return '/v1/AUTH_test/%s/%s' % (self.container, name)

    def put(self, name, length, body=b'', **headers):
        headers = dict({'X-Auth-Token': self.token,
                        'Content-Length': str(length)}, **headers)
        return raw_request(self.own.server.port, 'PUT', self.path(name),
                           headers, body)

    def assertNotStored(self, name):
        self.assertEqual(404, requests.head(
            self.own.url(self.path(name)), timeout=30,
            headers={'X-Auth-Token': self.token}).status_code)

    def test_no_room_is_507_before_the_body(self):
        status, headers, body = answer(self.put(
            'big', 9 * MiB, Expect='100-continue'))
        self.assertEqual((507, b'Not enough space to take the object\n'),
                         (status, body))
        self.assertNotStored('big')

    def test_chunked_body_is_507_once_it_needs_the_disk(self):
        sock = raw_request(self.own.server.port, 'PUT', self.path('chunky'),
                           {'X-Auth-Token': self.token,
                            'Transfer-Encoding': 'chunked'})
        chunk = b'%x\r\n%s\r\n' % (MiB, b'c' * MiB)
        try:
            for _ in range(8):       # what fits in memory
                sock.sendall(chunk)
            sock.sendall(chunk + b'0\r\n\r\n')
        except OSError:
            pass                     # refused before the end: fine
        status, _, body = answer(sock)
        self.assertEqual((507, b'Not enough space to take the object\n'),
                         (status, body))
        self.assertNotStored('chunky')

    def test_one_spool_at_a_time_then_503(self):
        first = self.put('first', 1000, b'x' * 100)
        time.sleep(0.5)              # the first is being spooled
        resp = requests.put(self.own.url(self.path('second')), data=b'y',
                            timeout=30, headers={'X-Auth-Token': self.token})
        self.assertEqual(503, resp.status_code)
        self.assertEqual('2', resp.headers['Retry-After'])
        first.sendall(b'x' * 900)
        self.assertEqual(201, answer(first)[0])
        self.assertEqual(201, requests.put(
            self.own.url(self.path('second')), data=b'y', timeout=30,
            headers={'X-Auth-Token': self.token}).status_code)

    def test_client_that_stalls_is_408(self):
        started = time.time()
        status, _, body = answer(self.put('stalled', 1000, b'x' * 10))
        self.assertEqual(408, status)
        self.assertNotIn(b'Remote', body)
        self.assertLess(time.time() - started, 20)
        self.assertNotStored('stalled')

    def test_client_that_goes_away_is_499(self):
        sock = self.put('gone', 1000, b'x' * 10)
        sock.shutdown(socket.SHUT_WR)
        status, _, body = answer(sock)
        self.assertEqual(499, status)
        self.assertNotIn(b'Remote', body)
        self.assertNotStored('gone')

    def test_copies_between_accounts_are_refused(self):
        headers = {'X-Auth-Token': self.token}
        url = self.own.url(self.path('src'))
        self.assertEqual(201, requests.put(url, data=b'src', timeout=30,
                                           headers=headers).status_code)
        resp = requests.put(self.own.url(self.path('dst')), timeout=30,
                            headers=dict(headers, **{
                                'X-Copy-From': '%s/src' % self.container,
                                'X-Copy-From-Account': 'AUTH_test2'}))
        self.assertEqual(403, resp.status_code)
        resp = requests.request('COPY', url, timeout=30, headers=dict(
            headers, **{'Destination': '%s/dst' % self.container,
                        'Destination-Account': 'AUTH_test2'}))
        self.assertEqual(403, resp.status_code)
        self.assertNotStored('dst')


class GarbleServer(object):
    """A TCP server on 127.0.0.1 that answers every connection with bytes
    that are not HTTP."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(b'SSH-2.0-not-an-object-store\r\n\r\n')
                except OSError:
                    pass

    def close(self):
        self.sock.close()


class TestRemoteFailures(unittest.TestCase):

    def test_garbled_is_502_unreachable_503(self):
        world = get_world()
        garble = GarbleServer()
        self.addCleanup(garble.close)
        secret = 'pmc-secret-%s' % unique()
        mappings = []
        for container, port in (('garbled', garble.port),
                                ('down', free_port())):
            mappings.append(target_mapping(
                world, 'moto', 'bucket', container,
                aws_endpoint='http://127.0.0.1:%d' % port,
                aws_secret=secret))
        own = OwnProxyMC(mappings).start()
        self.addCleanup(own.remove)
        headers = {'X-Auth-Token': own.token()}
        for container, status, body in (
                ('garbled', 502, b'Remote store error\n'),
                ('down', 503, b'Remote store unavailable\n')):
            for path in ('/v1/AUTH_test/%s/obj' % container,
                         '/v1/AUTH_test/%s' % container):
                resp = requests.get(own.url(path), timeout=120,
                                    headers=headers)
                self.assertEqual((status, body),
                                 (resp.status_code, resp.content), path)
        self.assertNotIn(secret, own.log())


if __name__ == '__main__':
    unittest.main()
