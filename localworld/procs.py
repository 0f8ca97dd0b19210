"""Process bookkeeping for the local world: spawn, record, wait, stop.

Every process the world starts runs in its own session (``setsid``) so that it
and any children can be stopped together, and its PID is written to
``<world>/pids/<name>.pid``.  Nothing is ever stopped that is not recorded
there.
"""
import errno
import os
import signal
import socket
import subprocess
import time

# Python servers are run as ``python -m localworld...`` from the checkout.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WorldError(Exception):
    """A failure that the launcher reports as one line and exits non-zero."""


def pid_dir(world_dir):
    return os.path.join(world_dir, 'pids')


def log_dir(world_dir):
    return os.path.join(world_dir, 'logs')


def spawn(world_dir, name, argv, env=None, cwd=None):
    """Start ``argv`` in a new session, logging to ``logs/<name>.log``."""
    os.makedirs(pid_dir(world_dir), exist_ok=True)
    os.makedirs(log_dir(world_dir), exist_ok=True)
    log = open(os.path.join(log_dir(world_dir), name + '.log'), 'ab')
    try:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            env=env, cwd=cwd or REPO_ROOT)
    except FileNotFoundError:
        raise WorldError('cannot start %s: %s not found' % (name, argv[0]))
    finally:
        log.close()
    with open(os.path.join(pid_dir(world_dir), name + '.pid'), 'w') as f:
        f.write('%d\n' % proc.pid)
    return proc.pid


def recorded(world_dir):
    """{name: pid} of every process the world recorded."""
    result = {}
    directory = pid_dir(world_dir)
    if not os.path.isdir(directory):
        return result
    for entry in sorted(os.listdir(directory)):
        if entry.endswith('.pid'):
            with open(os.path.join(directory, entry)) as f:
                try:
                    result[entry[:-4]] = int(f.read().strip())
                except ValueError:
                    continue
    return result


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    # A zombie child of ours still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        pass
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except OSError:
        return False


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except OSError:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def stop(world_dir, names=None, timeout=8.0):
    """SIGTERM the recorded process groups, SIGKILL what is left."""
    procs = {n: p for n, p in recorded(world_dir).items()
             if names is None or n in names}
    for pid in procs.values():
        if alive(pid):
            _signal_group(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and any(alive(p) for p in procs.values()):
        time.sleep(0.05)
    for pid in procs.values():
        _signal_group(pid, signal.SIGKILL)
    for name in procs:
        try:
            os.unlink(os.path.join(pid_dir(world_dir), name + '.pid'))
        except OSError:
            pass
    return sorted(procs)


def port_in_use(port, host='127.0.0.1'):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Servers bind with SO_REUSEADDR, so TIME_WAIT leftovers do not count.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        return True
    finally:
        sock.close()
    return False


def port_answers(port, host='127.0.0.1'):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_until(check, what, deadline, world_dir=None, pid=None, log=None):
    """Poll ``check()`` until it is true; fail early if ``pid`` died."""
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        if pid is not None and not alive(pid):
            raise WorldError('%s exited during start-up%s' % (
                what, '; see %s' % log if log else ''))
        time.sleep(0.1)
    raise WorldError('%s did not answer in time%s' % (
        what, '; see %s' % log if log else ''))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def sessions_cpu(sessions):
    """CPU seconds (user + system, children reaped included) of every
    process whose session is one of ``sessions``."""
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3 of stat); session is field 6,
        # utime..cstime are fields 14-17.
        if int(fields[3]) in sessions:
            total += sum(int(v) for v in fields[11:15])
    return total / ticks


def idle_cpu(world_dir, window=30.0):
    """CPU seconds all recorded processes (and their children) use over
    ``window`` seconds of wall time."""
    sessions = set(recorded(world_dir).values())
    before = sessions_cpu(sessions)
    time.sleep(window)
    return sessions_cpu(sessions) - before
