"""Fixed tunables of pickup codes. The run-time editable ones are application settings (core.appsettings)."""

CODE_DIGITS = 6
# Wrong codes across many packages by one user (guess spraying, SPEC 4): more than this many failed
# verifications within the window answer ``throttled``.
SPRAY_MAX_FAILURES = 20
SPRAY_WINDOW_SECONDS = 600
# The per-package quota of codes (OTP_MAX_CODES_PER_PACKAGE) counts codes issued within this window.
QUOTA_WINDOW_SECONDS = 24 * 3600
