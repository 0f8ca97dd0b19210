"""Eventlet for the daemons (sync daemon, migrator).

They run every row, part and request in green threads, as Swift does, so
sockets, locks and sleeps are patched before anything else uses them.
Name lookups do not use eventlet's own resolver (greendns, which imports
most of dnspython: a fifth of a daemon's start-up): the system resolver
runs in eventlet's thread pool instead, so a slow DNS server still holds
no green thread but the one that asked.
"""
import os
import sys


def green():
    """Patch once; done when a daemon runs, not at import, so importing
    our modules has no side effects."""
    # Read by eventlet when it is first imported; a process that imported
    # it already (a test runner, say) keeps greendns, which is as good.
    os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')
    import eventlet
    import eventlet.patcher
    if eventlet.patcher.is_monkey_patched('socket'):
        return
    eventlet.monkey_patch()
    if 'eventlet.support.greendns' not in sys.modules:
        _resolve_in_threads()


def _resolve_in_threads():
    import socket

    import eventlet.patcher
    from eventlet import tpool
    blocking = eventlet.patcher.original('socket').getaddrinfo

    def getaddrinfo(*args, **kwargs):
        return tpool.execute(blocking, *args, **kwargs)
    socket.getaddrinfo = getaddrinfo
