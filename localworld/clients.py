"""Clients of the world's servers, for tests, tools and the chaos suite."""
import boto3
import botocore.config


def s3_client(settings, max_attempts=1):
    """boto3 for one of the world's S3 endpoints (``settings``: its
    world.json entry: endpoint, access_key, secret_key, region), path-style,
    SigV4."""
    return boto3.client(
        's3', endpoint_url=settings['endpoint'],
        aws_access_key_id=settings['access_key'],
        aws_secret_access_key=settings['secret_key'],
        region_name=settings['region'],
        config=botocore.config.Config(
            signature_version='s3v4', s3={'addressing_style': 'path'},
            retries={'max_attempts': max_attempts}))


def remove_bucket(s3, bucket):
    """Delete a bucket with its objects and open multipart uploads."""
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):
        for obj in page.get('Contents', []):
            s3.delete_object(Bucket=bucket, Key=obj['Key'])
    for upload in s3.list_multipart_uploads(Bucket=bucket).get(
            'Uploads', []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload['Key'],
                                  UploadId=upload['UploadId'])
    s3.delete_bucket(Bucket=bucket)
