"""Creates each S3 bucket named by the s3:// URLs in argv unless it exists.

Run once against a fresh S3-compatible store (compose's s3-init); in clusters the buckets
are provisioned with the store. Credentials and endpoint come from the standard
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables and MLFLOW_S3_ENDPOINT_URL."""
import os
import sys
import time
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

buckets = [urlparse(arg) for arg in sys.argv[1:]]
if not buckets or any(u.scheme != "s3" or not u.netloc for u in buckets):
    sys.stderr.write("usage: ensure-bucket.py s3://bucket[/prefix] ...\n")
    sys.exit(2)
s3 = boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None)


def ensure(bucket: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            s3.head_bucket(Bucket=bucket)
            print(f"bucket {bucket} exists")
            return
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            s3.create_bucket(Bucket=bucket)
            print(f"bucket {bucket} created")
            return
        except EndpointConnectionError:
            # The store may still be starting.
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


for url in buckets:
    ensure(url.netloc)
