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

Providers cannot list backwards: a reverse page reads the remote's names
from the end_marker (or the prefix start) up to the marker and keeps the
last ``limit`` entries, so its cost grows with the number of remote names in
that range.

A name on both sides is listed once, with the local entry's fields.  Every
entry says where it lives in ``content_location``, a list: ``"swift"`` for
the local copy, the mapping's remote description for the remote copy, both
when both exist (local first).  Subdir entries have no ``content_location``.
Remote entries carry ``content_type`` ``application/octet-stream``: a
remote listing has no content types.
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

LOCAL = 'swift'
REMOTE_CONTENT_TYPE = 'application/octet-stream'
# Larger than any name below a subdir; the remote is re-listed after this
# marker when a subdir holds many names (see RemoteListing.RELIST_AFTER).
MAX_CHAR = '\U0010ffff'
UNLIMITED = 1 << 62

Params = collections.namedtuple(
    'Params', 'prefix delimiter path marker end_marker limit reverse')


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
             'content_type': REMOTE_CONTENT_TYPE,
             'last_modified': swift_time(obj.last_modified)}
    if location is not None:
        entry['content_location'] = [location]
    return entry


class RemoteListing(object):
    """Swift-style listing pages of one container's remote copy."""

    # After this many names inside one subdir, list again from past the
    # subdir rather than reading every name in it.
    RELIST_AFTER = 1000

    def __init__(self, provider, container, location):
        self.provider = provider
        self.container = container
        self.location = location

    def _names(self, prefix, marker, end_marker, limit):
        return iter(self.provider.list(
            self.container, prefix=prefix, marker=marker,
            end_marker=end_marker, limit=limit))

    def forward(self, prefix, delimiter, path, marker, end_marker,
                skip_dir, limit=UNLIMITED):
        """Entries in name order between the markers (both exclusive)."""
        if path is not None:
            prefix, delimiter = path, '/'
        names = self._names(prefix, marker, end_marker,
                            UNLIMITED if delimiter else limit)
        current, skipped = None, 0
        while True:
            for obj in names:
                name = obj.name
                if current is not None:
                    if name.startswith(current):
                        skipped += 1
                        if skipped >= self.RELIST_AFTER:
                            names = self._names(prefix, current + MAX_CHAR,
                                                end_marker, UNLIMITED)
                            skipped = 0
                            break
                        continue
                    current = None
                end = name.find(delimiter, len(prefix)) if delimiter else -1
                if path is not None:
                    if name == path:
                        continue
                    if end >= 0 and len(name) > end + len(delimiter):
                        current, skipped = name[:end + len(delimiter)], 0
                        continue
                elif end >= 0:
                    current, skipped = name[:end + len(delimiter)], 0
                    if current != skip_dir:
                        yield {'subdir': current}
                    continue
                yield remote_entry(obj, self.location)
            else:
                return

    def page(self, params):
        """At most ``params.limit`` entries, in the page's order."""
        if params.limit <= 0:
            return []
        if not params.reverse:
            entries = self.forward(params.prefix, params.delimiter,
                                   params.path, params.marker,
                                   params.end_marker, params.marker,
                                   params.limit)
            page = []
            for entry in entries:
                page.append(entry)
                if len(page) >= params.limit:
                    entries.close()
                    break
            return page
        last = collections.deque(maxlen=params.limit)
        last.extend(self.forward(params.prefix, params.delimiter,
                                 params.path, params.end_marker,
                                 params.marker, params.end_marker))
        return list(reversed(last))


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
    get theirs too; otherwise they are left exactly as Swift gave them)."""
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
