"""Is the machine quiet enough to measure?  Checked before each scenario.

Two readings over a few seconds: the CPU all of the local world's processes
use (it must cost almost nothing at rest) and how busy the whole machine is
(every core, from /proc/stat), with the load average for the record.  A
busy machine makes every figure of a run worthless, so the bench waits a
while for it to calm down and then refuses to go on (``--allow-busy``
measures anyway and says so in the table's notes).
"""
import os
import time

from localworld import procs

WINDOW = 5.0
WORLD_BUDGET = 0.05     # of one core, like `localworld status`
MACHINE_BUDGET = 0.25   # of all cores
PATIENCE = 90.0


def _cpu_times():
    with open('/proc/stat') as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]   # idle + iowait
    return sum(fields) - idle, sum(fields)


def reading(world_dir, window=WINDOW):
    """(world CPU share of one core, machine busy share, load average)."""
    sessions = set(procs.recorded(world_dir).values())
    world_before = procs.sessions_cpu(sessions)
    busy_before, total_before = _cpu_times()
    time.sleep(window)
    world = (procs.sessions_cpu(sessions) - world_before) / window
    busy_after, total_after = _cpu_times()
    machine = (busy_after - busy_before) / max(1, total_after - total_before)
    return world, machine, ' '.join('%.2f' % v for v in os.getloadavg())


def describe(world, machine, load):
    return ('world at rest %.1f%% of one core, machine %.0f%% busy, '
            'load %s' % (100 * world, 100 * machine, load))


def wait_for_quiet(world_dir, log, patience=PATIENCE):
    """The last reading (as text) once the machine is quiet, or
    ``(text, False)`` when it stayed busy for ``patience`` seconds."""
    deadline = time.time() + patience
    while True:
        world, machine, load = reading(world_dir)
        text = describe(world, machine, load)
        quiet = world <= WORLD_BUDGET and machine <= MACHINE_BUDGET
        log('quiet check: %s%s', text, '' if quiet else ' (busy)')
        if quiet or time.time() >= deadline:
            return text, quiet
