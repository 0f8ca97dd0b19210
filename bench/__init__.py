"""Benchmarks of swift-s3-sync against peers measured in the same run.

    .venv/bin/python -m bench [--only 1,2] [--objects N] [--duration S] ...

See bench/README.md.  Every figure is measured in the run that prints it,
on the local world (127.0.0.1 only), and is shown next to a peer or a limit
measured in the same run.
"""
