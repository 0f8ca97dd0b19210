"""How the S3 provider's boto3 clients are made.

* Clients made with keys from the config share one boto3 session, so the
  S3 service model is read once per process (about 50 ms of CPU per
  client otherwise); a daemon reads it at start (``warm``).  Without keys
  a client gets a session of its own: boto3's default chain
  (environment, shared files with ``aws_profile``, instance or container
  role).
* Timestamps are parsed by ``fast_timestamp``: dateutil costs a tenth of
  a GET's CPU in botocore.
* Calls may carry headers boto3 does not model (``RAW_HEADERS``, e.g. an
  ``Expires`` value kept as it is): taken out before boto3 validates the
  parameters, put back on the request before it is signed.
* GCS refuses ``encoding-type=url`` on listings: not sent to it.
"""
import datetime
import threading
from email.utils import parsedate_to_datetime

import boto3
import botocore.config
import botocore.handlers
import botocore.session
import botocore.utils

RAW_HEADERS = 'SwiftS3SyncRawHeaders'   # private call parameter, see below


def _stash_raw_headers(params, context, **kwargs):
    # provide-client-params: take our headers out before boto validates.
    raw = params.pop(RAW_HEADERS, None)
    if raw:
        context[RAW_HEADERS] = raw


def _send_raw_headers(params, context, **kwargs):
    # before-call: params is the request dict about to be signed and sent.
    params['headers'].update(context.get(RAW_HEADERS, {}))


_SHARED_LOCK = threading.Lock()
_shared = {}   # 'core': a botocore session, 'session': boto3's over it


def fast_timestamp(value):
    """The timestamps S3 sends (ISO 8601 in listings, RFC 1123 in
    headers) parsed without dateutil, which costs a tenth of a GET's CPU
    in botocore; anything else goes to botocore's own parser."""
    if isinstance(value, str):
        try:
            if value.endswith(' GMT'):
                return parsedate_to_datetime(value)
            if value.endswith('Z') and 'T' in value:
                return datetime.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            pass
    return botocore.utils.parse_timestamp(value)


def _boto3_session(**options):
    """A boto3 session over a botocore session of its own, parsing
    timestamps with fast_timestamp."""
    core = botocore.session.get_session()
    core.get_component('response_parser_factory').set_parser_defaults(
        timestamp_parser=fast_timestamp)
    return core, boto3.session.Session(botocore_session=core, **options)


def _session_for_keys():
    """One boto3 session for every client made with keys from the config:
    the S3 service model is read once per process instead of once per
    client (about 50 ms of CPU each)."""
    with _SHARED_LOCK:
        if not _shared:
            _shared['core'], _shared['session'] = _boto3_session()
        return _shared['session']


def warm():
    """Read the S3 service model now (a daemon at start), not when the
    first client is made."""
    _session_for_keys()
    _shared['core'].get_service_model('s3')


def make_client(m, max_connections):
    """A boto3 S3 client for mapping (or migration) ``m``."""
    keys = {}
    if m.aws_identity is None:
        # No keys in the mapping: boto3's default chain (environment,
        # shared credentials/config files with aws_profile, instance or
        # container role), in a session of its own.
        _, session = _boto3_session(
            profile_name=getattr(m, 'aws_profile', None),
            region_name=m.aws_region or 'us-east-1')
    else:
        session = _session_for_keys()
        keys = {'aws_access_key_id': m.aws_identity,
                'aws_secret_access_key': m.aws_secret,
                'aws_session_token': m.aws_session_token}
    config = botocore.config.Config(
        signature_version='s3v4',
        s3={'addressing_style': 'auto' if m.is_aws() else 'path',
            'payload_signing_enabled': False},
        retries={'total_max_attempts': 2, 'mode': 'standard'},
        connect_timeout=10, read_timeout=60,
        max_pool_connections=max_connections,
        request_checksum_calculation='when_required',
        response_checksum_validation='when_required',
        user_agent_extra='swift-s3-sync')
    with _SHARED_LOCK:   # a session makes one client at a time
        client = session.client(
            's3', endpoint_url=m.aws_endpoint or None, config=config,
            region_name=m.aws_region or 'us-east-1', **keys)
    events = client.meta.events
    events.register('provide-client-params.s3', _stash_raw_headers)
    events.register('before-call.s3', _send_raw_headers)
    if m.is_google():
        # GCS rejects encoding-type=url.
        for op in ('ListObjects', 'ListObjectsV2', 'ListObjectVersions'):
            events.unregister(
                'before-parameter-build.s3.%s' % op,
                botocore.handlers.set_list_objects_encoding_type_url)
    return client
