"""Checkers for single values of sync.json.

A checker is called as ``check(key, value)``: it returns the value to store
(sometimes normalized) or raises :class:`_Invalid` naming the key, never
echoing a secret.
"""
import ipaddress
import json
import math
import re
import urllib.parse

from swift_s3_sync import selection

SECRET_WORDS = ('secret', 'token', 'password')


class _Invalid(Exception):
    """One problem inside a global or mapping section; str() is the text
    that follows the section's location in the ConfigError."""


def _is_secret(key):
    return any(word in key.lower() for word in SECRET_WORDS)


def _show(value):
    """How an offending value is quoted: scalars only, so a secret nested in
    a wrongly placed object or list is never printed."""
    if isinstance(value, dict):
        return 'an object'
    if isinstance(value, list):
        return 'a list'
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + '...'


def _wrong(key, value, wanted):
    if _is_secret(key):
        return _Invalid(f"'{key}' must be {wanted}")
    return _Invalid(f"'{key}' must be {wanted}, got {_show(value)}")


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    # JSON allows NaN and Infinity, which no setting here can mean.
    return ((_is_integer(value) or isinstance(value, float))
            and math.isfinite(value))


def _same(value):
    return value


def _value_check(wanted, accepts, convert=_same, nullable=False):
    if nullable:
        wanted += ' or null'

    def check(key, value):
        if value is None and nullable:
            return None
        if not accepts(value):
            raise _wrong(key, value, wanted)
        return convert(value)
    return check


def _string(non_empty=False, nullable=False, convert=_same):
    return _value_check(
        'a non-empty string' if non_empty else 'a string',
        lambda v: isinstance(v, str) and bool(v or not non_empty),
        convert, nullable)


def _integer(low, high=None, nullable=False):
    if high is None:
        wanted = f'an integer >= {low}'
    else:
        wanted = f'an integer from {low} to {high}'
    return _value_check(
        wanted,
        lambda v: _is_integer(v) and v >= low and (high is None or v <= high),
        nullable=nullable)


def _number_above(low):
    return _value_check(f'a number > {low}',
                        lambda v: _is_number(v) and v > low)


def _number_from(low):
    return _value_check(f'a number >= {low}',
                        lambda v: _is_number(v) and v >= low)


def _boolean():
    return _value_check('true or false', lambda v: isinstance(v, bool))


def _one_of(*choices, nullable=False, any_case=False):
    wanted = 'one of ' + ', '.join(json.dumps(c) for c in choices)
    if any_case:
        return _value_check(
            wanted, lambda v: isinstance(v, str) and v.lower() in choices,
            str.lower, nullable)
    return _value_check(wanted, lambda v: v in choices, nullable=nullable)


def _is_ip_address(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _ip_address():
    return _value_check('an IP address',
                        lambda v: isinstance(v, str) and _is_ip_address(v))


def _is_http_url(value):
    if not isinstance(value, str):
        return False
    try:
        parts = urllib.parse.urlsplit(value)
        return parts.scheme in ('http', 'https') and bool(parts.hostname)
    except ValueError:  # e.g. a malformed port or IPv6 address
        return False


def _http_url(nullable=False):
    return _value_check('an http:// or https:// URL', _is_http_url,
                        nullable=nullable)


def _json_list(key, value):
    if not isinstance(value, list):
        raise _wrong(key, value, 'a list of mapping objects')
    return value


def _account(key, value):
    if not isinstance(value, str) or not value or '/' in value:
        raise _wrong(key, value, 'a non-empty string without "/"')
    return value


def _container(key, value):
    if not isinstance(value, str) or not value or (
            '/' in value and value != '/*'):
        raise _wrong(key, value,
                     'a container name without "/", or "/*" for every '
                     'container of the account')
    return value


def _regex(key, value):
    if value is None:
        return None
    if not isinstance(value, str):
        raise _wrong(key, value, 'a regular expression string or null')
    try:
        re.compile(value)
    except re.error as err:
        raise _Invalid(f"'{key}' {_show(value)} is not a valid regular "
                       f"expression: {err}")
    return value


def _selection_criteria(key, value):
    try:
        selection.validate(value, key)
    except selection.SelectionError as err:
        raise _Invalid(str(err))
    return value
