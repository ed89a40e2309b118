"""The operations table (``server/operations.py``): every operation the port answers is one botocore's
service model defines, each JSON service is routed by its SigV4 signing name and X-Amz-Target prefix
exactly as the model declares them, and audited under its own event source."""

from __future__ import annotations

import botocore.session
import pytest

from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX as TARGET_PREFIX
from opentrail.protocol import ORGANIZATIONS_TARGET_PREFIX
from opentrail.server.operations import JSON_SERVICES, OPERATIONS
from opentrail.streams.logs.operations import TARGET_PREFIX as LOGS_TARGET_PREFIX

SESSION = botocore.session.get_session()
# The SigV4 service name each JSON service's clients sign with, and botocore's model of it.
MODELS = {"cloudtrail": "cloudtrail", "organizations": "organizations", "logs": "logs"}
# The X-Amz-Target prefix each service is routed by (tests/unit/test_protocol.py holds them to the models).
PREFIXES = {
    "cloudtrail": TARGET_PREFIX,
    "organizations": ORGANIZATIONS_TARGET_PREFIX,
    "logs": LOGS_TARGET_PREFIX,
}


def test_the_json_services_are_cloudtrail_organizations_and_logs() -> None:
    assert set(JSON_SERVICES) == set(MODELS)


@pytest.mark.parametrize("signing_name", sorted(MODELS))
def test_each_service_matches_its_model(signing_name: str) -> None:
    model = SESSION.get_service_model(MODELS[signing_name])
    service = JSON_SERVICES[signing_name]
    assert model.signing_name == signing_name
    assert model.protocol == "json"
    assert service.target_prefix == PREFIXES[signing_name]
    unknown = sorted(set(service.operations) - set(model.operation_names))
    assert unknown == []
    assert service.event_source == f"{model.endpoint_prefix}.amazonaws.com"


def test_cloudtrails_table_is_the_one_the_edge_routes() -> None:
    assert JSON_SERVICES["cloudtrail"].operations is OPERATIONS
    assert JSON_SERVICES["cloudtrail"].target_prefix == TARGET_PREFIX
    # The core set of reference §1.8: trails, selectors, history, keys, tags, channels.
    for name in (
        "CreateTrail",
        "PutEventSelectors",
        "LookupEvents",
        "ListPublicKeys",
        "AddTags",
        "CreateChannel",
    ):
        assert name in OPERATIONS


def test_a_global_service_is_audited_in_us_east_1() -> None:
    assert JSON_SERVICES["organizations"].audit_region == "us-east-1"
    assert JSON_SERVICES["cloudtrail"].audit_region is None  # the region the caller signed for
