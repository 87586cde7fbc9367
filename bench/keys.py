"""Key material and tokens for the gateway benchmark (PyJWT).

  keys.py make DIR             RSA-2048 and P-256 key pairs as PEM, an HS256 secret, a JWK set with the RSA key
  keys.py sign ALG KEYFILE ISS [KID]   a token for sub bench-user in group bench, valid for an hour
  keys.py sign-many ALG KEYFILE ISS N   N such tokens, one a line, each with its own jti
"""
import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def write_pair(directory, name, private_key):
    with open(os.path.join(directory, f"{name}-private.pem"), "wb") as f:
        f.write(private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(os.path.join(directory, f"{name}-public.pem"), "wb") as f:
        f.write(private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def make(directory):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_pair(directory, "rsa", rsa_key)
    write_pair(directory, "ec", ec.generate_private_key(ec.SECP256R1()))
    with open(os.path.join(directory, "hmac.secret"), "w") as f:
        f.write(os.urandom(32).hex())
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update({"kid": "bench-rsa", "alg": "RS256", "use": "sig"})
    with open(os.path.join(directory, "jwks.json"), "w") as f:
        json.dump({"keys": [jwk]}, f)


def token(algorithm, key, issuer, kid=None, jti=None):
    now = int(time.time())
    claims = {"sub": "bench-user", "groups": ["bench"], "iss": issuer, "iat": now, "exp": now + 3600}
    if jti is not None:
        claims["jti"] = jti
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def read_key(algorithm, key_file):
    """The signing key, parsed once: PyJWT given PEM bytes parses (and checks) the private key on every call,
    which costs tens of milliseconds per RSA token."""
    with open(key_file, "rb") as f:
        data = f.read()
    if algorithm.startswith(("RS", "PS", "ES")):
        return serialization.load_pem_private_key(data, password=None)
    return data


def sign(algorithm, key_file, issuer, kid=None):
    print(token(algorithm, read_key(algorithm, key_file), issuer, kid))


def sign_many(algorithm, key_file, issuer, count):
    key = read_key(algorithm, key_file)
    for index in range(int(count)):
        print(token(algorithm, key, issuer, jti=f"bench-{index}"))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "sign":
        sign(*sys.argv[2:])
    elif sys.argv[1] == "sign-many":
        sign_many(*sys.argv[2:])
    else:
        sys.exit(__doc__)
