"""Says whether the DVC remote can be reached and accepts the credentials, and names the problem when not.

`dvc pull` and `dvc push` report refused credentials only as "Forbidden (403) ... HeadObject": DVC asks with
HEAD requests, whose answers carry no reason. A listing does carry it (InvalidAccessKeyId,
SignatureDoesNotMatch, ...), so this check lists the remote with exactly DVC's configuration: .dvc/config,
.dvc/config.local and the AWS environment variables. `make pull` and `make push` run it first.
Usage: python -m zhtw_subtitles.remote.remote_check [remote name; default: the default remote]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from dvc.repo import Repo

CREDENTIAL_PROBLEMS = {
    "InvalidAccessKeyId": "the server does not know the access key id",
    "SignatureDoesNotMatch": "the secret access key does not belong to the access key id",
    "AccessDenied": "these credentials may not list the bucket",
    "ExpiredToken": "the session token has expired",
    "InvalidToken": "the session token is invalid",
}


class RemoteProblem(Exception):
    pass


def check_remote(root: Path = Path("."), name: str | None = None) -> str:
    """A one-line description of the working remote; raises RemoteProblem naming what is wrong and the fix."""
    with Repo(root) as repo:
        remote = repo.cloud.get_remote(name)
        config = repo.config["remote"][remote.name]
    where = f"remote '{remote.name}' ({config['url']}" + (f" at {config['endpointurl']})" if "endpointurl" in config else ")")
    try:
        remote.fs.ls(remote.path, detail=False)
    except FileNotFoundError as error:
        if _error_code(error) == "NoSuchBucket":
            raise RemoteProblem(f"{where}: the bucket does not exist; create it, or point the remote at another "
                                f"with `dvc remote modify {remote.name} url s3://<bucket>/<path>`") from error
        return f"{where}: reachable, credentials accepted, nothing pushed yet"
    except PermissionError as error:
        code = _error_code(error)
        reason = CREDENTIAL_PROBLEMS.get(code, "access refused")
        raise RemoteProblem(f"{where}: credentials refused ({code}: {reason}); {_set_credentials(remote.name)}") from error
    except NoCredentialsError as error:
        raise RemoteProblem(f"{where}: no credentials found; {_set_credentials(remote.name)}") from error
    except EndpointConnectionError as error:
        raise RemoteProblem(f"{where}: cannot connect ({error}); start the server or set the address with "
                            f"`dvc remote modify {remote.name} endpointurl <url>`") from error
    return f"{where}: reachable, credentials accepted"


def _set_credentials(remote: str) -> str:
    return (f"set them with `dvc remote modify --local {remote} access_key_id <id>` and `... secret_access_key "
            f"<secret>`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def _error_code(error: Exception) -> str | None:
    """s3fs re-raises S3 errors as OSErrors; the S3 error code is on the ClientError underneath."""
    cause = error.__cause__
    return cause.response["Error"]["Code"] if isinstance(cause, ClientError) else None


def main() -> None:
    parser = argparse.ArgumentParser(description="Check that the DVC remote is reachable and takes the credentials.")
    parser.add_argument("remote", nargs="?", help="remote name (default: the default remote)")
    args = parser.parse_args()
    try:
        print(check_remote(name=args.remote))
    except RemoteProblem as problem:
        sys.exit(f"ERROR: {problem}")


if __name__ == "__main__":
    main()
