"""Types shared by the services' signatures."""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

# The user a service acts for: ``request.user`` (signed in, or anonymous on a refused call), None for the system.
Actor: TypeAlias = AbstractBaseUser | AnonymousUser
