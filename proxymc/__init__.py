"""proxymc: the Swift API over the remote store, meant to run in the cloud."""
