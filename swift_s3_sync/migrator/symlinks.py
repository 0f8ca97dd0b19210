"""Swift symlinks from a Swift source stay symlinks.

A Swift source is read with ``symlink=get``, so a symlink answers with
itself: an empty body, its X-Symlink-Target (``<container>/<object>``,
URL-quoted), X-Symlink-Target-Account when it names an account, and for a
static link X-Symlink-Target-Etag and -Bytes.  Without that the GET would
follow the link and answer with its target, whose ETag is not the one the
listing shows for the symlink.

The local copy is a symlink of the same kind, written through Swift's
symlink middleware in the migrator's in-process pipeline, with:

* the target's container renamed as the migration renames containers: a
  symlink into the migration's source container points into the local
  container; other containers keep their names (a ``"/*"`` migration keeps
  every name);
* the target's account: the source's own account becomes the local one
  (the migration's ``account``); any other account is kept as it is, an
  account of the source cluster (check that it means the same here, as
  for ACLs);
* a static link keeps the target ETag and size the source has, and is
  written even before its target is copied.

Its own metadata, content type and X-Delete-At come along as for any
object.  The target is copied as an object of its own if the migration
covers it; a symlink whose target is missing is copied as it is.
"""
import io
from urllib.parse import quote, unquote

from swift_s3_sync.migrator import errors

SYMLINK_GET = 'symlink=get'   # the query that reads a symlink itself
SYMLINK_TARGET = 'x-symlink-target'
SYMLINK_ACCOUNT = 'x-symlink-target-account'
SYMLINK_STATIC = ('x-symlink-target-etag', 'x-symlink-target-bytes')


def local_target(target, bucket, container):
    """The X-Symlink-Target ``target`` (as the source gives it) with the
    source container ``bucket`` renamed ``container``."""
    target_container, sep, obj = unquote(target).partition('/')
    if target_container == bucket:
        target_container = container
    return quote('%s%s%s' % (target_container, sep, obj), safe='/')


def local_account(target_account, source_account, account):
    """The X-Symlink-Target-Account to write: None when the source's
    symlink names none, the local ``account`` when it names the source's
    own (``source_account``, a callable, gives it), any other as it is."""
    if not target_account:
        return None
    if unquote(target_account) == source_account():
        return quote(account)
    return target_account


def copy_symlink(provider, store, account, container, name, headers,
                 wanted, source_bucket):
    """Write the symlink of ``headers``, read through ``provider`` from the
    source container ``source_bucket``, as ``name`` in
    ``account/container`` with the copy's headers ``wanted``; returns 0
    (bytes copied)."""
    if not store.writes_symlinks():
        raise errors.Unsupported(
            'a symlink, and the local pipeline (internal_client_conf_path) '
            'has no symlink middleware to write it with')
    wanted[SYMLINK_TARGET] = local_target(headers[SYMLINK_TARGET],
                                          source_bucket, container)
    target_account = local_account(headers.get(SYMLINK_ACCOUNT),
                                   provider.account_name, account)
    if target_account:
        wanted[SYMLINK_ACCOUNT] = target_account
    for header in SYMLINK_STATIC:
        if headers.get(header):
            wanted[header] = headers[header]
    wanted['content-length'] = '0'
    resp = store.put(account, container, name, io.BytesIO(b''), wanted)
    if resp.status_int == 202:
        raise errors.LocalNewer('a newer local object was kept')
    return 0
