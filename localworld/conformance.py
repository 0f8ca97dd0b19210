"""Swift's own functional tests through proxies of the local world: does
cloud-shunt change anything Swift does?

    scripts/conformance [--quick] [--runs RUN,...] [--suites FILE,...]
                        [-k EXPR] [--code DIR] [--json PATH|-]

The tests are the ``test/functional`` tree of the installed Swift's source
distribution (``pip download --no-binary :all: --no-deps swift==VERSION``,
kept under ``.cache/conformance/``, so it is fetched once).  The pytest
plugins they need (pytest, pytest-subtests, requests-mock, boto) are
installed into the running venv when missing.

Runs, one after the other (the tests delete every container of their
accounts when they start, so two runs at once would spoil each other); each
starts its own proxy of the world's *source* cluster (same swift_dir, rings,
memcache, so the same backends), with the world's pipeline and its own
tempauth users, and stops it when done:

``plain`` (127.0.0.1:8180)
    no cloud-shunt in the pipeline.
``shunt`` (8181)
    cloud-shunt just before the final ``proxy-logging proxy-server`` (where
    the world puts it), its sync config without mappings.
``merged`` (8182)
    as ``shunt``, with a ``"/*"`` ``merge_namespaces`` mapping of every
    test account over one empty moto bucket.
``merged-full`` (8183)
    as ``merged``, but the bucket is not empty: whenever a test creates a
    container, remote-only objects (``SEED_NAMES``, chosen to sort before,
    between and after the tests' own names, one of them under a
    "directory") are written for it with the project's provider (see
    ``conformance_plugin``).  Some failures are expected here: counts and
    exact listings change when the remote holds objects; they are printed
    separately and do not affect the exit status.

The tests use their own accounts, ``AUTH_functest`` and ``AUTH_functest2``
(users ``functest:tester``, ``functest:tester2``, ``functest:tester3``,
``functest2:tester2`` and ``admin:admin``, tempauth in our proxies only),
so they never touch the containers other tests keep in ``AUTH_test``.

Output: per run the passed / failed / skipped / error counts and wall time,
then every test whose outcome differs from the ``plain`` run.  The exit
status is 0 only when ``plain``, ``shunt`` and ``merged`` (those of them that
ran) give the same outcome for every test.  ``--json PATH`` (``-`` for
stdout) writes everything, outcomes per test included.

``--quick`` runs ``QUICK_SUITES`` (DLO, symlink and the container tests
with their ACL-filtered listings: about a minute per run here) and only the
runs ``plain``, ``shunt`` and ``merged``; CI and
``test/integration/test_conformance.py`` use it.  ``--suites`` takes file
names relative to ``test/functional`` (e.g. ``test_dlo.py,s3api``),
``-k`` is pytest's.

Files: ``<world>/conformance/`` holds each run's proxy config, sync config,
func.conf, pytest log (``<run>/pytest.log``) and outcomes
(``<run>/results.json``); proxy logs are in ``<world>/conformance/logs/``.
After each run with cloud-shunt the distinct exceptions of its proxy log are
summarised (the full tracebacks are in the log).  ``--code DIR`` makes the
proxies load the ``swift_s3_sync`` package in DIR instead of the checkout's
(e.g. an older revision, to reproduce a failure).

Only the proxies this program started are stopped (recorded under
``<world>/conformance/pids/``, and by PID if a world restart wiped that).
Two invocations on one world wait for each other (a lock file beside the
world directory).  A restart of the source cluster during a run makes the
run fail: its outcomes would mean nothing.
"""
import argparse
import collections
import configparser
import contextlib
import fcntl
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import uuid
from importlib import metadata

from localworld import procs
from localworld import world as localworld
from localworld.daemons import s3_mapping
from localworld.procs import WorldError
from localworld.swift_cluster import PIPELINE

CACHE_DIR = os.path.join(procs.REPO_ROOT, '.cache', 'conformance')

SUITES = (
    'test_object.py', 'test_container.py', 'test_slo.py', 'test_dlo.py',
    'test_symlink.py', 'test_object_versioning.py', 's3api',
)
# DLO, container (ACL-filtered listings, empty-container GETs, metadata)
# and the symlink classes that list, or point at DLOs, SLOs and segments;
# left out: the If-* comparison classes (slow) and the cross-policy and
# tempurl copies of the same tests.
QUICK_SUITES = (
    'test_dlo.py', 'test_container.py', 'test_symlink.py::TestSymlink',
    'test_symlink.py::TestSymlinkDlo', 'test_symlink.py::TestSymlinkSlo',
    'test_symlink.py::TestSymlinkToSloSegments',
)

# name: (port, cloud-shunt in the pipeline, merged mapping, remote seeded)
RUNS = collections.OrderedDict([
    ('plain', (8180, False, False, False)),
    ('shunt', (8181, True, False, False)),
    ('merged', (8182, True, True, False)),
    ('merged-full', (8183, True, True, True)),
])
COMPARED = ('plain', 'shunt', 'merged')
QUICK_RUNS = COMPARED

# Names of the remote-only objects of every container in merged-full:
# before punctuation-led and alphanumeric names, between lower-case ones,
# after ASCII, and one under a "directory" (shows up in delimiter listings).
SEED_NAMES = ('!remote-first', 'm-remote-between', '~remote-last',
              'remote-dir/nested')

ACCOUNTS = ('functest', 'functest2')
# (account, user, key, groups): what the functional tests expect of a SAIO.
USERS = (
    ('admin', 'admin', 'admin', '.admin .reseller_admin'),
    ('functest', 'tester', 'testing', '.admin'),
    ('functest', 'tester2', 'testing2', '.admin'),
    ('functest', 'tester3', 'testing3', ''),
    ('functest2', 'tester2', 'testing2', '.admin'),
)
REQUIREMENTS = (
    # (module, pip requirement)
    ('pytest', 'pytest'),
    ('pytest_subtests', 'pytest-subtests'),
    ('requests_mock', 'requests-mock'),
    ('boto', 'boto'),
    ('boto3', 'boto3'),
)
START_TIMEOUT = 30.0
RUN_TIMEOUT = 3 * 3600


# -- what the tests need -------------------------------------------------------

def swift_version():
    return metadata.version('swift')


def ensure_requirements(python=sys.executable, out=sys.stdout):
    """pip-install the test requirements the venv lacks (none: no pip)."""
    missing = [req for module, req in REQUIREMENTS
               if importlib.util.find_spec(module) is None]
    if missing:
        out.write('installing %s\n' % ' '.join(missing))
        _pip(python, ['install', '-q'] + missing)
    return missing


def _pip(python, args):
    result = subprocess.run([python, '-m', 'pip'] + args,
                            capture_output=True, text=True)
    if result.returncode:
        raise WorldError('pip %s failed:\n%s' % (
            ' '.join(args), (result.stdout + result.stderr)[-3000:]))


def functests_tree(version=None, cache_dir=CACHE_DIR, python=sys.executable,
                   out=sys.stdout):
    """The unpacked Swift source tree holding ``test/functional``; the sdist
    is downloaded only when it is not in ``cache_dir`` yet."""
    version = version or swift_version()
    tree = os.path.join(cache_dir, 'swift-%s' % version)
    if os.path.exists(os.path.join(tree, 'test', 'functional',
                                   '__init__.py')):
        return tree
    os.makedirs(cache_dir, exist_ok=True)
    sdist = os.path.join(cache_dir, 'swift-%s.tar.gz' % version)
    if not os.path.exists(sdist):
        out.write('downloading the swift %s source distribution\n' % version)
        _pip(python, ['download', '--no-binary', ':all:', '--no-deps',
                      '-d', cache_dir, 'swift==%s' % version])
    unpack = tempfile.mkdtemp(dir=cache_dir)
    try:
        with tarfile.open(sdist) as tar:
            tar.extractall(unpack, filter='data')
        shutil.rmtree(tree, ignore_errors=True)
        os.rename(os.path.join(unpack, 'swift-%s' % version), tree)
    finally:
        shutil.rmtree(unpack, ignore_errors=True)
    return tree


def suite_paths(tree, suites):
    paths = []
    for suite in suites:
        path = os.path.join('test', 'functional', suite)
        if not os.path.exists(os.path.join(tree, path.split('::')[0])):
            raise WorldError('no %s in the swift source tree' % path)
        paths.append(path)
    return paths


# -- configs ---------------------------------------------------------------------

def tempauth_lines():
    return {'user_%s_%s' % (account, user): ('%s %s' % (key, groups)).strip()
            for account, user, key, groups in USERS}


def pipeline(with_shunt):
    """The world's pipeline, cloud-shunt where the world puts it or not."""
    return PIPELINE.format(project='cloud-shunt ' if with_shunt else '')


def proxy_conf(world, run, port, shunt_conf=None):
    """The world's source proxy config, made this run's: port, log name,
    pipeline, tempauth users and cloud-shunt's conf_file."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    if not parser.read(world['source']['proxy_conf']):
        raise WorldError('cannot read %s' % world['source']['proxy_conf'])
    parser.set('DEFAULT', 'bind_port', str(port))
    parser.set('DEFAULT', 'log_name', 'conformance-%s' % run)
    parser.set('pipeline:main', 'pipeline', pipeline(bool(shunt_conf)))
    for key in list(parser['filter:tempauth']):
        if key.startswith('user_'):
            parser.remove_option('filter:tempauth', key)
    for key, value in sorted(tempauth_lines().items()):
        parser.set('filter:tempauth', key, value)
    if parser.has_section('filter:cloud-shunt'):
        parser.remove_section('filter:cloud-shunt')
    if shunt_conf:
        parser.add_section('filter:cloud-shunt')
        parser.set('filter:cloud-shunt', 'use',
                   'egg:swift-s3-sync#cloud-shunt')
        parser.set('filter:cloud-shunt', 'conf_file', shunt_conf)
    return parser


def mappings(world, bucket):
    return [s3_mapping(world, 'moto', bucket, '/*', account='AUTH_' + a,
                       merge_namespaces=True) for a in ACCOUNTS]


def func_conf(port):
    """The functional tests' config for the proxy on ``port``."""
    primary, first, second, third, other = USERS
    lines = [
        '[func_test]',
        'auth_uri = http://127.0.0.1:%d/auth/v1.0' % port,
        'account = %s' % first[0], 'username = %s' % first[1],
        'password = %s' % first[2],
        'account2 = %s' % other[0], 'username2 = %s' % other[1],
        'password2 = %s' % other[2],
        'username3 = %s' % third[1], 'password3 = %s' % third[2],
        's3_access_key = %s:%s' % first[:2], 's3_secret_key = %s' % first[2],
        's3_access_key2 = %s:%s' % second[:2],
        's3_secret_key2 = %s' % second[2],
        's3_access_key3 = %s:%s' % third[:2],
        's3_secret_key3 = %s' % third[2],
        'collate = C',
    ]
    return '\n'.join(lines) + '\n'


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


# -- processes -------------------------------------------------------------------

def _is_ours(pid, work_dir):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return work_dir.encode() in f.read()
    except OSError:
        return False


def stop_leftovers(work_dir):
    """Stop proxies an interrupted earlier run recorded and left running
    (checked by their command line: a reused PID is not ours)."""
    for name, pid in procs.recorded(work_dir).items():
        if procs.alive(pid) and _is_ours(pid, work_dir):
            procs.stop(work_dir, [name])
        else:
            os.unlink(os.path.join(procs.pid_dir(work_dir), name + '.pid'))


def free_port(preferred):
    return preferred if not procs.port_in_use(preferred) else \
        procs.free_port()


def _authenticates(port):
    _, user, key, _ = USERS[1]
    req = urllib.request.Request(
        'http://127.0.0.1:%d/auth/v1.0' % port,
        headers={'X-Auth-User': '%s:%s' % (USERS[1][0], user),
                 'X-Auth-Key': key})
    with urllib.request.urlopen(req, timeout=2) as resp:
        return resp.status == 200


class Proxy(object):
    """One proxy of the source cluster, recorded under ``work_dir``."""

    def __init__(self, world, work_dir, run, port, conf):
        self.world = world
        self.work_dir = work_dir
        self.name = 'proxy-%s' % run
        self.port = port
        self.conf_path = os.path.join(work_dir, run, 'proxy-server.conf')
        self.log = os.path.join(procs.log_dir(work_dir), self.name + '.log')
        self.conf = conf
        self.pid = None

    def start(self, python=sys.executable, code=None):
        """Start and wait until tempauth answers; ``code`` is a directory
        whose ``swift_s3_sync`` package the proxy loads instead of the
        checkout's."""
        os.makedirs(os.path.dirname(self.conf_path), exist_ok=True)
        with open(self.conf_path, 'w') as f:
            self.conf.write(f)
        if os.path.exists(self.log):
            os.unlink(self.log)
        env = None
        if code:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                p for p in (code, os.environ.get('PYTHONPATH')) if p))
        self.pid = procs.spawn(self.work_dir, self.name, [
            python, '-m', 'localworld.run_swift', 'wsgi',
            self.world['source']['swift_dir'], self.conf_path,
            'proxy-server'], env=env, cwd=code)
        deadline = time.time() + START_TIMEOUT
        procs.wait_until(lambda: procs.port_answers(self.port),
                         'conformance %s' % self.name, deadline,
                         pid=self.pid, log=self.log)
        procs.wait_until(lambda: _authenticates(self.port),
                         'conformance %s tempauth' % self.name, deadline,
                         pid=self.pid, log=self.log)

    def stop(self):
        if self.pid is None:
            return
        procs.stop(self.work_dir, [self.name])
        if procs.alive(self.pid) and _is_ours(self.pid, self.work_dir):
            # Its record is gone (the world directory was wiped under us):
            # stop it by the PID we started.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.pid = None


# -- the proxy log ---------------------------------------------------------------

_TXN = re.compile(r'\s*\(txn: [^)]*\)')
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in ([\w<>.]+)')


def _where(frames):
    """The innermost frame in Swift or this project (not the stdlib)."""
    for path, line, function in reversed(frames):
        for marker in ('site-packages/', '/swift_s3_sync/'):
            if marker in path:
                short = path.split('site-packages/')[-1]
                if marker == '/swift_s3_sync/':
                    short = 'swift_s3_sync/' + path.split(marker, 1)[1]
                return '%s:%s in %s' % (short, line, function)
    return ''


def log_problems(path):
    """{(exception, where): [count, example txn]} of a proxy log: one entry
    per distinct exception (its last line, without the transaction id) and
    the innermost Swift or project frame that raised it.  Swift logs a
    traceback as one line with ``#012`` for its newlines."""
    problems = collections.OrderedDict()
    if not os.path.exists(path):
        return problems
    with open(path, errors='replace') as f:
        for line in f:
            if 'Traceback (most recent call last)' not in line:
                continue
            parts = [p for p in line.rstrip('\n').split('#012') if p.strip()]
            txn = re.search(r'txn: ([^)]*)\)', parts[-1])
            key = (_TXN.sub('', parts[-1].strip())[:300],
                   _where(_FRAME.findall(line)))
            entry = problems.setdefault(key, [0, txn and txn.group(1)])
            entry[0] += 1
    return problems


# -- one run ---------------------------------------------------------------------

def counts(outcomes):
    result = collections.OrderedDict(
        (k, 0) for k in ('passed', 'failed', 'skipped', 'error'))
    for outcome in outcomes.values():
        key = {'xfailed': 'skipped', 'xpassed': 'passed'}.get(outcome,
                                                              outcome)
        result[key] += 1
    return result


def seed_log_summary(path):
    seeded, errors = 0, collections.Counter()
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                if 'error' in entry:
                    errors[entry['error'][:200]] += 1
                else:
                    seeded += 1
    return seeded, errors


def empty_bucket(world, bucket, delete=False):
    import boto3
    import botocore.config
    moto = world['moto']
    s3 = boto3.client(
        's3', endpoint_url=moto['endpoint'],
        aws_access_key_id=moto['access_key'],
        aws_secret_access_key=moto['secret_key'],
        region_name=moto['region'],
        config=botocore.config.Config(s3={'addressing_style': 'path'}))
    if not delete:
        s3.create_bucket(Bucket=bucket)
        return
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):
        keys = [{'Key': item['Key']} for item in page.get('Contents', [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={'Objects': keys})
    s3.delete_bucket(Bucket=bucket)


class Run(object):
    """One pytest session of the functional tests through one proxy."""

    def __init__(self, world, work_dir, tree, name, paths, keyword=None,
                 python=sys.executable, out=sys.stdout, code=None):
        port, self.shunt, self.merged, self.seeded = RUNS[name]
        self.world = world
        self.work_dir = work_dir
        self.tree = tree
        self.name = name
        self.paths = paths
        self.keyword = keyword
        self.python = python
        self.out = out
        self.code = code
        self.port = free_port(port)
        self.dir = os.path.join(work_dir, name)
        self.bucket = None
        self.proxy = None
        self.child = None
        self.result = {'run': name, 'port': self.port}

    def _sync_conf(self):
        path = os.path.join(self.dir, 'sync.json')
        containers = []
        if self.merged:
            self.bucket = 'conformance-%s-%s' % (self.name,
                                                 uuid.uuid4().hex[:8])
            empty_bucket(self.world, self.bucket)
            containers = mappings(self.world, self.bucket)
        _write(path, json.dumps({'containers': containers,
                                 'status_dir': os.path.join(self.dir,
                                                            'status')}))
        return path

    def _environment(self):
        env = dict(os.environ)
        env.update({
            'SWIFT_TEST_CONFIG_FILE': os.path.join(self.dir, 'func.conf'),
            'CONFORMANCE_RESULTS': os.path.join(self.dir, 'results.json'),
            'SWIFT_TEST_QUIET_BOTO_LOGS': '1',
            'PYTHONDONTWRITEBYTECODE': '1',
        })
        env.pop('CONFORMANCE_SEED', None)
        env.pop('SWIFT_TEST_IN_PROCESS', None)
        if self.seeded:
            seed = os.path.join(self.dir, 'seed.json')
            _write(seed, json.dumps({
                'proxy_port': self.port, 's3_account': 'AUTH_' + ACCOUNTS[0],
                'sync_conf': os.path.join(self.dir, 'sync.json'),
                'names': list(SEED_NAMES),
                'log': os.path.join(self.dir, 'seeded.jsonl')}))
            env['CONFORMANCE_SEED'] = seed
        return env

    def prepare(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        shunt_conf = self._sync_conf() if self.shunt else None
        _write(os.path.join(self.dir, 'func.conf'), func_conf(self.port))
        self.proxy = Proxy(self.world, self.work_dir, self.name, self.port,
                           proxy_conf(self.world, self.name, self.port,
                                      shunt_conf))

    def command(self):
        argv = [self.python, '-m', 'pytest', '-p',
                'localworld.conformance_plugin', '-p', 'no:cacheprovider',
                '-rfE', '--tb=short', '--durations=25']
        if self.keyword:
            argv += ['-k', self.keyword]
        return argv + list(self.paths)

    def execute(self):
        started = time.time()
        self.prepare()
        try:
            self.proxy.start(self.python, self.code)
            with open(os.path.join(self.dir, 'pytest.log'), 'w') as log:
                self.child = subprocess.Popen(
                    self.command(), cwd=self.tree, env=self._environment(),
                    stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL)
                try:
                    exit_code = self.child.wait(timeout=RUN_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.child.kill()
                    raise WorldError('%s run took over %d s; see %s' % (
                        self.name, RUN_TIMEOUT, log.name))
        finally:
            self._cleanup()
        self.result['pytest_exit'] = exit_code
        self.result['seconds'] = round(time.time() - started, 1)
        return self._collect(exit_code)

    def _cleanup(self):
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()
        if self.proxy is not None:
            self.proxy.stop()
        if self.bucket:
            try:
                empty_bucket(self.world, self.bucket, delete=True)
            except Exception as err:
                self.out.write('(could not delete bucket %s: %s)\n' % (
                    self.bucket, type(err).__name__))

    def _collect(self, exit_code):
        if not os.path.isdir(self.dir):
            raise WorldError('the world directory was wiped during the %s '
                             'run (a world restart); run again' % self.name)
        path = os.path.join(self.dir, 'results.json')
        if not os.path.exists(path):
            raise WorldError('the %s run recorded no outcomes (pytest exit '
                             '%d); see %s' % (self.name, exit_code, os.path.join(
                                 self.dir, 'pytest.log')))
        with open(path) as f:
            outcomes = json.load(f)
        if exit_code not in (0, 1) or not outcomes:
            raise WorldError('the %s run did not run tests (pytest exit %d); '
                             'see %s' % (self.name, exit_code, os.path.join(
                                 self.dir, 'pytest.log')))
        self.result['outcomes'] = outcomes
        self.result['counts'] = counts(outcomes)
        if self.shunt:
            problems = log_problems(self.proxy.log)
            self.result['proxy_log'] = self.proxy.log
            self.result['proxy_problems'] = [
                {'count': n, 'exception': exc, 'where': where, 'txn': txn}
                for (exc, where), (n, txn) in problems.items()]
        if self.seeded:
            seeded, errors = seed_log_summary(
                os.path.join(self.dir, 'seeded.jsonl'))
            self.result['seeded_containers'] = seeded
            self.result['seed_errors'] = dict(errors)
        return self.result


# -- comparing and reporting --------------------------------------------------------

def differences(results):
    """{run: [(test id, plain outcome, run outcome)]} against ``plain``."""
    base = results.get('plain', {}).get('outcomes')
    found = collections.OrderedDict()
    if base is None:
        return found
    for name, result in results.items():
        if name == 'plain':
            continue
        outcomes = result['outcomes']
        found[name] = [
            (test, base.get(test, 'absent'), outcomes.get(test, 'absent'))
            for test in sorted(set(base) | set(outcomes))
            if base.get(test, 'absent') != outcomes.get(test, 'absent')]
    return found


def identical(results):
    compared = [results[r]['outcomes'] for r in COMPARED if r in results]
    return all(o == compared[0] for o in compared)


def report(results, diffs, out):
    out.write('\n%-12s %6s %6s %7s %6s %8s\n' % (
        'run', 'passed', 'failed', 'skipped', 'errors', 'seconds'))
    for name, result in results.items():
        c = result['counts']
        out.write('%-12s %6d %6d %7d %6d %8.1f\n' % (
            name, c['passed'], c['failed'], c['skipped'], c['error'],
            result['seconds']))
    for name, found in diffs.items():
        if not found:
            continue
        label = ('%s (expected in part: the remote holds objects)' % name
                 if name not in COMPARED else name)
        out.write('\ndifferences from plain in %s (%d):\n' % (
            label, len(found)))
        for test, before, after in found:
            out.write('  %-8s -> %-8s %s\n' % (before, after, test))
    for name, result in results.items():
        if name == 'plain':
            failing = [t for t, o in result['outcomes'].items()
                       if o in ('failed', 'error')]
            if failing:
                out.write('\nfailing without cloud-shunt (%d):\n' %
                          len(failing))
                for test in sorted(failing):
                    out.write('  %s\n' % test)
        if result.get('proxy_problems'):
            out.write('\nproxy log of %s (%s), distinct problems:\n' % (
                name, result['proxy_log']))
            for entry in result['proxy_problems'][:15]:
                out.write('  %5d x %s\n          at %s (e.g. %s)\n' % (
                    entry['count'], entry['exception'], entry['where'],
                    entry['txn']))
        if result.get('seed_errors'):
            out.write('\nseeding errors in %s: %s\n' % (
                name, result['seed_errors']))
    verdict = identical(results)
    ran = [r for r in COMPARED if r in results]
    out.write('\n%s: %s\n' % (', '.join(ran), 'identical outcomes' if verdict
                              else 'OUTCOMES DIFFER'))
    return verdict


# -- entry points -------------------------------------------------------------------

@contextlib.contextmanager
def exclusive(world_dir, out):
    """One conformance invocation at a time per world (the tests' accounts
    are shared): wait for an earlier one to finish.  The lock file lives
    beside the world directory, which a world restart wipes."""
    with open(world_dir.rstrip('/') + '-conformance.lock', 'a+') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            out.write('waiting for another conformance run to finish\n')
            out.flush()
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def source_processes(world):
    """PIDs of the world's source cluster, to notice a restart."""
    return {name: pid for name, pid in
            procs.recorded(world['world_dir']).items()
            if name.startswith('source-')}


def the_world(python=sys.executable, out=sys.stdout):
    """The running world; started when it is down, never restarted (a
    half-running world is left alone for its owner to look at)."""
    directory = localworld.world_dir()
    live, dead = localworld.running(directory)
    if not live:
        return localworld.up(directory, python=python, out=out)
    # Other tests record their own processes (sync daemons) there too: only
    # the source cluster and moto matter here.
    needed = [n for n in dead if n.startswith(('source-', 'moto'))]
    if needed or not os.path.exists(localworld.world_file(directory)):
        raise WorldError('the local world is half running (%s dead); see '
                         '`python -m localworld status`' % ', '.join(
                             needed or dead))
    return localworld.load(directory)


def run(runs=None, suites=None, keyword=None, quick=False, out=sys.stdout,
        python=sys.executable, code=None):
    """Run the conformance runs; returns {'runs': {...}, 'differences':
    {...}, 'identical': bool, ...} (see ``main`` for the meaning)."""
    runs = list(runs or (QUICK_RUNS if quick else RUNS))
    unknown = [r for r in runs if r not in RUNS]
    if unknown:
        raise WorldError('unknown run %s (known: %s)' % (
            ', '.join(unknown), ', '.join(RUNS)))
    suites = list(suites or (QUICK_SUITES if quick else SUITES))
    world = the_world(python, out)
    ensure_requirements(python, out)
    version = swift_version()
    tree = functests_tree(version, python=python, out=out)
    paths = suite_paths(tree, suites)
    work_dir = os.path.join(world['world_dir'], 'conformance')
    os.makedirs(work_dir, exist_ok=True)
    out.write('swift %s functional tests: %s\n' % (version, ' '.join(suites)))
    results = collections.OrderedDict()
    with exclusive(world['world_dir'], out):
        stop_leftovers(work_dir)
        for name in sorted(runs, key=list(RUNS).index):
            out.write('%s run ... ' % name)
            out.flush()
            one = Run(world, work_dir, tree, name, paths, keyword, python,
                      out, code)
            before = source_processes(world)
            results[name] = one.execute()
            if source_processes(world) != before:
                raise WorldError('the source cluster was restarted during '
                                 'the %s run; its results mean nothing'
                                 % name)
            c = results[name]['counts']
            out.write('%d passed, %d failed, %d skipped, %d errors in %.0f s '
                      '(proxy 127.0.0.1:%d)\n' % (
                          c['passed'], c['failed'], c['skipped'], c['error'],
                          results[name]['seconds'], one.port))
            out.flush()
    diffs = differences(results)
    return {'swift_version': version, 'suites': suites, 'keyword': keyword,
            'runs': results, 'differences': diffs,
            'identical': identical(results)}


def _terminate(signum, frame):
    raise KeyboardInterrupt()


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='scripts/conformance',
        description="Swift's functional tests through proxies with and "
                    "without cloud-shunt; see docs/conformance.md.")
    parser.add_argument('--quick', action='store_true',
                        help='the CI subset: %s, runs %s' % (
                            ' '.join(QUICK_SUITES), ' '.join(QUICK_RUNS)))
    parser.add_argument('--runs', help='comma-separated, of: %s' %
                        ', '.join(RUNS))
    parser.add_argument('--suites', help='comma-separated files or dirs '
                        'under test/functional (default: %s)' %
                        ' '.join(SUITES))
    parser.add_argument('-k', dest='keyword', help="pytest's -k expression")
    parser.add_argument('--code', help='a directory holding another '
                        'swift_s3_sync package for the proxies to load, e.g. '
                        'from `git archive REV swift_s3_sync | tar -x -C DIR`')
    parser.add_argument('--json', help='write the results as JSON to this '
                        'file (- for stdout)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    out = sys.stderr if args.json == '-' else sys.stdout
    try:
        summary = run(runs=args.runs and args.runs.split(','),
                      suites=args.suites and args.suites.split(','),
                      keyword=args.keyword, quick=args.quick, out=out,
                      code=args.code and os.path.abspath(args.code))
    except WorldError as err:
        sys.stderr.write('conformance: %s\n' % err)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write('conformance: interrupted\n')
        return 130
    verdict = report(summary['runs'], summary['differences'], out)
    if args.json:
        text = json.dumps(summary, indent=1, sort_keys=True)
        if args.json == '-':
            sys.stdout.write(text + '\n')
        else:
            _write(os.path.abspath(args.json), text + '\n')
    return 0 if verdict else 1


if __name__ == '__main__':
    sys.exit(main())
