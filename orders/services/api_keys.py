"""API keys for POS devices and the order system (SPEC 14): made, checked, revoked.

A key is ``<prefix>.<secret>``: the prefix (8 characters, shown in admin and ``apikey list``) finds the row, the
secret (32 random bytes) makes it unguessable. Only the SHA-256 of the whole key is stored: a key is random, not
chosen by a person, so a slow password hash would only slow every request down (as djangorestframework-api-key
reasons too). The plaintext is returned once, by ``api_key_create``.

Each key acts through a user of its own, made here, with no usable password: bound to stores, it gets a staff
membership in each (its role), so it reaches exactly what a member of those stores reaches (other stores 404);
bound to none, it is in the order system's group. What it may call is narrowed by its scopes
(``orders.api.auth.HasApiKeyScope``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.authentication import INTEGRATION_GROUP, IS_INTEGRATION_ATTR
from core.errors import ApplicationError
from orders.models import ApiKey, ApiKeyScope, StaffMembership, StaffRole, Store

PREFIX_LENGTH = 8
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
USERNAME_PREFIX = "apikey-"
# last_used_at is written at most this often per key: a write on every request would double a read's cost.
LAST_USED_PRECISION = timedelta(minutes=1)

STORE_SCOPES = frozenset({ApiKeyScope.PACKAGES_READ, ApiKeyScope.PACKAGES_WRITE, ApiKeyScope.ORDERS_READ})
INTEGRATION_SCOPES = frozenset({ApiKeyScope.ORDERS_READ, ApiKeyScope.ORDERS_WRITE})

INVALID_KEY = _("Invalid API key.")
REVOKED_KEY = _("This API key has been revoked.")
EXPIRED_KEY = _("This API key has expired.")


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _scope_errors(*, scopes: list[str], bound_to_stores: bool) -> list[str]:
    if not scopes:
        return [str(_("Choose at least one scope."))]
    unknown = [scope for scope in scopes if scope not in ApiKeyScope.values]
    if unknown:
        return [str(_("Unknown scope “%(scope)s”.") % {"scope": unknown[0]})]
    allowed = STORE_SCOPES if bound_to_stores else INTEGRATION_SCOPES
    refused = [scope for scope in scopes if scope not in allowed]
    if refused and bound_to_stores:
        return [str(_("A key bound to stores cannot create orders (orders:write): only the order system does."))]
    if refused:
        return [str(_("A key bound to no store is the order system's: it cannot use packages:read or packages:write."))]
    return []


def api_key_validate(*, scopes: list[str], stores: Iterable[Store], role: str) -> None:
    """``validation_error`` (``details.fields``) for scopes or a role a key cannot have."""
    stores = list(stores)
    errors = {}
    scope_errors = _scope_errors(scopes=scopes, bound_to_stores=bool(stores))
    if scope_errors:
        errors["scopes"] = scope_errors
    if role not in StaffRole.values:
        errors["role"] = [str(_("Unknown role “%(role)s”.") % {"role": role})]
    if errors:
        raise ApplicationError("validation_error", details={"fields": errors})


@transaction.atomic
def api_key_create(
    *,
    name: str,
    scopes: list[str],
    stores: Iterable[Store] = (),
    role: str = StaffRole.EMPLOYEE,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Make a key and its user; return the key's row and its plaintext (the only time it exists).

    ``validation_error`` for scopes that do not fit its binding (``api_key_validate``)."""
    stores = list(stores)
    scopes = sorted(set(scopes))
    api_key_validate(scopes=scopes, stores=stores, role=role)
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    while ApiKey.objects.filter(prefix=prefix).exists():  # 36**8 prefixes: practically never
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    plaintext = f"{prefix}.{secrets.token_urlsafe(32)}"
    user = get_user_model().objects.create_user(username=f"{USERNAME_PREFIX}{prefix}", first_name=name[:150])
    user.set_unusable_password()
    user.save(update_fields=["password"])
    if stores:
        StaffMembership.objects.bulk_create(StaffMembership(user=user, store=store, role=role) for store in stores)
    else:
        user.groups.add(Group.objects.get_or_create(name=INTEGRATION_GROUP)[0])
    api_key = ApiKey.objects.create(
        prefix=prefix, hashed_key=api_key_hash(plaintext), name=name, user=user, scopes=scopes, expires_at=expires_at
    )
    return api_key, plaintext


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoke the key at once (its next request is refused) and deactivate its user; False if it already was."""
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    get_user_model().objects.filter(pk=api_key.user_id).update(is_active=False)
    api_key.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)


def api_key_authenticate(*, key: str) -> ApiKey:
    """The live key that ``key`` is, with its user (annotated with ``IS_INTEGRATION_ATTR``); notes its use.

    One query to find it (by prefix, the hash compared in constant time), and at most one a minute to write
    ``last_used_at``. ``not_authenticated`` for a key that is unknown, wrong, revoked or expired (revoked and
    expired are said only to the holder of the right secret)."""
    prefix, dot, _secret = key.partition(".")
    if not dot or not prefix or len(prefix) > PREFIX_LENGTH:
        raise ApplicationError("not_authenticated", INVALID_KEY)
    integration = Group.objects.filter(user=OuterRef("user_id"), name=INTEGRATION_GROUP)
    api_key = (
        ApiKey.objects.select_related("user").annotate(_integration=Exists(integration)).filter(prefix=prefix).first()
    )
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, api_key_hash(key)):
        raise ApplicationError("not_authenticated", INVALID_KEY)
    now = timezone.now()
    if api_key.revoked_at is not None or not api_key.user.is_active:
        raise ApplicationError("not_authenticated", REVOKED_KEY)
    if api_key.is_expired(now):
        raise ApplicationError("not_authenticated", EXPIRED_KEY)
    setattr(api_key.user, IS_INTEGRATION_ATTR, api_key._integration)
    if api_key.last_used_at is None or api_key.last_used_at <= now - LAST_USED_PRECISION:
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_PRECISION), pk=api_key.pk
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
