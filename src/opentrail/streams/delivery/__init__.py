"""A trail's events streamed to its CloudWatch Logs log group (CloudTrail's second delivery path): each
event the trail selects becomes one log event, within about a second, exactly once (``worker``), and
optionally forwarded to a real CloudWatch Logs endpoint (``remote``)."""
