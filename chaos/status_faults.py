"""Faults of a daemon's ``status_dir``: unwritable for a while, and a
progress file truncated or garbled on disk.

*Unwritable*: as root (who ignores permission bits) the directory is
bind-mounted read-only onto itself, so every write fails with EROFS while
reads go on; otherwise the write bits of the directory tree are removed.
:meth:`StatusFaults.restore` undoes it (unmount, or the saved modes) and is
safe to call any number of times.

*Corrupted*: one progress file is rewritten in place (not atomically, as a
disk or an operator would): emptied, cut in half, or replaced by bytes that
are not JSON.  The daemon must start that container over from row 0 and
re-send nothing that is already current remotely.
"""
import os
import stat
import subprocess
import time

CORRUPTIONS = ('empty', 'half', 'garbage')


def progress_files(status_dir):
    found = []
    for root, _, files in os.walk(status_dir):
        found.extend(os.path.join(root, f) for f in files
                     if f.endswith('.json') and not f.startswith('.'))
    return sorted(found)


def corrupt(path, how):
    with open(path, 'r+b') as f:
        data = f.read()
        f.seek(0)
        f.truncate()
        if how == 'half':
            f.write(data[:len(data) // 2])
        elif how == 'garbage':
            f.write(b'\x00\xffnot json {{{' + os.urandom(16))


class StatusFaults(object):

    def __init__(self, status_dir):
        self.status_dir = status_dir
        self.mounted = False
        self.modes = {}

    def make_unwritable(self):
        os.makedirs(self.status_dir, exist_ok=True)
        if os.geteuid() == 0 and self._mount_read_only():
            return 'read-only bind mount'
        for root, dirs, _ in os.walk(self.status_dir):
            for path in [root] + [os.path.join(root, d) for d in dirs]:
                mode = stat.S_IMODE(os.stat(path).st_mode)
                self.modes[path] = mode
                os.chmod(path, mode & ~0o222)
        return 'write permission removed'

    def _mount_read_only(self):
        for argv in (['mount', '--bind', self.status_dir, self.status_dir],
                     ['mount', '-o', 'remount,bind,ro', self.status_dir]):
            done = subprocess.run(argv, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            if done.returncode:
                if argv[1] != '--bind':
                    self._unmount()
                return False
            self.mounted = True
        return True

    def _is_mounted(self):
        target = os.path.realpath(self.status_dir)
        with open('/proc/self/mounts') as f:
            return any(line.split()[1] == target for line in f)

    def _unmount(self):
        """Unmount; a busy mount (a daemon reading a file in it) is tried
        again, then detached lazily, so it never outlives the fault."""
        for argv in [['umount', self.status_dir]] * 10 + \
                [['umount', '-l', self.status_dir]]:
            subprocess.run(argv, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if not self._is_mounted():
                break
            time.sleep(0.2)
        self.mounted = self._is_mounted()

    def restore(self):
        if self.mounted:
            self._unmount()
        for path, mode in sorted(self.modes.items(), key=lambda kv: kv[0]):
            try:
                os.chmod(path, mode)
            except OSError:
                pass
        self.modes = {}

    @property
    def active(self):
        return self.mounted or bool(self.modes)
