"""An S3-compatible server the suite starts itself: moto's server mode on a free local port,
once per test process, with a fresh bucket for each test that asks."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chicago_risk.storage.object_store import ObjectStoreConfig

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "chicago-risk-test", "AWS_SECRET_ACCESS_KEY": "chicago-risk-test-secret", "AWS_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    @property
    def env(self) -> dict[str, str]:
        """The variables a process needs to reach the server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS}

    def object_store(self) -> ObjectStoreConfig:
        return ObjectStoreConfig(
            endpoint_url=self.endpoint, region=CREDENTIALS["AWS_REGION"],
            access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=CREDENTIALS["AWS_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def new_bucket(self) -> str:
        bucket = f"chicago-risk-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()
