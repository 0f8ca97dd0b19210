"""Configs and processes for sync daemons on the local world's source nodes.

One daemon per source node, as in production: each gets its own config
(``devices`` = that node's root, ``swift_bind_port`` = its container server
port, its own ``status_dir``) with the same mappings.
"""
import json
import os
import subprocess
import sys

from localworld import procs


def s3_mapping(world, target, bucket, container, account='AUTH_test',
               **extra):
    """A mapping from a source container to one of the world's S3 targets
    ('s3api', 'moto' or 'radosgw')."""
    settings = world['target']['s3'] if target == 's3api' else world[target]
    mapping = {
        'account': account, 'container': container, 'protocol': 's3',
        'aws_bucket': bucket, 'aws_endpoint': settings['endpoint'],
        'aws_identity': settings['access_key'],
        'aws_secret': settings['secret_key'],
    }
    mapping.update(extra)
    return mapping


def swift_mapping(world, remote_container, container, account='AUTH_test',
                  **extra):
    """A mapping from a source container to the world's target Swift."""
    target = world['target']
    mapping = {
        'account': account, 'container': container, 'protocol': 'swift',
        'aws_bucket': remote_container, 'aws_endpoint': target['auth_url'],
        'aws_identity': 'test:tester',
        'aws_secret': target['users']['test:tester']['key'],
    }
    mapping.update(extra)
    return mapping


def target_mapping(world, target, bucket, container, account='AUTH_test',
                   **extra):
    """A mapping to any target of the world: 's3api', 'moto', 'radosgw' or
    'swift'."""
    if target == 'swift':
        return swift_mapping(world, bucket, container, account, **extra)
    return s3_mapping(world, target, bucket, container, account, **extra)


def node_config(world, node, mappings, work_dir, **overrides):
    source = world['source']
    info = source['nodes'][node - 1]
    config = {
        'containers': mappings,
        'devices': info['devices'],
        'swift_dir': source['swift_dir'],
        'swift_bind_ip': info['ip'],
        'swift_bind_port': info['ports']['container'],
        'status_dir': os.path.join(work_dir, 'status-node%d' % node),
        'log_file': os.path.join(work_dir, 'sync-node%d.log' % node),
        'poll_interval': 1,
        'items_chunk': 1000,
        'workers': 8,
        'verification_slack': 1,
    }
    config.update(overrides)
    return config


class SyncDaemons(object):
    """Sync daemons for some or all of the source nodes."""

    def __init__(self, world, work_dir, mappings, python=sys.executable,
                 **overrides):
        self.world = world
        self.work_dir = work_dir
        self.python = python
        self.paths = {}
        os.makedirs(work_dir, exist_ok=True)
        self.write(mappings, **overrides)

    @property
    def nodes(self):
        return range(1, len(self.world['source']['nodes']) + 1)

    def write(self, mappings, **overrides):
        for node in self.nodes:
            path = os.path.join(self.work_dir, 'sync-node%d.json' % node)
            with open(path, 'w') as f:
                json.dump(node_config(self.world, node, mappings,
                                      self.work_dir, **overrides), f,
                          indent=2)
            self.paths[node] = path

    def _name(self, node):
        return 'sync-%s-node%d' % (os.path.basename(self.work_dir), node)

    def command(self, node, *extra):
        return [self.python, '-m', 'swift_s3_sync.daemon',
                '--config', self.paths[node]] + list(extra)

    def start(self, nodes=None):
        for node in nodes or self.nodes:
            procs.spawn(self.world['world_dir'], self._name(node),
                        self.command(node))

    def pid(self, node):
        return procs.recorded(self.world['world_dir']).get(self._name(node))

    def stop(self, nodes=None):
        return procs.stop(self.world['world_dir'],
                          [self._name(n) for n in nodes or self.nodes])

    def run_once(self, nodes=None, timeout=300):
        """One pass of each node's daemon, all nodes at the same time."""
        running = [(node, subprocess.Popen(
            self.command(node, '--once'), cwd=procs.REPO_ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            for node in nodes or self.nodes]
        failed = []
        for node, proc in running:
            _, err = proc.communicate(timeout=timeout)
            if proc.returncode:
                failed.append('node %d exited %d: %s' % (
                    node, proc.returncode, err.decode()[-2000:]))
        if failed:
            raise RuntimeError('; '.join(failed))

    def status(self, node, as_json=True):
        out = subprocess.run(
            [self.python, '-m', 'swift_s3_sync.status', '--config',
             self.paths[node]] + (['--json'] if as_json else []),
            check=True, capture_output=True, text=True, cwd=procs.REPO_ROOT)
        return json.loads(out.stdout) if as_json else out.stdout
