"""Container DB rows: who owns them, and when they last changed."""
import hashlib

from swift.common.utils import Timestamp
from swift.container.backend import decode_timestamps


def owner(name, replica_count):
    """Index of the replica that handles ``name`` first.

    Stable across replicas (ROWIDs are not) and compatible with the original
    project: the last 6 hex digits of sha1(name) modulo the replica count.
    """
    digest = hashlib.sha1(name.encode('utf-8')).hexdigest()
    return int(digest[-6:], 16) % replica_count


def changed_at(row):
    """The newest of the row's data, content-type and metadata timestamps."""
    data_ts, ctype_ts, meta_ts = decode_timestamps(row['created_at'])
    return max(data_ts, ctype_ts or data_ts, meta_ts or data_ts)


def data_timestamp(row):
    return decode_timestamps(row['created_at'])[0]


def is_delete(row):
    return bool(row['deleted'])


def row_etag(row):
    """The row's ETag without Swift's ``; s3_etag=...`` style parameters."""
    return row['etag'].split(';', 1)[0].strip().strip('"')


def as_timestamp(value):
    return value if isinstance(value, Timestamp) else Timestamp(value)
