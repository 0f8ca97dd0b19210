"""The files and directories around the config that the daemon needs, checked
at start-up (and on SIGHUP) so that a broken node gives one line naming the
key and the file instead of a traceback.

``swift-s3-sync`` needs:

* ``swift_dir``: ``swift.conf`` (readable, with the hash path prefix or
  suffix and valid storage policies), ``account.ring.gz``,
  ``container.ring.gz`` and the object ring of every storage policy
  (``object.ring.gz``, ``object-<index>.ring.gz``): the crawler places
  container DBs with the container ring and the internal client reads
  objects through all of them;
* ``devices``: an existing directory;
* ``status_dir``: a directory it can create and write;
* ``internal_client_conf_path``, when set: a readable file;
* the TLS bundles named by the environment (``AWS_CA_BUNDLE`` for S3,
  ``REQUESTS_CA_BUNDLE`` for Swift remotes, ``SSL_CERT_FILE``), when set:
  readable files.  sync.json has no key of its own for them.

``swift-s3-sync-status`` reads only ``status_dir``; it reports problems of
``swift_dir`` as a warning (the daemon of this node cannot start), after
its report.  cloud-shunt runs inside a Swift proxy, which has its own
swift.conf and rings: it reads only the sync config's mappings and never
looks at these keys.
"""
import os


class SurroundingsError(Exception):
    """One line: the key, the file and what is wrong with it."""


def _readable_file(key, path):
    """Raise SurroundingsError, naming ``key`` and ``path``, unless
    ``path`` is a readable file."""
    if not os.path.exists(path):
        problem = 'not found'
    elif not os.path.isfile(path):
        problem = 'is not a file'
    elif not os.access(path, os.R_OK):
        problem = 'cannot be read (permission denied)'
    else:
        return
    raise SurroundingsError('%s: %s %s' % (key, path, problem))


def _in_swift_dir(swift_dir, name):
    _readable_file('swift_dir %r' % swift_dir, os.path.join(swift_dir, name))


def check_swift_dir(swift_dir):
    """swift.conf and the rings are there and readable (not loaded)."""
    if not os.path.isdir(swift_dir):
        raise SurroundingsError('swift_dir %r: no such directory'
                                % swift_dir)
    for name in ('swift.conf', 'account.ring.gz', 'container.ring.gz'):
        _in_swift_dir(swift_dir, name)


def check_container_ring(swift_dir):
    """The container ring loads (the crawler's first need)."""
    from swift.common.ring import Ring
    try:
        Ring(swift_dir, ring_name='container')
    except Exception as err:   # a corrupted file fails in many ways
        raise SurroundingsError('swift_dir %r: %s cannot be loaded: %s' % (
            swift_dir, os.path.join(swift_dir, 'container.ring.gz'),
            ' '.join(str(err).split()) or type(err).__name__)) from None


def check_object_rings(swift_dir):
    """The object ring of every storage policy (after use_swift_dir)."""
    from swift.common.storage_policy import POLICIES
    for policy in POLICIES:
        _in_swift_dir(swift_dir, policy.ring_name + '.ring.gz')


def use_swift_dir(swift_dir):
    """swift_env.use_swift_dir, with swift.conf problems (no hash path
    settings, bad storage policies) as one line."""
    from swift_s3_sync import swift_env
    try:
        swift_env.use_swift_dir(swift_dir)
    except (ValueError, OSError, SystemExit) as err:
        # Swift exits with "Error: ..." on missing hash path settings;
        # PolicyError is a ValueError.
        text = ' '.join(str(err).split())
        if text.startswith('Error: '):
            text = text[len('Error: '):]
        raise SurroundingsError('swift_dir %r: %s: %s' % (
            swift_dir, os.path.join(swift_dir, 'swift.conf'), text)) \
            from None


def check_status_dir(status_dir):
    try:
        os.makedirs(status_dir, exist_ok=True)
    except OSError as err:
        raise SurroundingsError('status_dir %r: cannot be created: %s' % (
            status_dir, err.strerror or err)) from None
    if not os.path.isdir(status_dir):
        raise SurroundingsError('status_dir %r: not a directory'
                                % status_dir)
    if not os.access(status_dir, os.W_OK | os.X_OK):
        raise SurroundingsError('status_dir %r: not writable (permission '
                                'denied)' % status_dir)


CA_BUNDLE_VARIABLES = ('AWS_CA_BUNDLE', 'REQUESTS_CA_BUNDLE',
                       'SSL_CERT_FILE')


def check_tls_bundles(environ=os.environ):
    """A CA bundle named by the environment but missing would fail every
    HTTPS request, one row at a time: say so once, at start-up."""
    for variable in CA_BUNDLE_VARIABLES:
        if environ.get(variable):
            _readable_file('environment variable ' + variable,
                           environ[variable])


def check_daemon(config):
    """Everything the daemon needs besides the config itself; loads
    swift.conf (use_swift_dir) on the way.  Raises SurroundingsError."""
    check_swift_dir(config.swift_dir)
    use_swift_dir(config.swift_dir)
    check_object_rings(config.swift_dir)
    check_container_ring(config.swift_dir)
    if not os.path.isdir(config.devices):
        raise SurroundingsError('devices %r: no such directory'
                                % config.devices)
    check_status_dir(config.status_dir)
    if config.internal_client_conf_path:
        _readable_file('internal_client_conf_path',
                       config.internal_client_conf_path)
    check_tls_bundles()
