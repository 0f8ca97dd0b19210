"""What the bench needs to watch processes it measures: CPU seconds of
children it reaps (``reap``), CPU of long-running daemons read from
/proc, peak RSS sampled while something runs (``RssWatch``), and the
"daemons already running" form of scenarios 1 and 5 (``Running``).
"""
import os
import threading
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')


def reap(proc, timeout=None):
    """Poll (``timeout`` None) or wait up to ``timeout`` seconds for a
    Popen child with wait4, so that its CPU seconds (utime + stime, its
    own reaped children included) are kept in ``proc.cpu_seconds``.
    Returns the exit code, or None while it runs."""
    if proc.returncode is not None:
        return proc.returncode
    deadline = None if timeout is None else time.time() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            proc.cpu_seconds = usage.ru_utime + usage.ru_stime
            return proc.returncode
        if deadline is None or time.time() >= deadline:
            return None
        time.sleep(0.05)


def cpu_seconds(pid):
    """utime + stime of a running process (/proc/<pid>/stat), or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        # utime and stime are fields 14 and 15 of /proc/pid/stat.
        return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)
    except (OSError, ValueError, IndexError):
        return None


def rss_kib(pid):
    """VmRSS of a running process in KiB, or None."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class RssWatch(object):
    """Samples the VmRSS of ``pids()`` every ``period`` seconds in a
    thread until stopped; ``peak_mib`` is the largest of one process."""

    def __init__(self, pids, period=0.05):
        self.pids = pids
        self.period = period
        self.peak_kib = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.is_set():
            for pid in self.pids():
                kib = rss_kib(pid)
                if kib is not None:
                    self.samples += 1
                    self.peak_kib = kib if self.peak_kib is None \
                        else max(self.peak_kib, kib)
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_mib

    @property
    def peak_mib(self):
        return None if self.peak_kib is None else self.peak_kib / 1024.0


def wait_first_pass(daemons, timeout):
    """True once every daemon's log shows a finished pass."""
    deadline = time.time() + timeout
    logs = [os.path.join(daemons.work_dir, 'sync-node%d.log' % n)
            for n in daemons.nodes]
    while time.time() < deadline:
        done = 0
        for path in logs:
            try:
                with open(path, errors='replace') as f:
                    done += 'pass done' in f.read()
            except OSError:
                pass
        if done == len(logs):
            return True
        time.sleep(0.2)
    return False


class Running(object):
    """The form operators run: the node daemons started (long-running,
    ``poll_interval`` 1) and through a first, empty pass before anything
    is written; their CPU seconds and peak RSS from then on."""

    FIRST_PASS_TIMEOUT = 120

    def __init__(self, bench, cleanup, daemons):
        self.daemons = daemons
        bench.spawned.extend(daemons._name(n) for n in daemons.nodes)
        daemons.start()
        cleanup.add(daemons.stop)
        self.ready = wait_first_pass(daemons, self.FIRST_PASS_TIMEOUT)
        self._cpu_start = self._cpu()
        self.rss = RssWatch(self.pids)
        cleanup.add(self.rss.stop)

    def pids(self):
        return [pid for pid in (self.daemons.pid(n)
                                for n in self.daemons.nodes) if pid]

    def _cpu(self):
        return sum(cpu_seconds(pid) or 0.0 for pid in self.pids())

    def finish(self):
        """Stop watching: (CPU seconds of all daemons since they were
        ready, peak RSS MiB of one daemon meanwhile)."""
        cpu = self._cpu() - self._cpu_start
        return cpu, self.rss.stop()

    def stop(self):
        """Stop the daemons now (the clean-up would, later)."""
        self.rss.stop()
        self.daemons.stop()
