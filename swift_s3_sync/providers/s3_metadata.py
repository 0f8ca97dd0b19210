"""Translating Swift object headers to S3 and back (pure functions).

Key layout (compatible with buckets the original swift-s3-sync wrote):

* default: ``<prefix>/<account>/<container>/<object>`` where ``<prefix>`` is
  ``md5("<account>/<container>")`` taken modulo 16**6 and written in hex
  without zero padding (1 to 6 digits); it spreads containers over S3
  partitions and keeps the containers of a per-account mapping apart;
* ``custom_prefix`` P: ``P/<object>``, or just ``<object>`` when P is "".

Values on the wire (S3 user metadata and the content headers) must be
printable US-ASCII.  A value is sent as is when it is *safe*: printable
ASCII, no leading or trailing space, not starting with ``=?``.  Anything else
is sent as one RFC 2047 encoded word, ``=?UTF-8?B?<base64 of UTF-8>?=``.
Reading decodes a value only when the whole value is a run of encoded words
(B or Q, any charset Python knows), so every str round-trips exactly:
a value that literally starts with ``=?`` is itself encoded on the way out.

Swift ``x-object-meta-foo`` is S3 user metadata ``foo``.  Three metadata
keys belong to us and are never shown as user metadata (nor accepted from
one, see ``providers.base``):

* ``swift-s3-sync-timestamp``: the Swift timestamp (internal format) of the
  object the copy was made from;
* ``swift-s3-sync-etag``: the Swift ETag, written when S3's own ETag is not
  it (SSE-KMS, large objects);
* ``swift-s3-sync-large``: ``slo`` or ``dlo`` for a copy of a Swift large
  object; ``slo`` is shown as ``X-Static-Large-Object: True``.

With a ``custom_prefix`` the saved SLO manifests share the object key space
(``<prefix>/.manifests/<sha256>.swift_slo_manifest``), so object names that
start with ``.manifests/`` are refused for such mappings.
"""
import base64
import binascii
import codecs
import hashlib
import re

# The reserved keys are the contract's (providers.base), re-exported here.
from swift_s3_sync.providers.base import (  # noqa: F401
    ETAG_KEY, LARGE_KEY, RESERVED_KEYS, TIMESTAMP_KEY)

META_PREFIX = 'x-object-meta-'
MANIFESTS = '.manifests/'
S3_META_PREFIX = 'x-amz-meta-'

# Swift content header -> boto3 parameter.  Expires is left out on purpose:
# boto3 models it as a timestamp and would rewrite values such as "0"; the
# provider sends it as a raw header instead.
BOTO_CONTENT_PARAMS = {
    'content-type': 'ContentType',
    'content-encoding': 'ContentEncoding',
    'content-disposition': 'ContentDisposition',
    'content-language': 'ContentLanguage',
    'cache-control': 'CacheControl',
}

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_PUT_BYTES = 5 * 1024 ** 3
MAX_OBJECT_BYTES = 5 * 1024 ** 4

# What a Swift timestamp looks like in internal format; anything else in the
# timestamp metadata (a foreign writer) is ignored.
_TIMESTAMP = re.compile(r'^\d{1,10}(\.\d{1,5})?(_[0-9a-f]{16})?$')

# An HTTP token (RFC 7230), lower case: what S3 accepts as a metadata key.
_TOKEN = re.compile(r"^[-!#$%&'*+.^_`|~0-9a-z]+$")
_SWIFT_BYTES = re.compile(r'\s*;\s*swift_bytes=[^;]*', re.IGNORECASE)
_WORD = r'=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?='
_WORD_RE = re.compile(_WORD)
_WORDS_RE = re.compile(r'^%s(?:\s*%s)*$' % (_WORD, _WORD))
_Q_ESCAPE = re.compile(rb'=([0-9A-Fa-f]{2})')


# -- keys -----------------------------------------------------------------

def default_prefix(account, container):
    digest = hashlib.md5(
        ('%s/%s' % (account, container)).encode('utf-8')).hexdigest()
    return '%x' % (int(digest, 16) % 16 ** 6)


def key_prefix(account, container, custom_prefix=None):
    """Every key of ``container`` starts with this string."""
    if custom_prefix is None:
        return '%s/%s/%s/' % (default_prefix(account, container), account,
                              container)
    return custom_prefix + '/' if custom_prefix else ''


def in_manifest_space(name, custom_prefix=None):
    """True when an object ``name`` would share its key with saved SLO
    manifests (only possible with a custom prefix)."""
    return custom_prefix is not None and name.startswith(MANIFESTS)


def manifest_key(account, container, name, custom_prefix=None):
    """Where an SLO's manifest is kept beside it (the original's layout),
    outside the container's key space so listings do not show it."""
    digest = hashlib.sha256(name.encode('utf-8')).hexdigest()
    if custom_prefix is None:
        return '%s/%s%s/%s/%s.swift_slo_manifest' % (
            default_prefix(account, container), MANIFESTS, account,
            container, digest)
    return '%s%s%s.swift_slo_manifest' % (
        custom_prefix + '/' if custom_prefix else '', MANIFESTS, digest)


def valid_meta_key(key):
    return bool(_TOKEN.match(key))


# -- values ---------------------------------------------------------------

def is_safe(value):
    """True when ``value`` can be sent and read back as is."""
    return (all(' ' <= c <= '~' for c in value) and value == value.strip(' ')
            and not value.startswith('=?'))


def encode_value(value):
    if is_safe(value):
        return value
    raw = value.encode('utf-8', 'surrogateescape')
    return '=?UTF-8?B?%s?=' % base64.b64encode(raw).decode('ascii')


def _word_bytes(encoding, text):
    if encoding in 'Bb':
        return base64.b64decode(text + '=' * (-len(text) % 4), validate=True)
    raw = text.replace('_', ' ').encode('ascii')
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_value(value):
    """Reverse encode_value(); also reads the original's Q-encoded words.
    Anything that is not wholly encoded words is returned unchanged."""
    if not value.startswith('=?') or not _WORDS_RE.match(value):
        return value
    try:
        chunks = []   # [charset, bytes]: adjacent same-charset words join
        for charset, encoding, text in _WORD_RE.findall(value):
            charset = charset.split('*', 1)[0].lower()
            data = _word_bytes(encoding, text)
            if chunks and chunks[-1][0] == charset:
                chunks[-1][1] += data
            else:
                chunks.append([charset, data])
        return ''.join(
            data.decode(codecs.lookup(charset).name, 'surrogateescape')
            for charset, data in chunks)
    except (binascii.Error, LookupError, UnicodeError, ValueError):
        return value


# -- Swift headers -> S3 ----------------------------------------------------

def strip_swift_bytes(content_type):
    return _SWIFT_BYTES.sub('', content_type)


def user_metadata(headers):
    """{s3 key: value} (not yet encoded) from Swift headers."""
    return {k[len(META_PREFIX):].lower(): v for k, v in headers.items()
            if k.lower().startswith(META_PREFIX)}


def content_headers(headers):
    """{content header: value} (not yet encoded) from Swift headers; empty
    values count as absent, content-type loses ``swift_bytes``."""
    found = {}
    for name, value in headers.items():
        name = name.lower()
        if name == 'content-type':
            value = strip_swift_bytes(value)
        if name in BOTO_CONTENT_PARAMS or name == 'expires':
            if value:
                found[name] = value
    return found


def s3_metadata(headers, timestamp=None, etag=None, large=None):
    """The S3 user metadata dict to send, values encoded."""
    meta = {k: encode_value(v) for k, v in user_metadata(headers).items()}
    if timestamp is not None:
        meta[TIMESTAMP_KEY] = encode_value(timestamp)
    if etag is not None:
        meta[ETAG_KEY] = etag
    if large is not None:
        meta[LARGE_KEY] = large
    return meta


def metadata_size(meta):
    """Size by the AWS rule: UTF-8 bytes of every key and value."""
    return sum(len(k.encode('utf-8')) + len(v.encode('utf-8'))
               for k, v in meta.items())


def wire_headers(headers, timestamp=None, etag=None, large=None):
    """Swift headers as the HTTP headers S3 is sent (and will return)."""
    wire = {k: encode_value(v) for k, v in content_headers(headers).items()}
    for key, value in s3_metadata(headers, timestamp, etag, large).items():
        wire[S3_META_PREFIX + key] = value
    return wire


# -- S3 -> Swift headers ----------------------------------------------------

SSE_HEADERS = ('x-amz-server-side-encryption',
               'x-amz-server-side-encryption-customer-algorithm')


# In swift_headers()'s result when the ETag is the Swift one swift-s3-sync
# recorded: the ETag S3 itself has (and lists).
S3_ETAG = 'x-swift-s3-sync-s3-etag'


def etag_is_md5(headers):
    """Whether the ETag of swift_headers()'s result (a plain one, not a
    multipart one) is the MD5 of the bytes: a Swift ETag swift-s3-sync
    recorded is; S3's own is not with SSE-KMS nor SSE-C."""
    if S3_ETAG in headers:
        return True
    sse = (headers.get(SSE_HEADERS[0]) or '').lower()
    return not sse.startswith('aws:kms') and SSE_HEADERS[1] not in headers


def s3_etag(headers):
    """The ETag S3 has for the object of swift_headers()'s result, as its
    listings show it."""
    return headers.get(S3_ETAG) or headers.get('etag')


def swift_headers(http_headers):
    """(Swift-style headers, timestamp, recorded etag) from S3 response
    headers.  The ETag is unquoted; ``x-amz-storage-class`` is kept (the
    provider needs it for archive tiers) and so are the server-side
    encryption headers (SSE-KMS and SSE-C ETags are not the MD5 of the
    bytes); other x-amz-* are dropped."""
    headers = {}
    timestamp = etag = None
    for name, value in http_headers.items():
        name = name.lower()
        if name.startswith(S3_META_PREFIX):
            key = name[len(S3_META_PREFIX):]
            if key == TIMESTAMP_KEY:
                if _TIMESTAMP.match(value):
                    timestamp = value
            elif key == ETAG_KEY:
                etag = value
            elif key == LARGE_KEY:
                if value == 'slo':
                    headers['x-static-large-object'] = 'True'
            else:
                headers[META_PREFIX + key] = decode_value(value)
        elif name in BOTO_CONTENT_PARAMS or name == 'expires':
            if value:
                headers[name] = decode_value(value)
        elif name == 'etag':
            headers[name] = value.strip('"')
        elif name in ('content-length', 'content-range', 'last-modified',
                      'accept-ranges', 'x-amz-storage-class') or \
                name in SSE_HEADERS:
            headers[name] = value
    if etag is not None:
        if headers.get('etag'):
            headers[S3_ETAG] = headers['etag']
        headers['etag'] = etag
    return headers, timestamp, etag
