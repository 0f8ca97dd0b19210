"""The contract every server of the local world fulfils."""
import shutil

from localworld.procs import WorldError


class Service(object):
    """One server (or a small group of processes) of the local world.

    ``world_dir`` holds everything the world writes; ``python`` is the
    interpreter of the project's virtualenv, used for Python servers.
    """
    name = 'service'

    def __init__(self, world_dir, python):
        self.world_dir = world_dir
        self.python = python

    def ports(self):
        """TCP ports on 127.0.0.1 this service listens on."""
        raise NotImplementedError

    def check_installed(self):
        """Raise WorldError naming whatever package is missing."""

    def start(self):
        """Write configs and spawn the processes (without waiting)."""
        raise NotImplementedError

    def wait_ready(self, deadline):
        """Block until every server answers; WorldError after ``deadline``."""
        raise NotImplementedError

    def describe(self):
        """Endpoints and credentials, written to world.json for clients."""
        raise NotImplementedError


def require_commands(service, commands, package_hint):
    missing = [c for c in commands if shutil.which(c) is None]
    if missing:
        raise WorldError('%s needs %s (install: %s)' % (
            service, ', '.join(missing), package_hint))
