"""Load and check sync.json, the one file the sync daemon, cloud-shunt and
proxymc read.

The file is a JSON object. Its top-level keys are the *global settings*; its
``containers`` key lists *mappings*, each an object saying where one local
container (or every container of an account) is copied to. A missing key
takes its default; a key marked required has none. A key that is not listed
here is an error (with a "did you mean" suggestion), so a typo never silently
falls back to a default. Any key starting with ``//`` is a comment and is
ignored, at the top level and inside mappings; the same comment key may be
repeated in one object::

    {"//": "sync.json for the cluster in rack 7", ...}

Global settings
---------------
containers
    List of mapping objects (required; may be empty).
devices, swift_dir
    Swift's devices root ("/srv/node") and configuration directory
    ("/etc/swift"; swift.conf and rings, see ``surroundings``).
status_dir
    Directory for progress and failure records (required), written only
    when a record changes.
items_chunk, workers
    Rows read per container database per step (1000) and rows handled
    concurrently (10).
poll_interval
    Seconds between passes over the databases (5).
verification_slack
    Minutes (60): rows newer than this are not verified by the nodes that do
    not own them, because their owner may simply not have copied them yet.
swift_bind_ip, swift_bind_port
    Which ring devices are this node's: devices whose IP is one of this
    host's when swift_bind_ip is "0.0.0.0" (the default), else that IP; and,
    when swift_bind_port is set (default null), whose container-server port
    is that port.
internal_client_conf_path
    Paste config for the internal client that reads local objects; null uses
    the built-in one.
log_file, log_level, log_statsd_host, log_statsd_port,
log_statsd_metric_prefix
    Logging: file (null = Swift's logger default, syslog), level
    (debug, info, warning or error, any case; "info"), and statsd host (null =
    no metrics), port (8125) and metric prefix ("").
retry_initial_delay, retry_max_delay
    Seconds before the first retry of a transiently failed row (5), doubling
    up to retry_max_delay (300), which must not be below the initial delay.
http_proxy, https_proxy
    Proxy URLs for outbound requests (null = none).
migrations
    List of migration objects (default empty), read by swift-s3-migrator;
    see "Migration keys" below.  A file with migrations may leave out
    ``containers``.
migrator_settings
    Object of swift-s3-migrator settings (null = all defaults); see
    "Migrator settings" below.

Mapping keys
------------
account, container
    The local account (e.g. AUTH_test) and container (required). Container
    "/*" maps every container of the account; otherwise it is one container
    name and must not contain "/".
protocol
    "s3" (default) or "swift".
aws_bucket
    Destination bucket, or container for swift (required). For a swift
    mapping of "/*" it is the prefix of the remote container names.
aws_endpoint
    http(s) URL of the S3 endpoint (null = AWS) or, for swift, the auth URL
    (required for swift).
aws_identity, aws_secret, aws_session_token, aws_region
    Credentials (identity and secret together; the session token is s3 only)
    and region ("us-east-1").  An s3 mapping may leave out both identity
    and secret (or set both to null): boto3's default chain finds
    credentials (environment, shared credentials file, instance or
    container role).  One without the other is an error, and a swift
    mapping needs both.
aws_profile
    s3 only, without identity and secret: the profile of the shared
    credentials/config files boto3 reads (null = its default).
custom_prefix
    Where objects go in the bucket: null = the default hashed layout, "" =
    the local object names as they are, anything else = that prefix
    (surrounding "/" removed). Not allowed for s3 mappings of "/*", whose
    containers would all share one key space.
copy_after
    Seconds an object must be unchanged before it is copied (0).
retain_local, retain_local_segments
    retain_local false makes the mapping an archive: local objects are
    deleted once their copy is verified (default true).  The segments of an
    archived large object are always kept locally for now: deleting them
    is not built (other manifests may share them), so retain_local_segments
    is accepted (default false) but changes nothing yet.
propagate_delete
    Delete the remote copy when the local object is deleted (true). An
    archive must set it to false, or deleting the archived local object
    would delete its only copy.
exclude_pattern
    Python regular expression; object names it matches are not copied
    (null = none).
selection_criteria
    Which objects are copied, by their headers (null = all); see
    swift_s3_sync.selection for the grammar.
sync_symlinks
    Copy symlinks (true); false keeps them out.
encryption, server_side_encryption, sse_kms_key_id
    encryption (true) asks AWS for AES256 server-side encryption;
    server_side_encryption ("AES256" or "aws:kms", s3 only) asks any endpoint
    and wins over encryption; sse_kms_key_id is the KMS key for "aws:kms".
storage_class
    S3 storage class for the copies, e.g. "STANDARD_IA" (s3 only).
merge_namespaces, restore_object
    cloud-shunt: list local and remote objects as one namespace, and copy an
    object read from the remote back into the local container. Both false.
show_remote_location
    cloud-shunt: name the remote (endpoint, bucket, key prefix) to readers
    in listings' content_location and X-Object-Content-Location (false).
sync_container_metadata, sync_container_acl
    swift: copy container metadata, and with it the read/write ACLs (the
    ACLs need the metadata). Both false.
propagate_expiration, propagate_expiration_offset
    swift: give the copy the object's X-Delete-At, plus the offset in
    seconds (false, 0).
remote_delete_after
    Seconds after which the remote copy expires (0 = never).
convert_dlo, min_segment_size
    swift: turn DLOs into SLOs when copying, refusing segments smaller than
    min_segment_size bytes (false, 0; a size needs convert_dlo).
storage_policy, remote_account
    swift: storage policy for created remote containers, and the remote
    account when it is not the authenticated user's (both null).
auth_type, project_name, project_domain_name, user_domain_name
    swift: "swift" (default) or "keystone_v3", which needs all three names.

Migration keys (each object of ``migrations``)
---------------------------------------------
account
    The local account objects are copied into (required).
aws_bucket
    The source bucket, or container for swift (required; no "/"); "/*"
    is every bucket of the source, each into the local container of the
    same name.
container
    The local container (null = the same name as aws_bucket); must be null
    with "/*".
protocol, aws_endpoint, aws_identity, aws_secret, aws_session_token,
aws_region, remote_account, auth_type, project_name, project_domain_name,
user_domain_name
    Where and how to read the source, as for mappings.
prefix
    Only objects whose names start with it ("" = all).
older_than
    Only objects last modified at least this many seconds ago (0 = all).
storage_policy
    Storage policy of the local containers the migrator creates (null =
    the cluster's default).
merge_namespaces
    cloud-shunt serves the objects not migrated yet through the local
    container and lists them (true); see swift_s3_sync.shunt_migration.
restore_object
    cloud-shunt writes an object read whole into the local container, as
    the migrator would (true).

Two migrations into the same local account and container are refused.

Migrator settings (the ``migrator_settings`` object)
---------------------------------------------------
status_dir
    Where the migrator keeps its progress files
    ("/var/lib/swift-s3-migrator"); must not be the sync daemon's
    status_dir or inside it (the sync daemon removes what it does not
    know there).
items_chunk, workers
    Source names listed per step (1000) and objects copied at once (10).
poll_interval
    Seconds between passes (30).
takeover_slack
    Seconds (3600) after which a node copies the objects of another node
    that seems to be down.
segment_size
    Bytes per segment (1 GiB; at least 1 MiB) when an object above Swift's
    maximum object size is copied as an SLO.
part_workers
    Parts or segments of one large object fetched at once (4).
log_file, log_level
    The migrator's own log file (null = Swift's logger default, syslog) and
    level (null = the global log_level).

Types are strict: a boolean must be JSON true/false (not "yes" or 1), an
integer must not be a boolean or 1.5. Two mappings with the same account,
container, protocol, aws_endpoint, aws_bucket and custom_prefix are refused
as duplicates; copying one container to several destinations is fine.

Errors raise ConfigError with one line naming the file, the mapping and the
key. Values of secret keys (any key containing "secret", "token" or
"password") never appear in errors, reprs or ``Mapping.redacted()``.
"""
import collections
import difflib
import hashlib
import json
import os
import re
import urllib.parse

from swift_s3_sync import selection
from swift_s3_sync.config_checks import (
    _Invalid,
    _account,
    _boolean,
    _container,
    _http_url,
    _integer,
    _ip_address,
    _is_secret,
    _json_list,
    _number_above,
    _number_from,
    _one_of,
    _regex,
    _selection_criteria,
    _show,
    _string,
    _wrong)


class ConfigError(ValueError):
    """sync.json is unreadable or wrong; the message says where and why."""


REQUIRED = object()  # marks a key that has no default


def _credential():
    """aws_identity / aws_secret: a non-empty string, or null / left out
    (s3 only: boto3's default credential chain).  _credentials_given
    refuses one without the other, so a half-forgotten pair is an error
    rather than a silent fallback to whatever credentials the host has."""
    given = _string(non_empty=True)

    def check(key, value):
        return None if value is None else given(key, value)
    return check
COMMENT_PREFIX = '//'
MASK = '***'


# -- the schema ------------------------------------------------------------

def _json_object_or_null(key, value):
    if value is not None and not isinstance(value, dict):
        raise _wrong(key, value, 'an object or null')
    return value


def _migration_list(key, value):
    if not isinstance(value, list):
        raise _wrong(key, value, 'a list of migration objects')
    return value


def _migration_bucket(key, value):
    if not isinstance(value, str) or not value or (
            '/' in value and value != '/*'):
        raise _wrong(key, value,
                     'a bucket or container name without "/", or "/*" for '
                     'every bucket of the source')
    return value


Key = collections.namedtuple('Key', 'default check')

GLOBAL_KEYS = {
    'containers': Key(REQUIRED, _json_list),
    'devices': Key('/srv/node', _string(non_empty=True)),
    'swift_dir': Key('/etc/swift', _string(non_empty=True)),
    'status_dir': Key(REQUIRED, _string(non_empty=True)),
    'items_chunk': Key(1000, _integer(1)),
    'workers': Key(10, _integer(1)),
    'poll_interval': Key(5, _number_above(0)),
    'verification_slack': Key(60, _number_from(0)),
    'swift_bind_ip': Key('0.0.0.0', _ip_address()),
    'swift_bind_port': Key(None, _integer(1, 65535, nullable=True)),
    'internal_client_conf_path': Key(None, _string(nullable=True)),
    'log_file': Key(None, _string(nullable=True)),
    'log_level': Key('info', _one_of('debug', 'info', 'warning', 'error',
                                     any_case=True)),
    'log_statsd_host': Key(None, _string(nullable=True)),
    'log_statsd_port': Key(8125, _integer(1, 65535)),
    'log_statsd_metric_prefix': Key('', _string()),
    'retry_initial_delay': Key(5, _number_above(0)),
    'retry_max_delay': Key(300, _number_above(0)),
    'http_proxy': Key(None, _string(nullable=True)),
    'https_proxy': Key(None, _string(nullable=True)),
    'migrations': Key([], _migration_list),
    'migrator_settings': Key(None, _json_object_or_null),
}

MAPPING_KEYS = {
    'account': Key(REQUIRED, _account),
    'container': Key(REQUIRED, _container),
    'protocol': Key('s3', _one_of('s3', 'swift')),
    'aws_bucket': Key(REQUIRED, _string(non_empty=True)),
    'aws_endpoint': Key(None, _http_url(nullable=True)),
    'aws_identity': Key(None, _credential()),
    'aws_secret': Key(None, _credential()),
    'aws_profile': Key(None, _string(non_empty=True, nullable=True)),
    'aws_session_token': Key(None, _string(nullable=True)),
    'aws_region': Key('us-east-1', _string()),
    'custom_prefix': Key(None, _string(nullable=True,
                                       convert=lambda v: v.strip('/'))),
    'copy_after': Key(0, _integer(0)),
    'retain_local': Key(True, _boolean()),
    'retain_local_segments': Key(False, _boolean()),
    'propagate_delete': Key(True, _boolean()),
    'exclude_pattern': Key(None, _regex),
    'selection_criteria': Key(None, _selection_criteria),
    'encryption': Key(True, _boolean()),
    'server_side_encryption': Key(None, _one_of('AES256', 'aws:kms',
                                                nullable=True)),
    'sse_kms_key_id': Key(None, _string(nullable=True)),
    'storage_class': Key(None, _string(nullable=True)),
    'merge_namespaces': Key(False, _boolean()),
    'restore_object': Key(False, _boolean()),
    'show_remote_location': Key(False, _boolean()),
    'sync_container_metadata': Key(False, _boolean()),
    'sync_container_acl': Key(False, _boolean()),
    'propagate_expiration': Key(False, _boolean()),
    'propagate_expiration_offset': Key(0, _integer(0)),
    'remote_delete_after': Key(0, _integer(0)),
    'convert_dlo': Key(False, _boolean()),
    'min_segment_size': Key(0, _integer(0)),
    'storage_policy': Key(None, _string(nullable=True)),
    'remote_account': Key(None, _string(nullable=True)),
    'auth_type': Key('swift', _one_of('swift', 'keystone_v3')),
    'project_name': Key(None, _string(nullable=True)),
    'project_domain_name': Key(None, _string(nullable=True)),
    'user_domain_name': Key(None, _string(nullable=True)),
    'sync_symlinks': Key(True, _boolean()),
}

# Changing any of these changes which objects belong at the destination, or
# where, so syncing must start again from the first row.
POLICY_KEYS = ('protocol', 'aws_endpoint', 'aws_bucket', 'custom_prefix',
               'copy_after', 'retain_local', 'propagate_delete',
               'exclude_pattern', 'selection_criteria', 'sync_symlinks')

# What makes a mapping a distinct destination: two mappings agreeing on all
# of these would fight over the same remote objects and progress records.
IDENTITY_KEYS = ('account', 'container', 'protocol', 'aws_endpoint',
                 'aws_bucket', 'custom_prefix')

S3_ONLY_KEYS = ('aws_session_token', 'server_side_encryption',
                'storage_class')
KEYSTONE_KEYS = ('project_name', 'project_domain_name', 'user_domain_name')

# swift-s3-migrator: where a migration reads from and what it copies.
MIGRATION_KEYS = {
    'account': Key(REQUIRED, _account),
    'aws_bucket': Key(REQUIRED, _migration_bucket),
    'container': Key(None, _string(nullable=True)),
    'protocol': MAPPING_KEYS['protocol'],
    'aws_endpoint': MAPPING_KEYS['aws_endpoint'],
    'aws_identity': MAPPING_KEYS['aws_identity'],
    'aws_secret': MAPPING_KEYS['aws_secret'],
    'aws_profile': MAPPING_KEYS['aws_profile'],
    'aws_session_token': MAPPING_KEYS['aws_session_token'],
    'aws_region': MAPPING_KEYS['aws_region'],
    'remote_account': MAPPING_KEYS['remote_account'],
    'auth_type': MAPPING_KEYS['auth_type'],
    'project_name': MAPPING_KEYS['project_name'],
    'project_domain_name': MAPPING_KEYS['project_domain_name'],
    'user_domain_name': MAPPING_KEYS['user_domain_name'],
    'prefix': Key('', _string()),
    'older_than': Key(0, _number_from(0)),
    'storage_policy': Key(None, _string(nullable=True)),
    'merge_namespaces': Key(True, _boolean()),
    'restore_object': Key(True, _boolean()),
}

MIGRATOR_SETTINGS_KEYS = {
    'status_dir': Key('/var/lib/swift-s3-migrator', _string(non_empty=True)),
    'items_chunk': Key(1000, _integer(1)),
    'workers': Key(10, _integer(1)),
    'poll_interval': Key(30, _number_above(0)),
    'takeover_slack': Key(3600, _number_from(0)),
    'segment_size': Key(1024 ** 3, _integer(1024 * 1024)),
    'part_workers': Key(4, _integer(1)),
    'log_file': Key(None, _string(nullable=True)),
    'log_level': Key(None, _one_of('debug', 'info', 'warning', 'error',
                                   any_case=True, nullable=True)),
}


# -- checking one section (the top level, or one mapping) -------------------

def _unknown_key_message(key, known, elsewhere, elsewhere_hint):
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key '{key}' (did you mean '{close[0]}'?)"
    if key in elsewhere:
        return f"unknown key '{key}' ({elsewhere_hint})"
    return f"unknown key '{key}'"


def _check_section(obj, schema, elsewhere, elsewhere_hint):
    """Values for every key of ``schema``, defaults filled, from one JSON
    object; raises _Invalid on the first problem."""
    duplicates = getattr(obj, 'duplicate_keys', ())
    if duplicates:
        raise _Invalid(f"key '{duplicates[0]}' is given twice")
    for key in obj:
        if key not in schema and not key.startswith(COMMENT_PREFIX):
            raise _Invalid(_unknown_key_message(
                key, schema, elsewhere, elsewhere_hint))
    for key, spec in schema.items():
        if spec.default is REQUIRED and key not in obj:
            raise _Invalid(f"missing required key '{key}'")
    return {key: spec.check(key, obj.get(key, spec.default))
            for key, spec in schema.items()}


def _archive_keeps_remote_copy(m):
    if not m['retain_local'] and m['propagate_delete']:
        return ("'retain_local': false needs 'propagate_delete': false "
                "(the archive's own local delete would otherwise delete the "
                "remote copy)")


def _swift_has_endpoint(m):
    if m['protocol'] == 'swift' and m['aws_endpoint'] is None:
        return ("protocol 'swift' needs 'aws_endpoint' (the remote "
                "cluster's auth URL)")


def _s3_only_keys_unused(m):
    for key in S3_ONLY_KEYS:
        if m['protocol'] != 's3' and m[key] is not None:
            return f"'{key}' is only for protocol 's3'"


def _kms_key_has_kms(m):
    if m['sse_kms_key_id'] is not None and (
            m['server_side_encryption'] != 'aws:kms'):
        return ("'sse_kms_key_id' needs 'server_side_encryption': "
                "\"aws:kms\"")


def _acl_has_metadata(m):
    if m['sync_container_acl'] and not m['sync_container_metadata']:
        return ("'sync_container_acl': true needs "
                "'sync_container_metadata': true")


def _segment_size_has_convert_dlo(m):
    if m['min_segment_size'] > 0 and not m['convert_dlo']:
        return "'min_segment_size' above 0 needs 'convert_dlo': true"


def _per_account_s3_has_no_prefix(m):
    if (m['container'] == '/*' and m['protocol'] == 's3'
            and m['custom_prefix'] is not None):
        return ("'custom_prefix' cannot be used with container \"/*\" and "
                "protocol 's3' (every container would share one key space)")


def _credentials_given(m):
    """Both of aws_identity and aws_secret, or (s3 only) neither, left out
    or null: then boto3's default chain finds them, from ``aws_profile``
    when set."""
    identity, secret = m['aws_identity'], m['aws_secret']
    if (identity is None) != (secret is None):
        given, missing = (('aws_identity', 'aws_secret') if secret is None
                          else ('aws_secret', 'aws_identity'))
        return (f"'{given}' needs '{missing}' (an s3 remote may leave out "
                "both, for boto3's default credential chain)")
    if identity is None and m['protocol'] != 's3':
        return ("protocol 'swift' needs 'aws_identity' and 'aws_secret' "
                "(the default credential chain is for s3 only)")
    if m['aws_profile'] is not None and m['protocol'] != 's3':
        return "'aws_profile' is only for protocol 's3'"
    if m['aws_profile'] is not None and identity is not None:
        return ("'aws_profile' is for boto3's default credential chain: "
                "leave out 'aws_identity' and 'aws_secret' with it")
    if identity is None and m['aws_session_token'] is not None:
        return "'aws_session_token' needs 'aws_identity' and 'aws_secret'"


def _keystone_has_names(m):
    missing = [k for k in KEYSTONE_KEYS if m[k] is None]
    if m['auth_type'] == 'keystone_v3' and missing:
        names = ', '.join(f"'{k}'" for k in missing)
        return f"'auth_type': \"keystone_v3\" needs {names}"


MAPPING_RULES = (
    _archive_keeps_remote_copy,
    _swift_has_endpoint,
    _s3_only_keys_unused,
    _kms_key_has_kms,
    _acl_has_metadata,
    _segment_size_has_convert_dlo,
    _per_account_s3_has_no_prefix,
    _keystone_has_names,
    _credentials_given,
)


def _retry_delays_ordered(g):
    if g['retry_max_delay'] < g['retry_initial_delay']:
        return "'retry_max_delay' must be >= 'retry_initial_delay'"


GLOBAL_RULES = (_retry_delays_ordered,)


def _whole_source_keeps_names(m):
    if m['aws_bucket'] == '/*' and m['container'] is not None:
        return ("'container' must be null with 'aws_bucket': \"/*\" (every "
                "bucket keeps its name)")


def _local_container_name(m):
    if m['container'] is not None and (not m['container'] or
                                       '/' in m['container']):
        return ("'container' must be a container name without \"/\" or "
                "null, got %s" % _show(m['container']))


def _session_token_is_s3(m):
    if m['protocol'] != 's3' and m['aws_session_token'] is not None:
        return "'aws_session_token' is only for protocol 's3'"


MIGRATION_RULES = (
    _local_container_name,
    _whole_source_keeps_names,
    _swift_has_endpoint,
    _session_token_is_s3,
    _keystone_has_names,
    _credentials_given,
)


def _apply_rules(rules, values):
    for rule in rules:
        problem = rule(values)
        if problem:
            raise _Invalid(problem)


# -- the loaded objects ------------------------------------------------------

class _Settings:
    """Read-only attribute access to one section's checked values."""

    def __init__(self, values):
        object.__setattr__(self, '_values', values)

    def __getattr__(self, name):
        if name.startswith('_'):  # also stops recursion before __init__
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no attribute '{name}'") from None

    def __setattr__(self, name, value):
        raise AttributeError(f'{type(self).__name__} is read-only')

    def __delattr__(self, name):
        raise AttributeError(f'{type(self).__name__} is read-only')

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._values))


def _label(index, obj):
    """How messages name a mapping, with as much as is known about it."""
    label = f'containers[{index}]'
    if not isinstance(obj, dict):
        return label
    account, container = obj.get('account'), obj.get('container')
    if isinstance(account, str) and isinstance(container, str):
        shown = '*' if container == '/*' else container
        label += f' ({account}/{shown})'
    return label


def _sha256(data):
    return hashlib.sha256(
        json.dumps(data, sort_keys=True).encode('utf-8')).hexdigest()


def _host(url):
    return (urllib.parse.urlsplit(url).hostname or '') if url else ''


# Keys added after settings hashes were first stored: left out of the
# hash while unset, so a mapping that does not use them keeps its hash.
_HASHED_ONLY_WHEN_SET = ('aws_profile',)


def _unset_new_keys_left_out(values):
    return {key: value for key, value in values.items()
            if value is not None or key not in _HASHED_ONLY_WHEN_SET}


class Mapping(_Settings):
    """One checked entry of ``containers``; every mapping key is an
    attribute, plus ``index``, ``label``, ``per_account`` and
    ``exclude_regex``."""

    def __init__(self, index, values, label):
        super().__init__(values)
        object.__setattr__(self, 'index', index)
        object.__setattr__(self, 'label', label)
        pattern = values['exclude_pattern']
        object.__setattr__(self, 'exclude_regex',
                           re.compile(pattern) if pattern is not None
                           else None)
        # Asked for every container of every pass; the values never change.
        object.__setattr__(self, '_policy_hash', _sha256(self.policy()))
        object.__setattr__(self, '_signature',
                           _sha256(self.identity())[:16])
        object.__setattr__(self, '_settings_hash',
                           _sha256(_unset_new_keys_left_out(
                               self.redacted()))[:16])

    @property
    def per_account(self):
        return self.container == '/*'

    def policy(self):
        """The settings whose change means syncing restarts from row 0."""
        return {key: self._values[key] for key in POLICY_KEYS}

    def policy_hash(self):
        return self._policy_hash

    def identity(self):
        return tuple(self._values[key] for key in IDENTITY_KEYS)

    def signature(self):
        """Stable short id of this destination, for naming progress files."""
        return self._signature

    def settings_hash(self):
        """Changes with any setting of the mapping (secrets aside)."""
        return self._settings_hash

    def redacted(self):
        """All settings, with the values of secret keys masked."""
        return {key: MASK if _is_secret(key) and value is not None else value
                for key, value in self._values.items()}

    def is_aws(self):
        host = _host(self.aws_endpoint)
        return (self.aws_endpoint is None or host == 'amazonaws.com'
                or host.endswith('.amazonaws.com'))

    def is_google(self):
        return _host(self.aws_endpoint) == 'storage.googleapis.com'

    def sse(self):
        """The server-side encryption to request, or None."""
        if self.protocol != 's3':
            return None
        if self.server_side_encryption is not None:
            return self.server_side_encryption
        return 'AES256' if self.encryption and self.is_aws() else None

    def matches(self, headers):
        """Whether an object with these headers passes selection_criteria."""
        return selection.matches(self.selection_criteria, headers)

    def __repr__(self):
        return f'Mapping({self.label}, {self.redacted()!r})'


def _migration_label(index, obj):
    """How messages name a migration: its account and source bucket."""
    label = f'migrations[{index}]'
    if not isinstance(obj, dict):
        return label
    account, bucket = obj.get('account'), obj.get('aws_bucket')
    if isinstance(account, str) and isinstance(bucket, str):
        shown = '*' if bucket == '/*' else bucket
        label += f' ({account}/{shown})'
    return label


class Migration(_Settings):
    """One checked entry of ``migrations``; every migration key is an
    attribute, plus ``index``, ``label``, ``all_buckets`` and
    ``local_container`` (the container name with its default applied)."""

    def __init__(self, index, values, label):
        super().__init__(values)
        object.__setattr__(self, 'index', index)
        object.__setattr__(self, 'label', label)
        object.__setattr__(self, '_signature',
                           _sha256(self.identity())[:16])

    @property
    def all_buckets(self):
        return self.aws_bucket == '/*'

    @property
    def local_container(self):
        """The local container (None for "/*": each bucket's own name)."""
        if self.all_buckets:
            return None
        return self.container or self.aws_bucket

    def identity(self):
        """What makes two migrations the same: their source and
        destination (credentials may change without starting over)."""
        return (self.account, self.local_container, self.protocol,
                self.aws_endpoint, self.aws_bucket, self.prefix)

    def signature(self):
        """Stable short id, for naming progress files."""
        return self._signature

    def redacted(self):
        return {key: MASK if _is_secret(key) and value is not None else value
                for key, value in self._values.items()}

    def values(self):
        """A copy of the checked values (secrets included)."""
        return dict(self._values)

    def __repr__(self):
        return f'Migration({self.label}, {self.redacted()!r})'


class MigratorSettings(_Settings):
    """The checked ``migrator_settings``, defaults filled in."""

    def __repr__(self):
        return f'MigratorSettings({self._values!r})'


class Config(_Settings):
    """The whole checked file: every global key is an attribute, plus
    ``mappings`` (``containers`` is the same list) and ``source``.
    ``migrations`` lists Migration objects; ``migrator`` is always the
    MigratorSettings (defaults filled in), while ``migrator_settings``
    stays None when the file has none."""

    def __init__(self, source, values, mappings, migrations=(),
                 migrator=None):
        given = dict(values, containers=mappings)
        if 'migrations' in values:
            given['migrations'] = list(migrations)
        if values.get('migrator_settings') is not None:
            given['migrator_settings'] = migrator
        super().__init__(given)
        object.__setattr__(self, 'source', source)
        object.__setattr__(self, 'mappings', mappings)
        # Always present: the migrator's settings with defaults filled in.
        object.__setattr__(self, 'migrator', migrator or MigratorSettings(
            _defaults(MIGRATOR_SETTINGS_KEYS)))

    def mappings_for(self, account, container):
        """The mappings that copy this local container."""
        return [m for m in self.mappings
                if m.account == account
                and (m.per_account or m.container == container)]

    def __repr__(self):
        return f'Config({self.source!r}, {len(self.mappings)} mappings)'


# -- reading the file --------------------------------------------------------

class _JSONObject(dict):
    """A parsed JSON object that remembers keys given more than once (plain
    json keeps the last silently). Repeated comment keys are fine."""
    duplicate_keys = ()


def _json_object(pairs):
    obj = _JSONObject()
    duplicates = []
    for key, value in pairs:
        if key in obj and not key.startswith(COMMENT_PREFIX):
            duplicates.append(key)
        obj[key] = value
    obj.duplicate_keys = tuple(duplicates)
    return obj


def _parse_json(text, source):
    try:
        return json.loads(text, object_pairs_hook=_json_object)
    except json.JSONDecodeError as err:
        raise ConfigError(f'{source}: invalid JSON at line {err.lineno}, '
                          f'column {err.colno}: {err.msg}') from None


def _build_mapping(index, obj, source):
    label = _label(index, obj)
    try:
        if not isinstance(obj, dict):
            raise _Invalid(f'must be an object, got {_show(obj)}')
        values = _check_section(obj, MAPPING_KEYS, GLOBAL_KEYS,
                                'a global key; it belongs at the top level')
        _apply_rules(MAPPING_RULES, values)
    except _Invalid as problem:
        raise ConfigError(f'{source}: {label}: {problem}') from None
    return Mapping(index, values, label)


def _refuse_duplicates(mappings, source):
    seen = {}
    for mapping in mappings:
        first = seen.setdefault(mapping.identity(), mapping)
        if first is not mapping:
            raise ConfigError(
                f'{source}: {mapping.label} duplicates containers'
                f'[{first.index}]: same ' + ', '.join(IDENTITY_KEYS))


def _defaults(schema):
    return {key: spec.default for key, spec in schema.items()}


def _build_migration(index, obj, source):
    label = _migration_label(index, obj)
    try:
        if not isinstance(obj, dict):
            raise _Invalid(f'must be an object, got {_show(obj)}')
        values = _check_section(obj, MIGRATION_KEYS, GLOBAL_KEYS,
                                'a global key; it belongs at the top level')
        _apply_rules(MIGRATION_RULES, values)
    except _Invalid as problem:
        raise ConfigError(f'{source}: {label}: {problem}') from None
    return Migration(index, values, label)


def _refuse_duplicate_migrations(migrations, source):
    """Two sources into one local container would delete each other's
    objects (each sees the other's copies as deleted at its source)."""
    seen = {}
    for migration in migrations:
        key = (migration.account, migration.local_container)
        if migration.all_buckets:
            key = (migration.account, '/*', migration.aws_endpoint)
        first = seen.setdefault(key, migration)
        if first is not migration:
            raise ConfigError(
                f'{source}: {migration.label} copies into the same local '
                f'account and container as migrations[{first.index}]')


def _build_migrator_settings(obj, source):
    if obj is None:
        return None
    try:
        values = _check_section(obj, MIGRATOR_SETTINGS_KEYS, MIGRATION_KEYS,
                                "a migration key; it belongs in an object "
                                "of 'migrations'")
    except _Invalid as problem:
        raise ConfigError(f'{source}: migrator_settings: {problem}') \
            from None
    return MigratorSettings(values)


def _inside(path, directory):
    path = os.path.normpath(os.path.abspath(path))
    directory = os.path.normpath(os.path.abspath(directory))
    return path == directory or path.startswith(directory.rstrip(os.sep) +
                                                os.sep)


def _migrator_status_apart(status_dir, settings, source):
    """The sync daemon prunes what it does not know under its status_dir,
    so the migrator's progress must live elsewhere."""
    if _inside(settings.status_dir, status_dir):
        raise ConfigError(
            f"{source}: migrator_settings: 'status_dir' "
            f"{_show(settings.status_dir)} must not be the sync daemon's "
            f"'status_dir' or inside it (the sync daemon removes files it "
            f"does not know there)")


def parse_config(text, source='sync.json'):
    """Check the JSON text of a config; ``source`` names it in errors."""
    document = _parse_json(text, source)
    if not isinstance(document, dict):
        raise ConfigError(f'{source}: the top level must be a JSON object, '
                          f'got {_show(document)}')
    if 'migrations' in document and 'containers' not in document:
        # A migrator-only file needs no sync mappings.
        with_containers = _JSONObject(document, containers=[])
        with_containers.duplicate_keys = document.duplicate_keys
        document = with_containers
    try:
        values = _check_section(
            document, GLOBAL_KEYS, MAPPING_KEYS,
            "a mapping key; it belongs in an object of 'containers'")
        _apply_rules(GLOBAL_RULES, values)
    except _Invalid as problem:
        raise ConfigError(f'{source}: {problem}') from None
    mappings = [_build_mapping(index, obj, source)
                for index, obj in enumerate(values['containers'])]
    _refuse_duplicates(mappings, source)
    migrations = [_build_migration(index, obj, source)
                  for index, obj in enumerate(values['migrations'])]
    _refuse_duplicate_migrations(migrations, source)
    migrator = _build_migrator_settings(values['migrator_settings'], source)
    if migrations:
        _migrator_status_apart(
            values['status_dir'],
            migrator or MigratorSettings(_defaults(MIGRATOR_SETTINGS_KEYS)),
            source)
    return Config(source, values, mappings, migrations, migrator)


def load_config(path):
    """Read and check the config file at ``path``."""
    try:
        with open(path, encoding='utf-8-sig') as config_file:
            text = config_file.read()
    except OSError as err:
        raise ConfigError(f'{path}: cannot read: {err.strerror}') from None
    except UnicodeDecodeError as err:
        raise ConfigError(f'{path}: not UTF-8 text: {err.reason} at byte '
                          f'{err.start}') from None
    return parse_config(text, source=path)
