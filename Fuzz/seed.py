#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (Fuzz/corpus/<target>/seed-*) from the inputs the tests use.

Run once when a parser learns something new; `make fuzz` then grows each corpus (FUZZ_MERGE=1 folds what it
found back in). Tokens and keys come from the JOSE vectors in Tests/Fixtures/jose, expressions and paths from
the claims tests, bodies, forms and request heads from the admin API, dashboard and gateway tests.
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Fuzz" / "corpus"


def write(target, items):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for item in items:
        data = item if isinstance(item, bytes) else item.encode()
        (folder / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def jose_seeds():
    vectors = json.loads((ROOT / "Tests/Fixtures/jose/wycheproof/json_web_signature_test.json").read_text())
    seeds = []
    for group in vectors["testGroups"]:
        for key in ("public", "private"):
            if key in group:
                seeds.append(json.dumps(group[key]))
        for test in group["tests"][:6]:
            if isinstance(test["jws"], str):
                seeds.append(test["jws"])
    for path in sorted((ROOT / "Tests/Fixtures/jose/rfc7520/jwk").glob("*.json")):
        seeds.append(path.read_text())
    seeds += [
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.",
        '{"exp": "1800000000", "nbf": 1.5e300, "iss": "https://idp.example", "aud": ["portico"]}',
        '{"a": 1, "a": 2}',
        '{"sub": "ada", "realm_access": {"roles": ["reader"]}, "exp": 253402300800}',
    ]
    return seeds


EXPRESSIONS = [
    "Equals(`grp`, `admin`)", "Prefix(`email`, `ann@`)", "Contains(`roles`, `ops`)", "SplitContains(`csv`, `,`, `b`)",
    "OneOf(`grp`, `user`, `admin`)", "Equals(`org.tier`, `gold`)", '"Equals(\\"grp\\", \\"admin\\")"',
    "Equals(`grp`, `x`) && Equals(`grp`, `y`) || Equals(`grp`, `admin`)", "!(Equals(`grp`, `x`) || Equals(`grp`, `y`))",
    "!!Equals(`grp`, `admin`)", "(Equals(`a`, `b`)", "Equals(`a..b`, `x`)", "SplitContains(`a`, ``, `b`)",
    "Equals(`\"https://example.com/groups\"`, `x`)",
]

PATHS = ["realm_access.roles", "a.b", "n", "n.deeper", '"https://example.com/groups"', "deep.a.b", "groups", 'a."b.c".d', "a..b", '"', ""]

BODIES = [
    '{"email": "ada@example.com", "name": "Ada", "groups": ["orders"], "role": "consumer"}',
    '{"disabled": true, "groups": []}', '{"name": "orders"}',
    '{"name": "orders", "pathPrefix": "/orders", "upstream": "http://127.0.0.1:9000", "stripPrefix": true, "maxBodyBytes": 1024}',
    '{"host": null, "tokenProviders": ["corp"], "oidc": {"provider": "corp", "scopes": ["openid"]}, "forwardCredential": true}',
    '{"name": "orders", "groups": ["orders"], "apis": ["orders"], "rateLimit": {"limit": 100, "period": "1m"}, "plan": "gold"}',
    '{"rateLimit": null, "plan": null, "allApis": true}',
    '{"name": "gold", "rateLimit": {"limit": 10, "period": 60}, "quota": {"limit": 10000, "period": "month"}, "bucket": "consumer"}',
    '{"name": "ci", "expiresAt": "2030-01-31T12:00:00Z"}',
    '{"mode": "jwt", "jwt": {"signingSecret": "env:SECRET", "algorithms": ["HS256"], "issuer": "https://idp.example",'
    ' "audience": ["portico"], "claimsExpression": "Contains(`groups`, `orders`)"}, "claimsMapping": {"groups": "realm_access.roles"}}',
    '{"mode": "apiKey", "jwt": null}',
    '{"name": "corp", "issuer": "https://idp.example", "clientId": "portico", "clientSecret": "env:CORP", "acceptTokens": true}',
    '{"a": {"b": [1, 2.5e10, -0, true, null, "\\u00e9\\ud83d\\ude00"]}}',
]

FORMS = [
    "email=ada%40example.com&name=Ada&groups=orders&groups=admins&role=consumer",
    "name=ci&expiresAt=2030-01-31&_csrf=abc", "version=3&disabled=on&name=%E2%9C%93+done",
    "a=1;b=2; portico_session=xyz", "=&&=x&%zz=%&q=a+b%2Bc", "scopes=openid%2C+email%2Cprofile",
]

HEADS = [
    "GET /orders/list?x=1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer pk_live_abc\r\n\r\n",
    "GET /orders HTTP/1.1\r\nHost: gw\r\nX-API-Key: nope\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n\r\n"
    "GET /missing HTTP/1.1\r\nHost: gw\r\n\r\n",
    "POST /uploads/a HTTP/1.1\r\nHost: uploads.example\r\nContent-Length: 40\r\n\r\n0123456789012345678901234567890123456789",
    "POST /orders HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "POST /orders HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 16\r\n\r\naccess_token=abc",
    "GET http://gw/orders HTTP/1.0\r\nX-Forwarded-For: 10.0.0.1\r\nX-Portico-User: forged\r\nCookie: a=b; portico_session=s\r\n\r\n",
    "GET /orders HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n",
    "GET /orders HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
]

if __name__ == "__main__":
    write("jws", jose_seeds())
    write("claims-expression", EXPRESSIONS)
    write("claim-path", PATHS)
    write("admin-json", BODIES)
    write("form", FORMS)
    write("request-head", HEADS)
