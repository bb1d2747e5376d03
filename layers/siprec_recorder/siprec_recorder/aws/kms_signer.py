"""KMS adapters for manifest signing: an asymmetric key signs the manifest's SHA-256 digest.

The private key never leaves KMS; anyone allowed `kms:Verify` (or holding the public key) can
check a recording years later. ECDSA_SHA_256 on an ECC_NIST_P256 key by default.
Note for tests: moto accepts MessageType=DIGEST but signs the digest as a raw message (hashing it
again), so moto signatures round-trip through moto's Verify but not through an offline check
with the public key; real KMS signs the digest as given.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from siprec_recorder.errors import StorageError
from siprec_recorder.recording.integrity import SignatureUnchecked

DEFAULT_ALGORITHM = "ECDSA_SHA_256"
_DIGEST_BYTES = 32


def kms_client(region: str | None = None) -> Any:
    """A KMS client (endpoint from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS when set)."""
    return boto3.client("kms", region_name=region)


class KmsSigner:
    """Signer backed by `kms:Sign` with MessageType=DIGEST."""

    def __init__(
        self, key_id: str, client: Any | None = None, algorithm: str = DEFAULT_ALGORITHM
    ) -> None:
        self.key_id = key_id
        self.algorithm = algorithm
        self._client = client if client is not None else kms_client()

    def sign(self, digest: bytes) -> bytes:
        """Sign a 32-byte SHA-256 digest; StorageError (code kms_sign_failed) when KMS refuses."""
        if len(digest) != _DIGEST_BYTES:
            raise StorageError(f"a SHA-256 digest is 32 bytes, got {len(digest)}")
        try:
            response = self._client.sign(
                KeyId=self.key_id,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm=self.algorithm,
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            raise StorageError(f"KMS Sign refused: {code}", code="kms_sign_failed") from None
        except BotoCoreError as exc:
            raise StorageError(
                f"KMS unreachable for Sign: {type(exc).__name__}", code="kms_sign_failed"
            ) from None
        signature = response["Signature"]
        return bytes(signature)


class KmsVerifier:
    """Verifier backed by `kms:Verify`; unreachable KMS or no credentials mean "not checked"."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client if client is not None else kms_client()

    def verify(self, digest: bytes, signature: bytes, key_id: str, algorithm: str) -> bool:
        """True when KMS says the signature over the digest is valid for the key."""
        try:
            response = self._client.verify(
                KeyId=key_id,
                Message=digest,
                MessageType="DIGEST",
                Signature=signature,
                SigningAlgorithm=algorithm,
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            if code == "KMSInvalidSignatureException":
                return False  # real KMS raises instead of returning SignatureValid=false
            if code in ("ValidationException", "InvalidParameterValue"):
                return False  # e.g. a signature blob of the wrong shape for the key
            raise SignatureUnchecked(f"KMS Verify refused: {code}") from None
        except NoCredentialsError:
            raise SignatureUnchecked("no AWS credentials for KMS Verify") from None
        except BotoCoreError as exc:
            raise SignatureUnchecked(f"KMS unreachable: {type(exc).__name__}") from None
        return bool(response.get("SignatureValid"))


_ENDPOINT_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS")


def verifier_from_environment() -> KmsVerifier | None:
    """A KMS verifier when credentials (or an endpoint) and a region are configured, else None:
    `verify` then says the signature was not checked, and why."""
    try:
        session = boto3.session.Session()
        has_endpoint = any(os.environ.get(v) for v in _ENDPOINT_VARS)
        if session.get_credentials() is None and not has_endpoint:
            return None
        if session.region_name is None:
            return None
        return KmsVerifier(session.client("kms"))
    except (BotoCoreError, ValueError):  # a broken profile or config only means "not checked"
        return None
