"""The edge: the app factory, routing by SigV4 service, SigV4, self-audit and the S3 API subset."""
