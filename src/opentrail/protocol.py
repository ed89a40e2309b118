"""The wire names both ends of OpenTrail's JSON 1.1 APIs share: the server routes by them, every client
(``client/remote.py``, the validator's ``validate/http.py``) sends them.

A core module that imports nothing: the quick start of ``validate-logs`` reads it for free.
"""

# ``X-Amz-Target`` is the prefix followed by the operation name (botocore's service models'
# ``targetPrefix`` and a dot).
CLOUDTRAIL_TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
ORGANIZATIONS_TARGET_PREFIX = "AWSOrganizationsV20161128."
JSON_11_CONTENT_TYPE = "application/x-amz-json-1.1"
JSON_10_CONTENT_TYPE = "application/x-amz-json-1.0"
LOGS_TARGET_PREFIX = "Logs_20140328."
CLOUDWATCH_TARGET_PREFIX = "GraniteServiceVersion20100801."
