"""One container listing out of two: the local Swift listing and the
listing of the container's remote copy (cloud-shunt's listing splice).

Swift lists a container in name order (code point order, which is also
UTF-8 byte order, which is also the order S3 lists keys in), optionally
collapsing names that share a prefix up to a delimiter into ``subdir``
entries.  Both sides are asked for the same page -- same ``prefix``,
``delimiter``/``path``, ``marker``, ``end_marker``, ``reverse`` and ``limit``
-- and the two sorted pages are merged, keeping the first ``limit``
distinct entries.  Each side contributes at most ``limit`` entries, which is
all the merged page can need from it, so a client that pages on with the
last entry as its next marker never loses or repeats an entry, however the
two sides' pages fall.

The remote side only lists flat names (``Provider.list``), so subdirs are
computed here exactly as Swift's container broker computes them (see
``swift.container.backend.ContainerBroker.list_objects_iter``):

* a name with the delimiter after the prefix becomes the subdir
  ``name[:end + len(delimiter)]``, listed once, *unless* it equals the
  marker (forwards) or the end_marker (in reverse) the client gave;
* ``path=P`` means prefix ``P/`` and delimiter ``/``, but deeper names are
  skipped instead of becoming subdirs, and the name ``P/`` itself is left
  out.

What one request may cost
-------------------------
The remote is read in LIST requests of at most 1000 names, and one listing
request makes at most ``max_lists`` of them (default 32) and reads at most
``max_scan`` names (default 10000), whoever asks and whatever they ask:

* forwards, names are read from the marker on; a subdir whose names run
  past the end of a LIST is skipped by listing again from past it, so a
  subdir costs at most one LIST however many names it holds;
* in reverse, the names just below the marker are found by bisection: a
  LIST from a start point between the end_marker and the marker tells
  whether that start is too early (a full LIST that does not reach the
  marker) or not, and the next start is picked halfway between, by
  characters (:mod:`swift_s3_sync.listing_reverse`).  A page costs a few
  LISTs per character of the names that tells the start apart, about
  ``log2`` of the names before the marker in all.

When the allowance runs out first, the page is cut short, never wrong:
the remote page says how far it is complete (``RemotePage.complete_up_to``)
and :func:`splice` leaves out local entries beyond that point, so the
merged page is the first entries of the true page and a client paging on
from its last entry misses and repeats nothing.  A subdir whose names run
past the cut is listed: the next page starts after it, skipping all of it.
If nothing at all could be listed within the allowance (say ``path=``
over many deeper names) :class:`ListingTooCostly` is raised instead of an
empty page, which a client would take for the end of the listing.

A name on both sides is listed once, with the local entry's fields.  Every
entry says where it lives in ``content_location``, a list: ``"swift"`` for
the local copy, the mapping's remote description for the remote copy, both
when both exist (local first).  Subdir entries have no ``content_location``.
Remote entries carry the content type the remote's listing gives (a Swift
remote's does); an S3 listing has none, so entries of an S3 remote say
``application/octet-stream`` (a HEAD per entry would make a listing cost a
request per object).
"""
import collections
import datetime
import json
from xml.etree.ElementTree import Element, SubElement

from swift.common.constraints import CONTAINER_LISTING_LIMIT
from swift.common.middleware.listing_formats import (
    account_to_xml,
    container_to_xml,
    listing_to_text,
    to_xml)
from swift.common.request_helpers import get_param
from swift.common.utils import config_true_value

from swift_s3_sync import listing_reverse

LOCAL = 'swift'
REMOTE_CONTENT_TYPE = 'application/octet-stream'
# Larger than any name below a subdir; listing again after this marker
# skips the rest of a subdir.
MAX_CHAR = '\U0010ffff'
PAGE = 1000          # names one LIST returns at most (S3's maximum)
MAX_SCAN = 10000     # remote names one request may read
MAX_LISTS = 32       # remote LIST requests one request may make

Params = collections.namedtuple(
    'Params', 'prefix delimiter path marker end_marker limit reverse')
# The listing's shape: ``path`` True for a path= listing (prefix ``P/``,
# delimiter ``/``, deeper names skipped).
Shape = collections.namedtuple('Shape', 'prefix delimiter path')
# An upper limit on names: below ``key``, or equal to it if ``inclusive``.
Bound = collections.namedtuple('Bound', 'key inclusive')


class ListingTooCostly(Exception):
    """Not one entry of the page could be found within the request's
    allowance of remote reads; an empty page would read as the end of the
    listing, so there is no page at all (callers answer 503)."""

    def __init__(self, what='listing'):
        super().__init__('%s: too many remote names to read for one page'
                         % what)


class RemotePage(list):
    """Entries of a remote listing page, in the page's order.

    ``complete_up_to`` is None when this is the whole page.  Otherwise the
    page was cut short by the request's allowance: it holds every remote
    entry whose key comes at or before ``complete_up_to`` in the page's
    order (``<=`` forwards, ``>=`` in reverse) and none after it.
    ``lists`` and ``names`` say what the page cost."""

    def __init__(self, entries=(), complete_up_to=None, lists=0, names=0):
        super().__init__(entries)
        self.complete_up_to = complete_up_to
        self.lists = lists
        self.names = names


def listing_params(req):
    """The listing parameters of a container GET (a swob Request whose
    parameters Swift has already accepted).  ``path`` is normalised to the
    prefix it stands for (``P/``, or '' for the top level)."""
    limit = get_param(req, 'limit')
    path = get_param(req, 'path')
    if path is not None:
        path = path.rstrip('/') + '/' if path else ''
    return Params(
        prefix=get_param(req, 'prefix') or '',
        delimiter=get_param(req, 'delimiter') or '',
        path=path,
        marker=get_param(req, 'marker') or '',
        end_marker=get_param(req, 'end_marker') or '',
        limit=int(limit) if limit and limit.isdigit() else
        CONTAINER_LISTING_LIMIT,
        reverse=config_true_value(get_param(req, 'reverse')))


def entry_key(entry):
    return entry['name'] if 'name' in entry else entry['subdir']


def swift_time(epoch):
    """A listing's ``last_modified``: UTC with microseconds, no zone."""
    moment = datetime.datetime.fromtimestamp(
        epoch or 0, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%f')


def remote_entry(obj, location):
    """A listing entry for a remote object; ``location`` None leaves out
    ``content_location`` (proxymc: everything it lists is remote)."""
    entry = {'name': obj.name, 'hash': obj.etag, 'bytes': obj.size,
             'content_type': obj.content_type or REMOTE_CONTENT_TYPE,
             'last_modified': swift_time(obj.last_modified)}
    if location is not None:
        entry['content_location'] = [location]
    return entry


def shape_of(params):
    if params.path is not None:
        return Shape(params.path, '/', True)
    return Shape(params.prefix, params.delimiter, False)


def dir_of(name, shape):
    """The subdir ``name`` falls in (for path=, the dir a deeper name is
    in), or None."""
    if not shape.delimiter or not name.startswith(shape.prefix):
        return None
    end = name.find(shape.delimiter, len(shape.prefix))
    if end < 0:
        return None
    return name[:end + len(shape.delimiter)]


def within(name, bound):
    return bound is None or name < bound.key or (
        bound.inclusive and name == bound.key)


class Budget(object):
    """What one request may still read from the remote.  Every call to
    ``read`` is one LIST: it never asks for more than ``PAGE`` names."""

    def __init__(self, names=MAX_SCAN, lists=MAX_LISTS):
        self.names_left = names
        self.lists_left = lists
        self.names = self.lists = 0

    def left(self):
        return self.names_left > 0 and self.lists_left > 0

    def chunk(self, want):
        return max(0, min(PAGE, self.names_left, want))

    def read(self, remote, prefix, marker, end_marker, limit):
        self.lists_left -= 1
        self.lists += 1
        names = iter(remote.provider.list(
            remote.container, prefix=prefix, marker=marker,
            end_marker=end_marker, limit=limit))
        try:
            for obj in names:
                self.names_left -= 1
                self.names += 1
                yield obj
        finally:
            close = getattr(names, 'close', None)
            if close is not None:
                close()


class Walk(object):
    """The remote's names after ``start`` (and within ``upper``) made into
    listing entries in name order, as Swift's broker makes them, one LIST
    per ``step``.  ``marker`` is how far it got: every entry whose key is
    at most ``marker`` has been made.  ``done`` once it reached ``upper``
    or the remote's last name."""

    def __init__(self, remote, shape, start, upper, skip_dir, end_marker):
        self.remote = remote
        self.shape = shape
        self.upper = upper
        self.skip_dir = skip_dir
        self.end_marker = end_marker
        self.marker = start
        self.current = None     # the dir whose names are being skipped
        self.read = []          # the objects the last step read, in range
        self.done = False
        if start and start == skip_dir and dir_of(start, shape) == start:
            # Every name after a subdir marker is in it: start past it.
            self.current = start
            self._skip_current()

    def _skip_current(self):
        self.marker = self.current + MAX_CHAR
        self.done = not within(self.marker, self.upper)

    def step(self, budget, want=None, limit=None):
        """Entries out of one more LIST of at most ``limit`` names (a
        LIST's worth), stopping at ``want`` entries."""
        limit = budget.chunk(PAGE if limit is None else limit)
        objs = budget.read(self.remote, self.shape.prefix, self.marker,
                           self.end_marker, limit)
        entries, count, self.read = [], 0, []
        try:
            for obj in objs:
                count += 1
                if not within(obj.name, self.upper):
                    self.done = True
                    return entries
                if self._take(obj, entries) and want is not None and \
                        len(entries) >= want:
                    return entries
        finally:
            objs.close()
        if count < limit:
            self.done = True
        elif self.current is not None:
            self._skip_current()   # rather than read the rest of a subdir
        return entries

    def replay(self, objs):
        """Entries out of names read before: all the names from the start
        on, up to ``upper`` at least."""
        entries = []
        for obj in objs:
            if not within(obj.name, self.upper):
                break
            self._take(obj, entries)
        self.done = True
        return entries

    def _take(self, obj, entries):
        """Adds ``obj``'s entry, if it makes one (True then)."""
        self.read.append(obj)
        self.marker = obj.name
        entry = self._entry(obj)
        if entry is not None:
            entries.append(entry)
        return entry is not None

    def _entry(self, obj):
        name, shape = obj.name, self.shape
        if self.current is not None:
            if name.startswith(self.current):
                return None
            self.current = None
        if shape.path and name == shape.prefix:
            return None
        folder = dir_of(name, shape)
        if folder is not None and not (shape.path and name == folder):
            self.current = folder
            if shape.path or folder == self.skip_dir:
                return None
            return {'subdir': folder}
        return remote_entry(obj, self.remote.location)


class RemoteListing(object):
    """Swift-style listing pages of one container's remote copy, each page
    within an allowance of ``max_scan`` names in ``max_lists`` LISTs."""

    def __init__(self, provider, container, location, max_scan=MAX_SCAN,
                 max_lists=MAX_LISTS):
        self.provider = provider
        self.container = container
        self.location = location
        self.max_scan = max_scan
        self.max_lists = max_lists

    def walk(self, params, start, upper):
        """A Walk over the page's names after ``start``."""
        shape = shape_of(params)
        if params.reverse:
            return Walk(self, shape, start, upper, params.end_marker,
                        params.marker)
        return Walk(self, shape, start, upper, params.marker,
                    params.end_marker)

    def page(self, params):
        """At most ``params.limit`` entries, in the page's order: a
        RemotePage, cut short if the allowance ran out first.  Raises
        ListingTooCostly rather than give an empty page cut short."""
        budget = Budget(self.max_scan, self.max_lists)
        if params.limit <= 0 or crossed(params):
            entries, cut = [], None
        elif params.reverse:
            entries, cut = listing_reverse.search(self, params, budget)
        else:
            entries, cut = self._forward(params, budget)
        if cut is not None and not entries:
            raise ListingTooCostly('listing %s' % self.container)
        return RemotePage(entries, cut, budget.lists, budget.names)

    def _forward(self, params, budget):
        upper = Bound(params.end_marker, False) if params.end_marker \
            else None
        walk = self.walk(params, params.marker, upper)
        entries = []
        while len(entries) < params.limit and not walk.done:
            if not budget.left():
                return entries, walk.marker
            want = params.limit - len(entries)
            entries.extend(walk.step(
                budget, want, PAGE if walk.shape.delimiter else want))
        return entries, None


def crossed(params):
    """True when the markers leave no name between them."""
    low, high = params.marker, params.end_marker
    if params.reverse:
        low, high = high, low
    return bool(low and high and low >= high)


def _located(entry, *locations):
    if 'subdir' in entry or not locations:
        return entry
    entry = dict(entry)
    entry['content_location'] = list(locations)
    return entry


def splice(local, remote, limit, reverse=False, located=True):
    """Merge two pages sorted the same way into the first ``limit``
    distinct entries.  ``local`` entries are Swift's; ``remote`` entries
    carry their ``content_location`` when ``located`` (then local entries
    get theirs too; otherwise they are left exactly as Swift gave them).

    A remote page cut short (``remote.complete_up_to``, see RemotePage)
    cuts the merged page at the same point: local entries past it are left
    for the next page, since the remote entries beside them are not known
    yet.  Raises ListingTooCostly if that leaves nothing."""
    cut = getattr(remote, 'complete_up_to', None)
    if cut is not None:
        local = [e for e in local if not past(entry_key(e), cut, reverse)]
    merged = _merge(local, remote, limit, reverse, located)
    if cut is not None and not merged:
        raise ListingTooCostly()
    return merged


def past(key, cut, reverse):
    """True when ``key`` comes after ``cut`` in the page's order."""
    return key < cut if reverse else key > cut


def _merge(local, remote, limit, reverse, located):
    here = (LOCAL,) if located else ()
    merged = []
    i = j = 0
    while len(merged) < limit and (i < len(local) or j < len(remote)):
        if j >= len(remote):
            merged.append(_located(local[i], *here))
            i += 1
            continue
        if i >= len(local):
            merged.append(remote[j])
            j += 1
            continue
        a, b = entry_key(local[i]), entry_key(remote[j])
        if a == b:
            merged.append(_located(
                local[i], *(here + tuple(remote[j].get('content_location',
                                                       ())))))
            i += 1
            j += 1
        elif (a < b) != reverse:
            merged.append(_located(local[i], *here))
            i += 1
        else:
            merged.append(remote[j])
            j += 1
    return merged


def render(listing, out_type, container=None, account=None):
    """(body bytes, content type) of a container listing (or, with
    ``account``, an account listing) in the type the client asked for
    (``None`` = JSON)."""
    if out_type is None or out_type == 'application/json':
        body = json.dumps(listing).encode('ascii')
        out_type = 'application/json'
    elif out_type.endswith('/xml'):
        if account is None:
            body = container_to_xml(listing, container)
        elif listing and 'count' not in listing[0]:
            body = _names_to_xml(listing, account)
        else:
            body = account_to_xml(listing, account)
    else:
        body = listing_to_text(listing)
    return body, out_type + '; charset=utf-8'


def _names_to_xml(listing, account):
    """An account listing whose entries have only names (no counts)."""
    root = Element('account', {'name': account})
    for record in listing:
        SubElement(SubElement(root, 'container'), 'name').text = \
            record['name']
    return to_xml(root)
