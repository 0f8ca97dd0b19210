"""Faults of a run: what is injected when, and the record of it.

* :class:`FaultLog`: counts by kind, and the windows during which a node's
  daemon was dead or its status_dir unwritable (failures logged then cannot
  reach ``swift-s3-sync-status``, so they are not held against it).
* :class:`DaemonKeeper`: SIGKILLs a random running daemon every few seconds
  and starts it again after a delay; a daemon that dies when nobody killed
  it is counted as a crash and started again.
* :class:`Timeline`: the timed faults (outage, node stop, unwritable
  status_dir, progress file corruption) at fixed fractions of the writing
  window, and ``end()``, which lifts every fault still in force.

Every fault draws from its own generator seeded from the run's seed, so the
writer's sequence of operations does not depend on the faults.
"""
import os
import random
import signal
import threading
import time

from chaos.node_stop import NodeStopper
from chaos.status_faults import CORRUPTIONS, StatusFaults, corrupt, \
    progress_files
from localworld import procs


class FaultLog(object):

    def __init__(self, say=lambda msg: None):
        self.lock = threading.Lock()
        self.counts = {}
        self.windows = []   # (node, start, end, why)
        self.say = say

    def count(self, kind, detail=''):
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
        self.say('fault: %s %s' % (kind, detail))

    def window(self, node, start, end, why):
        with self.lock:
            self.windows.append((node, start, end, why))

    def excused(self, node, when, margin):
        """Whether a failure logged by ``node`` at ``when`` fell in (or just
        before) a window where it could not be saved."""
        with self.lock:
            return any(n == node and start - margin <= when <= end + margin
                       for n, start, end, _ in self.windows)


class DaemonKeeper(object):

    def __init__(self, daemons, log, rng, every, down, kill=True):
        self.daemons = daemons
        self.log = log
        self.rng = rng
        self.every = every
        self.down = down
        self.kill = kill
        self.stopping = threading.Event()
        self.killed = {}    # node -> when, while down on purpose
        self.crashes = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.daemons.start()
        self.thread.start()

    def _run(self):
        next_kill = time.time() + self.rng.uniform(*self.every)
        restart_at = {}
        while not self.stopping.wait(0.25):
            now = time.time()
            for node, at in list(restart_at.items()):
                if now >= at:
                    self._restart(node)
                    del restart_at[node]
            self._watch_crashes()
            if self.kill and now >= next_kill and not restart_at:
                node = self._kill_one()
                restart_at[node] = now + self.rng.uniform(*self.down)
                next_kill = now + self.rng.uniform(*self.every)
        for node in list(restart_at):
            self._restart(node)

    def _kill_one(self):
        node = self.rng.choice(list(self.daemons.nodes))
        pid = self.daemons.pid(node)
        self.killed[node] = time.time()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.log.count('daemon-sigkill', 'node %d' % node)
        return node

    def _restart(self, node):
        self.daemons.stop([node])   # forget the dead PID
        self.daemons.start([node])
        self.log.window(node, self.killed.pop(node), time.time(), 'killed')

    def _watch_crashes(self):
        for node in self.daemons.nodes:
            if node in self.killed:
                continue
            pid = self.daemons.pid(node)
            if pid is None or not procs.alive(pid):
                self._died(node)

    def _died(self, node):
        """A daemon nobody killed is gone: a refusal to start (one line,
        e.g. a read-only status_dir) is expected and retried; anything
        else is a crash."""
        last = _last_line(self.daemons.output(node))
        if last.startswith('swift-s3-sync: '):
            self.log.count('daemon-refused-start', 'node %d: %s' % (
                node, last.strip()))
        else:
            self.crashes += 1
            self.log.count('daemon-crash (not injected)', 'node %d: %s' % (
                node, last.strip()))
        self.daemons.stop([node])
        time.sleep(1)   # a refusal would only repeat at once
        self.daemons.start([node])

    def stop(self):
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join()


def _last_line(path):
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 2000))
            lines = f.read().decode('utf-8', 'replace').splitlines()
    except OSError:
        return ''
    return lines[-1] if lines else ''


class Timeline(object):
    """Timed faults at fractions of the writing window ``span``."""

    def __init__(self, settings, world, stage, plan, log,
                 names=lambda: ()):
        self.settings = settings
        self.world = world
        self.stage = stage
        self.plan = plan
        self.log = log
        self.rng = random.Random(settings.seed * 7919 + 3)
        node_count = len(world['source']['nodes'])
        self.stop_node = self.rng.randint(1, node_count)
        self.status_node = self.rng.randint(1, node_count)
        self.stopper = NodeStopper(world, self.stop_node, stage.work_dir,
                                   names)
        self.status = StatusFaults(os.path.join(
            stage.work_dir, 'status-node%d' % self.status_node))
        self.events = []
        self.restores = []
        self.outage_started = None
        self.ro_started = None
        self.node_stopped = False

    def plan_events(self, span):
        s = self.settings
        outage_end = 0
        if s.enabled('outage') and s.outage:
            start = 0.25 * span
            outage_end = start + s.outage
            self._at(start, self._outage_on)
            self._at(outage_end, self._outage_off)
        if s.enabled('node-stop') and s.node_stop:
            start = max(0.55 * span, outage_end + 3)
            self._at(start, self._node_down)
            self._at(start + s.node_stop, self._node_up)
        if s.enabled('status-faults'):
            start = 0.12 * span
            self._at(start, self._status_ro)
            self._at(start + s.status_unwritable, self._status_rw)
            for _ in range(s.corruptions):
                self._at(self.rng.uniform(0.1, 0.85) * span, self._corrupt)
        self.events.sort(key=lambda e: e[0])
        return max([at for at, _ in self.events] or [0])

    def _at(self, offset, action):
        self.events.append((offset, action))

    def due(self, elapsed):
        """Run the events whose time has come."""
        while self.events and self.events[0][0] <= elapsed:
            _, action = self.events.pop(0)
            action()

    # -- the faults -----------------------------------------------------------
    def _outage_on(self):
        self.plan.outage = True
        self.outage_started = time.time()
        self.log.count('outage', '%.0fs' % self.settings.outage)

    def _outage_off(self):
        self.plan.outage = False

    def _node_down(self):
        self.node_stopped = True
        self.stopper.stop()
        self.log.count('node-stop', 'node %d for %.0fs' % (
            self.stop_node, self.settings.node_stop))

    def _node_up(self):
        self.stopper.restore()

    def _status_ro(self):
        how = self.status.make_unwritable()
        self.ro_started = time.time()
        self.log.count('status-dir-unwritable', 'node %d (%s) for %.0fs' % (
            self.status_node, how, self.settings.status_unwritable))

    def _status_rw(self):
        if self.status.active:
            self.status.restore()
            self.log.window(self.status_node, self.ro_started, time.time(),
                            'status_dir unwritable')

    def _corrupt(self):
        node = self.rng.choice(list(self.stage.daemons.nodes))
        files = progress_files(os.path.join(self.stage.work_dir,
                                            'status-node%d' % node))
        if not files:
            return
        path, how = self.rng.choice(files), self.rng.choice(CORRUPTIONS)
        try:
            corrupt(path, how)
        except OSError:
            return   # the directory is read-only right now
        self.log.count('progress-file-' + how, 'node %d %s' % (
            node, os.path.basename(path)))

    def end(self):
        """Lift every fault still in force (idempotent).  The source proxy
        keeps sending writes to handoffs for a minute after a node returns
        (error limiting), so the stopped node catches up once more now that
        the writer is done."""
        self.events = []
        self.plan.outage = False
        self.plan.active = False
        self._status_rw()
        self.stopper.restore()
        if self.node_stopped:
            self.node_stopped = False
            self.stopper.catch_up()
