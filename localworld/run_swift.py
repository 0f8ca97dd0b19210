"""Run one Swift server or daemon against a private swift_dir.

    python -m localworld.run_swift wsgi   SWIFT_DIR CONF SECTION
    python -m localworld.run_swift daemon SWIFT_DIR CONF module:Class
    python -m localworld.run_swift once   SWIFT_DIR CONF module:Class

Swift's own console scripts read /etc/swift/swift.conf; this wrapper points
them at the world's swift_dir first and always logs to stderr (no syslog here).
"""
import importlib
import sys

from swift_s3_sync.swift_env import use_swift_dir


def main(argv):
    kind, swift_dir, conf = argv[:3]
    use_swift_dir(swift_dir)
    if kind == 'wsgi':
        from swift.common.wsgi import run_wsgi
        return run_wsgi(conf, argv[3], verbose=True)
    module, cls = argv[3].split(':')
    from swift.common.daemon import run_daemon
    klass = getattr(importlib.import_module(module), cls)
    run_daemon(klass, conf, once=(kind == 'once'), verbose=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
