"""ASGI middleware for the one server: basic auth over everything, and a size cap on JSON API bodies."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from chipqa.core.errors import ConfigError


class BodyLimit:
    """ASGI middleware: a JSON API request body over `max_bytes` is refused with 413 and a JSON error.

    Only /api/ is capped here; uploads go through Gradio's own route, capped by CHIPQA_MAX_UPLOAD_MB.
    A body without Content-Length is read up to the cap before the API sees it."""

    def __init__(self, app: ASGIApp, max_bytes: int, prefix: str = "/api/") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = bool(message.get("more_body"))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        body, sent = b"".join(chunks), False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = f"{self.max_bytes / 1000:g} KB"
        response = JSONResponse({"error": f"the request body is over the {limit} limit"}, status_code=413)
        await response(scope, receive, send)


def parse_auth(spec: str) -> tuple[str, str]:
    """'user:password' → (user, password); ConfigError (without echoing the value) when malformed."""
    user, sep, password = spec.partition(":")
    if not sep or not user or not password:
        raise ConfigError("CHIPQA_UI_AUTH must look like user:password")
    return user, password


class BasicAuth:
    """ASGI middleware: every HTTP request needs the one user and password, compared in constant time."""

    def __init__(self, app: ASGIApp, user: str, password: str, realm: str = "chipqa") -> None:
        self.app = app
        self._expected = (user.encode(), password.encode())
        self._realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = JSONResponse(
            {"error": "authentication required"},
            status_code=401,
            headers={"WWW-Authenticate": f'Basic realm="{self._realm}", charset="UTF-8"'},
        )
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # Both comparisons always run, so timing does not reveal which part was wrong.
        ok_user = secrets.compare_digest(user, self._expected[0])
        ok_password = secrets.compare_digest(password, self._expected[1])
        return bool(sep) and ok_user and ok_password


def add_basic_auth(app: FastAPI, spec: SecretStr | str | None) -> bool:
    """Protect the whole server (API and UI) when spec is set; returns whether auth is on."""
    if not spec:
        return False
    user, password = parse_auth(spec.get_secret_value() if isinstance(spec, SecretStr) else spec)
    app.add_middleware(BasicAuth, user=user, password=password)
    return True
