"""``proxymc --config proxymc.conf``: run proxymc under Swift's WSGI server.

The config is a paste.deploy file with ``[app:proxymc]`` and
``[pipeline:main]`` (see :mod:`proxymc.app`).  Swift's server checks the
cluster hash settings of ``swift.conf`` at start-up; proxymc never hashes a
path, so on a machine without a Swift cluster (the cloud side) the check is
satisfied with a placeholder rather than a swift.conf.

Settings proxymc cannot start with (no or a weak ``token_secret``, a
``spool_dir`` it cannot create or write, a user that does not exist) stop
it with one line naming the option, before Swift's server starts.
"""
import argparse
import os
import pwd
import sys

from swift.common import utils
from swift.common.wsgi import appconfig, run_wsgi

from proxymc.app import check_conf

APP_SECTION = 'proxymc'


def _hash_settings_present():
    try:
        utils.validate_hash_conf()
        return True
    except (utils.InvalidHashPathConfigError, IOError, OSError):
        return False


def _config_problem(config):
    """A one-line reason why Swift's server would fail on this config
    with a traceback, or None."""
    try:
        conf = appconfig(config, name=APP_SECTION)
    except Exception as err:
        return 'cannot load [app:%s] from %s: %s' % (APP_SECTION, config,
                                                     err)
    user = conf.get('user', 'swift')
    try:
        pwd.getpwnam(user)
    except KeyError:
        return ('user %r (the "user" option, default "swift") does not '
                'exist on this machine; set user = <name> in [DEFAULT] of '
                '%s' % (user, config))
    try:
        check_conf(conf)
    except ValueError as err:
        return '%s (in %s)' % (err, config)
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='proxymc', description='Serve the swift-s3-sync namespace '
        'from the remote store through the Swift API.')
    parser.add_argument('--config', required=True,
                        help='paste.deploy config with [app:proxymc]')
    parser.add_argument('--verbose', '-v', action='store_true',
                        help='also log to the console')
    parser.add_argument('--test-config', action='store_true',
                        help='load the config and the app, then exit')
    args = parser.parse_args(argv)
    config = os.path.abspath(args.config)
    if not os.path.isfile(config):
        parser.error('no such config file: %s' % config)
    problem = _config_problem(config)
    if problem:
        parser.exit(1, 'proxymc: %s\n' % problem)
    if not _hash_settings_present():
        utils.HASH_PATH_SUFFIX = b'proxymc-does-not-hash-paths'
    return run_wsgi(config, APP_SECTION, verbose=args.verbose,
                    test_config=args.test_config,
                    allow_modify_pipeline=False)


if __name__ == '__main__':
    sys.exit(main())
