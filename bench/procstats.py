"""Measuring processes (RSS, CPU) and small process helpers."""
import json
import os
import subprocess
import threading
import time


from localworld import procs
from bench.common import PYTHON
from bench.running import RssWatch


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
    watch = RssWatch(lambda: [proc.pid], period)
    timer = threading.Timer(timeout, lambda: proc.kill())
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
        watch.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {'wall': time.time() - started,
            'cpu': usage.ru_utime + usage.ru_stime,
            'rss_max_mib': watch.peak_mib,
            'rss_samples': watch.samples,
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
