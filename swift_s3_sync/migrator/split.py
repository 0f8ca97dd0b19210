"""Which node copies which object, and when another node takes over.

Every node that runs the migrator and holds a replica of the *local*
container's DB (by the container ring, as for the sync daemon) lists the
whole source, but acts only on its share of the names:

* the **owner** of a name is replica ``owner(name, replicas)`` (the sync
  daemon's hash split, ``crawler.rows.owner``); the node holding that
  replica copies (or deletes) the name on its normal walk: its *rank* for
  the name is 0;
* the node holding the next replica in ring order has rank 1 for it, the
  one after rank 2, and so on.  A node of rank ``r`` is a **stand-in**: it
  walks the source again, behind its own normal walk, and acts on names
  of rank ``r`` only on a page its own walk finished at least
  ``r * takeover_slack`` seconds earlier.  By then a live owner (walking
  the same listing at about the same pace) has copied them, so the
  stand-in finds them EQUAL and sends nothing; if the owner is down, the
  stand-in copies them, and only one stand-in does in the normal case
  (rank 2 waits twice as long as rank 1).

A node holding several replicas of one container (a one-host test cluster)
takes the best rank among them, so one node alone does everything at once.
A node holding no replica of the container does nothing for it.

Where a walk is: ``{"sweep": n, "marker": name}``; sweep n+1 starts at ""
when sweep n reached the end of the source.  The normal walk records
checkpoints ``[time, sweep, end]`` (``end`` None = the sweep's end) after
each page; stand-ins use the newest checkpoint old enough for their rank.
Checkpoints closer than CHECKPOINT_SPACING to the previous one replace it
(a stand-in then waits a little longer, never less), and checkpoints no
stand-in can need any more are dropped, so the list stays short.
"""
from swift_s3_sync.crawler.rows import owner

# Checkpoints closer together than this (seconds) are merged.
CHECKPOINT_SPACING = 30


class Share(object):
    """This node's share of one local container: ``my_indexes`` are the
    replica indexes (in ring order) this node holds, of ``replicas``."""

    def __init__(self, my_indexes, replicas):
        self.my_indexes = sorted(set(my_indexes))
        self.replicas = replicas

    @property
    def participates(self):
        return bool(self.my_indexes)

    def rank(self, name):
        """0 when this node owns ``name``, r when it is its r-th stand-in
        (None when the node holds no replica)."""
        if not self.my_indexes:
            return None
        first = owner(name, self.replicas)
        return min((index - first) % self.replicas
                   for index in self.my_indexes)

    def stand_in_ranks(self):
        """The ranks above 0 this node has for some names."""
        if not self.my_indexes:
            return []
        ranks = {min((index - first) % self.replicas
                     for index in self.my_indexes)
                 for first in range(self.replicas)}
        return sorted(rank for rank in ranks if rank)


def share_from_ring(ring, account, container, is_mine):
    """The Share of a local container, from the container ring;
    ``is_mine(node)`` tells this node's devices (crawler.locate.Locator)."""
    _, nodes = ring.get_nodes(account, container)
    return Share([i for i, node in enumerate(nodes) if is_mine(node)],
                 len(nodes))


def _position(state, key):
    return state.setdefault(key, {'sweep': 0, 'marker': ''})


class Walks(object):
    """The normal walk and the stand-in walks of one container, kept in the
    container's progress ``state`` (a dict saved with it)."""

    def __init__(self, state, slack, max_rank):
        self.state = state
        self.slack = slack
        self.max_rank = max_rank
        state.setdefault('checkpoints', [])
        state.setdefault('standins', {})

    # -- the normal walk -----------------------------------------------------
    @property
    def walk(self):
        return _position(self.state, 'walk')

    def walked(self, end, now):
        """The normal walk finished the page ending at ``end`` (None: the
        source's end): move on, and record when."""
        walk = self.walk
        self._checkpoint(now, walk['sweep'], end)
        if end is None:
            walk['sweep'] += 1
            walk['marker'] = ''
        else:
            walk['marker'] = end
        self._forget_old_checkpoints(now)

    def _checkpoint(self, now, sweep, end):
        points = self.state['checkpoints']
        if len(points) >= 2 and now - points[-2][0] < CHECKPOINT_SPACING:
            points[-1] = [now, sweep, end]
        else:
            points.append([now, sweep, end])

    def _forget_old_checkpoints(self, now):
        """Keep the newest checkpoint every stand-in may use now, and the
        newer ones."""
        horizon = now - self.max_rank * self.slack
        points = self.state['checkpoints']
        while len(points) > 1 and points[1][0] <= horizon:
            points.pop(0)

    # -- stand-ins ---------------------------------------------------------
    def _target(self, rank, now):
        ready = [p for p in self.state['checkpoints']
                 if p[0] <= now - rank * self.slack]
        return ready[-1] if ready else None

    def stand_in(self, rank):
        return _position(self.state['standins'], str(rank))

    def stand_in_window(self, rank, now):
        """(marker, end) of the names the stand-in of ``rank`` may look at
        now (``end`` None = to the source's end), or None when it must
        wait."""
        target = self._target(rank, now)
        if target is None:
            return None
        _, sweep, end = target
        pos = self.stand_in(rank)
        if pos['sweep'] < sweep and not pos['marker']:
            pos['sweep'] = sweep   # nothing started: join the newest sweep
        if pos['sweep'] > sweep:
            return None
        if pos['sweep'] < sweep:
            return pos['marker'], None   # finish the older sweep first
        if end is not None and pos['marker'] >= end:
            return None
        return pos['marker'], end

    def stood_in(self, rank, end):
        """The stand-in finished the names up to ``end`` (None: the
        source's end)."""
        pos = self.stand_in(rank)
        if end is None:
            pos['sweep'] += 1
            pos['marker'] = ''
        else:
            pos['marker'] = end
