"""CloudWatch metric alarms: their model and the operations on them (PutMetricAlarm, DescribeAlarms,
...), their evaluation against metric datapoints, the worker that evaluates them and the notifications
their transitions send to topics."""
