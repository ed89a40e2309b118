"""CloudWatch metrics: datapoints put by PutMetricData and by metric filters, and the statistics
read from them."""
