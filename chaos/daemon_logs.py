"""What the daemons' logs say: rows that failed, and tracebacks.

The daemon logs every row it records as a failure (``will retry C/N: ...``
or ``failed C/N: ...``).  :func:`logged_failures` returns them with the
node and time, so the run can check each was visible in
``swift-s3-sync-status``; :func:`tracebacks` counts unexpected exceptions.
"""
import datetime
import os
import re

LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ')


def _when(line):
    match = LINE.match(line)
    if not match:
        return None
    stamp = datetime.datetime.strptime(match.group(1), '%Y-%m-%d %H:%M:%S')
    return stamp.timestamp() + int(match.group(2)) / 1000.0


def log_path(work_dir, node):
    return os.path.join(work_dir, 'sync-node%d.log' % node)


def _lines(work_dir, node):
    try:
        with open(log_path(work_dir, node), encoding='utf-8',
                  errors='replace') as f:
            return f.readlines()
    except FileNotFoundError:
        return []


def logged_failures(work_dir, nodes, containers):
    """[(node, when, container, name, reason)] of failures recorded."""
    alternatives = '|'.join(re.escape(c) for c in sorted(containers))
    pattern = re.compile(r'(?:will retry|failed) (%s)/(.*?): (.*)$' %
                         alternatives)
    found = []
    for node in nodes:
        for line in _lines(work_dir, node):
            match = pattern.search(line)
            when = _when(line)
            if match and when is not None:
                found.append((node, when, match.group(1), match.group(2),
                              match.group(3).strip()))
    return found


def tracebacks(work_dir, nodes):
    """[(node, exception line)] of each traceback in the logs
    (logger.exception): the line that names the exception."""
    found = []
    for node in nodes:
        inside = False
        for line in _lines(work_dir, node):
            if line.startswith('Traceback'):
                inside = True
            elif inside and line and not line[0].isspace():
                found.append((node, line.strip()[:300]))
                inside = False
    return found
