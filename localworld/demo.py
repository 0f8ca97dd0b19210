"""The demo: the local world, one sync daemon per source node, a mapping
to each S3 target, sample objects, what arrived where, and the moto copy
read (and written) through proxymc with the Swift API.

    python -m localworld.demo [--keep]

With --keep the world and the daemons stay up afterwards (stop them with
``python -m localworld down``).
"""
import json
import os
import sys
import time

import boto3
import botocore.config
import swiftclient

from localworld import world as localworld
from localworld.daemons import SyncDaemons, s3_mapping

TARGETS = ('s3api', 'moto', 'radosgw')
CONTAINER = 'demo-photos'
SAMPLES = {
    'cats/t\u00e9l\u00e9phone.txt': b'meow ' * 100,
    'cats/\u732b.txt': b'nyan ' * 50,
    'dogs/rex.json': b'{"good": true}',
    'readme.md': b'# Demo\n',
}


def s3(settings):
    return boto3.client(
        's3', endpoint_url=settings['endpoint'],
        aws_access_key_id=settings['access_key'],
        aws_secret_access_key=settings['secret_key'],
        region_name=settings['region'],
        config=botocore.config.Config(s3={'addressing_style': 'path'}))


def target_settings(world, target):
    return world['target']['s3'] if target == 's3api' else world[target]


def main(argv):
    keep = '--keep' in argv
    world = localworld.up()
    source = world['source']
    user = source['users']['test:tester']
    conn = swiftclient.Connection(source['auth_url'], 'test:tester',
                                  user['key'])
    conn.put_container(CONTAINER)
    buckets = {}
    for target in TARGETS:
        bucket = 'demo-%s' % target
        client = s3(target_settings(world, target))
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.ClientError:
            pass  # already there from an earlier run
        buckets[target] = bucket
    mappings = [s3_mapping(world, t, buckets[t], CONTAINER,
                           account=user['account']) for t in TARGETS]
    work_dir = os.path.join(world['world_dir'], 'demo')
    daemons = SyncDaemons(world, work_dir, mappings)
    daemons.stop()
    daemons.start()
    print('sync daemons running on the 4 source nodes; config: %s'
          % daemons.paths[1])
    for name, body in SAMPLES.items():
        conn.put_object(CONTAINER, name, body,
                        headers={'X-Object-Meta-Demo': 'caf\u00e9'})
    print('uploaded %d objects to %s/%s' % (len(SAMPLES), user['account'],
                                            CONTAINER))
    deadline = time.time() + 60
    pending = set(TARGETS)
    while pending and time.time() < deadline:
        for target in list(pending):
            listed = s3(target_settings(world, target)).list_objects_v2(
                Bucket=buckets[target]).get('KeyCount', 0)
            if listed >= len(SAMPLES):
                pending.discard(target)
        time.sleep(0.5)
    for target in TARGETS:
        resp = s3(target_settings(world, target)).list_objects_v2(
            Bucket=buckets[target])
        print('\n%s bucket %s:' % (target, buckets[target]))
        for obj in resp.get('Contents', []):
            print('  %8d  %s' % (obj['Size'], obj['Key']))
    print('\nstatus of node 1:')
    print(daemons.status(1, as_json=False))
    show_proxymc(world, mappings[TARGETS.index('moto')], buckets['moto'])
    if not keep:
        daemons.stop()
    if pending:
        print('not synced in time: %s' % ', '.join(sorted(pending)))
        return 1
    return 0


def show_proxymc(world, mapping, bucket):
    """Serve the moto mapping through proxymc; list, read and write."""
    info = world['proxymc']
    with open(info['sync_conf']) as f:
        config = json.load(f)
    config['containers'] = [mapping]
    with open(info['sync_conf'] + '.tmp', 'w') as f:
        json.dump(config, f)
    os.rename(info['sync_conf'] + '.tmp', info['sync_conf'])
    time.sleep(1.2)   # proxymc checks its config once a second
    conn = swiftclient.Connection(info['auth_url'], 'test:tester',
                                  info['users']['test:tester']['key'])
    print('\nproxymc (%s) serving the moto copy:' % info['endpoint'])
    for entry in conn.get_container(CONTAINER)[1]:
        print('  %8d  %s' % (entry['bytes'], entry['name']))
    headers, body = conn.get_object(CONTAINER, 'dogs/rex.json')
    print('  GET dogs/rex.json -> %r, X-Object-Meta-Demo: %s' % (
        body, headers.get('x-object-meta-demo')))
    conn.put_object(CONTAINER, 'from-the-cloud.txt', b'written via proxymc')
    keys = [o['Key'] for o in s3(target_settings(world, 'moto'))
            .list_objects_v2(Bucket=bucket).get('Contents', [])
            if o['Key'].endswith('from-the-cloud.txt')]
    print('  PUT from-the-cloud.txt -> moto key %s' % ', '.join(keys))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
