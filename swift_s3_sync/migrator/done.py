"""When a local container holds all of its migration: the marks the
migrator leaves on it and cloud-shunt reads.

While a migration runs, cloud-shunt answers a local 404 from the source
(see :mod:`swift_s3_sync.shunt_migration`).  Once every object of a
container has been copied, that costs a remote request per 404 for
nothing, so the migrator marks the container:

* each node, at the end of a sweep of its own share of the names (see
  ``split``) in which nothing failed and nothing was left for later
  (``older_than``), sets the container sysmeta
  ``X-Container-Sysmeta-Swift-S3-Migrated-<replica index>`` to
  ``<migration signature> <replicas> <sweep start>``, and removes it after
  a sweep that left something behind;
* the container counts as migrated when every replica index has a mark of
  the migration as it is configured now (a changed source, bucket or
  prefix is another signature).

The shunt then treats the container as a plain local one: no remote
request, the listing is Swift's own.  Objects that appear at the source
after a sweep began are copied by the next sweep and are not served before
that.  Sysmeta cannot be set by clients (the gatekeeper removes it).

A ``"/*"`` migration also marks the account (``X-Account-Sysmeta-Swift-
S3-Migrated-Buckets``, the signature) once a pass found every source
bucket with its local container, and the shunt then stops adding source
buckets to account listings.
"""

CONTAINER_MARK = 'X-Container-Sysmeta-Swift-S3-Migrated-'
ACCOUNT_MARK = 'X-Account-Sysmeta-Swift-S3-Migrated-Buckets'


def container_mark_name(index):
    return '%s%d' % (CONTAINER_MARK, index)


def container_mark(migration, replicas, sweep_started):
    return '%s %d %.5f' % (migration.signature(), replicas, sweep_started)


def _sysmeta_key(header, kind):
    """The key Swift's get_*_info uses in its ``sysmeta`` dict."""
    return header.lower()[len('x-%s-sysmeta-' % kind):]


def container_migrated(sysmeta, migration):
    """True when the ``sysmeta`` of a container's info (get_container_info)
    has a mark of ``migration`` for every replica index."""
    prefix = _sysmeta_key(CONTAINER_MARK, 'container')
    marks = {}
    for key, value in (sysmeta or {}).items():
        if not key.lower().startswith(prefix):
            continue
        index = key[len(prefix):]
        parts = (value or '').split()
        if not index.isdigit() or len(parts) != 3 or \
                parts[0] != migration.signature() or not parts[1].isdigit():
            continue
        marks[int(index)] = int(parts[1])
    if not marks:
        return False
    replicas = set(marks.values())
    if len(replicas) != 1:
        return False
    count = replicas.pop()
    return count > 0 and set(marks) == set(range(count))


def account_migrated(sysmeta, migration):
    """True when the account's info ``sysmeta`` says every bucket of the
    ``"/*"`` ``migration`` has its local container."""
    key = _sysmeta_key(ACCOUNT_MARK, 'account')
    value = {k.lower(): v for k, v in (sysmeta or {}).items()}.get(key)
    return value == migration.signature()
