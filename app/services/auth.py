"""Who is calling: an API key from `Authorization: Bearer <key>`, resolved to its workspace."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.clock import Clock
from app.domain.errors import RequestError, UserError
from app.domain.models import ApiKey, Contact, ContactRole, KeyScope, Workspace
from app.domain.refs import ContactKey, RefKind
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import workspaces as store_workspaces
from app.store.database import Store

ADMIN_KEY_ID = "tally-admin-key"
_MAX_CACHED = 10_000


@dataclass(frozen=True)
class Principal:
    key: ApiKey
    workspace: Workspace

    @property
    def workspace_id(self) -> str:
        return self.workspace.id

    @property
    def is_admin(self) -> bool:
        return self.key.scope is KeyScope.ADMIN


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RequestError(
            "UNAUTHENTICATED", "Send an API key as the header 'Authorization: Bearer <key>'."
        )
    return token.strip()


class Authenticator:
    """Checks keys against the store, trusting a checked key for `auth_cache_seconds` of the
    app's clock (so tests can pass the bound): a key revoked on another instance, or a
    workspace changed there, is seen here within that."""

    def __init__(self, *, store: Store, clock: Clock, cache_seconds: float) -> None:
        self._store = store
        self._clock = clock
        self._cache_for = timedelta(seconds=cache_seconds)
        self._cache: dict[str, tuple[datetime, Principal]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        now = self._clock.now()
        cached = self._cache.get(token)
        # A clock set back makes the entry stale too.
        if cached and timedelta(0) <= now - cached[0] < self._cache_for:
            return cached[1]
        key = await store_workspaces.use_key(self._store, secret=token, now=now)
        workspace = None
        if key is not None:
            workspace = await store_workspaces.get_workspace(
                self._store, workspace_id=key.workspace_id
            )
        if key is None or workspace is None:
            self._cache.pop(token, None)
            raise RequestError("UNAUTHENTICATED", "This API key is unknown or revoked.")
        principal = Principal(key=key, workspace=workspace)
        if self._cache_for:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[token] = (now, principal)
        return principal

    def forget_workspace(self, workspace_id: str) -> None:
        """Drop cached keys of a workspace whose settings or keys changed."""
        for token, (_, principal) in list(self._cache.items()):
            if principal.workspace_id == workspace_id:
                del self._cache[token]


async def bootstrap(store: Store, *, settings: Settings, clock: Clock) -> Workspace:
    """The default workspace, and TALLY_ADMIN_KEY installed as its admin and operator key."""
    now = clock.now()
    workspace = await store_workspaces.ensure_workspace(
        store,
        workspace_id=store_workspaces.DEFAULT_WORKSPACE_ID,
        name="Default",
        retention_days=settings.retention_days,
        identity_secret=secrets.token_hex(32),
        webhook_secret=secrets.token_hex(32),
        now=now,
    )
    admin_key = settings.admin_key_value()
    if admin_key is not None:
        await store_workspaces.install_key(
            store,
            key_id=ADMIN_KEY_ID,
            workspace_id=workspace.id,
            secret=admin_key,
            name="TALLY_ADMIN_KEY",
            scope=KeyScope.ADMIN,
            operator=True,
            now=now,
        )
    return workspace


def user_hash(secret: str, value: str) -> str:
    """Identity verification: lower-case hex HMAC-SHA256 of the userId (or email)."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


async def identity_problem(
    principal: Principal,
    key: ContactKey,
    given_hash: str | None,
    *,
    store: Store,
    claims_user_id: str | None = None,
) -> UserError | None:
    """Why a publishable key may not act as this contact, or None (admin keys may always).

    With identity verification on, the userHash must cover the one identity the key acts as
    (`acting_identity`), and a userId claimed on top of that. One hash covers one identity, so
    a ref and a different claimed userId are refused together."""
    if principal.is_admin:
        return None
    if problem := forbidden_ref(key):
        return problem
    workspace = principal.workspace
    if not workspace.identity_verification:
        return None
    named = None
    if key.kind is RefKind.ANONYMOUS_ID:
        named = await named_contact(store, workspace_id=workspace.id, key=key)
    identities = {i for i in (acting_identity(key, named), claims_user_id) if i is not None}
    if not identities:
        return None  # a lead acting as itself
    [identity, *others] = identities
    if not others and hash_matches(workspace.identity_secret, identity, given_hash):
        return None
    return invalid_user_hash()


def invalid_user_hash() -> UserError:
    return UserError(
        "INVALID_USER_HASH",
        "Identity verification is on: userHash is the hex HMAC-SHA256 of the userId (or "
        "email) this contact is known by, keyed with the workspace's identity secret; one "
        "hash covers one identity.",
        ("userHash",),
    )


def forbidden_ref(key: ContactKey) -> UserError | None:
    """A publishable key never names a contact by its server id (it would be guessable)."""
    if key.kind is not RefKind.ID:
        return None
    return UserError(
        "FORBIDDEN_REF",
        "A publishable key names its contact by userId, email or anonymousId.",
        ("contact", "id"),
    )


async def named_contact(store: Store, *, workspace_id: str, key: ContactKey) -> Contact | None:
    """Whom a publishable key acts as, and reads as, through `key`: the contact a write by it
    reaches (mid-merge: the user, not the lead being merged)."""
    return await store_contacts.find_write_target(store, workspace_id=workspace_id, key=key)


def acting_identity(key: ContactKey, named: Contact | None) -> str | None:
    """The identity a hash must cover to act as `key` (`named`: the contact it names now): a
    userId or email ref's own; for an anonymousId, the user it names (a lead converted in
    place, or merged: its alias), else None (a lead, or nobody yet)."""
    if key.kind is not RefKind.ANONYMOUS_ID:
        return key.value
    if named is not None and named.role is ContactRole.USER:
        return named.user_id or named.email or ""
    return None


def hash_matches(secret: str, value: str, given_hash: str | None) -> bool:
    """Constant-time check of a userHash; a hash that is not even ASCII never matches."""
    if given_hash is None or not given_hash.isascii():
        return False
    return hmac.compare_digest(given_hash.lower(), user_hash(secret, value))


def may_reach_users_by_email(principal: Principal) -> bool:
    """Whether a conversion by this key may merge a lead into the user found by an email.

    Admin keys may; publishable keys only without identity verification (when they may act
    as any email anyway). With it on, their hash covers the userId, never the email."""
    return principal.is_admin or not principal.workspace.identity_verification
