"""moto's S3 server (PyPI ``moto[server]``) on 127.0.0.1."""
import importlib.util
import urllib.request

from localworld import procs
from localworld.procs import WorldError
from localworld.service import Service


class MotoServer(Service):
    name = 'moto'

    def __init__(self, world_dir, python, port=8095):
        super().__init__(world_dir, python)
        self.port = port
        self._pid = None

    def ports(self):
        return [self.port]

    def check_installed(self):
        if importlib.util.find_spec('moto') is None:
            raise WorldError("moto needs the PyPI package 'moto[server]'")

    def start(self):
        self._pid = procs.spawn(self.world_dir, self.name, [
            self.python, '-m', 'moto.server', '-H', '127.0.0.1',
            '-p', str(self.port)])

    def _answers(self):
        with urllib.request.urlopen(self.endpoint() + '/', timeout=2) as r:
            return r.status == 200

    def wait_ready(self, deadline):
        procs.wait_until(self._answers, 'moto server', deadline,
                         pid=self._pid, log=procs.log_dir(self.world_dir) +
                         '/moto.log')

    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.port

    def describe(self):
        # moto accepts any key pair; fixed ones keep clients uniform.
        return {'endpoint': self.endpoint(), 'access_key': 'moto-key',
                'secret_key': 'moto-secret', 'region': 'us-east-1',
                'addressing': 'path'}
