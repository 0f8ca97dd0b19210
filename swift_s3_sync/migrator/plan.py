"""What to do with each name of one page: the merge of a source listing page
with the local listing of the same range of names.

A step of the migrator lists up to ``items_chunk`` names of the source after
its marker, then the local container over the same range, and walks both in
name order (no HEAD, no GET for names that need nothing):

=====================================  ======================================
source / local                         decision
=====================================  ======================================
only at the source                     COPY
both, local older than the source      COPY (the source changed since)
both, same timestamp                   EQUAL: nothing to do, nothing sent
both, local newer                      LOCAL_NEWER: never overwritten (a
                                       client wrote or POSTed it locally)
only local                             GONE: a delete *candidate*; the
                                       object is deleted only if it still
                                       carries the migrator's marker (see
                                       ``local``), so objects clients wrote
                                       locally, or changed since, stay
source younger than ``older_than``     TOO_YOUNG: left for a later pass; a
                                       local object of that name is kept
=====================================  ======================================

Timestamps: the source's is its listing ``last_modified`` (S3 listings
carry milliseconds, Swift listings 10 microseconds), which the copy takes as
its Swift X-Timestamp; the local one is the local listing's
``last_modified``, the newest of the object's data and metadata times.  So a
copied object compares EQUAL on the next pass, and a local POST or PUT makes
it LOCAL_NEWER.

The range: a page that came back full ends at its last source name, so
local names after it belong to the next page; the last page of the source
(shorter than asked) covers every local name after the marker, so local
objects past the source's last name are seen too.
"""
import collections

from swift.common.utils import Timestamp

COPY = 'copy'
EQUAL = 'equal'
LOCAL_NEWER = 'local_newer'
GONE = 'gone'
TOO_YOUNG = 'too_young'

Decision = collections.namedtuple('Decision', 'name action source local')
Decision.__doc__ = """``source``: the source listing entry (a RemoteObject) or
None; ``local``: the local listing entry (dict) or None."""


def source_timestamp(remote):
    """The Swift timestamp a copy of this source listing entry gets."""
    return Timestamp(remote.last_modified)


def local_timestamp(entry):
    """The newest change of a local listing entry."""
    return Timestamp.from_isoformat(entry['last_modified'])


def _decide_both(remote, entry):
    source_ts, local_ts = source_timestamp(remote), local_timestamp(entry)
    if local_ts < source_ts:
        return COPY
    if local_ts == source_ts:
        return EQUAL
    return LOCAL_NEWER


def _too_young(remote, now, older_than):
    return older_than and remote.last_modified > now - older_than


def merge(source_page, local_entries, now, older_than=0):
    """Decisions for every name of both sorted lists, in name order.

    ``source_page``: RemoteObjects (``name``, ``last_modified`` epoch);
    ``local_entries``: local listing dicts (``name``, ``last_modified``
    ISO), already limited to the page's range (see ``local_range``)."""
    decisions = []
    source, local = list(source_page), list(local_entries)
    i = j = 0
    while i < len(source) or j < len(local):
        remote = source[i] if i < len(source) else None
        entry = local[j] if j < len(local) else None
        if entry is None or (remote is not None and
                             remote.name < entry['name']):
            entry_for_name, i = None, i + 1
        elif remote is None or entry['name'] < remote.name:
            decisions.append(Decision(entry['name'], GONE, None, entry))
            j += 1
            continue
        else:
            entry_for_name, i, j = entry, i + 1, j + 1
        if _too_young(remote, now, older_than):
            action = TOO_YOUNG
        elif entry_for_name is None:
            action = COPY
        else:
            action = _decide_both(remote, entry_for_name)
        decisions.append(Decision(remote.name, action, remote,
                                  entry_for_name))
    return decisions


def page_end(source_page, limit):
    """The last name the page covers, or None when it is the source's last
    page (it covers everything after the marker)."""
    if len(source_page) < limit:
        return None
    return source_page[-1].name


def in_range(name, end):
    """Whether a local name belongs to the page ending at ``end``."""
    return end is None or name <= end
