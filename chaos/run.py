"""One chaos run, start to end.

1. Stage: containers, buckets, fault proxies, daemon configs (``stage``).
2. Faults on: daemons started and SIGKILLed at random (``DaemonKeeper``),
   proxy faults active, timed faults planned (``Timeline``); the watchers
   start; the writer runs in its own thread.
3. When the writer is done and every timed fault is over, every fault is
   lifted at once: that moment is *the last fault*.
4. The clock runs until the writer's model and every remote agree (listings
   first, then a HEAD per object), or the timeout; then until every node's
   status report is clean; then the audit gives its opinion.
5. Figures and goals; everything the run made is removed (unless kept),
   and whatever it stopped in the world is started again, also on Ctrl-C
   and on failure.
"""
import io
import os
import random
import shutil
import signal
import tempfile
import threading
import time

from chaos import report
from chaos.audit_check import audit_all
from chaos.check import Checker, direct_provider
from chaos.daemon_logs import logged_failures, tracebacks
from chaos.fault_proxy import Plan
from chaos.faults import DaemonKeeper, FaultLog, Timeline
from chaos.model import Model
from chaos.stage import Stage, source_conn
from chaos.watch import ArchiveWatcher, StatusWatcher
from chaos.writer import Writer

# A failure logged this long before a daemon kill or a read-only status_dir
# may not have been saved yet: it is excused from "seen in status".
SAVE_MARGIN = 30.0
# A failure on a row the writer changed around then (an object deleted
# between the daemon's HEAD and GET) is cleared by the next row of that
# name within a pass: it may never be sampled, and is excused too.
SUPERSEDED = (10.0, 3.0)


def _world(out):
    from localworld import world as localworld
    return localworld.up(out=out)


class ChaosRun(object):

    def __init__(self, settings, world=None, out=None):
        self.settings = settings
        self.out = out
        self.world = world or _world(io.StringIO())
        self.started = time.time()
        self.work_dir = settings.work_dir or tempfile.mkdtemp(prefix='chaos-')
        s = settings
        proxy = s.enabled('proxy-faults')
        self.plan = Plan(s.seed * 31 + 1, share_503=s.share_503 * proxy,
                         share_reset=s.share_reset * proxy,
                         share_cut=s.share_cut * proxy,
                         share_delay=s.share_delay * proxy, delay=s.delay)
        self.log = FaultLog(self.say)
        self.stage = Stage(self.world, self.work_dir, self.plan, s.seed)
        self.model = Model()
        self.keeper = self.timeline = self.writer = None
        self.watchers = []
        self.keep_work_dir = False

    def say(self, message):
        if self.out is not None and not self.settings.quiet:
            self.out.write('[%6.1fs] %s\n' % (time.time() - self.started,
                                             message))
            self.out.flush()

    # -- the run --------------------------------------------------------------
    def run(self):
        try:
            self.stage.build()
            self.say('staged %s in %s' % (self.stage.run_id, self.work_dir))
            faults_at = self._write_with_faults()
            figures = self._measure(faults_at)
            # Evidence for whoever looks into a failed goal.
            self.keep_work_dir = not report.met(figures)
            return figures
        finally:
            self._clean_up()

    def _write_with_faults(self):
        s = self.settings
        self.keeper = DaemonKeeper(
            self.stage.daemons, self.log, random.Random(s.seed * 101 + 7),
            s.kill_every, s.kill_down, kill=s.enabled('kill'))
        self.writer = Writer(lambda: source_conn(self.world), self.model,
                             self.stage.containers, s, log=self.say)
        self.timeline = Timeline(
            s, self.world, self.stage, self.plan, self.log,
            lambda: self.writer.every_name(self.stage.account))
        self._start_watchers()
        self.keeper.start()
        self.plan.active = True
        span = s.write_seconds
        self.timeline.plan_events(span)
        thread = threading.Thread(target=self.writer.run, daemon=True)
        start = time.time()
        thread.start()
        while thread.is_alive() or self.timeline.events:
            self.timeline.due(time.time() - start)
            time.sleep(0.2)
        self.write_seconds = self.writer.finished_at - start
        self.keeper.stop()
        self.timeline.end()
        self.faults_seconds = time.time() - start
        self.say('writer done (%d ops), every fault lifted' %
                 sum(self.writer.counts.values()))
        return time.time()

    def _start_watchers(self):
        archives = {m.container: direct_provider(self.stage, m)
                    for m in self.stage.mapped if m.archive}
        self.archive_watcher = ArchiveWatcher(source_conn(self.world),
                                              self.model, archives)
        self.status_watcher = StatusWatcher(self.stage.daemons.paths)
        self.watchers = [self.archive_watcher, self.status_watcher]
        for watcher in self.watchers:
            watcher.start()

    def _converge(self, checker, last_fault):
        deadline = last_fault + self.settings.converge_timeout
        findings = None
        while time.time() < deadline:
            try:
                findings = checker.quick()
                if findings.clean:
                    findings = checker.full()
                    if findings.clean:
                        return time.time() - last_fault, findings
            except Exception as err:
                # A remote that cannot be read is not converged; say why.
                self.say('check failed: %s' % err)
            time.sleep(2)
        return None, checker.full()

    def _status_clears(self, deadline):
        left = self.status_watcher.outstanding()
        while left and time.time() < deadline:
            time.sleep(2)
            left = self.status_watcher.outstanding()
        return left

    def _measure(self, last_fault):
        checker = Checker(self.stage, self.model, source_conn(self.world),
                          self.writer.uncertain)
        try:
            converge, findings = self._converge(checker, last_fault)
            self.say('converged in %s' % ('%.1fs' % converge
                                          if converge is not None else
                                          'NOT (timeout)'))
            left = self._status_clears(max(
                time.time() + 30, last_fault + self.settings.converge_timeout))
            for watcher in self.watchers:
                watcher.stop()
            self.watchers = []
            open_uploads = checker.open_uploads()
        finally:
            checker.close()
        audit_ok, audit_problems, audit_replicas = audit_all(self.stage) \
            if converge is not None else (False, ['not converged'], 0)
        return self._figures(converge, findings, left, open_uploads,
                             (audit_ok, audit_problems, audit_replicas))

    def _failures(self):
        nodes = list(self.stage.daemons.nodes)
        logged = logged_failures(self.work_dir, nodes,
                                 self.stage.containers)
        seen = self.status_watcher.failures_seen
        names = {(c, n) for _, _, c, n, _ in logged}
        unseen, excused = [], set()
        for node, when, c, n, reason in logged:
            if (c, n) in seen:
                continue
            if self.log.excused(node, when, SAVE_MARGIN) or \
                    self.model.changed_near(c, n, when, *SUPERSEDED):
                excused.add((c, n))
            else:
                unseen.append((node, c, n, reason))
        unseen_names = {(c, n) for _, c, n, _ in unseen}
        return (len(names), len(names & set(seen)), len(excused - set(seen)
                                                         - unseen_names),
                unseen)

    def _figures(self, converge, findings, left, open_uploads, audit):
        counts = findings.counts()
        uploads = [p.uploads.figures() for p in self.stage.proxies.values()]
        requests, contents, stored, forwarded = (sum(u[i] for u in uploads)
                                                 for i in range(4))
        repeated = {}
        for proxy in self.stage.proxies.values():
            repeated.update(proxy.uploads.repeated())
        logged, seen, excused, unseen = self._failures()
        faults = dict(self.log.counts)
        for kind, n in self.plan.injected.items():
            faults['proxy-' + kind] = n
        return dict(
            seed=self.settings.seed, ops=dict(self.writer.counts),
            ops_total=sum(self.writer.counts.values()), faults=faults,
            write_seconds=self.write_seconds,
            faults_seconds=self.faults_seconds,
            wall_seconds=time.time() - self.started,
            converge_seconds=converge, samples=findings.sample(),
            upload_requests=requests, upload_contents=contents,
            uploads_stored=stored, uploads_forwarded=forwarded,
            repeated_uploads=sorted('%s part %s x%d' % (k[0], k[1], n)
                                    for k, n in repeated.items())[:10],
            uploads_per_object=requests / contents if contents else 0.0,
            open_uploads=sum(len(v) for v in open_uploads.values()),
            unverified_deletes=len(self.archive_watcher.unverified),
            unverified=self.archive_watcher.unverified,
            archived_verified=self.archive_watcher.archived,
            failures_logged=logged, failures_seen=seen,
            failures_excused=excused, failures_unseen=len(unseen),
            unseen_examples=unseen[:5], status_outstanding=left,
            status_problems_seen=len(self.status_watcher.problems_seen),
            crashes=self.keeper.crashes,
            tracebacks=tracebacks(self.work_dir, self.stage.daemons.nodes),
            uncertain=len(self.writer.uncertain),
            audit_consistent=audit[0], audit_problems=audit[1],
            audit_replicas=audit[2], **counts)

    # -- leaving the world as it was ------------------------------------------
    def _clean_up(self):
        if self.writer is not None:
            self.writer.stop = True
        for step in (lambda: self.keeper and self.keeper.stop(),
                     lambda: self.timeline and self.timeline.end(),
                     self.stage.stop_daemons,
                     lambda: [w.stopping.set() for w in self.watchers],
                     self.stage.close_proxies):
            try:
                step()
            except Exception as err:
                self.say('clean-up step failed: %s' % err)
        if self.settings.keep:
            self.say('kept %s and work dir %s' % (self.stage.run_id,
                                                  self.work_dir))
            return
        try:
            self.stage.remove()
        except Exception as err:
            self.say('removing the run\'s containers failed: %s' % err)
        if self.keep_work_dir:
            self.say('daemon logs and status kept in %s' % self.work_dir)
        elif not self.settings.work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def interrupt_on_sigterm():
    """SIGTERM behaves like Ctrl-C, so the world is restored either way."""
    def handler(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, handler)


def main(argv=None):
    import sys
    from chaos.settings import settings_from
    settings = settings_from(sys.argv[1:] if argv is None else argv)
    interrupt_on_sigterm()
    run = ChaosRun(settings, out=sys.stdout)
    try:
        figures = run.run()
    except KeyboardInterrupt:
        sys.stderr.write('chaos: interrupted; the world was restored\n')
        return 130
    sys.stdout.write(report.format_text(figures))
    return 0 if report.met(figures) else 1
