"""A stand-in for Microsoft Teams' side of a bot, on 127.0.0.1: what the tests and the benchmark run against.

It plays three Microsoft services, each at an address the bot's settings can point at:

- the Bot Framework's OpenID metadata and signing keys (TEAMS_OPENID_METADATA_URL): an RS256 key it makes,
  with which it signs the activities it sends the bot, as the Bot Framework signs them (`sign`);
- the Entra ID login (TEAMS_LOGIN_URL), over HTTPS as MSAL insists, with a certificate it makes for
  127.0.0.1 (`ca_file`, for REQUESTS_CA_BUNDLE): tenant discovery and the client-credentials token the
  bot sends with every call;
- the Bot Connector REST API at the service URL in each activity: send to a conversation, reply, update an
  activity, create a personal conversation, read a member. It checks the bot's token, records every
  activity, and refuses what Teams refuses: an unknown conversation, an update to an activity that does not
  exist, a conversation with someone who has not installed the app, an invalid Adaptive Card or a message
  too large.

It runs on its own thread and event loop, as the real services run elsewhere: the SDK fetches the signing
keys with a blocking call (PyJWT's PyJWKClient) from inside the bot's event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import itertools
import json
import random
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bot.standin.adaptive_cards import CardError, validate_activity

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"  # the issuer of the tokens on incoming activities
BOT_API_AUDIENCE = "https://api.botframework.com"  # the audience of the bot's own token
KEY_ID = "standin-signing-key"
FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"


@dataclass
class TeamsUser:
    aad_object_id: str
    name: str
    email: str
    # The id the bot knows the user by in Teams ("29:…"), different for every bot.
    chat_id: str = ""

    def __post_init__(self):
        self.chat_id = self.chat_id or f"29:standin-{self.aad_object_id}"


@dataclass
class Conversation:
    id: str
    kind: str  # "personal" or "channel"
    user: TeamsUser | None = None  # in a personal chat
    team_name: str = ""
    members: list[TeamsUser] = field(default_factory=list)  # of a channel's team


@dataclass
class Sent:
    """An activity the bot sent, as it stands now (`history` has what an update replaced)."""

    id: str
    conversation_id: str
    activity: dict
    reply_to_id: str = ""  # the thread root in a channel (from ;messageid= or replyToId)
    history: list[dict] = field(default_factory=list)
    at: float = field(default_factory=time.perf_counter)  # when it arrived (for the benchmark)

    @property
    def cards(self) -> list[dict]:
        return [
            a["content"]
            for a in self.activity.get("attachments") or []
            if a.get("contentType", "").endswith("adaptive")
        ]

    @property
    def text(self) -> str:
        return self.activity.get("text") or ""


@dataclass
class Upload:
    """An upload session Teams opened in someone's OneDrive when they accepted a file consent card: `content` is
    what the bot put there (None until it did)."""

    id: str
    name: str
    user: TeamsUser
    content: bytes | None = None


@dataclass
class Call:
    method: str
    path: str
    status: int
    error: str = ""


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "teams-standin.local")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


class TeamsStandin:
    """State and behaviour of the stand-in. `start()` serves it on its own thread; `stop()` ends it."""

    def __init__(
        self, app_id: str, app_password: str, tenant_id: str, users: list[TeamsUser], bot_name: str = "escalation-bot"
    ):
        self.app_id, self.app_password, self.tenant_id, self.bot_name = app_id, app_password, tenant_id, bot_name
        self.users = {u.aad_object_id: u for u in users}
        self.key = _key()
        self.conversations: dict[str, Conversation] = {}
        self.installed: set[str] = set()  # AAD object ids of people who have the app in their personal scope
        self.activities: list[Sent] = []
        self.calls: list[Call] = []
        self.tokens_issued = 0
        self.uploads: dict[str, Upload] = {}
        # Failure injection: statuses to answer the next Connector calls with (429 carries Retry-After: 0).
        self.fail_next: list[int] = []
        # Each Connector call fails (503) with this chance, from a seeded random: the outbox's tests.
        self.failure_rate, self.failures_injected = 0.0, 0
        self._random = random.Random(11)
        self._ids = itertools.count(1_700_000_000_000)
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="teams-standin-")
        self.ca_file = ""
        self.port = self.tls_port = 0

    # -------------------------------------------------------------- addresses the bot's settings point at

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openid_metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def login_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def service_url(self) -> str:
        # A path, as Microsoft's service URLs have (https://smba.trafficmanager.net/emea/).
        return f"{self.base_url}/teams/"

    @property
    def bot_id(self) -> str:
        return f"28:{self.app_id}"

    # -------------------------------------------------------------- running

    def start(self) -> TeamsStandin:
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self._serve())
            except BaseException as error:  # reported to the starting thread
                failure.append(error)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner_http.cleanup())
            loop.run_until_complete(self._runner_tls.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="teams-standin", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        return self

    async def _serve(self) -> None:
        tls_key = _key()
        cert_path, key_path = Path(self._folder.name) / "cert.pem", Path(self._folder.name) / "key.pem"
        cert_path.write_bytes(_certificate(tls_key))
        key_path.write_bytes(
            tls_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.ca_file = str(cert_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        self._runner_http = web.AppRunner(self._http_app())
        await self._runner_http.setup()
        site = web.TCPSite(self._runner_http, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._runner_tls = web.AppRunner(self._login_app())
        await self._runner_tls.setup()
        tls_site = web.TCPSite(self._runner_tls, "127.0.0.1", 0, ssl_context=context)
        await tls_site.start()
        self.tls_port = tls_site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None
        self._folder.cleanup()

    # -------------------------------------------------------------- for tests: people, waiting, reading

    def install_for(self, user: TeamsUser) -> Conversation:
        """The app is installed in `user`'s personal scope: their chat with the bot exists from now on."""
        with self._changed:
            self.installed.add(user.aad_object_id)
            conversation = self.personal_conversation(user)
            self._changed.notify_all()
        return conversation

    def uninstall_for(self, user: TeamsUser) -> None:
        with self._changed:
            self.installed.discard(user.aad_object_id)

    def personal_conversation(self, user: TeamsUser) -> Conversation:
        conversation_id = f"a:standin-personal-{user.aad_object_id}"
        return self.conversations.setdefault(conversation_id, Conversation(conversation_id, "personal", user))

    def add_channel(self, conversation_id: str, team_name: str = "CSCP", members: list[TeamsUser] = ()) -> Conversation:
        with self._changed:
            return self.conversations.setdefault(
                conversation_id, Conversation(conversation_id, "channel", team_name=team_name, members=list(members))
            )

    def sent_to(self, conversation_id: str) -> list[Sent]:
        with self._changed:
            return [a for a in self.activities if a.conversation_id == conversation_id]

    def sent_to_user(self, user: TeamsUser) -> list[Sent]:
        return self.sent_to(self.personal_conversation(user).id)

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `condition()` holds, re-checking after every call the bot makes."""

        def until() -> bool:
            with self._changed:
                return self._changed.wait_for(condition, timeout)

        if not await asyncio.to_thread(until):
            raise TimeoutError("the stand-in did not see what was awaited")

    def _note(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # -------------------------------------------------------------- signing, as the Bot Framework signs

    def sign(
        self,
        *,
        audience: str | None = None,
        service_url: str | None = None,
        expires_in: int = 3600,
        key: rsa.RSAPrivateKey | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
    ) -> str:
        """A token for an activity sent to the bot: the Bot Framework's claims, signed with the key this stand-in
        publishes (or with `key`, to forge one). A negative `expires_in` gives one that has expired."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience or self.app_id,
            "serviceurl": service_url or self.service_url,
            "nbf": now - 60 if expires_in > 0 else now + expires_in - 3600,
            "iat": now - 60 if expires_in > 0 else now + expires_in - 3600,
            "exp": now + expires_in,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def _jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [dict(jwk, kid=KEY_ID, use="sig", endorsements=["msteams"])]}

    # -------------------------------------------------------------- the web applications

    def _http_app(self) -> web.Application:
        application = web.Application(client_max_size=1024 * 1024)
        application.router.add_get("/v1/.well-known/openidconfiguration", self._openid_metadata)
        application.router.add_get("/v1/.well-known/keys", self._keys)
        application.router.add_post("/teams/v3/conversations", self._create_conversation)
        application.router.add_post("/teams/v3/conversations/{conversation}/activities", self._send)
        application.router.add_post("/teams/v3/conversations/{conversation}/activities/{activity}", self._send)
        application.router.add_put("/teams/v3/conversations/{conversation}/activities/{activity}", self._update)
        application.router.add_get("/teams/v3/conversations/{conversation}/members/{member}", self._member)
        application.router.add_get("/teams/v3/conversations/{conversation}/members", self._members)
        application.router.add_put("/onedrive/upload/{upload}", self._upload)
        return application

    def _login_app(self) -> web.Application:
        application = web.Application()
        application.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._tenant_discovery)
        application.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        return application

    async def _openid_metadata(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "authorization_endpoint": "https://invalid.botframework.standin/v1/auth",
                "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response(self._jwks())

    async def _tenant_discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if tenant != self.tenant_id:
            return web.json_response({"error": "invalid_tenant"}, status=400)
        base = f"{self.login_url}/{tenant}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}
        if request.match_info["tenant"] != self.tenant_id:
            return web.json_response({"error": "invalid_tenant"}, status=400)
        if form.get("grant_type") != "client_credentials" or form.get("scope") != f"{BOT_API_AUDIENCE}/.default":
            return web.json_response({"error": "invalid_request"}, status=400)
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.app_password:
            return web.json_response(
                {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."},
                status=401,
            )
        now = int(time.time())
        token = jwt.encode(
            {
                "iss": f"https://sts.windows.net/{self.tenant_id}/",
                "aud": BOT_API_AUDIENCE,
                "appid": self.app_id,
                "tid": self.tenant_id,
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
            },
            self.key,
            algorithm="RS256",
            headers={"kid": KEY_ID},
        )
        with self._changed:
            self.tokens_issued += 1
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )

    # -------------------------------------------------------------- the Bot Connector

    def _bot_token_valid(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "), self.key.public_key(), algorithms=["RS256"], audience=BOT_API_AUDIENCE
            )
        except jwt.PyJWTError:
            return False
        return claims.get("appid") == self.app_id and claims.get("tid") == self.tenant_id

    def _refuse(self, request: web.Request, status: int, code: str, message: str) -> web.Response:
        self._note(Call(request.method, request.path, status, code))
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    def _gate(self, request: web.Request) -> web.Response | None:
        """Injected failures, then the bot's token: what every Connector call meets first."""
        injected = self.failure_rate and self._random.random() < self.failure_rate
        if self.fail_next or injected:
            status = self.fail_next.pop(0) if self.fail_next else 503
            self.failures_injected += 1
            headers = {"Retry-After": "0"} if status == 429 else {}
            self._note(Call(request.method, request.path, status, "injected"))
            return web.json_response(
                {"error": {"code": "Throttled" if status == 429 else "ServiceError"}}, status=status, headers=headers
            )
        if not self._bot_token_valid(request):
            self._note(Call(request.method, request.path, 401, "Unauthorized"))
            return web.json_response({"message": "Authorization has been denied for this request."}, status=401)
        return None

    def _conversation(self, conversation_id: str) -> tuple[Conversation | None, str]:
        base, _, thread = conversation_id.partition(";messageid=")
        return self.conversations.get(base), thread

    def _reachable(self, request: web.Request, conversation: Conversation | None) -> web.Response | None:
        if conversation is None:
            return self._refuse(request, 404, "ConversationNotFound", "Conversation not found.")
        if conversation.kind == "personal" and conversation.user.aad_object_id not in self.installed:
            return self._refuse(request, 403, "Forbidden", "The bot is not part of the conversation roster.")
        return None

    async def _send(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused:
            return refused
        conversation, thread = self._conversation(request.match_info["conversation"])
        refused = self._reachable(request, conversation)
        if refused:
            return refused
        activity = await request.json()
        try:
            validate_activity(activity)
        except CardError as error:
            status = 413 if str(error) == "MessageSizeTooBig" else 400
            return self._refuse(request, status, "BadArgument" if status == 400 else "MessageSizeTooBig", str(error))
        for attachment in activity.get("attachments") or []:
            if attachment.get("contentType") != FILE_CONSENT:
                continue
            size = (attachment.get("content") or {}).get("sizeInBytes")
            if not attachment.get("name") or not isinstance(size, int) or size <= 0:
                return self._refuse(request, 400, "BadArgument", "A file consent card needs a name and a size.")
            if conversation.kind != "personal":
                return self._refuse(request, 400, "BadArgument", "Files can be sent only in a personal chat.")
        reply_to = thread or request.match_info.get("activity") or activity.get("replyToId") or ""
        if reply_to and not any(a.id == reply_to and a.conversation_id == conversation.id for a in self.activities):
            return self._refuse(request, 404, "NotFound", "The activity replied to does not exist.")
        with self._changed:
            sent = Sent(str(next(self._ids)), conversation.id, activity, reply_to)
            self.activities.append(sent)
        self._note(Call(request.method, request.path, 201))
        return web.json_response({"id": sent.id}, status=201)

    async def _upload(self, request: web.Request) -> web.Response:
        """OneDrive's upload session (pre-authorised: no token): the bytes in one PUT whose Content-Range says
        `bytes 0-(n-1)/n` for a body of n bytes; anything else is refused, and the session takes one file."""
        session = self.uploads.get(request.match_info["upload"])
        if session is None or session.content is not None:
            return self._refuse(request, 404, "itemNotFound", "The upload session does not exist or has ended.")
        body = await request.read()
        size = len(body)
        declared = request.headers.get("Content-Range", "")
        if not size or declared != f"bytes 0-{size - 1}/{size}" or request.content_length != size:
            return self._refuse(request, 416, "invalidRange", "The Content-Range does not match the bytes sent.")
        with self._changed:
            session.content = body
            self._changed.notify_all()
        self._note(Call(request.method, request.path, 201))
        return web.json_response({"id": session.id, "name": session.name, "size": size}, status=201)

    def consent_cards(self, user: TeamsUser) -> list[tuple[Sent, dict]]:
        """The file consent cards the bot sent to `user`: each message with its card's attachment."""
        return [
            (sent, attachment)
            for sent in self.sent_to_user(user)
            for attachment in sent.activity.get("attachments") or []
            if attachment.get("contentType") == FILE_CONSENT
        ]

    def file_consent(self, user: TeamsUser, attachment: dict, accept: bool = True) -> dict:
        """What Teams sends when `user` accepts or declines a consent card: on accept, with an upload session
        opened in their OneDrive for the file's name."""
        content = attachment["content"]
        value: dict[str, Any] = {"type": "fileUpload", "action": "accept" if accept else "decline"}
        if accept:
            upload = Upload(str(next(self._ids)), attachment["name"], user)
            self.uploads[upload.id] = upload
            value["context"] = content.get("acceptContext")
            value["uploadInfo"] = {
                "name": upload.name,
                "uploadUrl": f"{self.base_url}/onedrive/upload/{upload.id}",
                "contentUrl": f"https://standin-my.sharepoint.com/personal/{user.aad_object_id}/{upload.name}",
                "uniqueId": upload.id,
                "fileType": upload.name.rpartition(".")[2],
            }
        else:
            value["context"] = content.get("declineContext")
        return self.invoke(user, "fileConsent/invoke", value)

    async def _update(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused:
            return refused
        conversation, _ = self._conversation(request.match_info["conversation"])
        refused = self._reachable(request, conversation)
        if refused:
            return refused
        activity_id = request.match_info["activity"]
        found = next((a for a in self.activities if a.id == activity_id and a.conversation_id == conversation.id), None)
        if found is None:
            return self._refuse(request, 404, "NotFound", "Activity not found.")
        activity = await request.json()
        try:
            validate_activity(activity)
        except CardError as error:
            return self._refuse(request, 400, "BadArgument", str(error))
        with self._changed:
            found.history.append(found.activity)
            found.activity = activity
        self._note(Call(request.method, request.path, 200))
        return web.json_response({"id": activity_id})

    async def _create_conversation(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused:
            return refused
        params = await request.json()
        members = params.get("members") or []
        tenant = params.get("tenantId") or (params.get("channelData") or {}).get("tenant", {}).get("id")
        if params.get("isGroup") or len(members) != 1 or tenant != self.tenant_id:
            return self._refuse(request, 400, "BadArgument", "A personal conversation has one member, in the tenant.")
        wanted = members[0].get("id", "")
        user = next((u for u in self.users.values() if wanted in (u.chat_id, u.aad_object_id)), None)
        if user is None or user.aad_object_id not in self.installed:
            return self._refuse(request, 403, "Forbidden", "The bot is not installed for this user.")
        conversation = self.personal_conversation(user)
        self._note(Call(request.method, request.path, 201))
        return web.json_response({"id": conversation.id, "serviceUrl": self.service_url}, status=201)

    async def _members(self, request: web.Request) -> web.Response:
        """The members of a channel's team (Teams answers this for a conversation the bot is in)."""
        refused = self._gate(request)
        if refused:
            return refused
        conversation, _ = self._conversation(request.match_info["conversation"])
        if conversation is None:
            return self._refuse(request, 404, "ConversationNotFound", "Conversation not found.")
        self._note(Call(request.method, request.path, 200))
        people = conversation.members if conversation.kind == "channel" else [conversation.user]
        return web.json_response(
            [
                {"id": u.chat_id, "name": u.name, "aadObjectId": u.aad_object_id, "email": u.email}
                for u in people
                if u is not None
            ]
        )

    async def _member(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused:
            return refused
        conversation, _ = self._conversation(request.match_info["conversation"])
        wanted = request.match_info["member"]
        user = next((u for u in self.users.values() if wanted in (u.chat_id, u.aad_object_id)), None)
        member = (
            conversation is not None
            and user is not None
            and (conversation.kind == "channel" or conversation.user is user)
        )
        if not member:
            return self._refuse(request, 404, "MemberNotFoundInConversation", "The member is not in the conversation.")
        self._note(Call(request.method, request.path, 200))
        return web.json_response(
            {
                "id": user.chat_id,
                "name": user.name,
                "aadObjectId": user.aad_object_id,
                "email": user.email,
                "userPrincipalName": user.email,
                "tenantId": self.tenant_id,
                "userRole": "user",
            }
        )

    # -------------------------------------------------------------- activities Teams sends the bot

    def activity(self, user: TeamsUser, kind: str = "message", **fields: Any) -> dict:
        """An activity from `user` in their personal chat with the bot, shaped as Teams sends it."""
        conversation = self.personal_conversation(user)
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        return {
            "type": kind,
            "id": str(next(self._ids)),
            "timestamp": now,
            "localTimestamp": now,
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": user.chat_id, "name": user.name, "aadObjectId": user.aad_object_id},
            "conversation": {"conversationType": "personal", "tenantId": self.tenant_id, "id": conversation.id},
            "recipient": {"id": self.bot_id, "name": self.bot_name},
            "locale": "en-GB",
            "channelData": {"tenant": {"id": self.tenant_id}},
            **fields,
        }

    def message(self, user: TeamsUser, text: str) -> dict:
        return self.activity(user, "message", text=text, textFormat="plain")

    def added_to_channel(self, user: TeamsUser, conversation_id: str) -> dict:
        """What Teams sends when `user` adds the bot to a team: a conversationUpdate in its General channel."""
        activity = self.activity(user, "conversationUpdate", membersAdded=[{"id": self.bot_id}])
        activity["conversation"] = {"conversationType": "channel", "tenantId": self.tenant_id, "id": conversation_id}
        activity["channelData"] = {"tenant": {"id": self.tenant_id}, "team": {"id": conversation_id}}
        return activity

    def installation(self, user: TeamsUser) -> list[dict]:
        """What Teams sends when the app is installed for `user`: an installationUpdate, then a
        conversationUpdate adding the bot. Marks the app installed for them."""
        self.install_for(user)
        return [
            self.activity(user, "installationUpdate", action="add"),
            self.activity(user, "conversationUpdate", membersAdded=[{"id": self.bot_id}]),
        ]

    def invoke(self, user: TeamsUser, name: str, value: dict) -> dict:
        return self.activity(user, "invoke", name=name, value=value)
