"""Request bodies at the edge: read only after the headers are checked, within a budget of bytes held in
memory across every request in flight (``budget``), large S3 bodies streamed to a spool file under the
data dir (``spool``), hashed and aws-chunked-decoded as they arrive (``reader``)."""
