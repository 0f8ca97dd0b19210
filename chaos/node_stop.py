"""Stopping one source storage node (its object and container servers).

The two world processes (``source-object-N``, ``source-container-N``) are
stopped by their recorded PIDs (``localworld.procs.stop``: SIGTERM, then
SIGKILL) after their command lines are saved, and started again with the
same command lines under the same names, so the world is as it was.  While
the node is down, writes go to handoff object servers and the updates of
its container DB replica wait as async pendings on the other object
servers; once it is back, one object-updater pass per node delivers them,
as the object-updater of a production node does in the background.

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

    def __init__(self, world, node):
        self.world = world
        self.node = node
        self.names = ['source-%s-%d' % (s, node) for s in SERVERS]
        self.saved = {}   # name -> argv, while stopped

    @property
    def stopped(self):
        return bool(self.saved)

    def stop(self):
        recorded = procs.recorded(self.world['world_dir'])
        for name in self.names:
            self.saved[name] = _cmdline(recorded[name])
        procs.stop(self.world['world_dir'], self.names)

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
        self.deliver_async_pendings()

    def deliver_async_pendings(self):
        swift_dir = self.world['source']['swift_dir']
        python = self._python()
        passes = [subprocess.Popen(
            [python, '-m', 'localworld.run_swift', 'once', swift_dir,
             os.path.join(swift_dir, 'node%d' % node, 'object-server.conf'),
             'swift.obj.updater:ObjectUpdater'],
            cwd=procs.REPO_ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
            for node in range(1, len(self.world['source']['nodes']) + 1)]
        for updater in passes:
            updater.wait(timeout=120)

    def _python(self):
        argv = _cmdline(procs.recorded(self.world['world_dir'])[
            self.names[0]])
        return argv[0]
