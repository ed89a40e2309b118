"""CloudWatch's API (SigV4 service ``monitoring``): its three wire protocols, driven by botocore's
model (``model``, ``params``, ``results``, ``protocols``), the operations table (``operations``) and the
audited call (``service``)."""
