"""proxymc on 127.0.0.1, run the way operators run it:
``proxymc --config <world>/proxymc/proxymc.conf`` (Swift's WSGI server,
two workers, Swift's own middleware in front).

Its sync config, ``<world>/proxymc/sync.json``, starts with no mappings;
tests and the demo write theirs there (proxymc reads the file again within a
second).  Its users are the source cluster's tempauth users, so the same
credentials work on both sides.  Its ``token_secret`` is made once per
world (``<world>/proxymc/token_secret``, readable by its owner only) and
kept when proxymc alone is started again, so tokens outlive a restart.

Tests start more proxymc servers the same way, in a directory of their
own, with ``app_options`` and ``default_options`` for the settings they
try (limits, workers, timeouts).
"""
import getpass
import json
import os
import secrets
import urllib.request

from localworld import procs
from localworld.service import Service
from localworld.swift_cluster import described_users, tempauth_users

PIPELINE = ('catch_errors gatekeeper healthcheck proxy-logging '
            'listing_formats proxymc')


class ProxyMCServer(Service):
    name = 'proxymc'

    def __init__(self, world_dir, python, port=8085, app_options=None,
                 default_options=None):
        super().__init__(world_dir, python)
        self.port = port
        self.root = os.path.join(world_dir, 'proxymc')
        self.app_options = dict(app_options or {})
        self.default_options = dict({'workers': 2},
                                    **(default_options or {}))
        self._pid = None

    def ports(self):
        return [self.port]

    def conf_path(self):
        return os.path.join(self.root, 'proxymc.conf')

    def sync_conf_path(self):
        return os.path.join(self.root, 'sync.json')

    def log_path(self):
        return os.path.join(procs.log_dir(self.world_dir), 'proxymc.log')

    def _token_secret(self):
        path = os.path.join(self.root, 'token_secret')
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(secrets.token_hex(32))
        with open(path) as f:
            return f.read().strip()

    @staticmethod
    def _lines(options):
        return ''.join('%s = %s\n' % item for item in options.items())

    def _conf(self):
        text = (
            '[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %(port)d\n'
            'user = %(user)s\nlog_name = proxymc\n%(defaults)s\n'
            '[pipeline:main]\npipeline = %(pipeline)s\n\n'
            '[app:proxymc]\nuse = egg:swift-s3-sync#proxymc\n'
            'conf_file = sync.json\n%(app)s%(users)s\n'
            '[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n'
            'reveal_sensitive_prefix = 0\n\n'
        ) % {'port': self.port, 'user': getpass.getuser(),
             'pipeline': PIPELINE, 'users': tempauth_users(),
             'defaults': self._lines(self.default_options),
             'app': self._lines(dict({
                 'spool_dir': os.path.join(self.root, 'spool'),
                 'token_secret': self._token_secret()},
                 **self.app_options))}
        for mw in ('catch_errors', 'gatekeeper', 'healthcheck',
                   'listing_formats'):
            text += '[filter:%s]\nuse = egg:swift#%s\n\n' % (mw, mw)
        return text

    def write_config(self):
        with open(self.conf_path(), 'w') as f:
            f.write(self._conf())

    def start(self):
        os.makedirs(os.path.join(self.root, 'spool'), exist_ok=True)
        if not os.path.exists(self.sync_conf_path()):
            with open(self.sync_conf_path(), 'w') as f:
                json.dump({'containers': [], 'status_dir':
                           os.path.join(self.root, 'status')}, f)
        self.write_config()
        script = os.path.join(os.path.dirname(self.python), 'proxymc')
        argv = ([script] if os.path.exists(script)
                else [self.python, '-m', 'proxymc.server'])
        self._pid = procs.spawn(self.world_dir, self.name, argv + [
            '--config', self.conf_path(), '--verbose'])

    def _answers(self):
        with urllib.request.urlopen(self.url() + '/healthcheck',
                                    timeout=2) as resp:
            return resp.status == 200

    def wait_ready(self, deadline):
        procs.wait_until(self._answers, 'proxymc', deadline, pid=self._pid,
                         log=self.log_path())

    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def describe(self):
        return {
            'endpoint': self.url(),
            'auth_url': self.url() + '/auth/v1.0',
            'conf': self.conf_path(),
            'sync_conf': self.sync_conf_path(),
            'users': described_users(),
        }

