"""swift-s3-sync: keep Swift containers in step with S3 and other Swift
clusters (sync daemon), and serve the shared namespace back (cloud-shunt,
proxymc)."""
