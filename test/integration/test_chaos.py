"""The short chaos run (about two minutes): a seeded writer on sync and
archive mappings to moto and radosgw while daemons are SIGKILLed, the
remotes fail and go away, a source node stops and a status_dir turns
read-only and corrupted; every goal of docs/chaos.md must be met."""
import io
import unittest

from chaos import report
from chaos.run import ChaosRun
from chaos.settings import short_settings
from test.integration.world import get_world

SEED = 1


class TestShortChaosRun(unittest.TestCase):

    def test_goals_are_met(self):
        out = io.StringIO()
        figures = ChaosRun(short_settings(seed=SEED), world=get_world(),
                           out=out).run()
        text = report.format_text(figures)
        failed = [goal for goal, ok in report.goals(figures) if not ok]
        self.assertEqual([], failed, out.getvalue() + text)
        # The faults did happen: a run without them proves nothing.
        for kind in ('daemon-sigkill', 'outage', 'node-stop',
                     'status-dir-unwritable', 'proxy-503'):
            self.assertIn(kind, figures['faults'], text)
        self.assertGreater(figures['failures_logged'], 0, text)
