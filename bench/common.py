"""What every scenario shares: results, clean-up, clients, destinations,
request counting and daemon runs (rclone is in peers.py, process
measurements in procstats.py).

Nothing here talks to anything but the local world on 127.0.0.1.
"""
import concurrent.futures
import hashlib
import json
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import boto3
import botocore.config
import swiftclient

from localworld import procs
from localworld.daemons import SyncDaemons, s3_mapping
from bench.running import RssWatch, reap

PYTHON = sys.executable
KiB = 1024
MiB = 1024 * 1024
S3_TARGETS = ('moto', 'radosgw', 's3api')
ALL_TARGETS = S3_TARGETS + ('swift',)
USER, ACCOUNT = 'test:tester', 'AUTH_test'


def log(msg, *args):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'),
                                          msg % args if args else msg))
    sys.stderr.flush()


def unique(prefix):
    return 'bench-%s-%s' % (prefix, uuid.uuid4().hex[:10])


def percentile(values, pct):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(math.ceil(pct / 100.0 * len(ordered))))
    return ordered[min(rank, len(ordered)) - 1]


def fmt(value, unit=''):
    if value is None:
        return 'n/a'
    if isinstance(value, str):
        return value
    if value == 0:
        text = '0'
    elif abs(value) >= 100:
        text = '%.0f' % value
    elif abs(value) >= 10:
        text = '%.1f' % value
    elif abs(value) >= 0.01:
        text = '%.3g' % value
    else:
        text = '%.2g' % value
    return text + (' ' + unit if unit else '')


# -- results -----------------------------------------------------------------

class Results(object):
    """Rows of (scenario, target, figure, value, unit, peer, ratio, method).

    ``peer`` is a label and ``peer_value`` the peer's figure measured in the
    same run (or a constant, which the label must say is not measured);
    ``ratio`` is value / peer_value.
    """

    def __init__(self):
        self.rows = []
        self.notes = []

    def add(self, scenario, target, figure, value, unit, method,
            peer=None, peer_value=None, peer_unit=None, detail=None):
        ratio = None
        if value is not None and peer_value:
            ratio = value / peer_value
        row = {'scenario': scenario, 'target': target, 'figure': figure,
               'value': value, 'unit': unit, 'peer': peer,
               'peer_value': peer_value,
               'peer_unit': unit if peer_unit is None else peer_unit,
               'ratio': ratio, 'method': method, 'detail': detail}
        self.rows.append(row)
        log('%s %s: %s = %s%s', scenario, target, figure, fmt(value, unit),
            '' if ratio is None else ' (x%.2f vs %s)' % (ratio, peer))
        return row

    def note(self, scenario, text):
        self.notes.append({'scenario': scenario, 'note': text})
        log('note %s: %s', scenario, text)

    def markdown(self):
        lines = ['| # | target | figure | value | peer / limit (same run) '
                 '| ratio | how it was measured |',
                 '|---|---|---|---|---|---|---|']
        previous = None
        for r in self.rows:
            peer = ''
            if r['peer']:
                peer = r['peer']
                if r['peer_value'] is not None:
                    peer += ' = ' + fmt(r['peer_value'], r['peer_unit'])
            how = r['method']
            if previous is not None and how == previous['method'] and \
                    r['scenario'] == previous['scenario']:
                how = 'as above'
            previous = r
            if r['detail']:
                how += ' [' + r['detail'] + ']'
            lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (
                r['scenario'], r['target'], r['figure'],
                fmt(r['value'], r['unit']), peer or '-',
                '%.2f' % r['ratio'] if r['ratio'] is not None else '-',
                how.replace('|', '/')))
        if self.notes:
            lines.append('')
            lines.append('Notes:')
            for n in self.notes:
                lines.append('- (%s) %s' % (n['scenario'], n['note']))
        return '\n'.join(lines)


class Cleanup(object):
    """Callables run in reverse order; failures are logged, not raised."""

    def __init__(self):
        self.stack = []

    def add(self, fn, *args, **kwargs):
        self.stack.append((fn, args, kwargs))

    def run(self):
        while self.stack:
            fn, args, kwargs = self.stack.pop()
            try:
                fn(*args, **kwargs)
            except Exception as err:  # clean-up must go on
                log('clean-up %s failed: %r', getattr(fn, '__name__', fn),
                    err)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.run()
        return False


class Bench(object):
    """The run: world description, options, results, a private work dir."""

    def __init__(self, world, args, work_dir, results):
        self.world = world
        self.args = args
        self.work_dir = work_dir
        self.results = results
        self.spawned = []

    @property
    def world_dir(self):
        return self.world['world_dir']

    @property
    def replicas(self):
        return int(self.world['source'].get('replicas', 3))

    def workers_per_daemon(self):
        """Daemon workers so that all daemons together run about
        ``--concurrency`` rows at once: each row is handled by the one
        daemon owning it, and a container has ``replicas`` daemons."""
        return max(1, self.args.concurrency // self.replicas)

    def spawn(self, name, argv):
        """Start a recorded process of the world (stopped by name); its
        log is removed at the end of the run unless --keep-work-dir."""
        self.spawned.append(name)
        return procs.spawn(self.world_dir, name, argv)

    def remove_logs(self):
        for name in self.spawned:
            try:
                os.unlink(os.path.join(procs.log_dir(self.world_dir),
                                       name + '.log'))
            except OSError:
                pass

    def subdir(self, name):
        path = os.path.join(self.work_dir, name)
        os.makedirs(path, exist_ok=True)
        return path


# -- clients -----------------------------------------------------------------

def swift_conn(world, cluster='source', url=None):
    info = world[cluster]
    auth = info['auth_url'] if url is None else url + '/auth/v1.0'
    return swiftclient.Connection(auth, USER, info['users'][USER]['key'],
                                  retries=2)


def s3_settings(world, target):
    return world['target']['s3'] if target == 's3api' else world[target]


def s3_client(world, target, endpoint=None, pool=10):
    settings = s3_settings(world, target)
    return boto3.client(
        's3', endpoint_url=endpoint or settings['endpoint'],
        aws_access_key_id=settings['access_key'],
        aws_secret_access_key=settings['secret_key'],
        region_name=settings.get('region', 'us-east-1'),
        config=botocore.config.Config(
            signature_version='s3v4', s3={'addressing_style': 'path'},
            retries={'max_attempts': 3}, max_pool_connections=pool,
            request_checksum_calculation='when_required',
            response_checksum_validation='when_required'))


def endpoint_of(world, target):
    if target == 'swift':
        return world['target']['proxy_url']
    return s3_settings(world, target)['endpoint']


class ThreadConns(object):
    """One swiftclient connection per thread."""

    def __init__(self, world, cluster='source'):
        self.world = world
        self.cluster = cluster
        self.local = threading.local()

    def get(self):
        conn = getattr(self.local, 'conn', None)
        if conn is None:
            conn = self.local.conn = swift_conn(self.world, self.cluster)
        return conn


def parallel(fn, items, threads):
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


# -- source containers ---------------------------------------------------------

def make_source_objects(world, container, count, size=4 * KiB, threads=8,
                        prefix='obj-'):
    """PUT ``count`` objects with metadata; {name: md5}."""
    conns = ThreadConns(world)
    conns.get().put_container(container)
    expected = {}

    def put(i):
        name = '%s%06d' % (prefix, i)
        body = os.urandom(size)
        conns.get().put_object(
            container, name, body, content_type='application/x-bench',
            headers={'X-Object-Meta-Index': str(i),
                     'X-Object-Meta-Bench': 'swift-s3-sync bench %d' % i})
        return name, md5_hex(body)
    expected.update(parallel(put, range(count), threads))
    return expected


def wait_source_listing(world, container, expected, timeout=30):
    """Wait until the container listing has every object; returns the
    names the listing holds (a container update can lag behind the PUT)."""
    conn = swift_conn(world)
    deadline = time.time() + timeout
    while True:
        _, listing = conn.get_container(container, full_listing=True)
        names = {o['name'] for o in listing}
        if set(expected) <= names or time.time() > deadline:
            return names
        time.sleep(0.5)


def delete_source_container(world, container, cluster='source'):
    """Bulk-delete every object, then the container (404s are fine)."""
    conn = swift_conn(world, cluster)
    try:
        _, listing = conn.get_container(container, full_listing=True)
    except swiftclient.ClientException as err:
        if err.http_status == 404:
            return
        raise
    names = [o['name'] for o in listing]
    for start in range(0, len(names), 1000):
        body = '\n'.join(quote('/%s/%s' % (container, n))
                         for n in names[start:start + 1000])
        try:
            conn.post_account(
                headers={'Content-Type': 'text/plain',
                         'Accept': 'application/json'},
                query_string='bulk-delete', data=body.encode())
        except swiftclient.ClientException:
            conns = ThreadConns(world, cluster)
            parallel(lambda n: _delete_quietly(conns.get(), container, n),
                     names[start:start + 1000], 8)
    for _ in range(10):
        try:
            conn.delete_container(container)
            return
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return
            if err.http_status != 409:
                raise
            # Listing not yet empty (async updates): delete what is left.
            _, listing = conn.get_container(container, full_listing=True)
            for o in listing:
                _delete_quietly(conn, container, o['name'])
            time.sleep(1)


def _delete_quietly(conn, container, name):
    try:
        conn.delete_object(container, name)
    except swiftclient.ClientException as err:
        if err.http_status != 404:
            raise


# -- destinations ----------------------------------------------------------------

class Destination(object):
    """A bucket (S3 targets) or container (Swift target) created for one
    method of one scenario; listing and reads go straight to the target,
    never through a counting proxy."""

    def __init__(self, world, target, name):
        self.world = world
        self.target = target
        self.name = name
        self.protocol = 'swift' if target == 'swift' else 's3'

    def create(self):
        if self.protocol == 's3':
            s3_client(self.world, self.target).create_bucket(
                Bucket=self.name)
        else:
            swift_conn(self.world, 'target').put_container(self.name)
        return self

    def listing(self, prefix=''):
        """{name without prefix: etag} of what the target lists now."""
        found = {}
        if self.protocol == 's3':
            s3 = s3_client(self.world, self.target)
            for page in s3.get_paginator('list_objects_v2').paginate(
                    Bucket=self.name, Prefix=prefix):
                for obj in page.get('Contents', []):
                    found[obj['Key'][len(prefix):]] = \
                        obj['ETag'].strip('"').lower()
        else:
            try:
                _, objs = swift_conn(self.world, 'target').get_container(
                    self.name, prefix=prefix, full_listing=True)
            except swiftclient.ClientException as err:
                if err.http_status == 404:
                    return found
                raise
            for obj in objs:
                found[obj['name'][len(prefix):]] = obj['hash'].lower()
        return found

    def user_metadata(self, key):
        """Lower-case user metadata names -> values of one object."""
        if self.protocol == 's3':
            resp = s3_client(self.world, self.target).head_object(
                Bucket=self.name, Key=key)
            return {k.lower(): v for k, v in resp.get('Metadata', {}).items()}
        headers = swift_conn(self.world, 'target').head_object(self.name, key)
        return {k[len('x-object-meta-'):]: v for k, v in headers.items()
                if k.startswith('x-object-meta-')}

    def md5(self, key):
        """MD5 hex of an object's bytes, read in 1 MiB pieces."""
        digest = hashlib.md5()
        if self.protocol == 's3':
            body = s3_client(self.world, self.target).get_object(
                Bucket=self.name, Key=key)['Body']
            chunks = body.iter_chunks(MiB)
        else:
            _, chunks = swift_conn(self.world, 'target').get_object(
                self.name, key, resp_chunk_size=MiB)
        for chunk in chunks:
            digest.update(chunk)
        return digest.hexdigest()

    def delete(self):
        if getattr(self, 'deleted', False):
            return
        self.deleted = True
        if self.protocol == 'swift':
            for container in (self.name, self.name + '_segments'):
                delete_source_container(self.world, container, 'target')
            return
        s3 = s3_client(self.world, self.target)
        try:
            uploads = s3.list_multipart_uploads(Bucket=self.name)
            for up in uploads.get('Uploads', []):
                s3.abort_multipart_upload(Bucket=self.name, Key=up['Key'],
                                          UploadId=up['UploadId'])
        except Exception:
            pass
        keys = []
        for page in s3.get_paginator('list_objects_v2').paginate(
                Bucket=self.name):
            keys.extend(o['Key'] for o in page.get('Contents', []))
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            try:
                resp = s3.delete_objects(Bucket=self.name, Delete={
                    'Objects': [{'Key': k} for k in batch], 'Quiet': True})
                if resp.get('Errors'):
                    raise RuntimeError(resp['Errors'][:1])
            except Exception:
                parallel(lambda k: s3.delete_object(Bucket=self.name, Key=k),
                         batch, 8)
        s3.delete_bucket(Bucket=self.name)
        if self.target == 's3api':
            # s3api keeps multipart segments in "<bucket>+segments".
            delete_source_container(self.world, self.name + '+segments',
                                    'target')


def wait_complete(dest, expected, prefix='', timeout=120, period=0.2,
                  started=None, done=None):
    """Poll the destination's listing until every expected name is listed
    with its expected ETag.  Returns (seconds since ``started`` or None on
    timeout, names listed correctly at the end).  ``done()`` true (the
    copier exited) with an incomplete listing ends the wait after one more
    listing."""
    started = time.time() if started is None else started
    deadline = started + timeout
    finished_seen = False
    while True:
        listed = dest.listing(prefix)
        now = time.time()
        good = sum(1 for n, e in expected.items() if listed.get(n) == e)
        if good == len(expected):
            return now - started, good
        if now > deadline or finished_seen:
            return None, good
        if done is not None and done():
            finished_seen = True  # one more listing, then give up
        time.sleep(period)


def check_metadata(dest, keys_and_indexes):
    """How many sampled objects carry the source's user metadata."""
    ok = 0
    for key, index in keys_and_indexes:
        meta = dest.user_metadata(key)
        if meta.get('index') == str(index) and \
                meta.get('bench') == 'swift-s3-sync bench %d' % index:
            ok += 1
    return ok


# -- request counting ----------------------------------------------------------------

def classify(requests, protocol):
    """{PUT, HEAD, GET, LIST, other} counts plus a breakdown of "other"."""
    kinds = {'PUT': 0, 'HEAD': 0, 'GET': 0, 'LIST': 0, 'other': 0}
    other = {}
    for kind, path in requests:
        if protocol == 'swift':
            segments = path.split('?', 1)[0].strip('/').split('/')
            if segments[0] == 'auth':
                label = 'auth'
            elif len(segments) >= 4:
                # An object; CountingProxy's LIST/COPY/PART guesses are S3's.
                label = {'LIST': 'GET', 'COPY': 'PUT',
                         'PART': 'PUT'}.get(kind, kind)
            elif kind in ('GET', 'LIST'):
                label = 'LIST'
            else:
                label = 'container ' + kind
        else:
            label = kind
        if label in kinds:
            kinds[label] += 1
        else:
            kinds['other'] += 1
            other[label] = other.get(label, 0) + 1
    return kinds, other


WRITES = ('PUT', 'COPY', 'POST', 'DELETE', 'PART')


def write_count(requests, protocol):
    """Requests that change the target (container creation included)."""
    return sum(1 for kind, path in requests
               if kind in WRITES and not
               path.split('?', 1)[0].startswith('/auth'))


def per_object_detail(kinds, other, objects):
    parts = ['%s %s' % (k, fmt(kinds[k] / float(objects)))
             for k in ('PUT', 'HEAD', 'GET', 'LIST', 'other')]
    if other:
        parts.append('other = ' + ', '.join(
            '%s %d' % kv for kv in sorted(other.items())))
    return '%d requests for %d objects: %s' % (
        sum(kinds.values()), objects, '; '.join(parts))


# -- sync daemons ----------------------------------------------------------------------

def daemon_mapping(world, target, dest_name, container, endpoint,
                   account=ACCOUNT, **extra):
    """A mapping of ``container`` to the destination, written through
    ``endpoint`` (the real one or a counting proxy)."""
    if target == 'swift':
        info = world['target']
        mapping = {
            'account': account, 'container': container, 'protocol': 'swift',
            'aws_bucket': dest_name, 'aws_endpoint': endpoint + '/auth/v1.0',
            'aws_identity': USER, 'aws_secret': info['users'][USER]['key']}
        mapping.update(extra)
        return mapping
    mapping = s3_mapping(world, target, dest_name, container,
                         account=account, **extra)
    mapping['aws_endpoint'] = endpoint
    return mapping


def provider(mapping):
    """The project's provider for a mapping (raises NotImplementedError
    while a protocol is not written yet)."""
    from swift_s3_sync.config import parse_config
    from swift_s3_sync.providers import provider_for
    config = parse_config(json.dumps({'status_dir': '/nonexistent',
                                      'containers': [mapping]}))
    return provider_for(config.mappings[0])


def our_key_prefix(mapping, container):
    """Where our daemon puts the objects of ``container`` on the target."""
    if mapping.get('protocol') == 'swift':
        return ''
    return provider(mapping).key_prefix(container)


class OnceRun(object):
    """Every node's daemon started with ``--once`` at the same time; their
    CPU seconds (from wait4) and the peak RSS of one of them."""

    def __init__(self, daemons, log_dir, nodes=None):
        self.daemons = daemons
        self.procs = []
        for node in nodes or daemons.nodes:
            err = open(os.path.join(log_dir, 'once-node%d.err' % node), 'ab')
            self.procs.append((node, subprocess.Popen(
                daemons.command(node, '--once'), cwd=procs.REPO_ROOT,
                stdout=subprocess.DEVNULL, stderr=err,
                stdin=subprocess.DEVNULL)))
            err.close()
        self.rss = RssWatch(lambda: [p.pid for _, p in self.procs
                                     if p.returncode is None])

    def done(self):
        return all(reap(p) is not None for _, p in self.procs)

    def wait(self, timeout=600):
        deadline = time.time() + timeout
        failed = []
        for node, proc in self.procs:
            if reap(proc, max(1, deadline - time.time())) is None:
                proc.kill()
                reap(proc, 30)
                failed.append('node %d timed out' % node)
            elif proc.returncode:
                failed.append('node %d exited %d' % (node, proc.returncode))
        self.rss.stop()
        return failed

    @property
    def cpu_seconds(self):
        """CPU of all the daemons (None until every one was reaped)."""
        spent = [getattr(p, 'cpu_seconds', None) for _, p in self.procs]
        return None if None in spent else sum(spent)

    def kill(self):
        for _, proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                reap(proc, 30)
        self.rss.stop()


def daemon_startup(work_dir, launched):
    """Seconds from ``launched`` to the last daemon's "started" log line
    (the daemons log with second.millisecond local timestamps)."""
    latest = None
    for entry in os.listdir(work_dir):
        if not (entry.startswith('sync-node') and entry.endswith('.log')):
            continue
        with open(os.path.join(work_dir, entry), errors='replace') as f:
            for line in f:
                if ' INFO: started:' not in line:
                    continue
                try:
                    stamp, millis = line[:23].split(',')
                    at = time.mktime(time.strptime(
                        stamp, '%Y-%m-%d %H:%M:%S')) + int(millis) / 1e3
                except ValueError:
                    continue
                if at >= launched - 1:
                    latest = at if latest is None else max(latest, at)
    return None if latest is None else max(0.0, latest - launched)


def make_daemons(bench, name, mappings, **overrides):
    overrides.setdefault('workers', bench.workers_per_daemon())
    overrides.setdefault('verification_slack', 60)
    return SyncDaemons(bench.world, bench.subdir(name), mappings, **overrides)


