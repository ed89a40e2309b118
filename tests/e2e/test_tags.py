"""AddTags, RemoveTags and ListTags on trails and channels through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import Server
from tests.support.trails import Tenant, body, expect_error, expect_raw_error

TRAIL = "tagged"


@pytest.fixture(scope="module")
def module_tenant(server: Server) -> Tenant:
    return Tenant.create(server)


@pytest.fixture
def tenant(module_tenant: Tenant) -> Iterator[Tenant]:
    """The module's account with one fresh trail, emptied again after the test."""
    module_tenant.trail(TRAIL)
    yield module_tenant
    module_tenant.clear()


def tags_of(tenant: Tenant, arn: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    listed = tenant.client(region).list_tags(ResourceIdList=[arn])["ResourceTagList"]
    assert [entry["ResourceId"] for entry in listed] == [arn]
    tags: list[dict[str, Any]] = listed[0]["TagsList"]
    return tags


def test_add_overwrite_and_remove_tags(tenant: Tenant) -> None:
    client, arn = tenant.client(), tenant.arn(TRAIL)
    assert tags_of(tenant, arn) == []
    assert (
        body(client.add_tags(ResourceId=arn, TagsList=[{"Key": "team", "Value": "sec"}, {"Key": "flag"}]))
        == {}
    )
    assert tags_of(tenant, arn) == [{"Key": "team", "Value": "sec"}, {"Key": "flag"}]
    # A known key takes the new value in place; a new key goes last.
    client.add_tags(
        ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "ops"}]
    )
    assert tags_of(tenant, arn) == [
        {"Key": "team", "Value": "ops"},
        {"Key": "flag"},
        {"Key": "env", "Value": "prod"},
    ]
    assert body(client.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}, {"Key": "never-set"}])) == {}
    assert tags_of(tenant, arn) == [{"Key": "flag"}, {"Key": "env", "Value": "prod"}]
    # Tags survive configuration changes and are kept with the trail.
    client.update_trail(Name=TRAIL, S3KeyPrefix="p")
    assert tags_of(tenant, arn) == [{"Key": "flag"}, {"Key": "env", "Value": "prod"}]


def test_create_trail_tags_and_list_several_resources(tenant: Tenant) -> None:
    tenant.trail(
        "second", TagsList=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "Ünïcode + = . _ : / @ -"}]
    )
    first, second = tenant.arn(TRAIL), tenant.arn("second")
    listed = tenant.client().list_tags(ResourceIdList=[second, first, second])
    assert body(listed) == {
        "ResourceTagList": [
            {
                "ResourceId": second,
                "TagsList": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "Ünïcode + = . _ : / @ -"}],
            },
            {"ResourceId": first, "TagsList": []},
        ]
    }


def test_fifty_tags_per_resource(tenant: Tenant) -> None:
    client, arn = tenant.client(), tenant.arn(TRAIL)
    client.add_tags(ResourceId=arn, TagsList=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
    client.add_tags(ResourceId=arn, TagsList=[{"Key": "k00", "Value": "replaced"}])  # overwriting adds none
    message = expect_error(
        "TagsLimitExceededException", client.add_tags, ResourceId=arn, TagsList=[{"Key": "k50"}]
    )
    assert "50" in message
    assert len(tags_of(tenant, arn)) == 50


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        ([{"Key": "k" * 129}], "1-128"),
        ([{"Key": "k", "Value": "v" * 257}], "0-256"),
        ([{"Key": "same", "Value": "1"}, {"Key": "same", "Value": "2"}], "more than once"),
        ([{"Key": "aws:reserved"}], "reserved prefix"),
        ([{"Key": "semi;colon"}], "';'"),
        ([{"Key": "k", "Value": "tab\u0000"}], "contains"),
    ],
)
def test_invalid_tags(tenant: Tenant, tags: list[dict[str, str]], says: str) -> None:
    message = expect_error(
        "InvalidTagParameterException", tenant.client().add_tags, ResourceId=tenant.arn(TRAIL), TagsList=tags
    )
    assert says in message
    assert tags_of(tenant, tenant.arn(TRAIL)) == []


def test_empty_key_is_refused_by_the_server_too(tenant: Tenant) -> None:
    params = {"ResourceId": tenant.arn(TRAIL), "TagsList": [{"Key": ""}]}
    assert "1-128" in expect_raw_error("InvalidTagParameterException", tenant, "AddTags", params)


@pytest.mark.parametrize(
    ("resource", "code"),
    [
        ("tagged", "CloudTrailARNInvalidException"),
        ("arn:aws:cloudtrail:us-east-1:123:trail/tagged", "CloudTrailARNInvalidException"),
        ("arn:aws:s3:::bucket", "CloudTrailARNInvalidException"),
        ("arn:aws:cloudtrail:us-east-1:{account}:trail/bad--name", "CloudTrailARNInvalidException"),
        ("arn:aws:cloudtrail:us-east-1:{account}:channel/bad id", "ChannelARNInvalidException"),
        ("arn:aws:cloudtrail:us-east-1:{account}:eventdatastore/bad id", "EventDataStoreARNInvalidException"),
        ("arn:aws:cloudtrail:us-east-1:{account}:widget/x", "ResourceTypeNotSupportedException"),
        ("arn:aws:cloudtrail:us-east-1:{account}:trail/unknown", "ResourceNotFoundException"),
        ("arn:aws:cloudtrail:us-east-1:{account}:channel/0123456789", "ResourceNotFoundException"),
        ("arn:aws:cloudtrail:us-east-1:{account}:eventdatastore/EXAMPLE-f852", "ResourceNotFoundException"),
        ("arn:aws:cloudtrail:us-east-1:111122223333:trail/tagged", "ResourceNotFoundException"),
    ],
)
def test_resource_errors(tenant: Tenant, resource: str, code: str) -> None:
    client, arn = tenant.client(), resource.format(account=tenant.account_id)
    expect_error(code, client.add_tags, ResourceId=arn, TagsList=[{"Key": "k"}])
    expect_error(code, client.remove_tags, ResourceId=arn, TagsList=[{"Key": "k"}])
    expect_error(code, client.list_tags, ResourceIdList=[tenant.arn(TRAIL), arn])


def test_list_tags_limits(tenant: Tenant) -> None:
    client = tenant.client()
    message = expect_error(
        "InvalidParameterException", client.list_tags, ResourceIdList=[tenant.arn(TRAIL)] * 21
    )
    assert "20" in message
    assert len(client.list_tags(ResourceIdList=[tenant.arn(TRAIL)] * 20)["ResourceTagList"]) == 1
    expect_error("InvalidTokenException", client.list_tags, ResourceIdList=[tenant.arn(TRAIL)], NextToken="t")
    assert body(client.list_tags(ResourceIdList=[])) == {"ResourceTagList": []}


def test_multi_region_trail_is_tagged_from_its_home_region(tenant: Tenant) -> None:
    tenant.trail("roaming", IsMultiRegionTrail=True, TagsList=[{"Key": "k", "Value": "v"}])
    arn = tenant.arn("roaming")
    west = tenant.client("us-west-2")
    assert tags_of(tenant, arn, "us-west-2") == [{"Key": "k", "Value": "v"}]
    message = expect_error(
        "InvalidHomeRegionException", west.add_tags, ResourceId=arn, TagsList=[{"Key": "x"}]
    )
    assert "us-east-1" in message
    expect_error("InvalidHomeRegionException", west.remove_tags, ResourceId=arn, TagsList=[{"Key": "k"}])
    assert tags_of(tenant, arn) == [{"Key": "k", "Value": "v"}]


def test_channel_tags(tenant: Tenant) -> None:
    client = tenant.client()
    arn = client.create_channel(
        Name="tagged-channel",
        Source="Custom",
        Destinations=[{"Type": "EVENT_DATA_STORE", "Location": "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"}],
        Tags=[{"Key": "origin", "Value": "app"}],
    )["ChannelArn"]
    try:
        assert tags_of(tenant, arn) == [{"Key": "origin", "Value": "app"}]
        client.add_tags(ResourceId=arn, TagsList=[{"Key": "stage", "Value": "test"}])
        client.remove_tags(ResourceId=arn, TagsList=[{"Key": "origin"}])
        assert tags_of(tenant, arn) == [{"Key": "stage", "Value": "test"}]
        # Channels are regional: from another region the ARN names nothing.
        expect_error("ResourceNotFoundException", tenant.client("eu-west-1").list_tags, ResourceIdList=[arn])
    finally:
        client.delete_channel(Channel=arn)
    expect_error("ResourceNotFoundException", client.list_tags, ResourceIdList=[arn])
