"""Timeouts and retries: set once in Settings (AWS_*), carried by ClientTimeouts to the DynamoDB and KMS clients."""

from __future__ import annotations

from fastapi import FastAPI

from app.config import Settings
from app.db.client import ClientTimeouts, make_client
from app.db.kms import kms_client
from app.main import create_app
from tests.support.clock import FakeClock


def test_make_client_carries_the_configured_timeouts_and_retries() -> None:
    timeouts = ClientTimeouts(connect_seconds=0.5, read_seconds=1.5, max_attempts=2, retry_mode="adaptive")
    config = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9", timeouts=timeouts).meta.config

    assert (config.connect_timeout, config.read_timeout) == (0.5, 1.5)
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 2}


def test_the_app_client_uses_the_settings(settings: Settings) -> None:
    tuned = settings.model_copy(update={"aws_connect_timeout_seconds": 0.7, "aws_read_timeout_seconds": 1.3, "aws_max_attempts": 2})
    app: FastAPI = create_app(tuned, clock=FakeClock())
    config = app.state.resources.db.client.meta.config

    assert (config.connect_timeout, config.read_timeout, config.retries) == (0.7, 1.3, {"mode": "standard", "total_max_attempts": 2})


def test_defaults_are_the_same_in_settings_and_the_data_layer() -> None:
    defaults = {
        name: Settings.model_fields[name].default for name in Settings.model_fields if name.startswith("aws_") and name != "aws_region"
    }

    assert ClientTimeouts.of(type("Defaults", (), defaults)()) == ClientTimeouts()
    config = kms_client("eu-west-3").meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (1, 2, 3)
