"""Point in-process Swift code at a swift_dir other than /etc/swift.

Swift reads ``swift.conf`` (hash prefix/suffix, storage policies, constraints)
from ``/etc/swift`` at import time. Servers honour a ``swift_dir`` option, but
daemons and in-process code (rings, ``hash_path``, ContainerBroker users) need
this call before they touch any of it.
"""
from swift.common import constraints, storage_policy, utils


def use_swift_dir(swift_dir):
    utils.set_swift_dir(swift_dir)
    # set_swift_dir only re-reads the hash settings; policies and
    # constraints were loaded from the old swift.conf at import.
    storage_policy.reload_storage_policies()
    constraints.reload_constraints()
