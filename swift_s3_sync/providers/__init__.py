"""Remote stores: one Provider per mapping (see base.py for the contract)."""


def provider_for(mapping, logger=None, **options):
    """The provider for ``mapping.protocol``; ``options`` go to its
    constructor (S3Provider takes ``max_connections``)."""
    protocol = getattr(mapping, 'protocol', 's3')
    if protocol == 's3':
        from swift_s3_sync.providers.s3 import S3Provider
        return S3Provider(mapping, logger, **options)
    if protocol == 'swift':
        raise NotImplementedError("protocol 'swift' is not available yet")
    raise ValueError('unknown protocol %r' % (protocol,))
