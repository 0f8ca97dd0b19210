"""Stopping one source storage node (its object and container servers).

The two world processes (``source-object-N``, ``source-container-N``) are
stopped by their recorded PIDs (``localworld.procs.stop``: SIGTERM, then
SIGKILL) after their command lines are saved, and started again with the
same command lines under the same names, so the world is as it was.  While
the node is down, writes go to handoff object servers, the updates of its
container DB replica wait as async pendings, and the objects it holds
become older than the others' copies.  Once it is back, one object-updater
pass and one object-replicator pass (ssync, with a config written to
``work_dir``) per node deliver the updates and bring its objects up to
date, as a production node's background daemons do; without them a read
may get the node's old copy for as long as the world runs.

:meth:`NodeStopper.restore` is safe to call any number of times; the run
calls it from ``finally`` and on Ctrl-C.
"""
import os
import subprocess
import time

from localworld import procs

SERVERS = ('object', 'container')


def _cmdline(pid):
    with open('/proc/%d/cmdline' % pid, 'rb') as f:
        return [a.decode() for a in f.read().split(b'\0') if a]


class NodeStopper(object):

    def __init__(self, world, node, work_dir, names=lambda: ()):
        """``names()``: the (account, container, object) whose partitions
        the replicator pass brings up to date."""
        self.world = world
        self.work_dir = work_dir
        self.names = names
        self.node = node
        self.procs = ['source-%s-%d' % (s, node) for s in SERVERS]
        self.saved = {}   # name -> argv, while stopped

    @property
    def stopped(self):
        return bool(self.saved)

    def stop(self):
        recorded = procs.recorded(self.world['world_dir'])
        for name in self.procs:
            self.saved[name] = _cmdline(recorded[name])
        procs.stop(self.world['world_dir'], self.procs)

    def restore(self, timeout=30):
        if not self.saved:
            return
        world_dir = self.world['world_dir']
        recorded = procs.recorded(world_dir)
        for name, argv in list(self.saved.items()):
            pid = recorded.get(name)
            if pid is None or not procs.alive(pid):
                procs.spawn(world_dir, name, argv)
        info = self.world['source']['nodes'][self.node - 1]
        deadline = time.time() + timeout
        for server in SERVERS:
            procs.wait_until(
                lambda: procs.port_answers(info['ports'][server]),
                'source %s server %d' % (server, self.node), deadline)
        self.saved = {}
        self.catch_up()

    def catch_up(self):
        """One updater pass, then one replicator pass, on every node (the
        nodes in parallel)."""
        swift_dir = self.world['source']['swift_dir']
        nodes = range(1, len(self.world['source']['nodes']) + 1)
        updater = ['-m', 'localworld.run_swift', 'once', swift_dir]
        self._each(nodes, lambda n: updater + [
            self._conf(n), 'swift.obj.updater:ObjectUpdater'])
        partitions = self._partitions()
        if partitions:
            self._each(nodes, lambda n: ['-m', 'chaos.replicate', swift_dir,
                                         self._conf(n), partitions])

    def _each(self, nodes, argv_for):
        running = [subprocess.Popen(
            [self._python()] + argv_for(node), cwd=procs.REPO_ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for node in nodes]
        for one in running:
            one.wait(timeout=300)

    def _partitions(self):
        from swift.common.ring import Ring
        from swift_s3_sync.swift_env import use_swift_dir
        use_swift_dir(self.world['source']['swift_dir'])
        ring = Ring(self.world['source']['swift_dir'], ring_name='object')
        return ','.join(str(p) for p in sorted(
            {ring.get_part(*name) for name in self.names()}))

    def _conf(self, node):
        """The node's object-server.conf with ssync replication (the
        world runs no rsync daemon)."""
        source = os.path.join(self.world['source']['swift_dir'],
                              'node%d' % node, 'object-server.conf')
        path = os.path.join(self.work_dir, 'object-node%d.conf' % node)
        with open(source) as f:
            text = f.read()
        with open(path, 'w') as f:
            f.write(text.replace('[object-replicator]\n',
                                 '[object-replicator]\nsync_method = ssync\n'
                                 'concurrency = 2\n'))
        return path

    def _python(self):
        argv = _cmdline(procs.recorded(self.world['world_dir'])[
            self.procs[0]])
        return argv[0]
