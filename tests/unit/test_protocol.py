"""The wire names of OpenTrail's JSON 1.1 APIs (``protocol.py``), against botocore's service models, which
are what every AWS SDK and the AWS CLI send: ``X-Amz-Target`` is the model's ``targetPrefix``, a dot and
the operation name; the content type is ``application/x-amz-json-`` and the model's ``jsonVersion``
(reference §1.1, §1.2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, JSON_11_CONTENT_TYPE, ORGANIZATIONS_TARGET_PREFIX

SESSION = botocore.session.get_session()
# Each prefix by the botocore service model it must agree with.
PREFIXES = {"cloudtrail": CLOUDTRAIL_TARGET_PREFIX, "organizations": ORGANIZATIONS_TARGET_PREFIX}


@pytest.mark.parametrize("service", sorted(PREFIXES))
def test_each_target_prefix_is_its_models_target_prefix_and_a_dot(service: str) -> None:
    model = SESSION.get_service_model(service)
    assert PREFIXES[service] == model.metadata["targetPrefix"] + "."


@pytest.mark.parametrize("service", sorted(PREFIXES))
def test_the_content_type_is_the_one_each_model_declares(service: str) -> None:
    model = SESSION.get_service_model(service)
    assert model.protocol == "json"
    assert f"application/x-amz-json-{model.metadata['jsonVersion']}" == JSON_11_CONTENT_TYPE


def test_botocore_sends_the_prefix_and_the_operation_name() -> None:
    """The headers a real botocore client puts on a CloudTrail call, caught before it leaves the process."""
    client = SESSION.create_client(
        "cloudtrail",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",  # noqa: S106 - a throwaway test value
    )
    sent: list[AWSPreparedRequest] = []

    def catch(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, {}, _EmptyBody())

    client.meta.events.register("before-send.cloudtrail.ListTrails", catch)
    client.list_trails()
    # botocore keeps some header values as bytes, others as text.
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in sent[0].headers.items()}
    assert headers["X-Amz-Target"] == CLOUDTRAIL_TARGET_PREFIX + "ListTrails"
    assert headers["Content-Type"] == JSON_11_CONTENT_TYPE


class _EmptyBody:
    """The raw body of the answer the hook gives in the server's place: ``{}``."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b"{}"
