"""Find this node's replicas of container DBs through the container ring."""
import os

from swift.common.ring import Ring
from swift.common.utils import hash_path, storage_directory, whataremyips
from swift.container.backend import ContainerBroker, DATADIR, SHARDED


class Replica(object):
    """This node's copy of one container DB (a root or a shard)."""
    __slots__ = ('account', 'container', 'db_path', 'node_index',
                 'replica_count', '_broker')

    def __init__(self, account, container, db_path, node_index,
                 replica_count):
        self.account = account
        self.container = container
        self.db_path = db_path
        self.node_index = node_index
        self.replica_count = replica_count
        self._broker = None

    def broker(self):
        """One broker per Replica: it keeps its sqlite connection, and
        opening one is most of the cost of looking at an idle DB."""
        if self._broker is None:
            self._broker = ContainerBroker(
                self.db_path, account=self.account, container=self.container)
        return self._broker

    def __repr__(self):
        return 'Replica(%s/%s, node %d of %d)' % (
            self.account, self.container, self.node_index,
            self.replica_count)


class Locator(object):
    """Answers "is this container's DB on this node, and where?".

    A ring device is this node's when its IP is one of the host's (or
    ``bind_ip``), its port is ``bind_port`` when that is set (several nodes
    may share an IP), and its directory exists under ``devices``.
    """

    def __init__(self, swift_dir, devices, bind_ip='0.0.0.0', bind_port=None,
                 ring=None):
        self.ring = ring or Ring(swift_dir, ring_name='container')
        self.devices = devices
        self.bind_port = bind_port
        self.my_ips = set(whataremyips(bind_ip))

    def _is_mine(self, node):
        if node['ip'] not in self.my_ips and \
                node.get('replication_ip') not in self.my_ips:
            return False
        if self.bind_port is not None and node['port'] != self.bind_port:
            return False
        return os.path.isdir(os.path.join(self.devices, node['device']))

    def replica(self, account, container):
        """This node's Replica of the container DB, or None."""
        part, nodes = self.ring.get_nodes(account, container)
        for index, node in enumerate(nodes):
            if not self._is_mine(node):
                continue
            chash = hash_path(account, container)
            path = os.path.join(
                self.devices, node['device'],
                storage_directory(DATADIR, part, chash), chash + '.db')
            replica = Replica(account, container, path, index, len(nodes))
            # A sharded DB's file is <hash>_<epoch>.db: ask the broker.
            if replica.broker().db_files:
                return replica
        return None

    def replicas_to_crawl(self, account, container, root=None):
        """The DBs holding this container's rows that this node crawls
        (``root``: this node's replica of the container, when known).

        For a sharded root the rows live in shard DBs (``.shards_<account>``)
        and each of those is placed by the ring on its own.
        """
        root = root or self.replica(account, container)
        if root is None:
            return []
        broker = root.broker()
        if broker.is_deleted():
            return []
        if broker.get_db_state() != SHARDED:
            return [root]
        shards = []
        for shard_range in broker.get_shard_ranges():
            replica = self.replica(shard_range.account, shard_range.container)
            if replica is not None:
                shards.append(replica)
        return shards
