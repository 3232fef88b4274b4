"""NotBefore/NotAfter from the minimal DER walk match cryptography's reading."""

from __future__ import annotations

import pytest
from sidekick.x509 import pem_validity

from tests.sidekick.fakes import make_cert


@pytest.mark.parametrize(("start", "end"), [
    (1_700_000_000, 1_700_003_600),        # UTCTime
    (946_684_799, 2_524_608_000),          # 1999 → 2050: UTCTime then GeneralizedTime
    (2_600_000_000, 4_000_000_000),        # both GeneralizedTime
])
def test_validity_matches(start: int, end: int) -> None:
    pem, _ = make_cert(start, end)
    assert pem_validity("junk before\n" + pem) == (start, end)


def test_not_a_certificate() -> None:
    with pytest.raises(ValueError):
        pem_validity("no pem here")
    with pytest.raises((ValueError, IndexError)):
        pem_validity("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
