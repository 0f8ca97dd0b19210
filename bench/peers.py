"""The peer we compare with: rclone, driven with a private config."""
import os
import subprocess

from bench.common import USER, s3_settings


class Rclone(object):
    """rclone with a private config file (RCLONE_CONFIG)."""

    def __init__(self, world, work_dir):
        self.world = world
        self.path = os.path.join(work_dir, 'rclone.conf')
        self.sections = {}
        src = world['source']
        self.add('src', type='swift', user=USER,
                 key=src['users'][USER]['key'], auth=src['auth_url'])

    def add(self, name, **options):
        self.sections[name] = options
        with open(self.path, 'w') as f:
            for section, opts in sorted(self.sections.items()):
                f.write('[%s]\n' % section)
                for key, value in sorted(opts.items()):
                    f.write('%s = %s\n' % (key, value))
                f.write('\n')
        return name

    def add_target(self, name, target, endpoint):
        """A remote for ``target`` reached at ``endpoint``."""
        if target == 'swift':
            info = self.world['target']
            return self.add(name, type='swift', user=USER,
                            key=info['users'][USER]['key'],
                            auth=endpoint + '/auth/v1.0')
        settings = s3_settings(self.world, target)
        return self.add(
            name, type='s3',
            provider='Ceph' if target == 'radosgw' else 'Other',
            access_key_id=settings['access_key'],
            secret_access_key=settings['secret_key'], endpoint=endpoint,
            force_path_style='true', region='us-east-1')

    def env(self):
        env = dict(os.environ)
        env.pop('AWS_CA_BUNDLE', None)  # rclone 1.60 fails with it set
        env['RCLONE_CONFIG'] = self.path
        return env

    def popen(self, *args, log_path=None):
        out = open(log_path, 'ab') if log_path else subprocess.DEVNULL
        try:
            return subprocess.Popen(['rclone'] + list(args), env=self.env(),
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        finally:
            if log_path:
                out.close()


def rclone_version():
    try:
        out = subprocess.run(['rclone', 'version'], capture_output=True,
                             text=True, timeout=20).stdout
        return out.splitlines()[0].strip()
    except Exception as err:
        return 'unknown (%s)' % err


