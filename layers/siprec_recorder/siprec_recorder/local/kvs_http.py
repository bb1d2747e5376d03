"""HTTP for the local KVS server: rest-json requests in, JSON or chunked MKV bodies out.

Errors go out as KVS sends them: the HTTP status, an `x-amzn-ErrorType` header and {"Message"}.
Injected faults (kvs_faults) are applied here, before the operation runs.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from siprec_recorder.local.kvs_faults import Fault

if TYPE_CHECKING:
    from siprec_recorder.local.kvs_server import KvsServer

MAX_REQUEST_BYTES = 1 << 20
CHUNK = 64 * 1024
PATHS = {
    "/getDataEndpoint": "GetDataEndpoint",
    "/createStream": "CreateStream",
    "/describeStream": "DescribeStream",
    "/listFragments": "ListFragments",
    "/getMediaForFragmentList": "GetMediaForFragmentList",
    "/getMedia": "GetMedia",
}


class ApiError(Exception):
    """An error KVS answers with: HTTP status, error type header and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad(message: str) -> ApiError:
    return ApiError(400, "InvalidArgumentException", message)


class QuietServer(ThreadingHTTPServer):
    """A cut response leaves a closed socket behind: that is the point, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalKVS/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and the demo read their own output

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        kvs: KvsServer = self.server.kvs  # type: ignore[attr-defined]
        operation = PATHS.get(self.path.split("?", 1)[0])
        try:
            params = self._read_json()
            if operation is None:
                raise ApiError(404, "UnknownOperationException", "unknown path")
            kvs._record(operation, params)
            faults = kvs.faults.take(operation)
            cut = self._apply_faults(faults)
            if operation in ("GetMediaForFragmentList", "GetMedia"):
                self._send_media(kvs.media_chunks(operation, params), cut)
            else:
                self._send_json(200, kvs.op_json(operation, params))
        except ApiError as err:
            self._send_json(err.status, {"Message": err.message}, err.code)

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            raise bad("request body too large")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            params = json.loads(raw or b"{}")
        except ValueError as exc:
            raise bad("request body is not JSON") from exc
        if not isinstance(params, dict):
            raise bad("request body must be a JSON object")
        return params

    def _apply_faults(self, faults: list[Fault]) -> Fault | None:
        cut = None
        for fault in faults:
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "throttle":
                raise ApiError(400, "ClientLimitExceededException", "Rate exceeded (injected)")
            elif fault.kind == "fail":
                raise ApiError(fault.status, "InternalFailure", "Internal failure (injected)")
            elif fault.kind == "cut":
                cut = fault
        return cut

    def _send_json(self, status: int, body: dict[str, Any], error_type: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:")
        self.end_headers()
        self.wfile.write(data)

    def _send_media(self, chunks: Iterator[bytes], cut: Fault | None) -> None:
        body = b"".join(chunks)  # archive is in memory; lets a cut know the body's length
        limit = len(body) if cut is None else (cut.after_bytes or len(body) // 2)
        self.send_response(200)
        self.send_header("Content-Type", "video/webm")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for pos in range(0, min(limit, len(body)), CHUNK):
            piece = body[pos : min(pos + CHUNK, limit)]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")
