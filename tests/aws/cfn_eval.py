"""Evaluate the CloudFormation intrinsics infra/template.yaml uses, with sample values for every
reference, so tests can compare the template's resolved documents with what the library builds."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from streamlab.provision import PipelineConfig

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"
CONFIG = PipelineConfig()  # the template's parameter defaults are the library's defaults
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{CONFIG.table_name}"
STREAM_ARN = f"{TABLE_ARN}/stream/2026-11-27T18:00:00.000"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{CONFIG.queue_name}"
PROCESSOR_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{CONFIG.processor_role_name}"
API_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{CONFIG.api_role_name}"

# What Ref / Fn::GetAtt / ${...} stand for in a stack deployed with the default parameters.
VALUES: dict[str, str] = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "Stack": CONFIG.stack,
    "Stage": CONFIG.stage,
    "CodeS3Bucket": "code-bucket",
    "CodeS3Key": "stream_processor.zip",
    "RequestTable": CONFIG.table_name,
    "RequestTable.Arn": TABLE_ARN,
    "RequestTable.StreamArn": STREAM_ARN,
    "OnFailureQueue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{CONFIG.queue_name}",
    "OnFailureQueue.Arn": QUEUE_ARN,
    "ApiRole.Arn": API_ROLE_ARN,
    "ProcessorRole.Arn": PROCESSOR_ROLE_ARN,
    "StreamProcessor": CONFIG.function_name,
    "RestApi": "a1b2c3d4e5",
    "RestApi.RootResourceId": "root0id",
    "ApiAccessLogGroup.Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/apigateway/{CONFIG.stack}-access:*",
}


def load_template(path: Path = TEMPLATE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def resolve(node: Any, values: dict[str, str] = VALUES) -> Any:
    """`node` with Fn::Sub, Ref and Fn::GetAtt replaced by sample values; unknown names raise KeyError."""
    if isinstance(node, list):
        return [resolve(n, values) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], node["Fn::Sub"])
    if set(node) == {"Ref"}:
        return values.get(node["Ref"], node["Ref"]) if node["Ref"] in values else _logical_ref(node["Ref"])
    if set(node) == {"Fn::GetAtt"}:
        return values[".".join(node["Fn::GetAtt"])]
    return {k: resolve(v, values) for k, v in node.items()}


def _logical_ref(name: str) -> str:
    # Refs between API Gateway pieces (models, validators, resources): keep the logical id.
    return f"ref:{name}"


def resources_of_type(template: dict, type_name: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}
