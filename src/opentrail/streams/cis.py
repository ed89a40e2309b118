"""The CIS AWS Foundations Benchmark's monitoring controls (section 4.1-4.15; 3.x in v1.2): for each, the
metric filter on a trail's log group and the alarm on its metric that CIS prescribes.

The filter patterns are the exact strings AWS Security Hub checks (controls CloudWatch.1-14: a control
passes only with this very pattern; AWS Security Hub user guide, ``doc_source/cloudwatch-controls.md``,
code samples MIT-0), and for 4.15, which has no Security Hub control, the pattern of the CIS benchmark's
remediation as prowler mirrors it (Apache-2.0). The names (``<name>_metric`` in namespace
``CISBenchmark``, ``<name>_alarm``) and the alarm's settings (Sum over 300 s, >= 1, one period) are the
benchmark's remediation steps. ``opentrail alarms install-cis`` installs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CONTROLS", "NAMESPACE", "Control", "alarm_request", "filter_request"]

NAMESPACE = "CISBenchmark"
PERIOD = 300


@dataclass(frozen=True)
class Control:
    cis_id: str  # v1.4-v5.0 numbering (4.x)
    security_hub: str | None  # Security Hub's control id, or None (4.15 has none)
    title: str
    name: str  # the stem of the filter, metric and alarm names
    pattern: str

    @property
    def metric_name(self) -> str:
        return f"{self.name}_metric"

    @property
    def alarm_name(self) -> str:
        return f"{self.name}_alarm"


CONTROLS: tuple[Control, ...] = (
    Control(
        "4.1",
        "CloudWatch.2",
        "unauthorized API calls",
        "unauthorized_api_calls",
        '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
    ),
    Control(
        "4.2",
        "CloudWatch.3",
        "console sign-in without MFA",
        "no_mfa_console_signin",
        (
            '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
            '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
        ),
    ),
    Control(
        "4.3",
        "CloudWatch.1",
        "root account usage",
        "root_usage",
        (
            '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && '
            '$.eventType !="AwsServiceEvent"}'
        ),
    ),
    Control(
        "4.4",
        "CloudWatch.4",
        "IAM policy changes",
        "iam_changes",
        (
            "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || "
            "($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || "
            "($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
            "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || "
            "($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || "
            "($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
            "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || "
            "($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}"
        ),
    ),
    Control(
        "4.5",
        "CloudWatch.5",
        "CloudTrail configuration changes",
        "cloudtrail_cfg_changes",
        (
            "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || "
            "($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}"
        ),
    ),
    Control(
        "4.6",
        "CloudWatch.6",
        "console authentication failures",
        "console_signin_failure",
        '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
    ),
    Control(
        "4.7",
        "CloudWatch.7",
        "disabling or scheduled deletion of customer managed KMS keys",
        "disable_or_delete_cmk_changes",
        (
            "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || "
            "($.eventName=ScheduleKeyDeletion))}"
        ),
    ),
    Control(
        "4.8",
        "CloudWatch.8",
        "S3 bucket policy changes",
        "s3_bucket_policy_changes",
        (
            "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || "
            "($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || "
            "($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || "
            "($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || "
            "($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}"
        ),
    ),
    Control(
        "4.9",
        "CloudWatch.9",
        "AWS Config configuration changes",
        "aws_config_changes",
        (
            "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || "
            "($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || "
            "($.eventName=PutConfigurationRecorder))}"
        ),
    ),
    Control(
        "4.10",
        "CloudWatch.10",
        "security group changes",
        "security_group_changes",
        (
            "{($.eventName=AuthorizeSecurityGroupIngress) || "
            "($.eventName=AuthorizeSecurityGroupEgress) || "
            "($.eventName=RevokeSecurityGroupIngress) || "
            "($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || "
            "($.eventName=DeleteSecurityGroup)}"
        ),
    ),
    Control(
        "4.11",
        "CloudWatch.11",
        "NACL changes",
        "nacl_changes",
        (
            "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || "
            "($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || "
            "($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}"
        ),
    ),
    Control(
        "4.12",
        "CloudWatch.12",
        "network gateway changes",
        "network_gw_changes",
        (
            "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || "
            "($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || "
            "($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}"
        ),
    ),
    Control(
        "4.13",
        "CloudWatch.13",
        "route table changes",
        "route_table_changes",
        (
            "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || "
            "($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || "
            "($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || "
            "($.eventName=DisassociateRouteTable)}"
        ),
    ),
    Control(
        "4.14",
        "CloudWatch.14",
        "VPC changes",
        "vpc_changes",
        (
            "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || "
            "($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || "
            "($.eventName=CreateVpcPeeringConnection) || "
            "($.eventName=DeleteVpcPeeringConnection) || "
            "($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || "
            "($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || "
            "($.eventName=EnableVpcClassicLink)}"
        ),
    ),
    Control(
        "4.15",
        None,
        "AWS Organizations changes",
        "organizations_changes",
        (
            "{ ($.eventSource = organizations.amazonaws.com) && "
            '(($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || '
            '($.eventName = "CancelHandshake") || ($.eventName = "CreateAccount") || '
            '($.eventName = "CreateOrganization") || '
            '($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || '
            '($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || '
            '($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || '
            '($.eventName = "EnableAllFeatures") || ($.eventName = "EnablePolicyType") || '
            '($.eventName = "InviteAccountToOrganization") || '
            '($.eventName = "LeaveOrganization") || ($.eventName = "DetachPolicy") || '
            '($.eventName = "DisablePolicyType") || ($.eventName = "MoveAccount") || '
            '($.eventName = "RemoveAccountFromOrganization") || '
            '($.eventName = "UpdateOrganizationalUnit") || ($.eventName = "UpdatePolicy")) }'
        ),
    ),
)


def filter_request(control: Control, log_group: str) -> dict[str, Any]:
    """PutMetricFilter's parameters for ``control`` on ``log_group``."""
    return {
        "logGroupName": log_group,
        "filterName": control.metric_name,
        "filterPattern": control.pattern,
        "metricTransformations": [
            {"metricName": control.metric_name, "metricNamespace": NAMESPACE, "metricValue": "1"}
        ],
    }


def alarm_request(control: Control, topic_arn: str, period: int = PERIOD) -> dict[str, Any]:
    """PutMetricAlarm's parameters for ``control``, notifying ``topic_arn``."""
    title = control.title[0].upper() + control.title[1:]
    ident = f"CIS {control.cis_id}" + (
        f" / Security Hub {control.security_hub}" if control.security_hub else ""
    )
    return {
        "AlarmName": control.alarm_name,
        "AlarmDescription": f"{title} ({ident})",
        "MetricName": control.metric_name,
        "Namespace": NAMESPACE,
        "Statistic": "Sum",
        "Period": period,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic_arn],
    }
