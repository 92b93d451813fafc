"""The probe's safety rules without a server: what the user typed, the allow-list (names, suffixes, ranges,
ports, every resolved address), the limits, the credentials file, and the wording every finding needs."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.lookup import finder
from knowledge.probe import MemoryLimiter, ProbeConfig, ProbeConfigError, Refused, run_probe
from knowledge.probe.allowlist import AllowList, AllowListError, ResolveError, system_resolve
from knowledge.probe.credentials import Credentials, Masker, load
from knowledge.probe.findings import wording
from knowledge.probe.target import plan

# --- what the user typed ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "protocol", "expected"),
    [
        ("ftp.example.com", None, ("ftp.example.com", 21, "ftp", True)),
        ("FTP.Example.COM.:21", None, ("ftp.example.com", 21, "ftp", True)),
        ("files.example.com:990", None, ("files.example.com", 990, "ftps", False)),
        ("files.example.com:22", None, ("files.example.com", 22, "sftp", False)),
        ("files.example.com:2121", None, ("files.example.com", 2121, "ftp", True)),
        ("files.example.com", "sftp", ("files.example.com", 22, "sftp", False)),
        ("files.example.com:2222", "SFTP", ("files.example.com", 2222, "sftp", False)),
        ("sftp://files.example.com/upload/", None, ("files.example.com", 22, "sftp", False)),
        ("ftpes://files.example.com", None, ("files.example.com", 21, "ftpes", False)),
        ("[2001:db8::5]:21", None, ("2001:db8::5", 21, "ftp", True)),
        ("2001:db8::5", None, ("2001:db8::5", 21, "ftp", True)),
        ("10.1.2.3", "ftps", ("10.1.2.3", 990, "ftps", False)),
    ],
)
def test_target_and_protocol(typed: str, protocol: str | None, expected: tuple) -> None:
    p = plan(typed, protocol)
    assert (p.host, p.port, p.protocol, p.try_tls) == expected
    assert p.inferred == (protocol is None and "://" not in typed)
    assert p.note  # always says how the protocol was chosen


def test_inferred_protocol_is_said() -> None:
    assert plan("files.example.com:990").note.startswith("port 990: implicit FTPS")
    assert "as asked" in plan("files.example.com", "ftp").note


@pytest.mark.parametrize(
    "typed", ["", "two words", "host:0", "host:99999", "host:port", "-bad-.example.com", "a..b", "x" * 300, "[::1"]
)
def test_unreadable_targets_are_refused_in_one_line(typed: str) -> None:
    with pytest.raises(Refused) as refused:
        plan(typed)
    assert refused.value.reason == "bad-target" and "\n" not in refused.value.message


def test_a_password_in_the_target_is_refused_and_not_repeated() -> None:
    with pytest.raises(Refused) as refused:
        plan("ftp://alice:s3cret@ftp.example.com")
    assert "s3cret" not in refused.value.message and "FTPCODE_PROBE_CREDENTIALS" in refused.value.message


def test_unknown_protocol() -> None:
    with pytest.raises(Refused, match="ftp, ftpes, ftps or sftp"):
        plan("ftp.example.com", "scp")


# --- the allow-list -----------------------------------------------------------------------------------------


class FakeDNS:
    """A resolver the test owns: name -> addresses, and a record of what was looked up."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: int, timeout: float) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise ResolveError("not-found", "Name or service not known")
        return self.table[host]


PUBLIC = "93.184.216.34"
DNS = FakeDNS(
    {
        "ftp.example.com": [PUBLIC],
        "multi.example.com": ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
        "rebind.example.com": [PUBLIC, "127.0.0.1"],
        "internal.corp": ["10.1.2.3"],
        "metadata.example.com": ["169.254.169.254"],
        "mapped.example.com": ["::ffff:127.0.0.1"],
    }
)


def allowed(allow: str, host: str, port: int) -> list[str] | str:
    try:
        return AllowList.parse(allow).check(host, port, DNS, 1.0)
    except Refused as refused:
        return refused.reason


def test_a_listed_name_reaches_its_public_addresses_on_default_ports_only() -> None:
    assert allowed("ftp.example.com", "ftp.example.com", 21) == [PUBLIC]
    assert allowed("ftp.example.com", "ftp.example.com", 22) == [PUBLIC]
    assert allowed("ftp.example.com", "ftp.example.com", 2121) == "not-allowed"
    assert allowed("ftp.example.com:2121", "ftp.example.com", 2121) == [PUBLIC]
    assert allowed("ftp.example.com:2121", "ftp.example.com", 21) == "not-allowed"


def test_a_suffix_allows_names_under_it_not_the_domain_itself() -> None:
    assert allowed(".example.com", "ftp.example.com", 21) == [PUBLIC]
    assert allowed(".example.com", "example.com", 21) == "not-allowed"
    assert allowed(".example.com", "ftp.example.com.evil.net", 21) == "not-allowed"
    assert allowed(".example.com", "notexample.com", 21) == "not-allowed"


def test_every_resolved_address_is_checked() -> None:
    # a listed name that also resolves to a loopback address is refused (DNS rebinding)
    assert allowed("rebind.example.com", "rebind.example.com", 21) == "not-allowed"
    assert allowed("multi.example.com, 127.0.0.1/32", "multi.example.com", 21) == "not-allowed"
    assert allowed("multi.example.com, 127.0.0.0/30", "multi.example.com", 21) == [
        "127.0.0.1", "127.0.0.2", "127.0.0.3"
    ]  # fmt: skip


def test_a_name_resolving_to_a_forbidden_address_is_refused_like_any_other() -> None:
    for host in ("metadata.example.com", "internal.corp", "mapped.example.com"):
        assert allowed(".example.com, internal.corp", host, 21) == "not-allowed"
    with pytest.raises(Refused) as refused:
        AllowList.parse(".example.com").check("metadata.example.com", 21, DNS, 1.0)
    assert "169.254" not in refused.value.message  # what a name resolves to is never told


def test_ranges_allow_addresses_and_names_that_resolve_into_them() -> None:
    assert allowed("10.1.0.0/16", "10.1.2.3", 21) == ["10.1.2.3"]
    assert allowed("10.1.0.0/16:21", "10.1.2.3", 22) == "not-allowed"
    assert allowed("10.1.0.0/16", "internal.corp", 990) == ["10.1.2.3"]
    assert allowed("10.1.0.0/16", "10.2.0.1", 21) == "not-allowed"
    assert allowed("[2001:db8::/32]:2121", "2001:db8::5", 2121) == ["2001:db8::5"]
    assert allowed("127.0.0.0/8", "mapped.example.com", 21) == ["::ffff:127.0.0.1"]


def test_unresolvable_names_the_list_does_not_name_are_refused_as_if_they_existed() -> None:
    assert allowed("10.0.0.0/8", "nope.corp", 21) == "not-allowed"
    with pytest.raises(ResolveError):  # a listed name that does not resolve is a probe result
        AllowList.parse("nope.example.com").check("nope.example.com", 21, DNS, 1.0)


def test_no_lookup_for_a_name_only_a_range_could_allow_when_there_is_none() -> None:
    dns = FakeDNS({"secret.corp": ["10.9.9.9"]})
    with pytest.raises(Refused):
        AllowList.parse("ftp.example.com").check("secret.corp", 21, dns, 1.0)
    assert dns.asked == []


def test_unspecified_and_multicast_addresses_are_never_probed() -> None:
    assert allowed("0.0.0.0/0", "0.0.0.0", 21) == "not-allowed"
    assert allowed("0.0.0.0/0", "224.0.0.1", 21) == "not-allowed"
    assert allowed("::/0", "::", 21) == "not-allowed"


def test_localhost_through_the_system_resolver() -> None:
    """'localhost' resolves without DNS; on the list by name only, its loopback addresses are refused."""
    addresses = system_resolve("localhost", 21, 2.0)
    assert "127.0.0.1" in addresses or "::1" in addresses
    assert allowed_with_system("localhost", "localhost") == "not-allowed"
    assert set(allowed_with_system("localhost, 127.0.0.0/8, ::1/128", "localhost")) == set(addresses)


def allowed_with_system(allow: str, host: str) -> list[str] | str:
    try:
        return AllowList.parse(allow).check(host, 21, system_resolve, 2.0)
    except Refused as refused:
        return refused.reason


def test_unset_means_off() -> None:
    with pytest.raises(Refused) as refused:
        AllowList.parse("").check("ftp.example.com", 21, DNS, 1.0)
    assert refused.value.reason == "off" and "FTPCODE_PROBE_ALLOW" in refused.value.message


@pytest.mark.parametrize("bad", ["ftp.example.com:x", "10.0.0.0/33", "[2001:db8::/32", "exa mple.com", "a/b", "."])
def test_malformed_entries_name_the_entry(bad: str) -> None:
    with pytest.raises(AllowListError, match="FTPCODE_PROBE_ALLOW"):
        AllowList.parse(f"ftp.example.com, {bad}")


def test_refusal_before_any_connection_and_not_counted(tmp_path: Path) -> None:
    limiter = MemoryLimiter(1, 1)
    config = ProbeConfig(allow=AllowList.parse("ftp.example.com"), resolve=DNS)
    with pytest.raises(Refused) as refused:
        run_probe("ftp.internal", None, user="u", config=config, limiter=limiter)
    assert refused.value.message == (
        "ftp.internal:21 is not on the list of servers I may test; ask your admin to add it to FTPCODE_PROBE_ALLOW."
    )
    limiter.begin("u", "ftp.example.com:21")  # the refusal did not use the user's one probe an hour


def test_a_listed_name_that_does_not_resolve_is_a_failed_step() -> None:
    config = ProbeConfig(allow=AllowList.parse("nope.example.com"), resolve=DNS)
    result = run_probe("nope.example.com", None, user="u", config=config, limiter=MemoryLimiter(5, 5))
    assert result.failure is not None and result.failure.name == "resolve"
    assert [f.id for f in result.findings] == ["host-not-found"] and result.codes == ["winsock-11001"]


# --- limits -------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_probe_at_a_time_per_user() -> None:
    limiter = MemoryLimiter(10, 10, Clock())
    limiter.begin("ann", "a:21")
    with pytest.raises(Refused) as refused:
        limiter.begin("ann", "b:21")
    assert refused.value.reason == "busy"
    limiter.begin("bob", "b:21")  # someone else may
    limiter.end("ann")
    limiter.begin("ann", "b:21")


def test_per_user_and_per_target_an_hour() -> None:
    clock = Clock()
    limiter = MemoryLimiter(2, 3, clock)
    for target in ("a:21", "b:21"):
        limiter.begin("ann", target)
        limiter.end("ann")
    with pytest.raises(Refused) as refused:
        limiter.begin("ann", "c:21")
    assert refused.value.reason == "user-limit" and "try again in 60 minutes" in refused.value.message
    limiter.begin("bob", "a:21")
    limiter.end("bob")
    limiter.begin("cat", "a:21")
    limiter.end("cat")
    with pytest.raises(Refused) as refused:
        limiter.begin("dan", "a:21")
    assert refused.value.reason == "target-limit" and refused.value.message.startswith("a:21 has been probed 3 times")
    clock.now += 3600
    limiter.begin("ann", "c:21")  # an hour later the window has moved on
    limiter.end("ann")
    limiter.begin("dan", "a:21")


# --- credentials --------------------------------------------------------------------------------------------


def netrc(tmp_path: Path, text: str, mode: int = 0o600) -> str:
    path = tmp_path / "netrc"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_credentials_by_host_and_port_then_host(tmp_path: Path) -> None:
    path = netrc(
        tmp_path,
        "machine ftp.example.com login probe password pw-host\n"
        "machine ftp.example.com:2121 login probe2 password pw-port\n"
        "default login anyone password pw-default\n",
    )
    assert load(path, "ftp.example.com", 21) == Credentials("probe", "pw-host")
    assert load(path, "ftp.example.com", 2121) == Credentials("probe2", "pw-port")
    assert load(path, "other.example.com", 21) is None  # netrc's default entry is never used
    assert load(None, "ftp.example.com", 21) is None
    assert "pw-host" not in repr(load(path, "ftp.example.com", 21))


def test_a_credentials_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = netrc(tmp_path, "machine ftp.example.com login probe password pw\n", 0o644)
    with pytest.raises(Refused, match="chmod 600"):
        load(path, "ftp.example.com", 21)


def test_a_malformed_credentials_file_never_quotes_it(tmp_path: Path) -> None:
    path = netrc(tmp_path, "machine ftp.example.com login probe password\nsecret-token-xyz oops\n")
    with pytest.raises(Refused) as refused:
        load(path, "ftp.example.com", 21)
    assert "secret-token-xyz" not in refused.value.message and "line" in refused.value.message


def test_masker_hides_password_and_user() -> None:
    mask = Masker(Credentials("probeuser", "pa55word"))
    assert mask("230 User probeuser logged in (pa55word)") == "230 User **** logged in (****)"
    assert Masker(None)("USER anonymous") == "USER anonymous"


# --- configuration ------------------------------------------------------------------------------------------


def test_config_from_environment(tmp_path: Path) -> None:
    config = ProbeConfig.from_env({"FTPCODE_PROBE_ALLOW": ".example.com, 10.0.0.0/8:21",
                                   "FTPCODE_PROBE_PER_USER_HOUR": "3"})  # fmt: skip
    assert config.per_user_hour == 3 and len(config.allow.entries) == 2 and config.total_timeout <= 30
    for env in ({"FTPCODE_PROBE_PER_TARGET_HOUR": "0"}, {"FTPCODE_PROBE_ALLOW": "10.0.0.0/40"},
                {"FTPCODE_PROBE_CREDENTIALS": str(tmp_path / "missing")}):  # fmt: skip
        with pytest.raises(ProbeConfigError):
            ProbeConfig.from_env(env)


# --- the wording ----------------------------------------------------------------------------------------------


def test_every_finding_the_probe_can_give_is_worded_and_tied_to_an_existing_entry() -> None:
    source = "".join(p.read_text() for p in Path("knowledge/probe").glob("*.py"))
    used = set(re.findall(r'find\(\s*"([a-z0-9-]+)"', source))
    used |= set(re.findall(r'Problem\("([a-z0-9-]+)"', source))
    used |= set(re.findall(r'"((?:connect-|passive-[a-z]+-)[a-z]+)"', source))
    words = wording()
    assert used - set(words) == set()
    assert set(words) - used == set(), "worded but never used"
    known = finder().kb.by_id
    for finding_id, entry in words.items():
        assert entry["source"], finding_id
        if "entry" in entry:
            sample = entry["entry"].format(code="530", status="3")
            assert sample in known, (finding_id, sample)


# --- properties of the parsers --------------------------------------------------------------------------------

typed = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.from_regex(
    r"\A(sftp://|ftps://)?\[?[a-z0-9.:\-]{0,30}\]?(:\d{0,6})?\Z"
)


@given(typed, st.sampled_from([None, "ftp", "ftpes", "ftps", "sftp", "x"]))
@settings(max_examples=300, deadline=None)
def test_any_target_is_planned_or_refused_in_one_line(text: str, protocol: str | None) -> None:
    try:
        p = plan(text, protocol)
    except Refused as refused:
        assert "\n" not in refused.message
        return
    assert 1 <= p.port <= 65535 and p.host and p.protocol in ("ftp", "ftpes", "ftps", "sftp")


@given(st.lists(typed, max_size=4).map(", ".join))
@settings(max_examples=300, deadline=None)
def test_any_allow_list_parses_or_names_its_error(text: str) -> None:
    try:
        allow = AllowList.parse(text)
    except AllowListError as exc:
        assert str(exc).startswith("FTPCODE_PROBE_ALLOW")
        return
    for host in ("ftp.example.com", "10.1.2.3"):
        with contextlib.suppress(Refused, ResolveError):
            allow.check(host, 21, DNS, 1.0)
