"""The CloudWatch Logs API (JSON 1.1, ``X-Amz-Target: Logs_20140328.<Op>``, SigV4 service ``logs``):
log groups and streams, PutLogEvents, GetLogEvents, FilterLogEvents, retention, tags and metric
filters, over ``store.logs``. One module per concept; ``operations`` is the table the edge serves."""
