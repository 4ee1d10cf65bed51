#!/usr/bin/env python3
"""An OpenID Connect relying party we did not write (Authlib), run against hasura-auth.

Every protocol step goes through Authlib's own code: discovery documents checked with
its metadata models, the authorization URL (PKCE S256, nonce, state) and the token,
refresh, introspection and revocation requests made by its `OAuth2Session`, the ID token
verified by joserfc against the provider's JWKS and checked by Authlib's `CodeIDToken`
(iss, aud, nonce, at_hash, exp, iat). Only the user agent and the consent page (the
provider's documented `/oauth2/login` contract) are plain HTTP calls made here.

Settings come from the environment (tests/oidc_provider/interop.rs sets them):

  RP_ISSUER             the provider's issuer (= AUTH_SERVER_URL)
  RP_REDIRECT_URI       the redirect URI every client is registered with
  RP_CONFIDENTIAL_ID    a confidential client and its secret
  RP_CONFIDENTIAL_SECRET
  RP_PUBLIC_ID          a public client (PKCE, no secret)
  RP_REVOKED_ID         a confidential client the `revoked_client` scenario deletes
  RP_REVOKED_SECRET
  RP_USER_EMAIL         a verified user and its password
  RP_USER_PASSWORD
  RP_DISABLED_EMAIL     a verified user the `disabled_user` scenario disables (same password)
  RP_CONSENT_URL        (optional) the consent page the provider must send the browser to
  RP_DEVICE_VERIFY_URL  the device flow's verification page (verification_uri)
  RP_OPERATOR           the `hasura-auth` binary: the operator's commands (`users disable`,
                        `oauth2-clients delete`) run with this process's environment

Arguments: scenario names to run (default: all). Output: one JSON line per scenario,
{"scenario", "result": "pass"|"fail", "checks", "error"?}; exit 1 if any failed.

A scenario is a function taking the `Context`, registered with `@scenario`. A new flow
(the device grant, say) is one more such function, with its client in an `RP_*` variable
that interop.rs sets (a client made there with `oauth2-clients create`) and its name added
to interop.rs's `SCENARIOS`; `ctx.client`, `ctx.session_token`, `ctx.id_token_claims` and
`ctx.token_error` serve it as they serve the code flow.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import traceback
import uuid
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2 import rfc8414, rfc9207
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

TIMEOUT = 10
SCOPE = "openid profile email"
# The clock skew the RP tolerates (Authlib's own default for parse_id_token is 120 s).
LEEWAY = 60


class Failure(Exception):
    """A check that did not hold."""


class Context:
    def __init__(self, env):
        self.env = env
        self.issuer = env["RP_ISSUER"]
        self.redirect_uri = env["RP_REDIRECT_URI"]
        self.http = requests.Session()
        # Loopback only: no proxy from the environment (HTTP_PROXY and the like).
        self.http.trust_env = False
        self.checks = 0
        self.rejections = []
        self.metadata = None
        self.jwks = None

    # -- checks ---------------------------------------------------------------------------

    def check(self, condition, why):
        self.checks += 1
        if not condition:
            raise Failure(why)

    def equal(self, actual, expected, what):
        self.check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")

    # -- discovery ------------------------------------------------------------------------

    def discover(self):
        """The provider's metadata, as a relying party configured with only the issuer
        finds it (OpenID Connect Discovery 1.0 §4), validated by Authlib's models."""
        if self.metadata is not None:
            return self.metadata
        url = get_well_known_url(self.issuer, external=True)
        res = self.http.get(url, timeout=TIMEOUT)
        self.equal(res.status_code, 200, f"GET {url}")
        metadata = OpenIDProviderMetadata(res.json())
        # Every registered field well-formed, plus RFC 9207's iss-parameter flag.
        metadata.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
        # §4.3: the issuer in the document is exactly the one the RP started from.
        self.equal(metadata["issuer"], self.issuer, "discovered issuer")
        jwks = self.http.get(metadata["jwks_uri"], timeout=TIMEOUT)
        self.equal(jwks.status_code, 200, "GET jwks_uri")
        self.metadata = metadata
        self.jwks = jwks.json()
        return metadata

    # -- clients --------------------------------------------------------------------------

    def client(self, client_id, secret=None, auth_method=None, scope=SCOPE):
        """An Authlib session for one client; `session.last` is the last HTTP answer."""
        metadata = self.discover()
        session = OAuth2Session(
            client_id=client_id,
            client_secret=secret,
            token_endpoint_auth_method=auth_method,
            revocation_endpoint_auth_method=auth_method,
            scope=scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint=metadata["token_endpoint"],
        )
        session.trust_env = False
        session.last = None

        def remember(res, *args, **kwargs):
            session.last = res

        session.hooks["response"].append(remember)
        return session

    # -- the user agent and the consent page ----------------------------------------------

    def authorization_request(self, session, **params):
        """An authorization URL made by Authlib: PKCE S256 (the verifier kept by the RP),
        a nonce, a state. Returns a dict with url, state, verifier, nonce."""
        verifier = generate_token(48)
        nonce = generate_token(20)
        url, state = session.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            **params,
        )
        self.check(
            "code_challenge=" + create_s256_code_challenge(verifier) in url,
            f"S256 challenge in the authorization URL {url}",
        )
        return {"url": url, "state": state, "verifier": verifier, "nonce": nonce}

    def session_token(self, email, password=None):
        """The user signs in to the consent page with the service's own sign-in."""
        password = password or self.env["RP_USER_PASSWORD"]
        res = self.http.post(
            f"{self.issuer}/signin/email-password",
            json={"email": email, "password": password},
            timeout=TIMEOUT,
        )
        self.equal(res.status_code, 200, f"sign-in of {email}: {res.text}")
        return res.json()["session"]["accessToken"]

    def to_consent_page(self, request):
        """The browser opens the authorization URL: a 302 to the consent page with a
        request id. Returns the request id after the page looked the request up."""
        res = self.http.get(request["url"], allow_redirects=False, timeout=TIMEOUT)
        self.equal(res.status_code, 302, f"authorize answer ({res.text})")
        location = res.headers["Location"]
        consent_url = self.env.get("RP_CONSENT_URL")
        if consent_url:
            self.check(location.startswith(consent_url + "?"), f"consent page {location}")
        query = parse_qs(urlsplit(location).query)
        request_id = query.get("request_id", [""])[0]
        self.check(uuid.UUID(request_id) is not None, f"request_id in {location}")
        shown = self.http.get(
            f"{self.issuer}/oauth2/login",
            params={"request_id": request_id},
            timeout=TIMEOUT,
        )
        self.equal(shown.status_code, 200, f"GET /oauth2/login ({shown.text})")
        sent = parse_qs(urlsplit(request["url"]).query)
        body = shown.json()
        self.equal(body["requestId"], request_id, "consent requestId")
        self.equal(body["clientId"], sent["client_id"][0], "consent clientId")
        self.equal(body["redirectUri"], sent["redirect_uri"][0], "consent redirectUri")
        self.equal(body["scopes"], sent["scope"][0].split(), "consent scopes")
        return request_id

    def approve(self, request_id, user_token):
        """The consent page approves: POST /oauth2/login with the user's access token."""
        return self.http.post(
            f"{self.issuer}/oauth2/login",
            json={"requestId": request_id},
            headers={"Authorization": f"Bearer {user_token}"},
            timeout=TIMEOUT,
        )

    def consent(self, request, user_token):
        """Authorization URL → consent page → approval → the URL the browser comes back
        to the client with (checked: redirect URI, iss per RFC 9207, state)."""
        request_id = self.to_consent_page(request)
        res = self.approve(request_id, user_token)
        self.equal(res.status_code, 200, f"POST /oauth2/login ({res.text})")
        callback = res.json()["redirectUri"]
        self.check(
            callback.startswith(self.redirect_uri + "?"), f"callback {callback}"
        )
        query = parse_qs(urlsplit(callback).query)
        self.equal(query.get("iss"), [self.issuer], "iss of the authorization response")
        self.equal(query.get("state"), [request["state"]], "state of the response")
        return callback

    def authorize(self, session, user_token, **params):
        request = self.authorization_request(session, **params)
        request["callback"] = self.consent(request, user_token)
        return request

    def redirected_error(self, url, error, state):
        """The authorization endpoint answers a 302 to the client with an error."""
        res = self.http.get(url, allow_redirects=False, timeout=TIMEOUT)
        self.equal(res.status_code, 302, f"status of an error redirect ({res.text})")
        location = res.headers.get("Location", "")
        self.check(
            location.startswith(self.redirect_uri + "?"), f"error sent to {location}"
        )
        query = parse_qs(urlsplit(location).query)
        self.equal(query.get("error"), [error], "error of the redirect")
        self.check(query.get("error_description"), f"error_description in {location}")
        self.equal(query.get("iss"), [self.issuer], "iss of the error redirect")
        self.equal(query.get("state"), [state], "state of the error redirect")
        return query

    def json_error(self, res, status, error, description=None):
        """An OAuth2 error answered as JSON (never a redirect)."""
        self.equal(res.status_code, status, f"status ({res.text})")
        self.check("Location" not in res.headers, "no redirect for this error")
        self.check(
            res.headers.get("Content-Type", "").startswith("application/json"),
            f"JSON error, got {res.headers.get('Content-Type')}",
        )
        body = res.json()
        self.equal(body.get("error"), error, "error")
        if description is not None:
            self.equal(body.get("error_description"), description, "error_description")
        return body

    def token_error(self, session, call, status, error, description):
        """A token-endpoint call Authlib turns into OAuthError, with this answer."""
        try:
            call()
        except OAuthError as e:
            self.equal(e.error, error, "token endpoint error")
            self.equal(e.description, description, "token endpoint error_description")
            res = session.last
            self.equal(res.status_code, status, "token endpoint error status")
            self.equal(res.headers.get("Cache-Control"), "no-store", "Cache-Control")
            if status == 401:
                self.check(
                    res.headers.get("WWW-Authenticate", "").startswith("Bearer "),
                    "WWW-Authenticate on a 401",
                )
            return
        raise Failure(f"expected {error} ({description}), the call succeeded")

    # -- tokens ---------------------------------------------------------------------------

    def exchange(self, session, request):
        """The code for tokens, by Authlib (state checked by it), with the verifier."""
        token = session.fetch_token(
            authorization_response=request["callback"],
            state=request["state"],
            code_verifier=request["verifier"],
        )
        self.equal(session.last.headers.get("Cache-Control"), "no-store", "no-store")
        self.equal(token.get("token_type"), "Bearer", "token_type")
        self.check(isinstance(token.get("expires_in"), int), "expires_in")
        self.check(token.get("refresh_token"), "a refresh token")
        return token

    def id_token_claims(self, token, client_id, nonce, now=None, issuer=None):
        """The ID token verified as a careful RP does (Authlib's parse_id_token, with
        every claim essential): signature with a JWKS key and an advertised algorithm;
        iss, aud (and azp), exp, iat; nonce (code grant); at_hash of this access token."""
        key_set = KeySet.import_key_set(self.jwks)
        registry = JWSRegistry(
            algorithms=self.metadata["id_token_signing_alg_values_supported"]
        )
        decoded = jwt.decode(token["id_token"], key_set, registry=registry)
        options = {
            "iss": {"essential": True, "value": issuer or self.issuer},
            "aud": {"essential": True, "value": client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "auth_time": {"essential": True},
            "at_hash": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        params = {
            "nonce": nonce,
            "client_id": client_id,
            "access_token": token["access_token"],
        }
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        claims.validate(now=now, leeway=LEEWAY)
        return claims

    def rejected(self, why, call):
        """`call` (a validation by the library) must fail with the library's own error
        (joserfc's, which Authlib's claim checks raise too), not any exception."""
        try:
            call()
        except JoseError as e:
            self.checks += 1
            self.rejections.append(f"{why}: {type(e).__name__}")
            return
        raise Failure(f"the library accepted an ID token with {why}")

    def operator(self, *args):
        """The operator's command line, with the server's settings from the environment."""
        out = subprocess.run(
            [self.env["RP_OPERATOR"], *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        self.equal(out.returncode, 0, f"hasura-auth {' '.join(args)}: {out.stderr}")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


# -- scenarios ----------------------------------------------------------------------------


@scenario
def discovery(ctx):
    """Both discovery documents, validated by Authlib's models, say the same thing, and
    the key set is usable."""
    metadata = ctx.discover()
    url = rfc8414.get_well_known_url(ctx.issuer, external=True)
    res = ctx.http.get(url, timeout=TIMEOUT)
    ctx.equal(res.status_code, 200, f"GET {url}")
    oauth = rfc8414.AuthorizationServerMetadata(res.json())
    oauth.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    ctx.equal(dict(oauth), dict(metadata), "RFC 8414 document = OIDC document")
    ctx.equal(metadata["code_challenge_methods_supported"], ["S256"], "PKCE methods")
    ctx.equal(metadata["response_types_supported"], ["code"], "response types")
    ctx.check(
        {"client_secret_basic", "client_secret_post", "none"}
        <= set(metadata["token_endpoint_auth_methods_supported"]),
        "client authentication methods",
    )
    ctx.equal(metadata["authorization_response_iss_parameter_supported"], True, "RFC 9207")
    for name in ("introspection_endpoint", "revocation_endpoint", "userinfo_endpoint"):
        ctx.check(metadata[name].startswith(ctx.issuer + "/"), f"{name} under the issuer")
    keys = KeySet.import_key_set(ctx.jwks)
    ctx.check(len(keys.keys) >= 1, "at least one key in the JWKS")
    ctx.check(all(k.kid for k in keys.keys), "every key has a kid")


def full_flow(ctx, client_id, secret, auth_method, tamper=False):
    """Code + PKCE through the consent contract, strict ID-token checks, userinfo,
    refresh with rotation, introspection, revocation."""
    user_token = ctx.session_token(ctx.env["RP_USER_EMAIL"])
    session = ctx.client(client_id, secret, auth_method)
    request = ctx.authorize(session, user_token)
    token = ctx.exchange(session, request)
    ctx.equal(set(token["scope"].split()), set(SCOPE.split()), "granted scope")
    claims = ctx.id_token_claims(token, client_id, request["nonce"])
    ctx.equal(claims["email"], ctx.env["RP_USER_EMAIL"], "email claim")
    ctx.equal(claims["email_verified"], True, "email_verified claim")
    if tamper:
        tampered_id_token(ctx, token, client_id, request["nonce"])

    # Userinfo with the access token, by Authlib's token auth (Bearer header).
    res = session.get(ctx.metadata["userinfo_endpoint"], timeout=TIMEOUT)
    ctx.equal(res.status_code, 200, f"userinfo ({res.text})")
    info = res.json()
    ctx.equal(info["sub"], claims["sub"], "userinfo sub = ID token sub")
    ctx.equal(info.get("email"), ctx.env["RP_USER_EMAIL"], "userinfo email")
    ctx.check("phone_number" not in info, "no phone claims without the phone scope")

    # Introspection (RFC 7662) of both tokens, by the client that holds them.
    introspect = ctx.metadata["introspection_endpoint"]
    first_refresh = token["refresh_token"]
    res = session.introspect_token(introspect, token=first_refresh, token_type_hint="refresh_token")
    ctx.equal(res.status_code, 200, "introspection status")
    body = res.json()
    ctx.equal(body.get("active"), True, "refresh token active")
    ctx.equal(body.get("client_id"), client_id, "introspected client_id")
    ctx.equal(body.get("sub"), claims["sub"], "introspected sub")
    ctx.equal(body.get("token_type"), "refresh_token", "introspected token_type")
    res = session.introspect_token(
        introspect, token=token["access_token"], token_type_hint="access_token"
    )
    body = res.json()
    ctx.equal(body.get("active"), True, "access token active")
    ctx.equal(body.get("token_type"), "access_token", "introspected token_type")
    ctx.equal(body.get("iss"), ctx.issuer, "introspected iss")
    res = session.introspect_token(introspect, token=token["id_token"])
    ctx.equal(res.json(), {"active": False}, "an ID token is not an active token")

    # Refresh: new tokens, a new ID token (same subject and auth_time, no nonce), and
    # the old refresh token is refused from then on (rotation).
    refreshed = session.refresh_token(refresh_token=first_refresh)
    ctx.check(refreshed["refresh_token"] != first_refresh, "refresh token rotated")
    again = ctx.id_token_claims(refreshed, client_id, None)
    ctx.equal(again["sub"], claims["sub"], "refreshed ID token sub")
    ctx.equal(again["auth_time"], claims["auth_time"], "auth_time kept on refresh")
    ctx.check("nonce" not in again, "no nonce on a refreshed ID token")
    ctx.token_error(
        session,
        lambda: session.refresh_token(refresh_token=first_refresh),
        400,
        "invalid_grant",
        "Invalid refresh token",
    )
    res = session.introspect_token(introspect, token=first_refresh)
    ctx.equal(res.json(), {"active": False}, "a rotated refresh token is inactive")

    # Revocation (RFC 7009): 200, then inactive and refused.
    current = refreshed["refresh_token"]
    res = session.revoke_token(
        ctx.metadata["revocation_endpoint"], token=current, token_type_hint="refresh_token"
    )
    ctx.equal(res.status_code, 200, f"revocation ({res.text})")
    res = session.introspect_token(introspect, token=current, token_type_hint="refresh_token")
    ctx.equal(res.json(), {"active": False}, "a revoked refresh token is inactive")
    ctx.token_error(
        session,
        lambda: session.refresh_token(refresh_token=current),
        400,
        "invalid_grant",
        "Invalid refresh token",
    )


def tampered_id_token(ctx, token, client_id, nonce):
    """The library refuses an ID token that is not exactly right."""
    header, payload, signature = token["id_token"].split(".")
    claims = b64url_json(payload)

    def forged(**changes):
        changed = dict(claims, **changes)
        body = b64url(json.dumps(changed).encode())
        return dict(token, id_token=f"{header}.{body}.{signature}")

    def check(bad_token, expected_client=client_id, expected_nonce=nonce, **kw):
        return lambda: ctx.id_token_claims(bad_token, expected_client, expected_nonce, **kw)

    # Payload changed under the same signature.
    ctx.rejected("another subject", check(forged(sub=str(uuid.uuid4()))))
    ctx.rejected("a later expiry", check(forged(exp=claims["exp"] + 3600)))
    # Signature removed or replaced: alg none, and a signature over other bytes.
    none_header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    ctx.rejected("alg none", check(dict(token, id_token=f"{none_header}.{payload}.")))
    other = b64url(base64.urlsafe_b64decode(signature + "==")[::-1])
    ctx.rejected("a wrong signature", check(dict(token, id_token=f"{header}.{payload}.{other}")))
    # The token intact, but not what this RP expects.
    ctx.rejected("another nonce", check(token, expected_nonce="not-the-nonce"))
    ctx.rejected("another audience", check(token, expected_client="nhoa_0000000000000000"))
    ctx.rejected(
        "another issuer", check(token, issuer="https://evil.example.com")
    )
    ctx.rejected(
        "an at_hash of another access token",
        check(dict(token, access_token=token["access_token"] + "x")),
    )
    ctx.rejected("an expiry in the past", check(token, now=claims["exp"] + LEEWAY + 1))
    ctx.rejected("an iat in the future", check(token, now=claims["iat"] - LEEWAY - 600))
    # And the untouched token passes the same checks (so the rejections above are real).
    ctx.id_token_claims(token, client_id, nonce)


@scenario
def confidential_client_secret_basic(ctx):
    full_flow(
        ctx,
        ctx.env["RP_CONFIDENTIAL_ID"],
        ctx.env["RP_CONFIDENTIAL_SECRET"],
        "client_secret_basic",
        tamper=True,
    )


@scenario
def confidential_client_secret_post(ctx):
    full_flow(
        ctx,
        ctx.env["RP_CONFIDENTIAL_ID"],
        ctx.env["RP_CONFIDENTIAL_SECRET"],
        "client_secret_post",
    )


@scenario
def public_client(ctx):
    full_flow(ctx, ctx.env["RP_PUBLIC_ID"], None, "none")


@scenario
def wrong_redirect_uri(ctx):
    """An unregistered redirect URI is answered as JSON (no open redirector); at the
    token endpoint, a URI other than the request's is refused without using the code."""
    client_id = ctx.env["RP_CONFIDENTIAL_ID"]
    session = ctx.client(client_id, ctx.env["RP_CONFIDENTIAL_SECRET"])
    for uri in (ctx.redirect_uri + "/other", "https://evil.example.com/callback"):
        request = ctx.authorization_request(session, redirect_uri=uri)
        res = ctx.http.get(request["url"], allow_redirects=False, timeout=TIMEOUT)
        ctx.json_error(res, 400, "invalid_request", "Invalid redirect_uri")

    request = ctx.authorize(session, ctx.session_token(ctx.env["RP_USER_EMAIL"]))
    ctx.token_error(
        session,
        lambda: session.fetch_token(
            authorization_response=request["callback"],
            state=request["state"],
            code_verifier=request["verifier"],
            redirect_uri=ctx.redirect_uri + "/other",
        ),
        400,
        "invalid_grant",
        "redirect_uri mismatch",
    )
    token = ctx.exchange(session, request)
    ctx.id_token_claims(token, client_id, request["nonce"])


@scenario
def reused_code(ctx):
    """A code is good once."""
    client_id = ctx.env["RP_CONFIDENTIAL_ID"]
    session = ctx.client(client_id, ctx.env["RP_CONFIDENTIAL_SECRET"])
    request = ctx.authorize(session, ctx.session_token(ctx.env["RP_USER_EMAIL"]))
    token = ctx.exchange(session, request)
    ctx.id_token_claims(token, client_id, request["nonce"])
    ctx.token_error(
        session,
        lambda: ctx.exchange(session, request),
        400,
        "invalid_grant",
        "Invalid authorization code",
    )


@scenario
def wrong_verifier(ctx):
    """PKCE: a missing or wrong verifier is refused, and the refusal keeps the code."""
    client_id = ctx.env["RP_PUBLIC_ID"]
    session = ctx.client(client_id, None, "none")
    request = ctx.authorize(session, ctx.session_token(ctx.env["RP_USER_EMAIL"]))
    wrong = dict(request, verifier=generate_token(48))
    ctx.token_error(
        session,
        lambda: ctx.exchange(session, wrong),
        400,
        "invalid_grant",
        "Invalid code_verifier",
    )
    ctx.token_error(
        session,
        lambda: session.fetch_token(
            authorization_response=request["callback"], state=request["state"]
        ),
        400,
        "invalid_grant",
        "code_verifier is required",
    )
    token = ctx.exchange(session, request)
    ctx.id_token_claims(token, client_id, request["nonce"])


@scenario
def plain_method(ctx):
    """Only S256: `plain` is refused by a redirect; a public client must use PKCE; a
    client that sends a plain challenge without the method fails at the token endpoint."""
    client_id = ctx.env["RP_PUBLIC_ID"]
    session = ctx.client(client_id, None, "none")
    # Authlib only ever makes S256 challenges: a plain one is put in by hand.
    plain = OAuth2Session(client_id=client_id, scope=SCOPE, redirect_uri=ctx.redirect_uri)
    plain.trust_env = False
    endpoint = ctx.metadata["authorization_endpoint"]
    verifier = generate_token(48)
    url, state = plain.create_authorization_url(
        endpoint, code_challenge=verifier, code_challenge_method="plain"
    )
    ctx.redirected_error(url, "invalid_request", state)
    url, state = plain.create_authorization_url(endpoint)
    query = ctx.redirected_error(url, "invalid_request", state)
    ctx.equal(
        query["error_description"],
        ["PKCE code_challenge is required for public clients"],
        "error_description without PKCE",
    )

    # A 43-character plain challenge without a method is taken as S256.
    verifier = generate_token(43)
    url, state = plain.create_authorization_url(endpoint, code_challenge=verifier)
    request = {"url": url, "state": state, "verifier": verifier}
    request["callback"] = ctx.consent(request, ctx.session_token(ctx.env["RP_USER_EMAIL"]))
    ctx.token_error(
        session,
        lambda: ctx.exchange(session, request),
        400,
        "invalid_grant",
        "Invalid code_verifier",
    )


@scenario
def mixed_graphql_scopes(ctx):
    """`graphql` with `graphql:role:*` is invalid_scope (a redirect); either alone works."""
    client_id = ctx.env["RP_CONFIDENTIAL_ID"]
    session = ctx.client(client_id, ctx.env["RP_CONFIDENTIAL_SECRET"])
    request = ctx.authorization_request(session, scope="openid graphql graphql:role:user")
    ctx.redirected_error(request["url"], "invalid_scope", request["state"])
    request = ctx.authorization_request(session, scope="openid graphql:role:user graphql")
    ctx.redirected_error(request["url"], "invalid_scope", request["state"])

    request = ctx.authorize(
        session, ctx.session_token(ctx.env["RP_USER_EMAIL"]), scope="openid graphql:role:user"
    )
    token = ctx.exchange(session, request)
    ctx.id_token_claims(token, client_id, request["nonce"])
    # The access token is a JWT for Hasura: verify it with the same keys, read the roles.
    key_set = KeySet.import_key_set(ctx.jwks)
    access = jwt.decode(token["access_token"], key_set)
    hasura = access.claims["https://hasura.io/jwt/claims"]
    ctx.equal(hasura["x-hasura-allowed-roles"], ["user"], "narrowed allowed roles")
    ctx.equal(hasura["x-hasura-default-role"], "user", "narrowed default role")
    ctx.equal(access.claims["aud"], client_id, "access token aud")


@scenario
def tokens_of_another_client(ctx):
    """Introspection and revocation answer only for the caller's own tokens (RFC 7662
    §2.2, RFC 7009 §2.1), and need the caller's credentials."""
    owner_id = ctx.env["RP_CONFIDENTIAL_ID"]
    owner = ctx.client(owner_id, ctx.env["RP_CONFIDENTIAL_SECRET"])
    request = ctx.authorize(owner, ctx.session_token(ctx.env["RP_USER_EMAIL"]))
    token = ctx.exchange(owner, request)
    ctx.id_token_claims(token, owner_id, request["nonce"])
    other = ctx.client(ctx.env["RP_PUBLIC_ID"], None, "none")
    introspect = ctx.metadata["introspection_endpoint"]
    revoke = ctx.metadata["revocation_endpoint"]

    for kind in ("refresh_token", "access_token"):
        res = other.introspect_token(introspect, token=token[kind], token_type_hint=kind)
        ctx.equal(res.status_code, 200, f"introspection of another client's {kind}")
        ctx.equal(res.json(), {"active": False}, f"another client's {kind}")
    res = other.revoke_token(revoke, token=token["refresh_token"])
    ctx.equal(res.status_code, 200, "revocation of another client's token")
    ctx.equal(res.text, "", "empty revocation answer")
    res = owner.introspect_token(introspect, token=token["refresh_token"])
    ctx.equal(res.json().get("active"), True, "still active for its owner")

    # No client authentication at all; a wrong secret; no token.
    res = ctx.http.post(introspect, data={"token": token["refresh_token"]}, timeout=TIMEOUT)
    ctx.json_error(res, 401, "invalid_client", "Client authentication required")
    res = ctx.http.post(revoke, data={"token": token["refresh_token"]}, timeout=TIMEOUT)
    ctx.json_error(res, 401, "invalid_client", "Client authentication required")
    wrong = ctx.client(owner_id, "not-the-secret")
    res = wrong.introspect_token(introspect, token=token["refresh_token"])
    ctx.json_error(res, 401, "invalid_client")
    credentials = (owner_id, ctx.env["RP_CONFIDENTIAL_SECRET"])
    res = ctx.http.post(introspect, data={}, auth=credentials, timeout=TIMEOUT)
    ctx.json_error(res, 400, "invalid_request")
    ctx.equal(
        owner.refresh_token(refresh_token=token["refresh_token"])["token_type"],
        "Bearer",
        "the owner can still refresh",
    )


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_authorization(ctx, session, auth_method):
    """RFC 8628 §3.1, with the client authentication Authlib makes for the token
    endpoint; returns the §3.2 answer, checked."""
    endpoint = ctx.metadata["device_authorization_endpoint"]
    res = session.post(
        endpoint,
        data={"scope": SCOPE},
        auth=session.client_auth(auth_method),
        withhold_token=True,
    )
    ctx.equal(res.status_code, 200, f"POST {endpoint} ({res.text})")
    ctx.equal(res.headers.get("Cache-Control"), "no-store", "device answer no-store")
    body = res.json()
    for field in ("device_code", "user_code", "verification_uri", "verification_uri_complete"):
        ctx.check(isinstance(body.get(field), str) and body[field], f"{field} in {body}")
    ctx.equal(body.get("expires_in"), 600, "expires_in")
    ctx.equal(body.get("interval"), 5, "interval")
    ctx.equal(body["verification_uri"], ctx.env["RP_DEVICE_VERIFY_URL"], "verification_uri")
    ctx.equal(
        parse_qs(urlsplit(body["verification_uri_complete"]).query).get("user_code"),
        [body["user_code"]],
        "user_code in verification_uri_complete",
    )
    return body


def device_page(ctx, user_code, user_token, action):
    """The verification page: shows the request, then the user decides."""
    shown = ctx.http.get(
        f"{ctx.issuer}/oauth2/device/verify",
        params={"user_code": user_code.lower()},
        timeout=TIMEOUT,
    )
    ctx.equal(shown.status_code, 200, f"GET /oauth2/device/verify ({shown.text})")
    ctx.equal(shown.json()["scopes"], SCOPE.split(), "scopes shown")
    res = ctx.http.post(
        f"{ctx.issuer}/oauth2/device/verify",
        json={"userCode": user_code, "action": action},
        headers={"Authorization": f"Bearer {user_token}"},
        timeout=TIMEOUT,
    )
    ctx.equal(res.status_code, 200, f"POST /oauth2/device/verify ({res.text})")


@scenario
def device_flow(ctx):
    """RFC 8628 with Authlib's token requests: advertised, pending, slow_down, approved
    (tokens whose ID token passes the same checks as the code flow's, without nonce),
    then the spent code refused; a public client's denial is access_denied."""
    metadata = ctx.discover()
    ctx.equal(
        metadata.get("device_authorization_endpoint"),
        f"{ctx.issuer}/oauth2/device",
        "device_authorization_endpoint",
    )
    ctx.check(DEVICE_GRANT in metadata["grant_types_supported"], "device grant advertised")
    user_token = ctx.session_token(ctx.env["RP_USER_EMAIL"])

    client_id = ctx.env["RP_CONFIDENTIAL_ID"]
    session = ctx.client(client_id, ctx.env["RP_CONFIDENTIAL_SECRET"], "client_secret_basic")
    codes = device_authorization(ctx, session, "client_secret_basic")

    def poll():
        return session.fetch_token(grant_type=DEVICE_GRANT, device_code=codes["device_code"])

    ctx.token_error(
        session, poll, 400, "authorization_pending", "The user has not approved the request yet"
    )
    ctx.token_error(
        session,
        poll,
        400,
        "slow_down",
        "Polling too fast: wait the interval, now five seconds longer",
    )
    device_page(ctx, codes["user_code"], user_token, "approve")
    token = poll()
    ctx.equal(session.last.headers.get("Cache-Control"), "no-store", "no-store")
    ctx.equal(token.get("token_type"), "Bearer", "token_type")
    ctx.check(token.get("refresh_token"), "a refresh token")
    claims = ctx.id_token_claims(token, client_id, None)
    ctx.check("nonce" not in claims, "no nonce in a device-flow ID token")
    ctx.token_error(session, poll, 400, "invalid_grant", "Invalid device code")

    public = ctx.client(ctx.env["RP_PUBLIC_ID"], None, "none")
    codes = device_authorization(ctx, public, "none")
    device_page(ctx, codes["user_code"], user_token, "deny")
    ctx.token_error(
        public,
        lambda: public.fetch_token(grant_type=DEVICE_GRANT, device_code=codes["device_code"]),
        400,
        "access_denied",
        "The user denied the authorization request",
    )


@scenario
def disabled_user(ctx):
    """A user disabled by the operator: a pending code, the refresh token, userinfo and
    a new approval are all refused."""
    email = ctx.env["RP_DISABLED_EMAIL"]
    client_id = ctx.env["RP_CONFIDENTIAL_ID"]
    session = ctx.client(client_id, ctx.env["RP_CONFIDENTIAL_SECRET"])
    user_token = ctx.session_token(email)
    first = ctx.authorize(session, user_token)
    token = ctx.exchange(session, first)
    ctx.id_token_claims(token, client_id, first["nonce"])
    pending = ctx.authorize(session, user_token)
    waiting = ctx.authorization_request(session)
    waiting_id = ctx.to_consent_page(waiting)

    ctx.operator("users", "disable", email)

    ctx.token_error(
        session,
        lambda: ctx.exchange(session, pending),
        400,
        "invalid_grant",
        "User account is not active",
    )
    ctx.token_error(
        session,
        lambda: session.refresh_token(refresh_token=token["refresh_token"]),
        400,
        "invalid_grant",
        "User account is not active",
    )
    res = session.get(ctx.metadata["userinfo_endpoint"], timeout=TIMEOUT)
    ctx.equal(res.status_code, 401, f"userinfo of a disabled user ({res.text})")
    ctx.equal(res.json().get("error"), "invalid_token", "userinfo error")
    ctx.equal(
        res.json().get("error_description"), "User account is not active", "userinfo reason"
    )
    ctx.check(res.headers.get("WWW-Authenticate", "").startswith("Bearer "), "WWW-Authenticate")
    res = ctx.approve(waiting_id, user_token)
    ctx.equal(res.status_code, 401, f"approval by a disabled user ({res.text})")
    ctx.equal(res.json().get("error"), "disabled-user", "approval error")


@scenario
def revoked_client(ctx):
    """A client deleted by the operator: its codes and refresh tokens die with it, and
    it can no longer authenticate or start a request."""
    client_id = ctx.env["RP_REVOKED_ID"]
    secret = ctx.env["RP_REVOKED_SECRET"]
    session = ctx.client(client_id, secret)
    user_token = ctx.session_token(ctx.env["RP_USER_EMAIL"])
    first = ctx.authorize(session, user_token)
    token = ctx.exchange(session, first)
    ctx.id_token_claims(token, client_id, first["nonce"])
    pending = ctx.authorize(session, user_token)

    ctx.operator("oauth2-clients", "delete", client_id, "--yes")

    ctx.token_error(
        session,
        lambda: session.refresh_token(refresh_token=token["refresh_token"]),
        400,
        "invalid_grant",
        "Invalid refresh token",
    )
    ctx.token_error(
        session,
        lambda: ctx.exchange(session, pending),
        400,
        "invalid_grant",
        "Invalid authorization code",
    )
    res = session.introspect_token(
        ctx.metadata["introspection_endpoint"], token=token["refresh_token"]
    )
    ctx.json_error(res, 401, "invalid_client")
    res = session.revoke_token(ctx.metadata["revocation_endpoint"], token=token["refresh_token"])
    ctx.json_error(res, 401, "invalid_client")
    request = ctx.authorization_request(session)
    res = ctx.http.get(request["url"], allow_redirects=False, timeout=TIMEOUT)
    ctx.json_error(res, 401, "invalid_client", "Unknown client")


def main(argv):
    wanted = argv[1:]
    known = {fn.__name__ for fn in SCENARIOS}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        print(f"unknown scenario(s) {unknown}; known: {sorted(known)}", file=sys.stderr)
        return 2
    ctx = Context(os.environ)
    failed = 0
    for fn in SCENARIOS:
        if wanted and fn.__name__ not in wanted:
            continue
        ctx.checks = 0
        ctx.rejections = []
        started = time.monotonic()
        line = {"scenario": fn.__name__}
        try:
            fn(ctx)
            line["result"] = "pass"
        except Exception as e:  # noqa: BLE001 - report any failure, run the rest
            failed += 1
            line["result"] = "fail"
            line["error"] = f"{type(e).__name__}: {e}"
            traceback.print_exc(file=sys.stderr)
        line["checks"] = ctx.checks
        if ctx.rejections:
            line["rejected"] = ctx.rejections
        line["seconds"] = round(time.monotonic() - started, 2)
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
