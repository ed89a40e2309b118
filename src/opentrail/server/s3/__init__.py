"""The path-style S3 API subset over the bucket store."""
