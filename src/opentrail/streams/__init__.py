"""Real-time monitoring (CloudWatch Logs' role): log groups, filter patterns, metric filters and alarms."""
