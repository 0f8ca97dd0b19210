"""swift-s3-sync-verify: does a mapping's or a migration's remote work?

    swift-s3-sync-verify --config sync.json --mapping N [--read-only]
    swift-s3-sync-verify --config sync.json --migration N [--read-write]
                         [--bucket NAME]

One check of the remote of ``containers[N]`` (a mapping: where objects are
copied to) or ``migrations[N]`` (a migration: where objects are read
from), with the same client, credentials and key layout the daemons use.
One line per step, ``OK``, ``FAIL`` or ``SKIP`` and what was seen, then a
summary; exit status 0 when nothing failed, 1 when something did, 2 when
the config cannot be read or the index does not exist.

The steps:

1. ``credentials``: where they come from (the config file, or for an S3
   remote without keys boto3's default chain: environment, shared
   credentials file and profile, instance or container role) and whether
   the remote accepts them;
2. ``bucket``: the bucket (S3) or container (Swift) exists and can be
   listed.  A Swift mapping's missing container is fine (the daemon
   creates it on the first upload; the write step below does and removes
   it again); an S3 bucket must exist (nothing creates it).  For a
   ``"/*"`` migration: the source's buckets can be listed, and the next
   steps use the first one (or ``--bucket``);
3. read-write (the default for mappings): ``write`` a small test object
   with unicode metadata, ``read`` it back (bytes, ETag, metadata),
   ``metadata`` (replace its metadata as the daemon does after a POST,
   then HEAD), ``list`` (the listing shows it) and ``delete`` (then HEAD
   finds nothing).  The test object is named
   ``swift-s3-sync-verify-<time>-<random>`` in the mapping's layout and is
   deleted even when a step in between failed;
4. read-only (``--read-only``, and the default for migrations, which only
   read their source): ``list`` the first object, ``head`` it and ``get``
   its first KiB.  An empty bucket skips ``head`` and ``get``.

A step that cannot run because an earlier one failed is ``SKIP``.  Secrets
(``aws_secret``, ``aws_session_token``, tokens) never appear in the
output: errors come from the providers, which scrub them, and every line
is scrubbed again.
"""
import argparse
import io
import sys
import time
import uuid

from swift_s3_sync.config import ConfigError, load_config
from swift_s3_sync.providers.base import LocalObject, RemoteError

OK, FAIL, SKIP = 'OK', 'FAIL', 'SKIP'
TEST_PREFIX = 'swift-s3-sync-verify-'
# The local container name a "/*" mapping's test object is written for.
PER_ACCOUNT_CONTAINER = 'swift-s3-sync-verify'
TEST_BODY = b'swift-s3-sync-verify test object\n'
READ_BYTES = 1024

# S3 error codes that say the credentials themselves are wrong (not the
# permissions they carry).
BAD_CREDENTIAL_CODES = frozenset((
    'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken',
    'InvalidToken', 'TokenRefreshRequired', 'AuthorizationHeaderMalformed',
    'InvalidClientTokenId', 'UnrecognizedClientException', '401'))

# boto3's names for where its credentials came from.
CHAIN_SOURCES = {
    'env': 'environment variables (AWS_ACCESS_KEY_ID, ...)',
    'shared-credentials-file': 'the shared credentials file',
    'config-file': 'the shared config file',
    'custom-process': 'a credential_process of the config file',
    'assume-role': 'a role assumed by the profile',
    'assume-role-with-web-identity': 'a web identity role',
    'sso': 'AWS SSO',
    'iam-role': 'the EC2 instance role',
    'container-role': 'the container (ECS/EKS) role',
    'explicit': 'keys given to the session',
}


class Failed(Exception):
    """A step failed; the message is its line."""


class Skipped(Exception):
    """A step had nothing to do; the message says why."""


def _remote_error(err):
    return str(err)


# -- what the Provider contract does not cover, per protocol ----------------

class S3Remote(object):
    """Bucket-level questions, asked with the provider's own client."""

    def __init__(self, provider):
        self.provider = provider
        self._listing = None

    def credentials(self):
        m = self.provider.mapping
        if m.aws_identity is not None:
            where = 'keys from the config file'
        else:
            creds = self.provider.client._request_signer._credentials
            if creds is None:
                raise Failed("none found: the mapping has no 'aws_identity'"
                             "/'aws_secret' and boto3's default chain "
                             "(environment, shared credentials file%s, "
                             "instance or container role) found nothing" % (
                                 ", profile %r" % m.aws_profile
                                 if m.aws_profile else ''))
            method = getattr(creds, 'method', None) or 'unknown'
            where = "boto3's default chain: %s%s" % (
                CHAIN_SOURCES.get(method, method),
                ' (profile %r)' % m.aws_profile if m.aws_profile else '')
        try:
            if m.aws_bucket:
                self._listing = self.provider._call(
                    'list_objects_v2', Bucket=m.aws_bucket, MaxKeys=1)
            else:   # every bucket of a "/*" migration
                self._listing = self.provider._call('list_buckets')
        except RemoteError as err:
            if err.status is None:
                raise Failed('%s; the remote did not answer: %s' % (where,
                                                                    err))
            if getattr(err, 'code', None) in BAD_CREDENTIAL_CODES:
                raise Failed('%s; refused: %s' % (where, err))
            self._listing = err
        return '%s; accepted by the remote' % where

    def bucket(self, for_mapping, container=None):
        """Text, or Failed."""
        bucket = self.provider.mapping.aws_bucket
        listing = self._listing
        if listing is None:
            try:
                listing = self.provider._call(
                    'list_objects_v2', Bucket=bucket, MaxKeys=1)
            except RemoteError as err:
                listing = err
        if isinstance(listing, RemoteError):
            if getattr(listing, 'code', None) == 'NoSuchBucket':
                raise Failed('bucket %r does not exist%s' % (
                    bucket, ' (the daemon does not create buckets)'
                    if for_mapping else ''))
            raise Failed('bucket %r cannot be listed: %s' % (bucket,
                                                             listing))
        return 'bucket %r exists and can be listed' % bucket

    def buckets(self):
        from swift_s3_sync.migrator.source import list_buckets
        return list_buckets(self.provider)

    def created_container(self):
        return None

    def remove_container(self, name):
        pass


class SwiftRemote(object):

    def __init__(self, provider):
        self.provider = provider
        self._created = None

    def credentials(self):
        try:
            reply = self.provider._call('head_account', expect=(403,))
        except RemoteError as err:
            if err.status is None:
                raise Failed('keys from the config file; the remote did not '
                             'answer: %s' % err)
            raise Failed('keys from the config file; refused: %s' % err)
        if reply.status == 403:
            return ('keys from the config file; authenticated, but the '
                    'account itself is not readable (403)')
        return 'keys from the config file; authenticated'

    def bucket(self, for_mapping, container=None):
        name = self.provider.remote_container(container or '')
        reply = self.provider._call('head_container', name, expect=(404,))
        if reply.status == 404:
            if not for_mapping:
                raise Failed('container %r does not exist' % name)
            self._created = name
            return ('container %r does not exist yet: the daemon creates '
                    'it on its first upload' % name)
        return 'container %r exists' % name

    def buckets(self):
        from swift_s3_sync.migrator.source import list_buckets
        return list_buckets(self.provider)

    def created_container(self):
        """The container the write step creates (it was missing)."""
        return self._created

    def remove_container(self, name):
        self.provider._call('delete_container', name, expect=(404, 409))


def remote_for(provider):
    if provider.mapping.protocol == 'swift':
        return SwiftRemote(provider)
    return S3Remote(provider)


# -- the checks --------------------------------------------------------------

class Verifier(object):
    """Runs the steps against ``provider`` (the Provider contract) and
    ``remote`` (credentials, bucket, buckets, created_container,
    remove_container: see S3Remote).  ``container`` is the local container
    name the provider is asked about (the layout of a mapping's keys)."""

    def __init__(self, provider, remote, container, for_mapping, read_only,
                 every_bucket=False, clock=time.time, out=None,
                 secrets=()):
        self.provider = provider
        self.remote = remote
        self.container = container
        self.for_mapping = for_mapping
        self.read_only = read_only
        self.every_bucket = every_bucket
        self.clock = clock
        self.out = out or sys.stdout
        self.secrets = [s for s in secrets if s]
        self.results = []
        self.name = '%s%d-%s' % (TEST_PREFIX, int(clock()),
                                 uuid.uuid4().hex[:8])
        self.metadata = {'x-object-meta-verify': 'cr\u00e8me br\u00fbl\u00e9e',
                         'content-type': 'text/plain'}

    # -- output --------------------------------------------------------------
    def _scrub(self, text):
        for secret in self.secrets:
            text = text.replace(secret, '***')
        return text

    def _line(self, result, step, text):
        self.results.append((step, result))
        self.out.write(self._scrub('%-4s  %s: %s' % (result, step, text))
                       + '\n')
        self.out.flush()

    def step(self, name, function, *args):
        """Run one step; True when it passed (or had nothing to do)."""
        try:
            text = function(*args)
        except Skipped as why:
            self._line(SKIP, name, str(why))
            return True
        except Failed as err:
            self._line(FAIL, name, str(err))
            return False
        except RemoteError as err:
            self._line(FAIL, name, _remote_error(err))
            return False
        except Exception as err:   # one line, whatever went wrong
            self._line(FAIL, name, '%s: %s' % (type(err).__name__, err))
            return False
        self._line(OK, name, text)
        return True

    def skip(self, names, why):
        for name in names:
            self._line(SKIP, name, why)

    # -- the run --------------------------------------------------------------
    def run(self):
        """All the steps; True when none failed."""
        later = (['list', 'head', 'get'] if self.read_only else
                 ['write', 'read', 'metadata', 'list', 'delete'])
        if not self.step('credentials', self.remote.credentials):
            self.skip(['bucket'] + later, 'needs working credentials')
            return False
        if self.every_bucket:
            found = self.step('buckets', self._buckets)
        else:
            found = self.step('bucket', self.remote.bucket, self.for_mapping,
                              self.container)
        if not found:
            self.skip(later, 'needs the bucket')
            return False
        if self.read_only:
            self._read_only()
        else:
            self._read_write()
        return all(result != FAIL for _, result in self.results)

    def _buckets(self):
        names = self.remote.buckets()
        if not names:
            raise Failed('the source has no bucket (or container) these '
                         'credentials can see')
        if self.container is None:
            self.container = names[0]
        elif self.container not in names:
            raise Failed('%d buckets, but not %r' % (len(names),
                                                     self.container))
        self.provider = self.provider_for_bucket(self.container)
        shown = ', '.join(names[:5]) + (', ...' if len(names) > 5 else '')
        return '%d buckets (%s); checking %r' % (len(names), shown,
                                                 self.container)

    def provider_for_bucket(self, bucket):
        """Set by the command for "/*" migrations."""
        return self.provider

    # read-only -----------------------------------------------------------
    def _read_only(self):
        first = {}
        if not self.step('list', self._list_first, first):
            self.skip(['head', 'get'], 'needs the listing')
            return
        self.step('head', self._head_first, first)
        self.step('get', self._get_first, first)

    def _list_first(self, first):
        listed = list(self.provider.list(self.container, limit=1))
        if not listed:
            return 'the listing works; the bucket is empty'
        first['object'] = listed[0]
        return 'first object %r (%d bytes)' % (listed[0].name,
                                               listed[0].size)

    def _head_first(self, first):
        if 'object' not in first:
            raise Skipped('nothing to read')
        listed = first['object']
        remote = self.provider.head(self.container, listed.name)
        if remote is None:
            raise Failed('%r: listed, but HEAD answers 404' % listed.name)
        return '%r: %d bytes, ETag %s, %d metadata keys' % (
            listed.name, remote.size, remote.etag,
            sum(1 for k in (remote.headers or {})
                if k.startswith('x-object-meta-')))

    def _get_first(self, first):
        if 'object' not in first:
            raise Skipped('nothing to read')
        listed = first['object']
        status, _, body = self.provider.get(
            self.container, listed.name,
            headers={'Range': 'bytes=0-%d' % (READ_BYTES - 1)})
        data = _read(body)
        if status // 100 != 2:
            raise Failed('%r: GET answered %s' % (listed.name, status))
        wanted = min(READ_BYTES, listed.size)
        if len(data) != wanted:
            raise Failed('%r: read %d bytes, expected %d' % (
                listed.name, len(data), wanted))
        return '%r: read its first %d bytes' % (listed.name, len(data))

    # read-write ----------------------------------------------------------
    def _read_write(self):
        written = self.step('write', self._write)
        if not written:
            self.skip(['read', 'metadata', 'list'], 'needs the test object')
        else:
            self.step('read', self._read)
            self.step('metadata', self._update_metadata)
            self.step('list', self._listed)
        # Always: remove whatever the write may have left.
        self.step('delete', self._delete, written)
        created = self.remote.created_container()
        if created and written:
            try:
                self.remote.remove_container(created)
            except RemoteError as err:
                self._line(FAIL, 'clean-up', 'container %r created by the '
                           'write step not removed: %s' % (created, err))

    def _local(self, headers):
        import hashlib
        from swift.common.utils import Timestamp
        return LocalObject(
            self.container, self.name, dict(headers),
            len(TEST_BODY), hashlib.md5(TEST_BODY).hexdigest(),
            Timestamp(self.clock()).internal,
            lambda: io.BytesIO(TEST_BODY))

    def _write(self):
        self.provider.put(self._local(self.metadata))
        return 'wrote %r (%d bytes, unicode metadata)' % (self.name,
                                                          len(TEST_BODY))

    def _read(self):
        status, headers, body = self.provider.get(self.container, self.name)
        data = _read(body)
        if status != 200:
            raise Failed('GET answered %s' % status)
        if data != TEST_BODY:
            raise Failed('GET returned %d other bytes' % len(data))
        problems = self._metadata_problems(headers, self.metadata)
        if problems:
            raise Failed('bytes read back, but ' + problems)
        return 'the same %d bytes and metadata came back' % len(data)

    def _update_metadata(self):
        remote = self.provider.head(self.container, self.name)
        if remote is None:
            raise Failed('HEAD answers 404 for the object just written')
        changed = dict(self.metadata)
        changed['x-object-meta-verify'] = 'updated \u2713'
        self.provider.update_metadata(self._local(changed), remote)
        remote = self.provider.head(self.container, self.name)
        if remote is None:
            raise Failed('the object is gone after the metadata update')
        problems = self._metadata_problems(remote.headers or {}, changed)
        if problems:
            raise Failed('after the update, ' + problems)
        return 'replaced its metadata; HEAD shows the new value'

    @staticmethod
    def _metadata_problems(headers, wanted):
        key = 'x-object-meta-verify'
        if headers.get(key) != wanted[key]:
            return '%s is %r, expected %r' % (key, headers.get(key),
                                              wanted[key])
        return ''

    def _listed(self):
        names = [o.name for o in self.provider.list(
            self.container, prefix=self.name, limit=10)]
        if self.name not in names:
            raise Failed('the test object is not in the listing (the '
                         'store may list new objects late)')
        return 'the listing shows the test object'

    def _delete(self, written):
        if not written:
            try:   # in case the PUT stored it after all
                self.provider.delete(self.container, self.name)
            except RemoteError:
                pass
            raise Skipped('nothing was written')
        self.provider.delete(self.container, self.name)
        if self.provider.head(self.container, self.name) is not None:
            raise Failed('HEAD still finds the test object after DELETE')
        return 'deleted; HEAD finds nothing'


def _read(body):
    data = b''
    try:
        for chunk in body:
            data += chunk
    finally:
        close = getattr(body, 'close', None)
        if close:
            close()
    return data


# -- the command --------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='swift-s3-sync-verify',
        description="Check a mapping's or a migration's remote: "
                    "credentials, bucket, and a test object written, read, "
                    "updated, listed and deleted (or, read-only, one object "
                    "listed, HEADed and read).")
    parser.add_argument('--config', required=True, help='sync.json path')
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument('--mapping', type=int, metavar='N',
                       help='check containers[N] (its destination)')
    which.add_argument('--migration', type=int, metavar='N',
                       help='check migrations[N] (its source)')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--read-only', action='store_true',
                      help='list, HEAD and GET one object; write nothing '
                      '(the default for migrations)')
    mode.add_argument('--read-write', action='store_true',
                      help='write, read, update, list and delete a test '
                      'object (the default for mappings)')
    parser.add_argument('--bucket', metavar='NAME',
                        help='with a "/*" migration: the bucket (container) '
                        'of the source to check (default: the first)')
    return parser.parse_args(argv)


def _chosen(config, args):
    if args.mapping is not None:
        items, kind, index = config.mappings, 'containers', args.mapping
    else:
        items, kind, index = config.migrations, 'migrations', args.migration
    if not 0 <= index < len(items):
        raise ConfigError('%s: there is no %s[%d] (%d in the file)' % (
            config.source, kind, index, len(items)))
    return items[index]


def _secrets(item):
    return [getattr(item, key, None) for key in ('aws_secret',
                                                 'aws_session_token')]


def build(config, args, out, provider_factory=None):
    """The Verifier for the command line's choice; ``provider_factory(
    mapping)`` -> (provider, remote) for tests."""
    item = _chosen(config, args)
    if args.mapping is not None:
        mapping = item
        container = (PER_ACCOUNT_CONTAINER if mapping.per_account
                     else mapping.container)
        read_only = args.read_only
        every_bucket = False
        title = '%s -> %s %s/%s' % (mapping.label, mapping.protocol,
                                    mapping.aws_endpoint or 'AWS S3',
                                    mapping.aws_bucket)
    else:
        from swift_s3_sync.migrator.source import source_mapping
        migration = item
        every_bucket = migration.all_buckets
        bucket = '' if every_bucket else migration.aws_bucket
        container = args.bucket if every_bucket else \
            migration.local_container
        mapping = source_mapping(migration, bucket, bucket)
        read_only = not args.read_write
        title = '%s <- %s %s/%s' % (
            migration.label, migration.protocol,
            migration.aws_endpoint or 'AWS S3',
            '*' if every_bucket else migration.aws_bucket)

    def make(m):
        if provider_factory is not None:
            return provider_factory(m)
        from swift_s3_sync.providers import provider_for
        provider = provider_for(m, max_connections=2)
        return provider, remote_for(provider)
    provider, remote = make(mapping)
    verifier = Verifier(provider, remote, container,
                        for_mapping=args.mapping is not None,
                        read_only=read_only, every_bucket=every_bucket,
                        out=out, secrets=_secrets(item))
    if every_bucket:
        from swift_s3_sync.migrator.source import source_mapping

        def provider_for_bucket(name):
            bucket_provider, _ = make(source_mapping(item, name, name))
            verifier.opened.append(bucket_provider)
            return bucket_provider
        verifier.provider_for_bucket = provider_for_bucket
    verifier.opened = [provider]
    verifier.title = '%s, %s' % (title, 'read-only' if read_only
                                 else 'read-write')
    return verifier


def main(argv=None, out=None, provider_factory=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    try:
        config = load_config(args.config)
        verifier = build(config, args, out, provider_factory)
    except ConfigError as err:
        sys.stderr.write('swift-s3-sync-verify: %s\n' % err)
        return 2
    out.write(verifier._scrub(verifier.title) + '\n')
    try:
        passed = verifier.run()
    finally:
        for provider in verifier.opened:
            close = getattr(provider, 'close', None)
            if close:
                close()
    failed = sum(1 for _, result in verifier.results if result == FAIL)
    out.write('%s: %d checks, %d failed\n' % (
        'verified' if passed else 'NOT verified', len(verifier.results),
        failed))
    return 0 if passed else 1


if __name__ == '__main__':
    sys.exit(main())
