"""Members of the wrong JSON type are SerializationExceptions, as in every JSON 1.1 service."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.trails import Tenant, expect_raw_error


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateTrail", {"Name": 5, "S3BucketName": "{bucket}"}),
        ("CreateTrail", {"Name": "typed", "S3BucketName": "{bucket}", "IsMultiRegionTrail": "yes"}),
        ("CreateTrail", {"Name": "typed", "S3BucketName": "{bucket}", "TagsList": "k=v"}),
        ("CreateTrail", {"Name": "typed", "S3BucketName": "{bucket}", "TagsList": [{"Key": 1}]}),
        ("UpdateTrail", {"Name": "typed", "KmsKeyId": ["alias/x"]}),
        ("DescribeTrails", {"trailNameList": "typed"}),
        ("DescribeTrails", {"trailNameList": [1]}),
        ("DescribeTrails", {"includeShadowTrails": "false"}),
        ("ListTrails", {"NextToken": 5}),
        ("GetTrailStatus", {"Name": {"a": 1}}),
        ("ListTags", {"ResourceIdList": [1]}),
        ("ListTags", {"ResourceIdList": "arn"}),
        (
            "PutInsightSelectors",
            {
                "TrailName": "typed",
                "InsightSelectors": [{"InsightType": "ApiCallRateInsight", "EventCategories": "Data"}],
            },
        ),
    ],
)
def test_wrong_json_types_are_serialization_errors(
    shared: Tenant, operation: str, params: dict[str, Any]
) -> None:
    shared.trail("typed")
    filled = {k: v.format(bucket=shared.bucket) if isinstance(v, str) else v for k, v in params.items()}
    expect_raw_error("SerializationException", shared, operation, filled)
    assert shared.client().describe_trails()["trailList"][0]["Name"] == "typed"
