"""The validity window of a PEM certificate from a minimal DER walk (no `cryptography`: ~10 MiB RSS).

Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial INTEGER, signature SEQUENCE,
issuer SEQUENCE, validity SEQUENCE { notBefore Time, notAfter Time }, ... }, ... }
"""

from __future__ import annotations

import binascii  # not base64: it imports struct; b64decode(validate=True) is this call
import re

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at `pos`."""
    tag = der[pos]
    length = der[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[pos:pos + count], "big")
        pos += count
    end = pos + length
    if end > len(der):
        raise ValueError("truncated DER")
    return tag, pos, end


def _time(tag: int, raw: bytes) -> float:
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        year += 2000 if year < 50 else 1900
        rest = text[2:]
    elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        year = int(text[:4])
        rest = text[4:]
    else:
        raise ValueError("not a time")
    if not rest.endswith("Z"):
        raise ValueError("only UTC times are supported")
    month, day, hour, minute, sec = (int(rest[i:i + 2]) for i in range(0, 10, 2))
    return float(_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + sec)


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm; avoids `calendar`)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def validity(der: bytes) -> tuple[float, float]:
    """(notBefore, notAfter) as Unix times from a DER certificate."""
    _, cert, _ = _tlv(der, 0)
    _, tbs, tbs_end = _tlv(der, cert)
    pos = tbs
    tag, start, end = _tlv(der, pos)
    if tag == 0xA0:  # explicit version
        pos = end
    for _ in range(3):  # serial, signature algorithm, issuer
        _, _, pos = _tlv(der, pos)
    tag, start, end = _tlv(der, pos)
    if tag != 0x30 or end > tbs_end:
        raise ValueError("no validity sequence")
    tag1, s1, e1 = _tlv(der, start)
    tag2, s2, e2 = _tlv(der, e1)
    return _time(tag1, der[s1:e1]), _time(tag2, der[s2:e2])


def pem_validity(pem: str) -> tuple[float, float]:
    """Validity of the first certificate in a PEM string; ValueError if there is none."""
    match = _PEM.search(pem.encode())
    if not match:
        raise ValueError("no PEM certificate")
    return validity(binascii.a2b_base64(b"".join(match.group(1).split())))
