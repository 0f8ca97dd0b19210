"""Standing still on the real local world: once every row is handled and
the DBs are quiet, a pass of the 4 daemons writes no progress file and
skips every container DB; a new object is still copied by the next pass."""
import os
import time

from swift_s3_sync.crawler.idle import QUIET_SECONDS
from test.integration.test_sync_daemon import SyncWorld, body_of, \
    object_name, put_many
from test.integration.world import swift_conn


class TestIdlePasses(SyncWorld):

    def status_files(self):
        found = {}
        for root, _, files in os.walk(self.tmp):
            if '/status-node' not in root + '/':
                continue
            for name in files:
                st = os.stat(os.path.join(root, name))
                found[os.path.join(root, name)] = (st.st_ino, st.st_mtime_ns)
        return found

    def last_pass_lines(self):
        """Each daemon's last "pass done" line."""
        lines = []
        for entry in sorted(os.listdir(self.tmp)):
            if entry.startswith('sync-node') and entry.endswith('.log'):
                with open(os.path.join(self.tmp, entry)) as f:
                    lines += [line for line in f if 'pass done' in line][-1:]
        return lines

    def unchanged(self, lines):
        return sum(int(line.split(' containers unchanged')[0]
                       .rsplit(' ', 1)[1]) for line in lines)

    def idle_pass(self, daemons, tries=4):
        """Passes until one skips every DB replica, checking that one:
        a DB written within QUIET_SECONDS of a look (a late container
        update on a busy machine, an updater pass of another test) is
        looked at again on the next pass."""
        for _ in range(tries):
            time.sleep(QUIET_SECONDS + 0.5)
            before = self.status_files()
            self.reset_counts()
            daemons.run_once()
            lines = self.last_pass_lines()
            if self.unchanged(lines) == 3:   # one per DB replica
                self.assertEqual(before, self.status_files())
                self.assertEqual(4, len(lines), lines)
                for line in lines:
                    self.assertIn(' 0 progress writes', line)
                # Even the rows other nodes verify after
                # verification_slack wait without a look at the DB.
                self.assertEqual({}, self.proxies['moto'].counts())
                return
        self.fail('DBs still looked at after %d passes' % tries)

    def test_idle_pass_writes_nothing_and_new_rows_still_go(self):
        put_many(swift_conn, self.container, range(5))
        daemons = self.make_daemons([self.mapping('moto')],
                                    verification_slack=60)
        daemons.run_once()
        self.assertTrue(self.status_files())
        self.idle_pass(daemons)

        put_many(swift_conn, self.container, [7])
        daemons.run_once()
        status, _, body = self.remote('moto').get(self.container,
                                                  object_name(7))
        self.assertEqual((200, body_of(7)), (status, b''.join(body)))
