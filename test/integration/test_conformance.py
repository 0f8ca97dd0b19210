"""OpenStack Swift's own functional tests must not notice cloud-shunt.

Runs ``scripts/conformance --quick`` (through ``localworld.conformance``):
the DLO, container and symlink-listing tests of the installed Swift version
through three proxies of the world's source cluster, without cloud-shunt,
with it and no mapping, and with a ``"/*"`` ``merge_namespaces`` mapping of
the tests' accounts over an empty bucket.  Every test must have the same
outcome in the three runs, and none may fail without the shunt.  Anything
that keeps the runs from starting (the world, the download of the tests, a
proxy) is an error, never a skip.  About three minutes.
"""
import io
import unittest

from localworld import conformance
from test.integration.world import get_world


class TestSwiftFunctionalConformance(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        get_world()
        cls.out = io.StringIO()
        cls.summary = conformance.run(quick=True, out=cls.out)
        conformance.report(cls.summary['runs'], cls.summary['differences'],
                           cls.out)

    def explain(self):
        return '\n' + self.out.getvalue()

    def test_the_runs_ran_tests(self):
        self.assertEqual(list(self.summary['runs']),
                         list(conformance.QUICK_RUNS))
        for name, result in self.summary['runs'].items():
            self.assertGreater(result['counts']['passed'], 50, name)

    def test_nothing_fails_without_the_shunt(self):
        plain = self.summary['runs']['plain']['outcomes']
        failing = sorted(t for t, o in plain.items()
                         if o in ('failed', 'error'))
        self.assertEqual(failing, [], self.explain())

    def test_the_shunt_changes_no_outcome(self):
        for name in ('shunt', 'merged'):
            self.assertEqual(self.summary['differences'][name], [],
                             '%s differs from plain:%s' % (
                                 name, self.explain()))
        self.assertTrue(self.summary['identical'], self.explain())


if __name__ == '__main__':
    unittest.main()
