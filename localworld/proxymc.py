"""proxymc on 127.0.0.1, run the way operators run it:
``proxymc --config <world>/proxymc/proxymc.conf`` (Swift's WSGI server,
two workers, Swift's own middleware in front).

Its sync config, ``<world>/proxymc/sync.json``, starts with no mappings;
tests and the demo write theirs there (proxymc reads the file again within a
second).  Its users are the source cluster's tempauth users, so the same
credentials work on both sides.
"""
import getpass
import json
import os
import urllib.request

from localworld import procs
from localworld.service import Service
from localworld.swift_cluster import described_users, tempauth_users

PIPELINE = ('catch_errors gatekeeper healthcheck proxy-logging '
            'listing_formats proxymc')


class ProxyMCServer(Service):
    name = 'proxymc'

    def __init__(self, world_dir, python, port=8085):
        super().__init__(world_dir, python)
        self.port = port
        self.root = os.path.join(world_dir, 'proxymc')
        self._pid = None

    def ports(self):
        return [self.port]

    def conf_path(self):
        return os.path.join(self.root, 'proxymc.conf')

    def sync_conf_path(self):
        return os.path.join(self.root, 'sync.json')

    def _conf(self):
        users = tempauth_users()
        text = (
            '[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %(port)d\n'
            'workers = 2\nuser = %(user)s\nlog_name = proxymc\n\n'
            '[pipeline:main]\npipeline = %(pipeline)s\n\n'
            '[app:proxymc]\nuse = egg:swift-s3-sync#proxymc\n'
            'conf_file = sync.json\nspool_dir = %(spool)s\n%(users)s\n'
            '[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n'
            'reveal_sensitive_prefix = 0\n\n'
        ) % {'port': self.port, 'user': getpass.getuser(),
             'pipeline': PIPELINE, 'users': users,
             'spool': os.path.join(self.root, 'spool')}
        for mw in ('catch_errors', 'gatekeeper', 'healthcheck',
                   'listing_formats'):
            text += '[filter:%s]\nuse = egg:swift#%s\n\n' % (mw, mw)
        return text

    def start(self):
        os.makedirs(os.path.join(self.root, 'spool'), exist_ok=True)
        with open(self.sync_conf_path(), 'w') as f:
            json.dump({'containers': [],
                       'status_dir': os.path.join(self.root, 'status')}, f)
        with open(self.conf_path(), 'w') as f:
            f.write(self._conf())
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
                         log=os.path.join(procs.log_dir(self.world_dir),
                                          'proxymc.log'))

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

