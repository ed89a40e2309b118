"""The CIS monitoring controls ``install-cis`` installs: the exact patterns Security Hub checks (read back
from the corpus, which copied them from AWS's and prowler's sources independently of this module), the
benchmark's names, and the parameters of each metric filter and alarm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from opentrail.streams import cis

CORPUS = Path(__file__).parents[3] / ".." / "shared" / "corpus" / "cis-cloudwatch-metric-filters"


def corpus_filters() -> dict[str, dict[str, object]]:
    data = json.loads((CORPUS / "cis_cloudwatch_metric_filters.json").read_text())
    return {f["cis_v1_4_to_v5_id"]: f for f in data["filters"]}


def test_every_cis_monitoring_control_is_there_once() -> None:
    assert [c.cis_id for c in cis.CONTROLS] == [f"4.{n}" for n in range(1, 16)]
    assert len({c.name for c in cis.CONTROLS}) == 15


@pytest.mark.parametrize("control", cis.CONTROLS, ids=lambda c: c.cis_id)
def test_the_pattern_is_security_hubs_exact_string(control: cis.Control) -> None:
    source = corpus_filters()[control.cis_id]
    if source["securityhub_control"] is None:
        assert control.security_hub is None
        assert control.pattern in source["patterns_prowler_check_remediation"]  # type: ignore[operator]
    else:
        assert control.security_hub == source["securityhub_control"]
        assert control.pattern == source["pattern_securityhub"]


def model(service: str) -> ServiceModel:
    return ServiceModel(Loader().load_service_model(service, "service-2"), service)


@pytest.mark.parametrize("control", cis.CONTROLS, ids=lambda c: c.cis_id)
def test_the_requests_are_valid_for_botocore(control: cis.Control) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    validator = ParamValidator()
    put_filter = cis.filter_request(control, "CloudTrail/logs")
    put_alarm = cis.alarm_request(control, topic, 10)
    logs = model("logs").operation_model("PutMetricFilter").input_shape
    cloudwatch = model("cloudwatch").operation_model("PutMetricAlarm").input_shape
    assert not validator.validate(put_filter, logs).has_errors()
    assert not validator.validate(put_alarm, cloudwatch).has_errors()
    assert put_alarm["MetricName"] == put_filter["metricTransformations"][0]["metricName"]
    assert put_alarm["Namespace"] == "CISBenchmark"
    assert put_alarm["AlarmActions"] == [topic]
    assert put_alarm["Period"] == 10
    assert (put_alarm["Statistic"], put_alarm["Threshold"], put_alarm["ComparisonOperator"]) == (
        "Sum",
        1.0,
        "GreaterThanOrEqualToThreshold",
    )
