# The same install and launcher as on a Debian host, inside a container.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
        memcached radosgw ceph-mon ceph-osd rclone \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . /src
RUN scripts/install
# Device dirs need big xattrs; /dev/shm is tmpfs in a container too.
ENV SWIFT_S3_SYNC_WORLD=/dev/shm/swift-s3-sync-world
CMD ["scripts/demo"]
