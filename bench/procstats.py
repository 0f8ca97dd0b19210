"""Measuring processes (RSS, CPU) and small process helpers."""
import json
import os
import subprocess
import threading
import time


from localworld import procs
from bench.common import PYTHON


CLK_TCK = os.sysconf('SC_CLK_TCK')


def _proc_rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _proc_cpu_seconds(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        # utime and stime are fields 14 and 15 of /proc/pid/stat.
        return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)
    except (OSError, ValueError, IndexError):
        return None


def measure_process(argv, log_path, timeout=3600, period=0.05):
    """Run argv to its end; returns {'wall', 'cpu', 'rss_max_mib',
    'rss_samples', 'exit'}: RSS = max VmRSS of /proc/<pid>/status sampled
    every ``period`` s; CPU = utime+stime of /proc/<pid>/stat, read last
    from wait4()'s rusage at exit (the same counters, nothing lost after
    the last sample)."""
    err = open(log_path, 'ab')
    started = time.time()
    proc = subprocess.Popen(argv, cwd=procs.REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=err,
                            stdin=subprocess.DEVNULL)
    err.close()
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            rss = _proc_rss_kib(proc.pid)
            if rss is not None:
                samples.append(rss)
            stop.wait(period)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout, lambda: proc.kill())
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
        stop.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {'wall': time.time() - started,
            'cpu': usage.ru_utime + usage.ru_stime,
            'rss_max_mib': max(samples) / 1024.0 if samples else None,
            'rss_samples': len(samples),
            'exit': proc.returncode}


def wait_http_ok(port, pid, path='/healthcheck', timeout=60):
    """Wait until 127.0.0.1:port answers 200 to GET path (False if the
    process died or time ran out)."""
    import http.client
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not procs.alive(pid):
            return False
        try:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=2)
            conn.request('GET', path)
            if conn.getresponse().status == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    return False


def swiftops(command, spec, log_path):
    """Run ``python -m bench.swiftops`` (see there); its JSON answer."""
    with open(log_path, 'ab') as err:
        out = subprocess.run(
            [PYTHON, '-m', 'bench.swiftops', command, json.dumps(spec)],
            cwd=procs.REPO_ROOT, stdout=subprocess.PIPE, stderr=err,
            check=False)
    if out.returncode:
        raise RuntimeError('bench.swiftops %s failed: %s' % (
            command, tail(log_path)))
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def node_spec(world):
    return [{'port': n['ports']['container'], 'devices': n['devices']}
            for n in world['source']['nodes']]


def tail(path, lines=5):
    try:
        with open(path, errors='replace') as f:
            return ' / '.join(f.read().strip().splitlines()[-lines:])
    except OSError:
        return ''
