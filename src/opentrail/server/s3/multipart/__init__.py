"""S3 multipart uploads (``aws s3 cp`` splits files above 8 MB): parts spooled to the data dir under a
per-account quota, completed into one object, listed, aborted, and expired when abandoned.

``records`` (what is kept of an upload and its parts), ``spool`` (where, on disk), ``completion`` (a
CompleteMultipartUpload's part list and S3's multipart ETag), ``listing`` (ListMultipartUploads and
ListParts), ``uploads`` (the HTTP side and the expiry loop).
"""

from opentrail.server.s3.multipart.uploads import MultipartUploads

__all__ = ["MultipartUploads"]
