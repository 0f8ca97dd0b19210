"""Run one Swift server or daemon against a private swift_dir.

    python -m localworld.run_swift wsgi   SWIFT_DIR CONF SECTION
    python -m localworld.run_swift daemon SWIFT_DIR CONF module:Class
    python -m localworld.run_swift once   SWIFT_DIR CONF module:Class
    python -m localworld.run_swift update-container SWIFT_DIR ACCOUNT \
        CONTAINER CONF...

``update-container`` runs the container-updater on one container's DB
replicas only (those under the devices of each node CONF), so its object
count and bytes reach the account without a sweep of every DB.

Swift's own console scripts read /etc/swift/swift.conf; this wrapper points
them at the world's swift_dir first and always logs to stderr (no syslog here).
"""
import importlib
import sys

from swift_s3_sync.swift_env import use_swift_dir


def update_container(swift_dir, account, container, confs):
    import os
    from swift.common.ring import Ring
    from swift.common.utils import hash_path, readconf
    from swift.container.backend import DATADIR
    from swift.container.updater import ContainerUpdater
    part, nodes = Ring(swift_dir, ring_name='container').get_nodes(
        account, container)
    chash = hash_path(account, container)
    for conf_path in confs:
        conf = readconf(conf_path, 'container-updater')
        updater = ContainerUpdater(conf)
        for node in nodes:
            path = os.path.join(conf['devices'], node['device'], DATADIR,
                                str(part), chash[-3:], chash, chash + '.db')
            if os.path.exists(path):
                updater.process_container(path)
    return 0


def main(argv):
    kind, swift_dir, conf = argv[:3]
    use_swift_dir(swift_dir)
    if kind == 'update-container':
        return update_container(swift_dir, argv[2], argv[3], argv[4:])
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
