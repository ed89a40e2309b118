"""Real-time monitoring (CloudWatch's role): log groups fed by trails and other producers, filter
patterns, metric filters turning log events into metrics, and alarms on those metrics."""
