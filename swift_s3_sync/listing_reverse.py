"""Reverse listing pages of a remote that can only list forwards.

A reverse page is the last ``limit`` entries below the marker.  Reading
every name from the end_marker up to the marker would cost one LIST per
1000 names; instead the search looks for a start point S close below the
marker, by bisection:

* a probe is one LIST of the names after S (up to 1000);
* if it reaches the upper limit (the marker at first), every name between
  S and the limit is known: their entries are kept, and the limit moves
  down to S for the next probe, until there are ``limit`` entries or S is
  the end_marker;
* if it does not, S was too early: every start before the probe's first
  name fails the same way, so the next start lies between that name and
  the limit.

Starts are picked halfway between two names read as fractions whose
digits are characters seen in names so far (see :func:`between`), so names
that share long prefixes, or use few characters, take few probes.  When a
probe finds nothing at all below the limit, the search is above the
names: the next starts skip past whole groups of names (shared prefixes)
until one sets the limit right above them.  A probe that ended short is not
wasted: once the limit has come down below its last name it holds every
name up to the limit, with no new LIST.  Probes ask for fewer names than
a full LIST when few entries are wanted (they cost one LIST either way).

When the allowance runs out, the entries found so far are the entries
nearest the marker (the first ones of the true page) and the page is cut
there.
"""
import bisect
import os.path

from swift_s3_sync import listing

MIN_PROBE = 250     # names: a probe is one LIST whatever it asks for
PROBE_SPARE = 4


def search(remote, params, budget):
    """(entries in page order, cut): the reverse page of ``params`` as far
    as ``budget`` goes; ``cut`` None when it is the whole page, else the
    RemotePage.complete_up_to of the entries."""
    prefix = listing.shape_of(params).prefix
    span = _span(prefix, params.end_marker, params.marker)
    if span is None:
        return [], None
    return _Search(remote, params, budget, prefix, *span).run()


def _span(prefix, end_marker, marker):
    """(floor, upper) of a reverse page: the start of its lowest LIST and
    the limit above its names; None when no name with the prefix lies
    between the markers."""
    if end_marker.startswith(prefix):
        floor = end_marker
    elif end_marker > prefix:
        return None
    else:
        floor = ''
    if not marker or not marker.startswith(prefix) and marker > prefix:
        upper = None
    elif marker.startswith(prefix):
        upper = listing.Bound(marker, False)
    else:
        return None
    return floor, upper


class _Search(object):

    def __init__(self, remote, params, budget, prefix, floor, upper):
        self.remote = remote
        self.params = params
        self.budget = budget
        self.prefix = prefix
        self.floor = floor
        self.upper = upper
        self.known = []         # entries of the names above upper
        self.short = []         # (start, objects) of probes that ended short
        self.chars = set(prefix + params.marker + params.end_marker)
        self.group_base = None  # see _group_start
        self.grouping = False

    def run(self):
        start = self.floor
        while self.budget.left():
            walk = self.remote.walk(self.params, start, self.upper)
            entries = [] if walk.done else walk.step(
                self.budget, limit=self._probe_size())
            self.chars.update(''.join(obj.name for obj in walk.read))
            grouped = start.endswith(listing.MAX_CHAR)
            if walk.done:
                # Nothing between start and the limit: maybe above the
                # last group of names; keep going past groups until one
                # ends it.
                self.grouping = not walk.read and not grouped
                if self._took(start, entries):
                    return self._page(), None
            else:
                self.short.append((start, walk.read))
                self.grouping = grouped
                if not grouped:
                    self.group_base = walk.read[0].name
            start = self._next_start()
        return self._page(), self._cut()

    def _probe_size(self):
        """Names per probe: enough for the entries still wanted with room
        to spare (a probe reaching the limit keeps what it read), fewer
        than a full LIST when few are wanted, since most probes only
        learn where names are."""
        if self.params.delimiter or self.params.path is not None:
            return listing.PAGE
        wanted = self.params.limit - len(self.known)
        return min(listing.PAGE, max(PROBE_SPARE * wanted, MIN_PROBE))

    def _took(self, start, entries):
        """Keeps the entries of every name between ``start`` and the upper
        limit; True when that completes the page."""
        if entries and self.known and \
                listing.entry_key(entries[-1]) == \
                listing.entry_key(self.known[0]):
            entries = entries[:-1]    # a subdir on both sides of the limit
        self.known = entries + self.known
        if start == self.floor or len(self.known) >= self.params.limit:
            return True
        self.upper = listing.Bound(start, True)
        self.short = [s for s in self.short if s[0] < start]
        if self.short and self.short[-1][1][-1].name >= start:
            # A probe that ended short holds every name up to the limit.
            start, objs = self.short.pop()
            walk = self.remote.walk(self.params, start, self.upper)
            return self._took(start, walk.replay(objs))
        return False

    def _next_start(self):
        """Halfway between the earliest start that may reach the upper
        limit and the limit: the floor itself until a probe ended short."""
        if not self.short:
            return self.floor
        low = self.short[-1][1][0].name
        chars = sorted(self.chars)
        start = self._group_start() if self.grouping else None
        if start is not None:
            return start
        if self.upper is None:
            start = self.prefix + between(low[len(self.prefix):], None,
                                          chars)
        else:
            start = between(low, self.upper.key, chars)
        return low if start is None else start

    def _group_start(self):
        """The start just past the group of names (the longest shared
        prefix) that holds both the first name of the last bisecting probe
        that ended short and the highest name seen, while that is below the
        upper limit.  Names sharing prefixes end in groups: such a start
        either sets the upper limit right above the names or skips the
        whole group, where bisecting by characters alone would test many
        that no name has there."""
        first, highest = self.short[-1][1][0].name, self.short[-1][1][-1].name
        group = os.path.commonprefix([self.group_base, highest])
        if len(group) <= len(self.prefix):
            self.group_base = first     # a new group: start from its top
            group = os.path.commonprefix([first, highest])
        start = group + listing.MAX_CHAR
        if len(group) > len(self.prefix) and self.short[-1][0] < start and (
                self.upper is None or start < self.upper.key):
            return start
        return None

    def _page(self):
        return self.known[::-1][:self.params.limit]

    def _cut(self):
        """The RemotePage.complete_up_to of the entries found: they hold
        every entry above the upper limit, and a subdir that straddles
        it."""
        if self.upper is None:
            return ''
        key = self.upper.key
        if self.known and 'subdir' in self.known[0] and \
                key.startswith(self.known[0]['subdir']):
            return self.known[0]['subdir']
        return key + '\x00'    # just above the limit


def between(low, high, chars):
    """A string strictly between ``low`` and ``high`` (None: no upper
    limit), halfway between them when strings are read as fractions whose
    digits are the ranks of their characters among ``chars``, so that only
    characters names use count; None when no string lies between them."""
    chars = sorted(set(chars).union(low, high or ''))
    digit = {char: rank + 1 for rank, char in enumerate(chars)}  # 0: end
    base = len(chars) + 1
    same = 0 if high is None else len(os.path.commonprefix([low, high]))
    longest = max(len(low), len(high or '')) - same + 2
    width = 4
    while True:
        x = _number(low[same:], width, digit, base)
        y = base ** width if high is None else \
            _number(high[same:], width, digit, base)
        found = low[:same] + _string((x + y) // 2, width, chars, base)
        if low < found and (high is None or found < high):
            return found
        if width >= longest:
            return _between_chars(low, high, chars)
        width = min(width * 2, longest)


def _number(string, width, digit, base):
    value = 0
    for i in range(width):
        value = value * base + (digit[string[i]] if i < len(string) else 0)
    return value


def _string(value, width, chars, base):
    digits = []
    for _ in range(width):
        value, rest = divmod(value, base)
        digits.append(rest)
    out = []
    for rest in reversed(digits):
        if not rest:
            break    # the string ends here
        out.append(chars[rest - 1])
    return ''.join(out)


def _between_chars(low, high, chars):
    """``between`` one character at a time: the middle known character
    between theirs where they first differ, or after low's."""
    i = 0
    while True:
        a = low[i] if i < len(low) else None
        if high is not None and i >= len(high):
            return None         # low is not below high
        b = None if high is None else high[i]
        if a is not None and a == b:
            i += 1
            continue
        middle = _middle(chars, a, b)
        if middle is not None:
            return low[:i] + middle
        if a is None:
            return _just_below(low, high[i], high[i + 1:])
        # No known character between low[i] and high[i]: go on after
        # low[i], where anything above the rest of low is below high.
        high = None
        i += 1


def _middle(chars, a, b):
    """The middle one of ``chars`` strictly between ``a`` and ``b`` (None:
    no limit), or None.  Without any known character, one halfway."""
    if not chars:
        chars = ['O']
    first = 0 if a is None else bisect.bisect_right(chars, a)
    end = len(chars) if b is None else bisect.bisect_left(chars, b)
    if first >= end:
        return None
    return chars[(first + end) // 2]


def _just_below(low, char, rest):
    """A string above ``low`` but below ``low + char + rest``."""
    if char > '\x00':
        return low + chr(ord(char) - 1)
    return low + char if rest else None
