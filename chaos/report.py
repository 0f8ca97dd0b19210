"""The figures of a run, the goals they are held to, and how they print.

Goals (all must hold for exit status 0): nothing lost, resurrected, stale
or unexpected; no multipart upload left open; no archived object deleted
locally without a verified remote copy; convergence within
``CONVERGE_GOAL`` seconds of the last fault; at most ``UPLOADS_GOAL``
uploads per object; every failing row seen in ``swift-s3-sync-status``
while it failed and none left once converged; no daemon crash; the audit
finds every replica consistent.
"""
import json

CONVERGE_GOAL = 60.0
UPLOADS_GOAL = 1.1


def goals(f):
    """[(goal, met)] for figures ``f``."""
    converge = f['converge_seconds']
    return [
        ('0 lost', f['lost'] == 0),
        ('0 resurrected', f['resurrected'] == 0),
        ('0 stale', f['stale'] == 0),
        ('0 unexpected remote objects', f['unexpected'] == 0),
        ('archives emptied locally', f['archive_left'] == 0),
        ('0 open multipart uploads', f['open_uploads'] == 0),
        ('0 unverified local deletes', f['unverified_deletes'] == 0),
        ('converged within %.0fs of the last fault' % CONVERGE_GOAL,
         converge is not None and converge <= CONVERGE_GOAL),
        ('<= %.1f uploads per object' % UPLOADS_GOAL,
         f['uploads_per_object'] <= UPLOADS_GOAL),
        ('every failing row seen in swift-s3-sync-status',
         f['failures_unseen'] == 0),
        ('swift-s3-sync-status clean at the end',
         not f['status_outstanding']),
        ('0 daemon crashes', f['crashes'] == 0),
        ('audit: every replica consistent', f['audit_consistent']),
    ]


def met(f):
    return all(ok for _, ok in goals(f))


def _kinds(counts):
    return ', '.join('%s %d' % kv for kv in sorted(counts.items())) or 'none'


def format_text(f):
    converge = f['converge_seconds']
    lines = [
        'chaos run: seed %d, %d operations (%s)' % (
            f['seed'], f['ops_total'], _kinds(f['ops'])),
        'faults injected: %s' % _kinds(f['faults']),
        'writing %.0fs, faults ended %.0fs after the start; wall %.0fs' % (
            f['write_seconds'], f['faults_seconds'], f['wall_seconds']),
        'converged %s after the last fault' % (
            '%.1fs' % converge if converge is not None else
            'NOT (timed out)'),
        'lost %(lost)d, resurrected %(resurrected)d, stale %(stale)d, '
        'unexpected %(unexpected)d, archive objects left locally '
        '%(archive_left)d' % f,
        'uploads per object %.3f (%d upload requests, %d of them passed on '
        'to the remote, %d stored, for %d distinct contents)' % (
            f['uploads_per_object'], f['upload_requests'],
            f['uploads_forwarded'], f['uploads_stored'],
            f['upload_contents']),
        'multipart uploads left open: %d' % f['open_uploads'],
        'archive: %d local deletes verified, %d unverified' % (
            f['archived_verified'], f['unverified_deletes']),
        'failing rows: %d logged, %d seen in swift-s3-sync-status, %d '
        'excused (daemon killed, status_dir unwritable or row superseded), '
        '%d never seen' % (
            f['failures_logged'], f['failures_seen'], f['failures_excused'],
            f['failures_unseen']),
        'status at the end: %s' % ('clean' if not f['status_outstanding']
                                   else '; '.join(
                                       f['status_outstanding'][:5])),
        'progress file problems reported by status: %d' %
        f['status_problems_seen'],
        'daemon crashes %d, tracebacks in daemon logs %d, writer names '
        'left uncertain %d' % (f['crashes'], len(f['tracebacks']),
                               f['uncertain']),
        'audit: %s (%d container replicas)' % (
            'consistent' if f['audit_consistent'] else '; '.join(
                f['audit_problems'][:5]) or 'not run', f['audit_replicas']),
    ]
    if f['samples']:
        lines.append('examples: %s' % json.dumps(f['samples'],
                                                 ensure_ascii=False)[:2000])
    if f['tracebacks']:
        lines.append('tracebacks: %s' % '; '.join(
            'node %d: %s' % item for item in f['tracebacks'][:5]))
    if f['repeated_uploads']:
        lines.append('uploaded more than once: %s' % '; '.join(
            f['repeated_uploads']))
    if f['unverified']:
        lines.append('unverified deletes: %s' % json.dumps(
            f['unverified'][:5], ensure_ascii=False))
    if f['unseen_examples']:
        lines.append('never seen in status: %s' % json.dumps(
            f['unseen_examples'][:5], ensure_ascii=False))
    lines.append('goals:')
    for goal, ok in goals(f):
        lines.append('  [%s] %s' % ('ok' if ok else 'FAILED', goal))
    lines.append('all goals met' if met(f) else 'GOALS NOT MET')
    return '\n'.join(lines) + '\n'
