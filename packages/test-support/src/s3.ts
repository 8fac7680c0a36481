import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/**
 * Creates the run's bucket on a fresh S3 server. It is the first signed request of the
 * run, so it also proves the credentials.
 */
export async function createBucket(s3: {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
}): Promise<void> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
  } finally {
    client.destroy();
  }
}
