"""A real Swift cluster on 127.0.0.1: rings, configs and processes.

Node N (1-based) runs an object, container and account server on
``base_port + 10*N`` (+0, +1, +2) with its own devices root holding one
device ``sdbN``.  One proxy (tempauth, s3api, slo, dlo, symlink,
versioned_writes, ...) and one memcached serve the cluster.  Everything lives
under ``<world>/<name>/``; nothing is written to /etc/swift.

No background daemon runs: a world at rest costs (almost) no CPU.  Account
statistics (object counts and bytes per container in account listings and
HEADs) only move when the container-updater runs; ``update_accounts()`` runs
one pass of it on every node, for the tests and tools that need them.
"""
import getpass
import json
import os
import subprocess
import time
import urllib.request
from importlib import metadata

from localworld import procs
from localworld.procs import WorldError
from localworld.service import Service, require_commands

# Project middleware is placed just before the final proxy-logging once its
# entry point exists, so the pipeline needs no edit when it lands.
PROJECT_FILTERS = ('cloud-shunt',)

PIPELINE = (
    'catch_errors gatekeeper healthcheck proxy-logging cache listing_formats '
    'container_sync bulk tempurl ratelimit s3api tempauth copy '
    'container-quotas account-quotas slo dlo versioned_writes symlink '
    '{project}proxy-logging proxy-server')

USERS = {
    # user: (account, key, admin)
    'test:tester': ('test', 'testing', True),
    'test2:tester2': ('test2', 'testing2', True),
    'test:tester3': ('test', 'testing3', False),
}


def tempauth_users():
    """USERS as tempauth (and proxymc) config lines."""
    return ''.join(
        'user_%s_%s = %s%s\n' % (user.split(':')[0], user.split(':')[1], key,
                                 ' .admin' if admin else '')
        for user, (_, key, admin) in sorted(USERS.items()))


def described_users():
    """USERS as world.json lists them for clients."""
    return {user: {'account': 'AUTH_' + account, 'key': key, 'admin': admin}
            for user, (account, key, admin) in USERS.items()}


SERVERS = (('object', 0), ('container', 1), ('account', 2))


def project_filters():
    names = {ep.name for ep in metadata.entry_points(
        group='paste.filter_factory') if ep.value.startswith('swift_s3_sync')}
    return [f for f in PROJECT_FILTERS if f in names]


class SwiftCluster(Service):

    def __init__(self, world_dir, python, name, nodes, replicas, base_port,
                 proxy_port, memcache_port, project_conf=None):
        super().__init__(world_dir, python)
        self.name = name
        self.nodes = nodes
        self.replicas = replicas
        self.base_port = base_port
        self.proxy_port = proxy_port
        self.memcache_port = memcache_port
        self.project_conf = project_conf or {}
        self.root = os.path.join(world_dir, name)
        self.swift_dir = os.path.join(self.root, 'etc')
        self._pids = {}

    # -- layout -----------------------------------------------------------
    def node_port(self, node, server):
        return self.base_port + 10 * node + dict(SERVERS)[server]

    def devices(self, node):
        return os.path.join(self.root, 'node%d' % node)

    def ports(self):
        ports = [self.proxy_port, self.memcache_port]
        for node in range(1, self.nodes + 1):
            ports.extend(self.node_port(node, s) for s, _ in SERVERS)
        return ports

    def check_installed(self):
        require_commands(self.name, ['memcached'], 'apt-get install memcached')

    # -- configuration ----------------------------------------------------
    def _write(self, path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    def _write_swift_conf(self):
        self._write(os.path.join(self.swift_dir, 'swift.conf'), (
            '[swift-hash]\n'
            'swift_hash_path_prefix = %(n)s-prefix\n'
            'swift_hash_path_suffix = %(n)s-suffix\n\n'
            '[storage-policy:0]\nname = gold\ndefault = yes\n\n'
            '[storage-policy:1]\nname = silver\n') % {'n': self.name})

    def _build_rings(self):
        from swift.common.ring import RingBuilder
        for ring_name, server in (('account', 'account'),
                                  ('container', 'container'),
                                  ('object', 'object'),
                                  ('object-1', 'object')):
            builder = RingBuilder(10, self.replicas, 1)
            for node in range(1, self.nodes + 1):
                builder.add_dev({
                    'id': node - 1, 'region': 1, 'zone': node,
                    'ip': '127.0.0.1', 'port': self.node_port(node, server),
                    'device': 'sdb%d' % node, 'weight': 100})
            builder.rebalance()
            builder.get_ring().save(
                os.path.join(self.swift_dir, ring_name + '.ring.gz'))

    def _server_conf(self, node, server):
        extra = {
            'object': '[object-replicator]\n[object-updater]\n'
                      '[object-auditor]\n',
            'container': '[container-replicator]\n[container-auditor]\n'
                         '[container-sync]\n[container-sharder]\n'
                         '[container-updater]\nconcurrency = 1\n'
                         'containers_per_second = 100000\n',
            'account': '[account-replicator]\n[account-auditor]\n'
                       '[account-reaper]\n',
        }[server]
        app_extra = 'allow_versions = true\n' if server == 'container' else ''
        return (
            '[DEFAULT]\n'
            'devices = %(devices)s\nmount_check = false\n'
            'disable_fallocate = true\nbind_ip = 127.0.0.1\n'
            'bind_port = %(port)d\nworkers = 0\nswift_dir = %(swift_dir)s\n'
            'user = %(user)s\nrecon_cache_path = %(recon)s\n'
            'log_name = %(name)s-%(server)s-%(node)d\n\n'
            '[pipeline:main]\npipeline = %(server)s-server\n\n'
            '[app:%(server)s-server]\nuse = egg:swift#%(server)s\n%(app)s\n'
            '%(extra)s') % {
                'devices': self.devices(node), 'swift_dir': self.swift_dir,
                'port': self.node_port(node, server), 'server': server,
                'node': node, 'name': self.name, 'extra': extra,
                'app': app_extra, 'user': getpass.getuser(),
                'recon': os.path.join(self.root, 'recon')}

    def _proxy_conf(self):
        filters = project_filters()
        project = ''.join(f + ' ' for f in filters)
        users = tempauth_users()
        text = (
            '[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %(port)d\n'
            'workers = 0\nswift_dir = %(swift_dir)s\n'
            'user = %(user)s\nlog_name = %(name)s-proxy\n\n'
            '[pipeline:main]\npipeline = %(pipeline)s\n\n'
            '[app:proxy-server]\nuse = egg:swift#proxy\nconn_timeout = 2\n'
            'account_autocreate = true\nallow_account_management = true\n\n'
            '[filter:tempauth]\nuse = egg:swift#tempauth\n%(users)s\n'
            '[filter:s3api]\nuse = egg:swift#s3api\ns3_acl = false\n'
            'location = us-east-1\n\n'
            '[filter:cache]\nuse = egg:swift#memcache\n'
            'memcache_servers = 127.0.0.1:%(memcache)d\n\n'
            '[filter:versioned_writes]\nuse = egg:swift#versioned_writes\n'
            'allow_versioned_writes = true\nallow_object_versioning = true\n\n'
        ) % {'port': self.proxy_port, 'swift_dir': self.swift_dir,
             'name': self.name, 'users': users, 'user': getpass.getuser(),
             'memcache': self.memcache_port,
             'pipeline': PIPELINE.format(project=project)}
        for mw in ('catch_errors', 'gatekeeper', 'healthcheck',
                   'proxy-logging', 'listing_formats', 'container_sync',
                   'bulk', 'tempurl', 'ratelimit', 'copy', 'slo', 'dlo',
                   'symlink'):
            text += '[filter:%s]\nuse = egg:swift#%s\n\n' % (
                mw, mw.replace('-', '_'))
        text += ('[filter:container-quotas]\nuse = egg:swift#container_quotas'
                 '\n\n[filter:account-quotas]\nuse = egg:swift#account_quotas'
                 '\n\n')
        for name in filters:
            text += '[filter:%s]\nuse = egg:swift-s3-sync#%s\n' % (name, name)
            for key, value in sorted(self.project_conf.get(name, {}).items()):
                text += '%s = %s\n' % (key, value)
            text += '\n'
        return text

    def proxy_conf_path(self):
        return os.path.join(self.swift_dir, 'proxy-server.conf')

    def write_configs(self):
        self._write_swift_conf()
        self._build_rings()
        os.makedirs(os.path.join(self.root, 'recon'), exist_ok=True)
        for node in range(1, self.nodes + 1):
            os.makedirs(os.path.join(self.devices(node), 'sdb%d' % node),
                        exist_ok=True)
            for server, _ in SERVERS:
                self._write(self._conf_path(node, server),
                            self._server_conf(node, server))
        self._write(self.proxy_conf_path(), self._proxy_conf())
        self._write_empty_sync_configs()

    def _write_empty_sync_configs(self):
        # A project filter's sync config starts with no mappings; tests
        # write theirs into it (the shunt reloads it when it changes).
        for conf in self.project_conf.values():
            path = conf.get('conf_file')
            if path and not os.path.exists(path):
                self._write(path, json.dumps({
                    'containers': [],
                    'status_dir': os.path.join(os.path.dirname(path),
                                               'status')}))

    def _conf_path(self, node, server):
        return os.path.join(self.swift_dir, 'node%d' % node,
                            '%s-server.conf' % server)

    # -- processes --------------------------------------------------------
    def _runner(self, *args):
        return [self.python, '-m', 'localworld.run_swift'] + list(args)

    def _spawn(self, name, argv):
        self._pids[name] = procs.spawn(
            self.world_dir, '%s-%s' % (self.name, name), argv)

    def start(self):
        self.write_configs()
        self._spawn('memcached', [
            'memcached', '-u', 'root', '-l', '127.0.0.1',
            '-p', str(self.memcache_port), '-U', '0', '-m', '64'])
        for node in range(1, self.nodes + 1):
            for server, _ in SERVERS:
                self._spawn('%s-%d' % (server, node), self._runner(
                    'wsgi', self.swift_dir, self._conf_path(node, server),
                    '%s-server' % server))
        self._spawn('proxy', self._runner(
            'wsgi', self.swift_dir, self.proxy_conf_path(), 'proxy-server'))

    def restart_proxy(self, deadline):
        """Stop the proxy, write its config again and start it: it then
        loads the project's middleware from the checkout as it is now."""
        procs.stop(self.world_dir, names=['%s-proxy' % self.name])
        self._write(self.proxy_conf_path(), self._proxy_conf())
        self._spawn('proxy', self._runner(
            'wsgi', self.swift_dir, self.proxy_conf_path(), 'proxy-server'))
        procs.wait_until(lambda: procs.port_answers(self.proxy_port),
                         '%s proxy' % self.name, deadline,
                         pid=self._pids['proxy'], log=self._log('proxy'))
        procs.wait_until(self._authenticates, '%s tempauth' % self.name,
                         deadline, pid=self._pids['proxy'],
                         log=self._log('proxy'))

    def update_container(self, account, container, timeout=60):
        """The container-updater for one container's DB replicas: its
        object count and bytes reach the account listing at once."""
        argv = self._runner('update-container', self.swift_dir, account,
                            container) + [
            self._conf_path(node, 'container')
            for node in range(1, self.nodes + 1)]
        done = subprocess.run(argv, cwd=procs.REPO_ROOT, timeout=timeout,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        if done.returncode:
            raise WorldError('%s: updating %s/%s failed: %s' % (
                self.name, account, container, done.stdout.decode(
                    'utf-8', 'replace').strip()[-500:]))

    def run_object_updaters(self, timeout=60):
        """One object-updater pass on every node: container updates that
        timed out under load (async pendings) reach the container DBs."""
        self._run_once_everywhere('object', 'swift.obj.updater:ObjectUpdater',
                                  timeout)

    def run_container_replicators(self, timeout=60):
        """One container-replicator pass on every node: DB replicas that
        missed rows (or were never created) catch up with the others."""
        self._run_once_everywhere(
            'container', 'swift.container.replicator:ContainerReplicator',
            timeout)

    def _run_once_everywhere(self, server, daemon, timeout):
        passes = [subprocess.Popen(
            self._runner('once', self.swift_dir,
                         self._conf_path(node, server), daemon),
            cwd=procs.REPO_ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL) for node in range(1, self.nodes + 1)]
        for proc in passes:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def update_accounts(self, timeout=120):
        """One container-updater pass on every node, so that account
        listings and HEADs show the containers' current object counts and
        bytes.  Raises WorldError when a pass fails."""
        passes = {node: subprocess.Popen(
            self._runner('once', self.swift_dir,
                         self._conf_path(node, 'container'),
                         'swift.container.updater:ContainerUpdater'),
            cwd=procs.REPO_ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT) for node in range(1, self.nodes + 1)}
        deadline = time.time() + timeout
        for node, proc in passes.items():
            try:
                output, _ = proc.communicate(
                    timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                for other in passes.values():
                    other.kill()
                    other.wait()
                raise WorldError('%s container-updater on node %d took over '
                                 '%d s (is a storage node stopped?)' % (
                                     self.name, node, timeout))
            if proc.returncode:
                raise WorldError('%s container-updater on node %d failed: %s'
                                 % (self.name, node, output.decode(
                                     'utf-8', 'replace').strip()[-500:]))

    def _log(self, name):
        return os.path.join(procs.log_dir(self.world_dir),
                            '%s-%s.log' % (self.name, name))

    def wait_ready(self, deadline):
        for name, pid in sorted(self._pids.items()):
            port = (self.memcache_port if name == 'memcached' else
                    self.proxy_port if name == 'proxy' else
                    self.node_port(int(name.rsplit('-', 1)[1]),
                                   name.rsplit('-', 1)[0]))
            procs.wait_until(lambda: procs.port_answers(port),
                             '%s %s' % (self.name, name), deadline,
                             pid=pid, log=self._log(name))
        procs.wait_until(self._authenticates, '%s tempauth' % self.name,
                         deadline, pid=self._pids['proxy'],
                         log=self._log('proxy'))

    def _authenticates(self):
        user = 'test:tester'
        req = urllib.request.Request(
            self.proxy_url() + '/auth/v1.0',
            headers={'X-Auth-User': user, 'X-Auth-Key': USERS[user][1]})
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status == 200

    def proxy_url(self):
        return 'http://127.0.0.1:%d' % self.proxy_port

    def describe(self):
        return {
            'proxy_url': self.proxy_url(),
            'auth_url': self.proxy_url() + '/auth/v1.0',
            'swift_dir': self.swift_dir,
            'proxy_conf': self.proxy_conf_path(),
            'project_conf': self.project_conf,
            'replicas': self.replicas,
            'users': described_users(),
            's3': {'endpoint': self.proxy_url(), 'access_key': 'test:tester',
                   'secret_key': USERS['test:tester'][1],
                   'region': 'us-east-1', 'addressing': 'path'},
            'nodes': [{
                'node': node,
                'devices': self.devices(node),
                'device': 'sdb%d' % node,
                'ip': '127.0.0.1',
                'ports': {server: self.node_port(node, server)
                          for server, _ in SERVERS},
            } for node in range(1, self.nodes + 1)],
        }
