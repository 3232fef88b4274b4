"""Every output format."""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sidekick.config import Resource
from sidekick.errors import VaultRequestError
from sidekick.formats import render

DATA = {"username": "app", "password": "p'w,\"x", "port": 5432}
PKI = {"certificate": "CERT", "private_key": "KEY", "issuing_ca": "CA", "ca_chain": ["CA", "ROOT"]}


def res(fmt: str, file: str = "out", template: str = "") -> Resource:
    r = Resource("r", "secret", "a/b")
    r.format, r.file, r.template = fmt, file, template
    return r


def one(fmt: str, data: dict[str, object] = DATA) -> str:
    [(name, content)] = render(res(fmt), data)
    assert name == "out"
    return content.decode()


def test_json_yaml() -> None:
    assert json.loads(one("json")) == DATA
    assert yaml.safe_load(one("yaml")) == DATA
    assert yaml.safe_load(one("yml")) == DATA


def test_env_is_shell_safe() -> None:
    text = one("env")
    assert text == "PASSWORD='p'\\''w,\"x'\nPORT='5432'\nUSERNAME='app'\n"


def test_ini_csv() -> None:
    assert one("ini") == "password = p'w,\"x\nport = 5432\nusername = app\n"
    assert one("csv") == 'password,"p\'w,""x"\nport,5432\nusername,app\n'


def test_txt_single_and_many() -> None:
    assert render(res("txt"), {"value": "v1"}) == [("out", b"v1")]
    assert render(res("txt"), {"a": 1, "b": True}) == [("out.a", b"1"), ("out.b", b"true")]


def test_cert_bundle_chain() -> None:
    assert render(res("cert"), PKI) == [("out.crt", b"CERT\n"), ("out.key", b"KEY\n"), ("out.ca", b"CA\n")]
    bundle = dict(render(res("bundle"), PKI))
    assert bundle == {"out-bundle.pem": b"CERT\nCA\nKEY\n", "out.pem": b"CERT\n", "out-ca.pem": b"CA\n",
                      "out-key.pem": b"KEY\n"}
    chain = dict(render(res("certchain"), PKI))
    assert chain["out-cert-chain.pem"] == b"CERT\nCA\nROOT\n"
    with pytest.raises(VaultRequestError, match="needs the key 'private_key'"):
        render(res("cert"), {"certificate": "x", "issuing_ca": "y"})


def test_aws_credentials() -> None:
    static = one("aws", {"access_key": "AKIA", "secret_key": "SK", "security_token": None})
    assert static == "[default]\naws_access_key_id=AKIA\naws_secret_access_key=SK\n"
    sts = one("aws", {"access_key": "AKIA", "secret_key": "SK", "security_token": "ST"})
    assert sts.endswith("aws_session_token=ST\naws_security_token=ST\n")


def test_credential_decodes_base64() -> None:
    data = {"private_key_data": base64.b64encode(b'{"type": "service_account"}').decode()}
    assert render(res("credential"), data) == [("out", b'{"type": "service_account"}')]


def test_template_combines_secrets_sandboxed() -> None:
    r = res("template", template="db={{ secrets['db'].password }} me={{ username }} {{ data.port }}\n")
    [(_, content)] = render(r, DATA, {"db": {"password": "X1"}})
    assert content == b"db=X1 me=app 5432\n"
    evil = res("template", template="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(VaultRequestError, match="template error: SecurityError"):
        render(evil, DATA, {})
    missing = res("template", template="{{ secrets['nope'].x }}")
    with pytest.raises(VaultRequestError, match="template error: UndefinedError"):
        render(missing, DATA, {})


@given(st.dictionaries(st.text(min_size=1), st.one_of(
    st.text(), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.one_of(st.text(), st.floats(allow_nan=False)), max_size=3),
    st.dictionaries(st.text(), st.one_of(st.text(), st.floats(allow_nan=False), st.integers()), max_size=3))))
def test_yaml_without_pyyaml_round_trips(data: dict[str, object]) -> None:
    [(_, content)] = render(res("yaml"), data)
    assert yaml.safe_load(content.decode()) == data


def test_yaml_pem_and_awkward_strings() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    data = {"certificate": pem, "yes": "no", "n": "0123", "colon": "a: b", "hash": "#x", "uni": "é\u2028"}
    assert yaml.safe_load(one("yaml", data)) == data
