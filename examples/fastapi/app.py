"""A login endpoint protected by the RequireTollgate dependency (the examples' runner starts it).

Env: TOLLGATE_SECRET, TOLLGATE_VERIFIER_URL, TOLLGATE_EXPECTED_ACTION (default `login`; empty: any),
LISTEN (default 127.0.0.1:0). Prints
`listening on http://HOST:PORT` once the socket is bound.
"""

import os
import socket
from contextlib import asynccontextmanager

import uvicorn
from fastapi import Depends, FastAPI

from tollgate_dep import RequireTollgate, TollgateVerdict

require_tollgate = RequireTollgate(
    secret=os.environ.get("TOLLGATE_SECRET", ""),
    verifier_url=os.environ.get("TOLLGATE_VERIFIER_URL", "http://127.0.0.1:8787"),
    expected_action=os.environ.get("TOLLGATE_EXPECTED_ACTION", "login") or None,
)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    yield
    await require_tollgate.aclose()


app = FastAPI(lifespan=lifespan)


@app.post("/login")
async def login(verdict: TollgateVerdict = Depends(require_tollgate)) -> dict:
    # Tollgate let the attempt through: check the password here; on `challenge`, ask for a
    # second factor first.
    return {"ok": True, "decision": verdict.decision, "score": verdict.score, "id": verdict.id}


def main() -> None:
    host, port = os.environ.get("LISTEN", "127.0.0.1:0").rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    # Listening before the line is printed: connections wait in the backlog until uvicorn accepts.
    sock.listen(2048)
    bound_host, bound_port = sock.getsockname()
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
