"""pytest plugin loaded into Swift's functional tests by the conformance runs.

    python -m pytest -p localworld.conformance_plugin ...

It does two things, each switched on by an environment variable:

``CONFORMANCE_RESULTS=PATH``
    At the end of the session, write ``{test id: outcome}`` to PATH as JSON.
    Outcomes are ``passed``, ``failed``, ``skipped``, ``error`` (setup,
    teardown or collection failed), ``xfailed`` and ``xpassed``.  A test
    with a failing subtest is ``failed``.

``CONFORMANCE_SEED=PATH``
    PATH is a JSON file ``{"proxy_port": N, "s3_account": "AUTH_x",
    "sync_conf": "/path/sync.json", "names": [...], "log": "/path"}``.
    Every time a client of the tests creates a container through the proxy
    on ``proxy_port`` (a Swift ``PUT /v1/<account>/<container>`` answered
    201, or an S3 ``PUT /<bucket>`` answered 200, which s3api maps to a
    container of ``s3_account``), remote-only objects named ``names`` are
    written for that container into the remote of the account's mapping in
    ``sync_conf``, with the project's own provider (the daemon's key
    layout).  The hook sits in ``http.client``, below every client the tests
    use (their own, swiftclient, boto and boto3), so containers made by
    raw requests are seeded too.  Each seeded container and any failure is
    appended to ``log`` as one JSON line.
"""
import hashlib
import http.client
import io
import json
import os
import threading
import urllib.parse

ORDER = {'skipped': 0, 'xfailed': 0, 'passed': 1, 'xpassed': 1,
         'failed': 3, 'error': 3}

_outcomes = {}


def _record(nodeid, outcome):
    # A failure or error sticks; otherwise the weightier outcome wins (a
    # passing test whose subtest was skipped has passed).
    previous = _outcomes.get(nodeid)
    if previous in ('failed', 'error'):
        return
    if previous is None or ORDER[outcome] >= ORDER[previous]:
        _outcomes[nodeid] = outcome


def pytest_runtest_logreport(report):
    xfail = hasattr(report, 'wasxfail')
    if report.when == 'call':
        if xfail:
            outcome = 'xfailed' if report.skipped else 'xpassed'
        else:
            outcome = report.outcome
        _record(report.nodeid, outcome)
    elif report.failed:
        _record(report.nodeid, 'error')
    elif report.skipped:
        _record(report.nodeid, 'xfailed' if xfail else 'skipped')


def pytest_collectreport(report):
    if report.failed:
        _record(report.nodeid or '<collection>', 'error')


def pytest_sessionfinish(session):
    path = os.environ.get('CONFORMANCE_RESULTS')
    if path:
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(_outcomes, f, indent=1, sort_keys=True)
        os.rename(tmp, path)


# -- seeding remote-only objects ---------------------------------------------

class Seeder(object):
    """Writes remote-only objects for containers as the tests create them."""

    def __init__(self, settings):
        from swift_s3_sync.config import load_config
        self.port = settings['proxy_port']
        self.s3_account = settings['s3_account']
        self.names = settings['names']
        self.log_path = settings['log']
        config = load_config(settings['sync_conf'])
        self.mappings = {m.account: m for m in config.mappings
                         if m.container == '/*'}
        self.providers = {}
        self.local = threading.local()

    def container_created(self, conn, method, url, status):
        """The (account, container) a finished request created, or None."""
        if method != 'PUT' or conn.port != self.port:
            return None
        split = urllib.parse.urlsplit(url)
        parts, query = split.path.split('/'), split.query
        if status == 201 and len(parts) == 4 and parts[1] == 'v1' \
                and parts[3]:
            return (urllib.parse.unquote(parts[2]),
                    urllib.parse.unquote(parts[3]))
        if status == 200 and not query and len(parts) == 2 and parts[1]:
            return self.s3_account, urllib.parse.unquote(parts[1])
        return None

    def provider(self, account):
        if account not in self.providers:
            from swift_s3_sync.providers import provider_for
            self.providers[account] = provider_for(self.mappings[account])
        return self.providers[account]

    def seed(self, account, container):
        if account not in self.mappings:
            return
        from swift.common.utils import Timestamp
        from swift_s3_sync.providers.base import LocalObject
        entry = {'account': account, 'container': container}
        try:
            provider = self.provider(account)
            for name in self.names:
                body = ('remote-only object %s\n' % name).encode('utf-8')
                provider.put(LocalObject(
                    container, name, {'content-type': 'text/plain'},
                    len(body), hashlib.md5(body).hexdigest(),
                    Timestamp.now().internal,
                    lambda body=body: io.BytesIO(body)))
            entry['seeded'] = len(self.names)
        except Exception as err:
            entry['error'] = '%s: %s' % (type(err).__name__, err)
        with open(self.log_path, 'a') as f:
            f.write(json.dumps(entry) + '\n')

    def after_response(self, conn, response):
        request = getattr(conn, '_conformance_request', None)
        if request is None or getattr(self.local, 'busy', False):
            return
        created = self.container_created(conn, request[0], request[1],
                                         response.status)
        if created:
            self.local.busy = True
            try:
                self.seed(*created)
            finally:
                self.local.busy = False

    def install(self):
        seeder = self
        connection = http.client.HTTPConnection
        original_putrequest = connection.putrequest
        original_getresponse = connection.getresponse

        def putrequest(conn, method, url, *args, **kwargs):
            conn._conformance_request = (method, url)
            return original_putrequest(conn, method, url, *args, **kwargs)

        def getresponse(conn, *args, **kwargs):
            response = original_getresponse(conn, *args, **kwargs)
            seeder.after_response(conn, response)
            return response

        connection.putrequest = putrequest
        connection.getresponse = getresponse


def pytest_configure(config):
    path = os.environ.get('CONFORMANCE_SEED')
    if path:
        with open(path) as f:
            Seeder(json.load(f)).install()
