"""JWTs on the scoring route, beside API keys: signature (a configured key or the issuer's
JWKS), issuer, audience and expiry all checked; a JWKS that cannot be fetched is a 503."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.api import API_KEY, make_app
from chicago_risk_tests.fixtures.small_city import LAST_DAY, RESOLUTION

URL = "/api/v1/predict/flood"
ISSUER, AUDIENCE = "https://id.city.example", "chicago-risk"


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def body():
    return {"zone_id": city_cells(RESOLUTION)[0], "timestamp": f"{LAST_DAY}T12:00:00"}


def token(key, kid: str = "k1", **claims) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "planner-7", "iat": now, "exp": now + 300, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm="RS256", headers={"kid": kid})


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def keyed(small_city, signing_key):
    app = make_app(small_city.published_url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_key=public_pem(signing_key))
    with TestClient(app) as client:
        yield client


def test_a_valid_token_scores_and_keys_still_work(keyed, signing_key, body):
    response = keyed.post(URL, json=body, headers=bearer(token(signing_key)))
    assert response.status_code == 200, response.text
    assert keyed.post(URL, json=body, headers={"X-API-Key": API_KEY}).status_code == 200


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "another-service"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": None}, '"exp"'),
        ({"aud": None}, '"aud"'),
    ],
)
def test_a_token_failing_a_claim_is_401_saying_which(keyed, signing_key, body, claims, reason):
    response = keyed.post(URL, json=body, headers=bearer(token(signing_key, **claims)))
    assert response.status_code == 401 and reason in response.json()["detail"].lower(), response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_signed_by_another_key_or_unsigned_is_401(keyed, body):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert keyed.post(URL, json=body, headers=bearer(token(other))).status_code == 401
    unsigned = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}, "", algorithm="none")
    assert keyed.post(URL, json=body, headers=bearer(unsigned)).status_code == 401
    assert keyed.post(URL, json=body, headers=bearer("not.a.token")).status_code == 401


def test_without_jwt_settings_a_bearer_token_is_401_pointing_to_keys(client, signing_key, body):
    response = client.post(URL, json=body, headers=bearer(token(signing_key)))
    assert response.status_code == 401 and "X-API-Key" in response.json()["detail"]


class _Jwks:
    """The issuer's key set on a loopback port; `down` makes it answer 500."""

    def __init__(self, keys: list[dict]) -> None:
        self.keys, self.down, self.fetches = keys, False, 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                jwks.fetches += 1
                status, payload = (500, b"down") if jwks.down else (200, json.dumps({"keys": jwks.keys}).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def jwks(signing_key):
    public = {**jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    server = _Jwks([public])
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_keys_from_the_issuers_jwks(small_city, signing_key, body, jwks):
    app = make_app(small_city.published_url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_jwks_url=jwks.url)
    with TestClient(app) as client:
        assert client.post(URL, json=body, headers=bearer(token(signing_key))).status_code == 200
        assert client.post(URL, json=body, headers=bearer(token(signing_key))).status_code == 200
        assert jwks.fetches == 1, "the key set is cached"
        unknown_kid = client.post(URL, json=body, headers=bearer(token(signing_key, kid="rotated-away")))
        assert unknown_kid.status_code == 401 and "no key of the issuer" in unknown_kid.json()["detail"]


def test_an_unreachable_jwks_is_503_not_the_callers_fault(small_city, signing_key, body, jwks):
    jwks.down = True
    app = make_app(small_city.published_url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_jwks_url=jwks.url)
    with TestClient(app) as client:
        response = client.post(URL, json=body, headers=bearer(token(signing_key)))
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert "keys cannot be fetched" in response.json()["detail"]
