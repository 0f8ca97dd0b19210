"""The chaos suite: proof that the sync daemons lose nothing under the
faults production brings.

    scripts/chaos [--seed N] [--ops N] [--short] [--faults a,b | --no-KIND]

A seeded writer changes mapped containers on the local world while the
daemons (one per source node, long-running) are SIGKILLed, their remotes
answer 503s, reset and cut connections, stall and go away entirely, a source
node stops, and their status directories turn read-only or corrupted.  Then
the clock runs until every remote equals the source, and the figures are
printed against the goals (see docs/chaos.md).

Modules: ``settings`` (presets, flags), ``stage`` (containers, buckets,
daemons), ``writer`` and ``model`` (what the source should hold),
``fault_proxy``, ``faults``, ``node_stop``, ``status_faults`` (the faults),
``watch`` (archive deletes, status reports), ``check`` and ``audit_check``
(convergence), ``daemon_logs``, ``report`` and ``run`` (the whole run).
"""
