"""One container's audit: walk, check, repair, count.

:class:`ContainerAudit` walks the name ranges this node holds beside the
remote listing (``audit_compare``), checks what the listing cannot settle in
batches of ``audit_compare.BATCH`` names at a time (concurrently through
``pool``), repairs each batch's differences right away when asked
(``audit_repair``), and keeps counts for every kind plus at most ``limit``
findings per kind for the report, so memory stays flat on big containers.
"""
from swift_s3_sync.audit_compare import (
    BATCH, CHECK, DIFFERENCES, POLICY, Checker, Finding, judge,
    remote_in_range, side_by_side)
from swift_s3_sync.audit_repair import Repairer
from swift_s3_sync.crawler.by_name import rows_by_name
from swift_s3_sync.providers.base import RemoteError


class _Serial(object):
    """A stand-in pool that runs each job in turn (tests, no eventlet)."""

    def imap(self, func, items):
        return map(func, items)


class ContainerAudit(object):

    def __init__(self, mapping, provider, local, account, container,
                 options, repair=False, pool=None, limit=100,
                 progress=None):
        self.mapping = mapping
        self.provider = provider
        self.account = account
        self.container = container
        self.options = options
        self.checker = Checker(mapping, provider, local, account, container,
                               options.max_heads)
        self.repairer = Repairer(mapping, provider, local, account,
                                 container) if repair else None
        self.pool = pool or _Serial()
        self.limit = limit
        self.progress = progress or (lambda rows: None)
        self.counts = dict.fromkeys(DIFFERENCES + POLICY, 0)
        self.findings = []
        self._shown = {}
        self.local_rows = 0
        self.remote_listed = 0
        self.repaired = 0
        self.remaining = 0
        self.error = None
        self.uncovered = []

    # -- the walk -----------------------------------------------------------
    def run(self, name_ranges, uncovered=()):
        """Audit the given NameRanges; ``uncovered`` (lower, upper) pairs
        are reported as not audited here."""
        self.uncovered = [list(bounds) for bounds in uncovered]
        try:
            for name_range in name_ranges:
                self._walk(name_range)
        except RemoteError as err:
            self.error = 'remote listing failed: %s' % err
        return self

    def _walk(self, name_range):
        now = self.options.now()
        batch, decided = [], []
        rows = self._counted_rows(name_range)
        listing = self._counted_listing(name_range)
        for name, row, listed in side_by_side(rows, listing):
            kind, reason = judge(self.mapping, self.options, row, listed,
                                 now)
            if kind == CHECK:
                batch.append((name, row, listed, reason))
            elif kind in DIFFERENCES:
                decided.append(Finding(name, kind, reason, row, listed))
            else:
                self.counts[kind] += 1
            if len(batch) + len(decided) >= BATCH:
                self._settle(batch, decided)
                batch, decided = [], []
        self._settle(batch, decided)

    def _counted_rows(self, name_range):
        for row in rows_by_name(name_range):
            self.local_rows += 1
            self.progress(1)
            yield row

    def _counted_listing(self, name_range):
        for listed in remote_in_range(self.provider, self.container,
                                      name_range):
            self.remote_listed += 1
            yield listed

    def _settle(self, batch, decided):
        """Check a batch concurrently, then repair its differences (and
        those the listings settled) concurrently."""
        found = list(self.pool.imap(
            lambda item: self.checker.check(*item), batch)) + decided
        if self.repairer is not None:
            broken = [f for f in found if f.kind in DIFFERENCES]
            list(self.pool.imap(self.repairer.repair, broken))
        for finding in found:
            self._record(finding)

    def _record(self, finding):
        self.counts[finding.kind] += 1
        if finding.kind not in DIFFERENCES:
            return
        if finding.repair is not None and finding.repair.fixed:
            self.repaired += 1
        else:
            self.remaining += 1
        if self._shown.get(finding.kind, 0) < self.limit:
            self._shown[finding.kind] = self._shown.get(finding.kind, 0) + 1
            self.findings.append(finding)

    # -- the result ---------------------------------------------------------
    @property
    def differences(self):
        return sum(self.counts[kind] for kind in DIFFERENCES)

    @property
    def consistent(self):
        """Nothing left to fix and everything audited."""
        return not self.remaining and not self.error and not self.uncovered

    def report(self):
        return {
            'mapping': self.mapping.label,
            'account': self.account,
            'container': self.container,
            'local_rows': self.local_rows,
            'remote_listed': self.remote_listed,
            'remote_heads': self.checker.remote_heads,
            'local_heads': self.checker.local_heads,
            'differences': {k: self.counts[k] for k in DIFFERENCES},
            'policy': {k: self.counts[k] for k in POLICY},
            'total_differences': self.differences,
            'repaired': self.repaired,
            'remaining': self.remaining,
            'error': self.error,
            'uncovered': self.uncovered,
            'consistent': self.consistent,
            'objects': [f.as_dict() for f in sorted(
                self.findings,
                key=lambda f: (DIFFERENCES.index(f.kind), f.name))],
        }
