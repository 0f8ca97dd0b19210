"""The second opinion on convergence: ``swift-s3-sync-audit``.

Once the writer's model and the remotes agree, the audit is run on every
source node with that node's config (its mappings pointed at the remotes
directly, see ``stage``), ``--json --metadata``: it compares each container
DB replica the node holds (tombstones included) with the remote listing and
HEADs every object present on both sides.  Every replica of every mapped
container must be reported consistent.
"""
import json
import subprocess
import sys

from localworld import procs


def run_audit(config_path, python=sys.executable, timeout=600):
    """The audit's JSON report for one node (or an 'error' entry)."""
    done = subprocess.run(
        [python, '-m', 'swift_s3_sync.audit', '--config', config_path,
         '--json', '--metadata', '--limit', '10'],
        cwd=procs.REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {'error': 'exit %d: %s' % (done.returncode,
                                          done.stderr.strip()[-500:])}


def audit_all(stage):
    """(consistent, problems, audited): every node's audit of every
    mapped container it holds a replica of."""
    problems, audited = [], 0
    for node in stage.daemons.nodes:
        report = run_audit(stage.audit_config(node))
        if 'error' in report:
            problems.append('node %d: audit failed: %s' % (node,
                                                           report['error']))
            continue
        for failed in report['failed']:
            problems.append('node %d %s: %s' % (node, failed['container'],
                                                failed['reason']))
        for c in report['containers']:
            audited += 1
            if not c['consistent']:
                problems.append('node %d %s (%s): %s %s' % (
                    node, c['container'], c['mapping'],
                    {k: v for k, v in c['differences'].items() if v},
                    [(o['kind'], o['name']) for o in c['objects'][:5]]))
    return not problems, problems, audited
