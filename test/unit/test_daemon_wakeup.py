"""A daemon sleeping between passes wakes at once on SIGHUP or SIGTERM."""
import logging
import os
import signal
import time
import types
import unittest

import eventlet

from swift_s3_sync import daemon


class TestSleepBetweenPasses(unittest.TestCase):

    def setUp(self):
        self.saved = {sig: signal.getsignal(sig) for sig in (
            signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
        self.daemon = types.SimpleNamespace(
            stopping=False, reload_requested=False,
            logger=logging.getLogger('test-wakeup'))
        daemon.install_signal_handlers(self.daemon, 'rows')

    def tearDown(self):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(-1)

    def sleep(self, interval):
        started = time.time()
        daemon.sleep_between_passes(self.daemon, started, interval)
        return time.time() - started

    def test_sighup_wakes_the_sleeper_at_once(self):
        eventlet.spawn_after(0.1, os.kill, os.getpid(), signal.SIGHUP)
        slept = self.sleep(30)
        self.assertTrue(self.daemon.reload_requested)
        self.assertFalse(self.daemon.stopping)
        self.assertLess(slept, 1)

    def test_a_signal_landing_in_a_native_thread_wakes_it_too(self):
        # The kernel may hand a process signal to any thread, e.g. one of
        # eventlet's pool; the main thread, asleep in the hub, must wake.
        threading = eventlet.patcher.original('threading')
        real_time = eventlet.patcher.original('time')

        def send_to_myself():
            real_time.sleep(0.1)
            signal.pthread_kill(threading.get_ident(), signal.SIGHUP)
        thread = threading.Thread(target=send_to_myself)
        thread.start()
        slept = self.sleep(30)
        thread.join()
        self.assertTrue(self.daemon.reload_requested)
        self.assertLess(slept, 1)

    def test_sigterm_wakes_the_sleeper_at_once(self):
        eventlet.spawn_after(0.1, os.kill, os.getpid(), signal.SIGTERM)
        slept = self.sleep(30)
        self.assertTrue(self.daemon.stopping)
        self.assertLess(slept, 1)

    def test_without_a_signal_it_sleeps_the_interval(self):
        slept = self.sleep(0.3)
        self.assertGreaterEqual(slept, 0.29)
        self.assertFalse(self.daemon.reload_requested)

    def test_a_signal_before_the_sleep_is_not_lost(self):
        os.kill(os.getpid(), signal.SIGHUP)
        self.assertLess(self.sleep(30), 2)   # reload_requested seen first
        self.daemon.reload_requested = False
        # The byte the handler wrote does not cut the next sleep short.
        self.assertGreaterEqual(self.sleep(0.3), 0.29)


if __name__ == '__main__':
    unittest.main()
