"""Does every remote hold what the writer left in the source?

For each mapping, the writer's model (every live name's latest version,
every deleted name) beside a listing of the remote, read directly (not
through the fault proxy) with the project's own provider, so keys and
metadata are read as the daemon writes them:

* lost: a live name the remote does not have;
* stale: the remote has other bytes (ETag) or other metadata or content
  type than the latest version (found by a HEAD per object);
* resurrected: a name deleted locally that a sync mapping's remote still
  has (archives keep their copies by design);
* unexpected: a remote name the writer never wrote;
* archive_left: objects of an archive container still local (an archive has
  converged when its container is empty and its remote holds everything).

``quick()`` uses listings only (ETags of plain objects); ``full()`` adds a
HEAD per live object, in a small thread pool.  ``open_uploads()`` lists the
multipart uploads left open in every bucket.
"""
import concurrent.futures
import json

from chaos.stage import s3_client
from swift_s3_sync.config import parse_config
from swift_s3_sync.providers import provider_for

KINDS = ('lost', 'stale', 'resurrected', 'unexpected', 'archive_left')


def direct_provider(stage, mapped):
    text = json.dumps({'status_dir': '/tmp',
                       'containers': [stage.mapping(mapped, direct=True)]})
    return provider_for(parse_config(text).mappings[0])


class Findings(object):

    def __init__(self):
        self.by_kind = {k: [] for k in KINDS}

    def add(self, kind, label, name, detail=''):
        self.by_kind[kind].append((label, name, detail))

    def counts(self):
        return {k: len(v) for k, v in self.by_kind.items()}

    @property
    def clean(self):
        return not any(self.by_kind.values())

    def sample(self, limit=5):
        return {k: v[:limit] for k, v in self.by_kind.items() if v}


class Checker(object):

    def __init__(self, stage, model, conn, uncertain=()):
        self.stage = stage
        self.model = model
        self.conn = conn
        self.uncertain = set(uncertain)
        self.providers = [(m, direct_provider(stage, m))
                          for m in stage.mapped]

    def close(self):
        for _, provider in self.providers:
            provider.close()

    def quick(self):
        return self._check(heads=False)

    def full(self):
        return self._check(heads=True)

    def _check(self, heads):
        findings = Findings()
        for mapped, provider in self.providers:
            label = '%s -> %s' % (mapped.container, mapped.bucket)
            self._one(mapped, provider, label, findings, heads)
        for container, kind in sorted(self.stage.containers.items()):
            if kind == 'archive':
                left = self.conn.get_container(container,
                                               full_listing=True)[1]
                for obj in left:
                    findings.add('archive_left', container, obj['name'])
        return findings

    def _one(self, mapped, provider, label, findings, heads):
        c = mapped.container
        live = {n: v for n, v in self.model.live(c).items()
                if (c, n) not in self.uncertain}
        deleted = self.model.deleted(c)
        remote = {o.name: o for o in provider.list(c, limit=10 ** 7)}
        for name, version in sorted(live.items()):
            listed = remote.get(name)
            if listed is None:
                findings.add('lost', label, name)
            elif not version.slo and listed.etag.lower() != version.etag:
                findings.add('stale', label, name, 'etag %s, expected %s' % (
                    listed.etag, version.etag))
        for name in sorted(set(remote) - set(live)):
            if name in deleted:
                if not mapped.archive:
                    findings.add('resurrected', label, name)
            elif (c, name) not in self.uncertain:
                findings.add('unexpected', label, name)
        if heads:
            present = [(n, v) for n, v in sorted(live.items())
                       if n in remote]
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                for name, problem in pool.map(
                        lambda nv: (nv[0], _head_problem(provider, c, *nv)),
                        present):
                    if problem:
                        findings.add('stale', label, name, problem)

    def open_uploads(self):
        """{bucket: [key, ...]} of multipart uploads still open."""
        found = {}
        for mapped in self.stage.mapped:
            s3 = s3_client(self.stage.world, mapped.target)
            uploads = s3.list_multipart_uploads(
                Bucket=mapped.bucket).get('Uploads', [])
            if uploads:
                found[mapped.bucket] = [u['Key'] for u in uploads]
        return found


def _head_problem(provider, container, name, version):
    try:
        remote = provider.head(container, name)
    except Exception as err:
        return 'HEAD failed: %s' % err
    if remote is None:
        return 'gone since the listing'
    if (remote.etag or '').lower() != version.etag:
        return 'etag %s, expected %s' % (remote.etag, version.etag)
    meta = {k: v for k, v in remote.headers.items()
            if k.startswith('x-object-meta-')}
    if meta != version.meta:
        return 'metadata %r, expected %r' % (meta, version.meta)
    ctype = remote.headers.get('content-type')
    if ctype != version.content_type:
        return 'content type %r, expected %r' % (ctype, version.content_type)
    return None
