"""The source of a migration, read through the sync daemon's providers.

A provider is made for a *mapping*; the migrator hands it one built from
the migration: the same endpoint, credentials and bucket, the local
container as the mapping's container, and the object names as they are
(``custom_prefix`` ""), so ``list``, ``head`` and ``get`` see the source's
own names.  The migration's ``storage_policy`` is for the local containers
and is not passed on (a mapping's would be for remote ones).
"""
from swift_s3_sync.config import MAPPING_KEYS, REQUIRED, Mapping
from swift_s3_sync.providers import provider_for


def source_mapping(migration, bucket, container):
    """A Mapping that reads ``bucket`` of ``migration``'s source for the
    local ``container``."""
    values = {key: spec.default for key, spec in MAPPING_KEYS.items()
              if spec.default is not REQUIRED}
    values.update({key: value for key, value in migration.values().items()
                   if key in MAPPING_KEYS})
    values.update(container=container, aws_bucket=bucket, custom_prefix='',
                  storage_policy=None)
    return Mapping(migration.index, values, migration.label)


def source_provider(migration, bucket, container, logger=None,
                    max_connections=10):
    return provider_for(source_mapping(migration, bucket, container), logger,
                        max_connections=max_connections)
