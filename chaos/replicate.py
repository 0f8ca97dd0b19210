"""One object-replicator pass over chosen partitions of one node.

    python -m chaos.replicate SWIFT_DIR OBJECT_SERVER_CONF PART[,PART...]

Swift's replicator can be limited to partitions, but the world's runner
passes no such option; a run only needs the partitions of its own objects
brought up to date after a node stop, not the whole world's.
"""
import sys

from swift_s3_sync.swift_env import use_swift_dir


def main(argv):
    swift_dir, conf, partitions = argv
    use_swift_dir(swift_dir)
    from swift.common.daemon import run_daemon
    from swift.obj.replicator import ObjectReplicator
    run_daemon(ObjectReplicator, conf, once=True, verbose=True,
               partitions=partitions)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
