"""A login site written for Cloudflare Turnstile with the stock `django-turnstile` library
(unmodified), pointed at Tollgate by settings only: TURNSTILE_JS_API_URL (the script URL: Tollgate's
turnstile.js) and TURNSTILE_VERIFY_URL (Tollgate's Turnstile-compatible siteverify). Used by
tests/e2e/turnstile.test.mjs.

Environment: TURNSTILE_JS_API_URL, TURNSTILE_VERIFY_URL, TURNSTILE_SITEKEY, TURNSTILE_SECRET,
TOLLGATE_ASSETS (directory served under /tollgate/, like a site serving Tollgate's files itself).
Prints one line `listening on http://127.0.0.1:PORT` once bound.

Routes: GET / (the login form), POST /login (the library validates the Turnstile field: 200
"Signed in" or 403 with the form errors), GET /tollgate/<file>, and for the test GET /results
(every login's outcome, oldest first) and GET /hits (asset paths fetched so far).
"""

import json
import mimetypes
import os
import sys
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="tollgate-e2e-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["turnstile"],
    MIDDLEWARE=[],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    TURNSTILE_JS_API_URL=os.environ["TURNSTILE_JS_API_URL"],
    TURNSTILE_VERIFY_URL=os.environ["TURNSTILE_VERIFY_URL"],
    TURNSTILE_SITEKEY=os.environ["TURNSTILE_SITEKEY"],
    TURNSTILE_SECRET=os.environ["TURNSTILE_SECRET"],
    TURNSTILE_TIMEOUT=10,
)

import django  # noqa: E402

django.setup()

from django import forms  # noqa: E402
from django.http import HttpResponse, HttpResponseNotFound, JsonResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402
from turnstile.fields import TurnstileField  # noqa: E402

ASSETS = Path(os.environ["TOLLGATE_ASSETS"]).resolve()
RESULTS = []
HITS = []
LOCK = threading.Lock()


class LoginForm(forms.Form):
    username = forms.CharField(widget=forms.TextInput(attrs={"id": "username", "autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"id": "password", "autocomplete": "current-password"}))
    turnstile = TurnstileField(action="login")


# Fixed positions, so that a test driving the OS pointer (XTEST) knows where the fields are.
PAGE = engines["django"].from_string(
    """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title>
<style>
body { margin: 0; font: 16px sans-serif; }
#username { position: absolute; left: 100px; top: 100px; width: 300px; height: 30px; }
#password { position: absolute; left: 100px; top: 170px; width: 300px; height: 30px; }
#login { position: absolute; left: 100px; top: 240px; width: 120px; height: 36px; }
.cf-turnstile { position: absolute; left: 100px; top: 300px; }
</style></head>
<body>
<form method="post" action="/login">
{{ form.username }}
{{ form.password }}
{{ form.turnstile }}
<button id="login" type="submit">Sign in</button>
</form>
</body></html>"""
)


def index(request):
    return HttpResponse(PAGE.render({"form": LoginForm()}))


def login(request):
    form = LoginForm(request.POST)
    ok = form.is_valid()
    with LOCK:
        RESULTS.append(
            {
                "username": request.POST.get("username", ""),
                "accepted": ok,
                "errors": json.loads(form.errors.as_json()) if not ok else {},
                "response_chars": len(request.POST.get("cf-turnstile-response", "")),
            }
        )
    if ok:
        return HttpResponse('<p id="outcome" data-outcome="accepted">Signed in</p>')
    return HttpResponse('<p id="outcome" data-outcome="refused">Refused</p>', status=403)


def asset(request, name):
    file = (ASSETS / name).resolve()
    if file.parent != ASSETS or not file.is_file():
        return HttpResponseNotFound()
    with LOCK:
        HITS.append(name)
    kind = "application/wasm" if name.endswith(".wasm") else mimetypes.guess_type(name)[0] or "application/octet-stream"
    return HttpResponse(file.read_bytes(), content_type=kind)


def results(request):
    with LOCK:
        return JsonResponse(RESULTS, safe=False)


def hits(request):
    with LOCK:
        return JsonResponse(HITS, safe=False)


urlpatterns = [
    path("", index),
    path("login", login),
    path("tollgate/<str:name>", asset),
    path("results", results),
    path("hits", hits),
]


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("site: " + (fmt % args) + "\n")


def main():
    from django.core.wsgi import get_wsgi_application

    httpd = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=Server, handler_class=Quiet)
    print(f"listening on http://127.0.0.1:{httpd.server_port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
