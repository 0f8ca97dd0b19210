"""swift-s3-migrator: bring objects of an S3 bucket or of a container of
another Swift cluster into this cluster, while clients keep using it.

Operators: run ``swift-s3-migrator --config sync.json`` on every container
node (docs/migrator.md says what it needs and what it does not do yet).

The rooms, each with one job:

* ``plan``: the page-by-page merge of a source listing with the local
  listing -> copy / nothing / keep the newer local object / delete
  candidate.  Pure functions.
* ``split``: which node acts on which name, and when a node stands in for
  one that seems to be down.  Pure functions on the progress state.
* ``copier``: one source object -> one local PUT with its bytes, ETag,
  content headers, metadata and the source's time as X-Timestamp; large
  objects go to ``large``.
* ``large``: S3 multipart objects, objects above the maximum object size,
  Swift SLOs and DLOs -> local SLOs/DLOs with the source's ETag, pieces
  fetched in parallel, no orphan segments.
* ``errors``: why an object was not copied.
* ``local``: the local side through InternalClient (listing, PUT, the
  marker that says "still the migrator's copy", guarded deletes).
* ``source``: the provider that reads the source (the sync daemon's).
* ``status``: progress files, one per migration and local container.
* ``runner``: one step of one migration into one container.
* ``daemon``: the command line, passes, signals, logging, statsd.
"""
