"""Locator: which container DB replicas, including shard DBs, are ours."""
import os
import shutil
import tempfile
import unittest

from swift.common import utils
from swift.common.utils import Timestamp, ShardRange
from swift.container.backend import ContainerBroker

from swift_s3_sync.crawler.locate import Locator


class FakeRing(object):
    """Three primaries per container, chosen from four devices by name."""

    def __init__(self):
        self.devs = [{'ip': '127.0.0.1', 'port': 6001 + 10 * i,
                      'device': 'sdb%d' % (i + 1)} for i in range(4)]

    def get_nodes(self, account, container):
        start = sum(map(ord, account + container)) % 4
        return 7, [self.devs[(start + k) % 4] for k in range(3)]


class TestLocator(unittest.TestCase):

    def setUp(self):
        self.saved = (utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX)
        utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX = b'', b'test'
        self.devices = tempfile.mkdtemp()
        self.ring = FakeRing()

    def tearDown(self):
        utils.HASH_PATH_PREFIX, utils.HASH_PATH_SUFFIX = self.saved
        shutil.rmtree(self.devices)

    def locator(self, port=None):
        return Locator(None, self.devices, '127.0.0.1', port, ring=self.ring)

    def make_db(self, account, container, node):
        """Create the DB where ``node`` (an index into the primaries)
        keeps it, and the device directory of that node."""
        _, nodes = self.ring.get_nodes(account, container)
        device = nodes[node]['device']
        os.makedirs(os.path.join(self.devices, device), exist_ok=True)
        replica = Locator(None, self.devices, '127.0.0.1',
                          nodes[node]['port'], ring=self.ring)
        part = self.ring.get_nodes(account, container)[0]
        chash = utils.hash_path(account, container)
        path = os.path.join(self.devices, device,
                            utils.storage_directory('containers', part,
                                                    chash), chash + '.db')
        broker = ContainerBroker(path, account=account, container=container)
        broker.initialize(Timestamp.now().internal, 0)
        self.assertIsNotNone(replica.replica(account, container))
        return broker, nodes[node]['port']

    def test_replica_index_and_port_filter(self):
        _, port = self.make_db('a', 'c', 1)
        replica = self.locator(port).replica('a', 'c')
        self.assertEqual((1, 3), (replica.node_index, replica.replica_count))
        # Another node's port on the same IP is not ours.
        self.assertIsNone(self.locator(port + 1).replica('a', 'c'))

    def test_missing_device_dir_is_not_ours(self):
        self.assertIsNone(self.locator().replica('a', 'nothing-here'))

    def test_sharded_root_crawls_its_local_shards(self):
        root, _ = self.make_db('a', 'big', 0)
        ts = Timestamp.now()
        shards = [ShardRange('.shards_a/big-%d' % i, ts, lower, upper,
                             state=ShardRange.ACTIVE)
                  for i, (lower, upper) in enumerate([('', 'm'), ('m', '')])]
        root.merge_shard_ranges(shards)
        root.enable_sharding(Timestamp.now())
        self.assertTrue(root.set_sharding_state())
        self.assertTrue(root.set_sharded_state())
        # Only the second shard's DB lives on a device of this host.
        self.make_db('.shards_a', 'big-1', 2)
        crawled = self.locator().replicas_to_crawl('a', 'big')
        self.assertEqual([('.shards_a', 'big-1')],
                         [(r.account, r.container) for r in crawled])

    def test_unsharded_root_is_crawled_itself(self):
        self.make_db('a', 'small', 2)
        crawled = self.locator().replicas_to_crawl('a', 'small')
        self.assertEqual([('a', 'small')],
                         [(r.account, r.container) for r in crawled])
