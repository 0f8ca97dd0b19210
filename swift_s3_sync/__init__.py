"""swift-s3-sync: keep Swift containers in step with S3 and other Swift
clusters (sync daemon), and serve the shared namespace back (cloud-shunt,
proxymc)."""

import warnings

# Swift itself runs on eventlet; its deprecation notice is noise for us.
warnings.filterwarnings('ignore', message='\\s*Eventlet is deprecated')
