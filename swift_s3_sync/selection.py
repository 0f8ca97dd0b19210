"""The ``selection_criteria`` grammar: which objects a mapping copies.

A mapping's ``selection_criteria`` is ``null`` or ``{}`` (copy everything) or
one *condition*. A condition is a JSON object with exactly one key:

``{"AND": [c1, c2, ...]}``
    true when every condition in the non-empty list is true.
``{"OR": [c1, c2, ...]}``
    true when at least one condition in the non-empty list is true.
``{"NOT": c}``
    true when condition ``c`` is false.
``{"<header name>": "<value>"}``
    true when the local object has that header (for example
    ``x-object-meta-colour`` or ``content-type``) with that value.

Header names are looked up case-insensitively and values are compared
case-insensitively (Unicode case folding, so "BÁR" matches "bár"). An object
without the header does not match. Only the exact words ``AND``, ``OR`` and
``NOT`` are operators; any other key is a header name.

Example: copy objects tagged ``x-object-meta-archive: yes`` unless they are
plain text::

    {"AND": [{"x-object-meta-archive": "yes"},
             {"NOT": {"content-type": "text/plain"}}]}

``validate`` runs when the configuration is loaded, so ``matches`` never meets
a malformed condition while rows are being processed.
"""
import unicodedata

LIST_OPERATORS = ('AND', 'OR')
OPERATORS = LIST_OPERATORS + ('NOT',)


class SelectionError(ValueError):
    """The criteria are malformed; the message names the place inside them."""


def validate(criteria, where='selection_criteria'):
    """Raise SelectionError unless ``criteria`` follows the grammar.

    ``where`` is the name the criteria are known by; messages extend it with
    the path to the problem, e.g. ``selection_criteria.AND[1]: ...``.
    """
    if criteria is None or criteria == {}:
        return
    if not isinstance(criteria, dict):
        raise SelectionError(
            f'{where}: must be an object or null, got {_kind(criteria)}')
    _validate_condition(criteria, where)


def matches(criteria, headers):
    """True when an object with these headers is selected by ``criteria``.

    ``headers`` maps header names (any case) to str values; bytes are read
    as UTF-8. ``criteria`` must have passed ``validate``.
    """
    if not criteria:
        return True
    folded = {name.lower(): _fold(value) for name, value in headers.items()}
    return _evaluate(criteria, folded)


def _validate_condition(condition, where):
    if not isinstance(condition, dict):
        raise SelectionError(
            f'{where}: must be an object, got {_kind(condition)}')
    if len(condition) != 1:
        raise SelectionError(
            f'{where}: must have exactly one key, got {len(condition)}')
    (key, operand), = condition.items()
    if key in LIST_OPERATORS:
        _validate_operand_list(operand, f'{where}.{key}')
    elif key == 'NOT':
        _validate_condition(operand, f'{where}.NOT')
    else:
        _validate_header_test(key, operand, where)


def _validate_operand_list(operands, where):
    if not isinstance(operands, list) or not operands:
        raise SelectionError(
            f'{where}: must be a non-empty list of conditions, '
            f'got {_kind(operands)}')
    for position, operand in enumerate(operands):
        _validate_condition(operand, f'{where}[{position}]')


def _validate_header_test(name, value, where):
    if not name:
        raise SelectionError(f'{where}: header name must not be empty')
    if isinstance(value, str):
        return
    hint = ''
    if name.upper() in OPERATORS:
        hint = ' (operators are spelled AND, OR, NOT in capitals)'
    raise SelectionError(
        f'{where}.{name}: header value must be a string, '
        f'got {_kind(value)}{hint}')


def _evaluate(condition, folded_headers):
    (key, operand), = condition.items()
    if key == 'AND':
        return all(_evaluate(c, folded_headers) for c in operand)
    if key == 'OR':
        return any(_evaluate(c, folded_headers) for c in operand)
    if key == 'NOT':
        return not _evaluate(operand, folded_headers)
    return folded_headers.get(key.lower()) == _fold(operand)


def _fold(value):
    """Caseless form of a header value, so equal text compares equal."""
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    # NFC after folding: a composed and a decomposed "á" are the same text.
    return unicodedata.normalize('NFC', str(value).casefold())


def _kind(value):
    """JSON type name of a value; values themselves are never echoed."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, list):
        return 'a list' if value else 'an empty list'
    if isinstance(value, dict):
        return 'an object'
    return type(value).__name__
