"""The pickup pass token (SPEC 13): sealed, short, unguessable, readable across a key rotation, never a crash."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from otp import passes

PACKAGE = uuid.UUID("0b5c4f0e-1d2a-4c3b-9f8e-7a6b5c4d3e2f")
EXPIRES = datetime(2026, 11, 24, 11, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.SITE_URL = "https://pickup.example.com"


def make(code="012345", holder=passes.CUSTOMER, package_id=PACKAGE, expires_at=EXPIRES):
    return passes.pass_token_make(package_id=package_id, code=code, expires_at=expires_at, holder=holder)


def test_a_token_holds_the_package_the_code_its_expiry_and_the_holder():
    for holder in (passes.CUSTOMER, passes.PICKUP_PERSON):
        read = passes.pass_token_read(make(holder=holder))
        assert (read.package_id, read.code, read.expires_at, read.holder) == (PACKAGE, "012345", EXPIRES, holder)
    assert passes.pass_token_read(make(code="000000")).code == "000000"
    assert passes.pass_token_read(make(code="999999")).code == "999999"


def test_a_token_is_short_url_safe_and_shows_nothing_it_holds():
    token = make(code="482913")
    assert len(token) == passes.TOKEN_LENGTH <= 80
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "482913" not in token and PACKAGE.hex not in token.lower()
    raw = base64.urlsafe_b64decode(token + "==")
    assert (482913).to_bytes(3, "big") not in raw and PACKAGE.bytes not in raw
    link = passes.pass_url(package_id=PACKAGE, code="482913", expires_at=EXPIRES)
    assert link == f"https://pickup.example.com/p/{token}"
    assert "482913" not in repr(passes.pass_token_read(token))


def test_another_code_package_expiry_or_holder_gives_an_unrelated_token():
    tokens = {
        make(),
        make(code="012346"),
        make(package_id=uuid.uuid4()),
        make(expires_at=EXPIRES + timedelta(seconds=1)),
        make(holder=passes.PICKUP_PERSON),
    }
    assert len(tokens) == 5
    # Not a counter nor a prefix: the sealed parts share nothing with a neighbour's.
    first, second = make(code="000001"), make(code="000002")
    assert first[1:12] != second[1:12]


def test_every_altered_truncated_or_padded_token_reads_as_nothing():
    token = make()
    raw = bytearray(base64.urlsafe_b64decode(token + "=="))
    for index in range(len(raw)):
        for bit in (1, 0x80):
            altered = bytearray(raw)
            altered[index] ^= bit
            assert passes.pass_token_read(base64.urlsafe_b64encode(altered).rstrip(b"=").decode()) is None
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]  # the same bytes, a spare bit set
    candidates = [token[:-1], token[:20], "", token + "A", token + "=", token + "==", token.upper(), spare]
    candidates += [" " + token, token + "\n", token.replace("-", "+"), "A" * len(token), None, 12, b"x", ["a"]]
    candidates += ["é" * len(token), "\x00" * len(token), "%2F" * 18]
    candidates = [candidate for candidate in candidates if candidate != token]  # a token without "-" replaces nothing
    assert [candidate for candidate in candidates if passes.pass_token_read(candidate) is not None] == []


def test_a_token_sealed_with_another_secret_is_refused(settings):
    token = make()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert passes.pass_token_read(token) is None


def test_a_rotation_keeps_passes_sent_before_it_readable_and_seals_with_the_new_key(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    before = make()
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert passes.pass_token_read(before).code == "012345"
    after = make()
    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key retired: passes made with it stop opening
    assert passes.pass_token_read(before) is None and passes.pass_token_read(after).code == "012345"


def test_the_pass_key_is_not_the_outbox_key(settings):
    """The same secret, but a key of its own (HKDF with the pass's info): a Fernet token cannot pass for a pass."""
    key = settings.FIELD_ENCRYPTION_KEYS[0]
    fernet_token = Fernet(key).encrypt(b"0" * 23)
    assert passes.pass_token_read(base64.urlsafe_b64encode(fernet_token[:40]).rstrip(b"=").decode()) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "12345"}, "six ASCII digits"),
        ({"code": "١٢٣٤٥٦"}, "six ASCII digits"),
        ({"holder": "someone"}, "holder"),
        ({"expires_at": datetime(2107, 1, 1, tzinfo=UTC)}, "2106"),
    ],
)
def test_a_pass_is_not_made_of_what_it_cannot_hold(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_the_qr_text_is_read_back_and_nothing_else_is():
    text = passes.pass_qr_text(package_id=PACKAGE, code="012345")
    assert text == f"PICKUP:{PACKAGE}:012345"
    assert passes.pass_qr_text_parse(text) == (PACKAGE, "012345")
    assert passes.pass_qr_text_parse(f"  {text.upper()}\n") == (PACKAGE, "012345")
    refused = [
        f"PICKUP:{PACKAGE}:01234",
        f"PICKUP:{PACKAGE}:0123456",
        f"PICKUP:{PACKAGE}:١٢٣٤٥٦",
        f"pickup:{PACKAGE}:012345",
        f"PICKUP:{PACKAGE}",
        f"PICKUP:{str(PACKAGE)[:-1]}:012345",
        f"PICKUP:{PACKAGE}:012345:x",
        "DEMO-IST01-003",
        "",
        None,
        42,
    ]
    assert [value for value in refused if passes.pass_qr_text_parse(value) is not None] == []
