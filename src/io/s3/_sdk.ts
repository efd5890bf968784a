/**
 * The one place Glacier names its AWS SDK dependencies, pinned. Only cloud mode loads this.
 *
 * @module
 */
export {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "npm:@aws-sdk/client-s3@3.1175.0";
export { Upload } from "npm:@aws-sdk/lib-storage@3.1175.0";
