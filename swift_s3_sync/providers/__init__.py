"""Remote stores: one Provider per mapping (see base.py for the contract)."""


def provider_for(mapping, logger=None, **options):
    """The provider for ``mapping.protocol``; ``options`` go to its
    constructor (both providers take ``max_connections``)."""
    protocol = getattr(mapping, 'protocol', 's3')
    if protocol == 's3':
        from swift_s3_sync.providers.s3 import S3Provider
        return S3Provider(mapping, logger, **options)
    if protocol == 'swift':
        from swift_s3_sync.providers.swift import SwiftProvider
        return SwiftProvider(mapping, logger, **options)
    raise ValueError('unknown protocol %r' % (protocol,))


def preload(once):
    """A long-running daemon imports every provider's module (boto3,
    swiftclient) and reads the S3 model at start, so that the first pass
    after a new mapping or migration appears does not wait for them; a
    single pass (``once``) loads only what it needs, when it needs it."""
    if once:
        return
    from swift_s3_sync.providers import s3, s3_client, swift  # noqa: F401
    s3_client.warm()
