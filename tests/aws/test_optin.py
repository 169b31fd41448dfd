"""The AWS target needs explicit opt-in; the local stack stays the default."""
from __future__ import annotations

import pytest

from streamlab.aws.optin import OPT_IN_ENV, aws_opted_in, connect_aws, require_aws_opt_in
from streamlab.errors import ConfigError


@pytest.mark.parametrize("value", ["yes", "YES", " true ", "1"])
def test_the_environment_variable_opts_in(value):
    assert aws_opted_in(environ={OPT_IN_ENV: value})
    require_aws_opt_in(environ={OPT_IN_ENV: value})


@pytest.mark.parametrize("env", [{}, {OPT_IN_ENV: ""}, {OPT_IN_ENV: "no"}, {OPT_IN_ENV: "y"}, {"STREAMLAB_TARGET": "aws"}])
def test_without_opt_in_the_aws_target_is_refused_with_what_to_do(env):
    with pytest.raises(ConfigError, match=f"{OPT_IN_ENV}=yes.*unset STREAMLAB_TARGET"):
        require_aws_opt_in(environ=env)


def test_an_explicit_argument_wins_over_the_environment():
    require_aws_opt_in(opt_in=True, environ={})
    with pytest.raises(ConfigError):
        require_aws_opt_in(opt_in=False, environ={OPT_IN_ENV: "yes"})


def test_connect_aws_checks_before_making_a_target(monkeypatch):
    monkeypatch.delenv(OPT_IN_ENV, raising=False)
    with pytest.raises(ConfigError):
        connect_aws("us-east-1")
    monkeypatch.setenv(OPT_IN_ENV, "yes")
    target = connect_aws("eu-west-1")
    assert (target.name, target.region, target.endpoint_url) == ("aws", "eu-west-1", None)


def test_streamlab_connect_refuses_aws_without_opt_in_and_never_starts_the_local_stack(monkeypatch, tmp_path):
    import streamlab
    from streamlab.localstack.state import StackPaths, read_state

    monkeypatch.delenv(OPT_IN_ENV, raising=False)
    monkeypatch.setenv("STREAMLAB_HOME", str(tmp_path))
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with pytest.raises(ConfigError, match=OPT_IN_ENV):
        streamlab.connect("aws")
    assert read_state(StackPaths(tmp_path)) is None
    assert streamlab.connect("aws", aws_opt_in=True).name == "aws"


def test_every_way_to_an_aws_target_needs_the_opt_in(monkeypatch):
    from streamlab.target import Target, aws_target

    monkeypatch.delenv(OPT_IN_ENV, raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with pytest.raises(ConfigError, match=OPT_IN_ENV):
        aws_target()
    with pytest.raises(ConfigError, match=OPT_IN_ENV):
        Target(name="aws", region="us-east-1").client("sts")  # built by hand: checked before any call
    assert aws_target(opt_in=True).opted_in
    assert aws_target(opt_in=True).client("sts").meta.region_name == "us-east-1"  # made, never called
