"""Ceph radosgw as the local world's S3 server.

One mon, one OSD keeping its data in memory (memstore, at most 4 GiB) and one
radosgw, created from nothing under ``<world>/ceph`` with authentication off.
Every socket is on 127.0.0.1:

    ceph-mon  mon_port (default 6789), msgr v1 only
    ceph-osd  4 ports out of 6800-6810 (public, cluster, 2 heartbeats)
    radosgw   port (default 8100), S3 with path-style addressing

``start`` blocks for about 0.5 s (maps, two mkfs, until the mon listens);
radosgw then creates its own pools and serves about 0.7 s later.
"""
import base64
import email.utils
import hashlib
import hmac
import http.client
import os
import subprocess
import time
import uuid

from localworld import procs
from localworld.procs import WorldError
from localworld.service import Service, require_commands

ACCESS_KEY = 'radosgw-test'
SECRET_KEY = 'radosgw-test-secret'
DAEMONS = ('ceph-mon', 'ceph-osd', 'radosgw')

CONF = """\
[global]
fsid = {fsid}
# msgr v1 only: one mon port, and none of the "ms * mode = crc" settings
# that msgr v2 needs when auth is off.
mon host = v1:127.0.0.1:{mon_port}
ms bind msgr2 = false
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# The OSD's 4 listening ports (public, cluster, 2 heartbeats) come from here.
ms bind port min = 6800
ms bind port max = 6810
auth cluster required = none
auth service required = none
auth client required = none
# Nothing outside {dir}: daemons log to stderr, which procs.spawn collects.
run dir = {dir}/run
crash dir = {dir}/crash
log file =
log to stderr = true
mon cluster log to file = false
mon data = {dir}/mon
# The mon would stop itself on a 95 % full disk; a throwaway world need not.
mon data avail crit = 0
osd data = {dir}/osd
# osd.0 is already in the CRUSH map of the initial osdmap, and the mon marks
# it up and in when it first boots.  Left on, these updates are commands the
# OSD sends as soon as it is authenticated, which with auth off can be before
# the mon has sent it the fsid: refused ("wrong fsid"), the OSD exits.  That
# happened in about half of the starts.  (The ceph CLI failed once the same
# way against a fresh mon, hence no CLI before radosgw is up.)
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
# Memory is only taken as data is written; a full OSD blocks every write
# (deletes too), so leave room for a whole test run's large objects.
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
# radosgw creates 7 pools; 8 placement groups each instead of 32 keeps pool
# creation quick on a single OSD.
osd pool default pg num = 8
osd pool default pgp num = 8
# Commit map changes (OSD boot, each pool radosgw creates) after 50 ms, not 1 s.
paxos propose interval = 0.05
# Else the OSD spends 5 s on SIGTERM waiting for the mon, stopped at once too.
osd fast shutdown notify mon = false

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{port}
# On SIGTERM radosgw waits for the OSD, usually stopped at the same moment;
# this alarm ends it after 1 s instead of 120 s.
rgw exit timeout secs = 1
# Deleted objects' data is freed by rgw's garbage collector, by default 2 h
# after the delete and once an hour: here within seconds, so a long run of
# tests or benchmarks gives its memory back.
rgw gc obj min wait = 0
rgw gc processor period = 5
"""


class CephRadosgw(Service):
    name = 'radosgw'

    def __init__(self, world_dir, python, port=8100, mon_port=6789):
        super().__init__(world_dir, python)
        self.port = port
        self.mon_port = mon_port
        self.dir = os.path.join(world_dir, 'ceph')
        self.conf = os.path.join(self.dir, 'ceph.conf')

    def ports(self):
        return [self.port, self.mon_port]

    def check_installed(self):
        require_commands(
            self.name,
            ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin',
             'monmaptool', 'osdmaptool'],
            'apt-get install --no-install-recommends radosgw ceph-mon ceph-osd')

    def start(self):
        for sub in ('mon', 'osd', 'run'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        fsid = str(uuid.uuid4())
        with open(self.conf, 'w') as f:
            f.write(CONF.format(fsid=fsid, dir=self.dir, port=self.port,
                                mon_port=self.mon_port))
        monmap = os.path.join(self.dir, 'monmap')
        self._run(['monmaptool', '--create', '--fsid', fsid, '--addv', 'a',
                   '[v1:127.0.0.1:%d]' % self.mon_port, monmap])
        # Holds osd.0 in the CRUSH map, so the OSD needs no registering.
        osdmap = os.path.join(self.dir, 'osdmap')
        self._run(['osdmaptool', '--createsimple', '1', osdmap])
        self._run(['ceph-mon', '--mkfs', '-i', 'a', '--monmap', monmap,
                   '--osdmap', osdmap, '-c', self.conf])
        # --no-mon-config lets the OSD be formatted before the mon runs.
        self._run(['ceph-osd', '--mkfs', '-i', '0', '--no-mon-config',
                   '-c', self.conf])
        mon = self._spawn('ceph-mon', '-i', 'a')
        # A client that finds the mon port closed retries with a doubling
        # back-off and can lose 5 s; the mon listens within a fraction of one.
        procs.wait_until(lambda: procs.port_answers(self.mon_port),
                         'ceph-mon', time.time() + 10, pid=mon,
                         log=self._log('ceph-mon'))
        self._spawn('ceph-osd', '-i', '0')
        self._spawn('radosgw', '-n', 'client.rgw')

    def wait_ready(self, deadline):
        pids = {name: pid for name, pid in procs.recorded(self.world_dir).items()
                if name in DAEMONS}
        # radosgw opens its port only once the mon and the OSD serve its
        # pools, so this one wait covers all three; a dead daemon ends it.
        procs.wait_until(
            lambda: (not all(map(procs.alive, pids.values()))
                     or self._list_buckets(signed=False)),
            'radosgw', deadline, log=self._log('radosgw'))
        for name, pid in pids.items():
            if not procs.alive(pid):
                raise WorldError('%s exited during start-up; see %s' % (
                    name, self._log(name)))
        # After radosgw is up, so that it alone creates the default zone.
        self._run(['radosgw-admin', '-c', self.conf, 'user', 'create',
                   '--uid', 'test', '--display-name', 'test',
                   '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY],
                  timeout=max(1.0, deadline - time.time()))
        procs.wait_until(
            lambda: self._list_buckets(signed=True) == 200,
            'radosgw (signed request)', deadline, pid=pids['radosgw'],
            log=self._log('radosgw'))

    def describe(self):
        return {
            'endpoint': 'http://127.0.0.1:%d' % self.port,
            'access_key': ACCESS_KEY,
            'secret_key': SECRET_KEY,
            # The zonegroup is "default", but with us-east-1 clients send no
            # LocationConstraint, which radosgw accepts.
            'region': 'us-east-1',
            'addressing': 'path',
        }

    def _spawn(self, name, *args):
        # -f keeps the daemon in the foreground, so the recorded PID is its.
        return procs.spawn(self.world_dir, name,
                           [name] + list(args) + ['-f', '-c', self.conf])

    def _log(self, name):
        return os.path.join(procs.log_dir(self.world_dir), name + '.log')

    def _run(self, argv, timeout=30.0):
        """Run a set-up command, its output appended to logs/ceph-setup.log."""
        log_path = self._log('ceph-setup')
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open(log_path, 'ab') as log:
            log.write(('$ %s\n' % ' '.join(argv)).encode())
            log.flush()
            try:
                code = subprocess.run(
                    argv, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                code = 'timeout'
        if code != 0:
            raise WorldError('%s failed (%s); see %s' % (
                ' '.join(argv[:2]), code, log_path))

    def _list_buckets(self, signed):
        """HTTP status of GET / (ListBuckets), signed with AWS v2 if asked.

        http.client rather than urllib: urllib would obey *_proxy variables.
        """
        headers = {}
        if signed:
            date = email.utils.formatdate(usegmt=True)
            digest = hmac.new(SECRET_KEY.encode(),
                              ('GET\n\n\n%s\n/' % date).encode(),
                              hashlib.sha1).digest()
            headers = {'Date': date, 'Authorization': 'AWS %s:%s' % (
                ACCESS_KEY, base64.b64encode(digest).decode())}
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=2)
        try:
            conn.request('GET', '/', headers=headers)
            return conn.getresponse().status
        finally:
            conn.close()
