"""FastAPI dependency for Tollgate: verifies the token a login form posts (`tollgate-response`)
with the verifier's siteverify, and refuses the request unless Tollgate lets it through.

    require = RequireTollgate(secret=..., verifier_url="http://127.0.0.1:8787")

    @app.post("/login")
    async def login(verdict: TollgateVerdict = Depends(require)):
        ...  # verdict.decision is "allow" or "challenge" (ask for a second factor)

Lets a request through when siteverify answers `success: true` and the decision is not `block`
(a site configured with `success_when = "valid"` answers `success: true` for every genuine token,
so the decision is checked here too). Everything else raises HTTPException with
`detail = {"error": ...}`:

    400 tollgate-missing          no token in the form (the widget could not make one)
    403 tollgate-invalid          forged, malformed, or for another site/origin/action
    403 tollgate-expired-or-used  expired or already redeemed (the widget makes a new one)
    403 tollgate-challenge        decision `challenge` refused by the site's `success_when = "allow"`
    403 tollgate-blocked          decision `block`
    500 tollgate-misconfigured    wrong secret or a request the verifier could not read
    503 tollgate-unavailable      verifier down, slow, or answering anything but a verdict:
                                  FAIL CLOSED (a login is never let through unverified)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import httpx
from fastapi import HTTPException, Request

log = logging.getLogger("tollgate")

REFUSALS: dict[str, tuple[int, str]] = {
    "missing-input-response": (400, "tollgate-missing"),
    "invalid-input-response": (403, "tollgate-invalid"),
    "timeout-or-duplicate": (403, "tollgate-expired-or-used"),
    "tollgate-decision-challenge": (403, "tollgate-challenge"),
    "tollgate-decision-block": (403, "tollgate-blocked"),
    "missing-input-secret": (500, "tollgate-misconfigured"),
    "invalid-input-secret": (500, "tollgate-misconfigured"),
    "bad-request": (500, "tollgate-misconfigured"),
    "internal-error": (503, "tollgate-unavailable"),
}


@dataclass
class TollgateVerdict:
    id: Optional[str]
    decision: str
    score: float
    reasons: list[str] = field(default_factory=list)
    hostname: Optional[str] = None
    action: Optional[str] = None
    raw: dict[str, Any] = field(default_factory=dict)


def refusal(verdict: dict[str, Any]) -> tuple[int, str]:
    """The status and error for a siteverify answer that is not a pass (unknown codes: 403)."""
    for code in verdict.get("error-codes") or []:
        if code in REFUSALS:
            return REFUSALS[code]
    if (verdict.get("tollgate") or {}).get("decision") == "block":
        return REFUSALS["tollgate-decision-block"]
    return (403, "tollgate-invalid")


class RequireTollgate:
    """A FastAPI dependency (use an instance with `Depends`)."""

    def __init__(
        self,
        secret: str,
        verifier_url: str,
        *,
        timeout: float = 5.0,
        expected_action: Optional[str] = None,
        field: str = "tollgate-response",
        account_field: Optional[str] = "username",
    ) -> None:
        if not secret or not verifier_url:
            raise ValueError("RequireTollgate: secret and verifier_url are required")
        self.secret = secret
        self.endpoint = verifier_url.rstrip("/") + "/v1/siteverify"
        self.timeout = timeout
        self.expected_action = expected_action
        self.field = field
        self.account_field = account_field
        # One connection pool for every request (created lazily on the running event loop).
        self._client: Optional[httpx.AsyncClient] = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, request: Request) -> TollgateVerdict:
        form = await request.form()
        token = form.get(self.field)
        fields = {"secret": self.secret, "response": token if isinstance(token, str) else ""}
        if request.client is not None:
            fields["remoteip"] = request.client.host
        if self.account_field:
            account = form.get(self.account_field)
            if isinstance(account, str) and account:
                fields["account"] = account
        try:
            resp = await self.client().post(self.endpoint, data=fields)
            if resp.status_code != 200:
                raise httpx.HTTPStatusError(
                    f"siteverify answered HTTP {resp.status_code}", request=resp.request, response=resp
                )
            verdict = resp.json()
        except (httpx.HTTPError, ValueError) as err:
            log.warning("tollgate: verifier unavailable: %s", err)
            raise HTTPException(503, detail={"error": "tollgate-unavailable"}) from err
        t = verdict.get("tollgate") or {}
        passed = (
            verdict.get("success") is True
            and t.get("decision") in ("allow", "challenge")
            and (self.expected_action is None or verdict.get("action") == self.expected_action)
        )
        if not passed:
            if verdict.get("success") is True:
                status, error = (403, "tollgate-blocked" if t.get("decision") == "block" else "tollgate-invalid")
            else:
                status, error = refusal(verdict)
            raise HTTPException(status, detail={"error": error, "reasons": t.get("reasons") or []})
        return TollgateVerdict(
            id=t.get("id"),
            decision=t["decision"],
            score=float(t.get("score", 0.0)),
            reasons=list(t.get("reasons") or []),
            hostname=verdict.get("hostname"),
            action=verdict.get("action"),
            raw=verdict,
        )
