"""The API executor: runs REST APIs defined through the API Gateway control plane (rows A1–A10
of docs/aws-semantics.md).

    service     front-door routes: invocations, and control-plane calls that make a definition stale
    invocation  one invocation as plain data (either front-door lane), and which paths name one
    ids         its requestId and extendedRequestId, from random bytes read a pool at a time
    loader      reads deployed definitions back from MiniStack; snapshot per deployment, stage TTL
    definition  the precompiled definition (route tree, templates, patterns, schema validators)
    bodyschema  request body models (JSON Schema draft 4) as checks made once, jsonschema for the rest
    routing     resource + method matching ({param}, {proxy+}, ANY)
    vtl         mapping templates on airspeed-ext: $input, $context, $stageVariables, $util
    vtlcompile  templates compiled to Python closures (airspeed parses; falls back to it for macros)
    vtlsource   the same templates generated as Python source, for renders from a plain dict
    vtlsandbox  what templates can reach: the documented surface, no Python internals
    vtlutil     $util with Java's behaviour (escapeJavaScript's \\' quirk, URLEncoder, Base64)
    jsonpath    the JSONPath subset of $input.json/$input.path
    apikeys     apiKeyRequired: x-api-key checked against MiniStack's keys and usage plans
    gateway     the gateway's own answers (403/404/400/413/415/429/500/504) and integration response choice
    throttling  stage and method throttling (UpdateStage's rate and burst limits) as token buckets
    dynamodb    the integration's call to MiniStack's DynamoDB
    backend_pool  keep-alive HTTP/1.1 connections for those calls (less CPU than a general client)
    metrics     AWS/ApiGateway metrics, aggregated per second, flushed in the background
    upstream    headers for our calls to MiniStack
"""
