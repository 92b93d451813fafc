"""manifest.yml against Slack's manifest rules (restated in manifest_schema.json) and ftpcode's needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "manifest.yml"
SCHEMA_PATH = Path(__file__).resolve().parent / "manifest_schema.json"

# Every bot scope the app asks for, and why. Installers must grant each one: an unused scope is a cost.
NEEDED_BOT_SCOPES = {
    "app_mentions:read": "receive app_mention events when someone @-mentions the bot in a channel",
    "assistant:write": "the agent view: the Messages tab in threads, with suggested prompts and a status",
    "channels:history": "receive message.channels (replies in a triage thread); read a message someone reacted to",
    "groups:history": "the same in private channels",
    "im:history": "receive message.im: people asking the bot in a direct message",
    "im:write": "open a DM (conversations.open) to hand a case over or follow up privately",
    "chat:write": "post answers and triage steps (chat.postMessage)",
    "commands": "the /ftpcode slash command and the 'explain_message' message shortcut",
    "files:read": "read client logs pasted as snippets or uploaded as files",
    "files:write": "post the weekly digest's chart (files.getUploadURLExternal, files.completeUploadExternal)",
    "reactions:read": "receive reaction_added: FTPCODE_REACTION on a message asks for an explanation of it",
}

# The scope Slack requires before it delivers each bot event (None: no scope needed).
EVENT_SCOPE = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "app_home_opened": None,
    "reaction_added": "reactions:read",
    # Slack's pages for these two name no scope: the agent view (assistant:write, checked below) sends the
    # first, a step of the app's own functions the second.
    "assistant_thread_started": None,
    "function_executed": None,
}

NEEDED_BOT_EVENTS = {
    "app_mention",
    "message.im",
    "app_home_opened",
    "message.channels",
    "message.groups",
    "assistant_thread_started",
    "function_executed",
    "reaction_added",
}


def load_manifest() -> dict[str, Any]:
    with MANIFEST_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


@pytest.fixture
def manifest() -> dict[str, Any]:
    return load_manifest()


def problems(validator: Draft7Validator, document: dict[str, Any]) -> list[tuple[tuple, str, str]]:
    """(path, failing JSON Schema keyword, message) of every violation."""
    return [(tuple(e.absolute_path), e.validator, e.message) for e in validator.iter_errors(document)]


def test_manifest_is_valid(validator, manifest):
    found = problems(validator, manifest)
    assert not found, "manifest.yml breaks Slack's rules:\n" + "\n".join(
        f"  {'.'.join(map(str, path)) or '<root>'}: {message}" for path, _, message in found
    )


# --- what ftpcode needs from the manifest -------------------------------------------------------------------


def test_ftpcode_slash_command_has_a_usage_hint(manifest):
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert "/ftpcode" in commands
    assert commands["/ftpcode"].get("usage_hint", "").strip()


def test_bot_events_cover_mentions_dms_threads_and_home(manifest):
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events >= NEEDED_BOT_EVENTS, f"missing: {sorted(NEEDED_BOT_EVENTS - events)}"


def test_interactivity_and_socket_mode_are_on(manifest):
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_people_can_write_to_the_bot_in_its_messages_tab(manifest):
    app_home = manifest["features"]["app_home"]
    assert app_home["messages_tab_enabled"] is True
    assert app_home["messages_tab_read_only_enabled"] is False


def test_explain_message_is_a_message_shortcut(manifest):
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert "explain_message" in shortcuts
    assert shortcuts["explain_message"]["type"] == "message"


def test_bot_scopes_are_exactly_the_needed_ones(manifest):
    scopes = manifest["oauth_config"]["scopes"]
    bot = scopes["bot"]
    assert len(bot) == len(set(bot)), "a bot scope is listed twice"
    unused, missing = set(bot) - set(NEEDED_BOT_SCOPES), set(NEEDED_BOT_SCOPES) - set(bot)
    assert not unused, f"remove these, or add them to NEEDED_BOT_SCOPES with a reason: {sorted(unused)}"
    assert not missing, f"the bot needs these scopes: {sorted(missing)}"
    assert not scopes.get("user"), "ftpcode acts as its bot; user scopes would ask every installer for more"


def test_every_subscribed_event_has_its_scope(manifest):
    bot_scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPE, f"{event}: add it to EVENT_SCOPE with the scope Slack requires for it"
        scope = EVENT_SCOPE[event]
        assert scope is None or scope in bot_scopes, f"{event} is never delivered without {scope}"


def test_the_agent_view_has_its_scope_and_event(manifest):
    view = manifest["features"]["assistant_view"]
    assert view["assistant_description"].strip()
    assert "assistant:write" in manifest["oauth_config"]["scopes"]["bot"]
    assert "assistant_thread_started" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_workflow_steps_are_the_bots_own(manifest):
    """Each function in the manifest is a step the bot completes, with the outputs the bot gives it."""
    from bot.listeners import functions
    from bot.views import workflow_steps as steps_view
    from knowledge.triage import load_tree

    declared = manifest["functions"]
    assert set(declared) == {*functions.STEPS, functions.TRIAGE}
    tree = load_tree()
    state = tree.start("ftp-425")
    while (question := tree.current_question(state)) is not None:
        state = tree.answer(state, question.id, question.options[0].id)
    ended = tree.feedback(state, fixed=True).to_dict()
    outputs = {
        functions.EXPLAIN: steps_view.explain_outputs("530 Login incorrect"),
        functions.DIAGNOSE: steps_view.diagnose_outputs("USER alice\r\n331 Password required\r\nPASS x\r\n530 No"),
        functions.TRIAGE: steps_view.triage_outputs(ended, "resolved", "C1", "1700000000.000100", "https://x/p1"),
    }
    inputs = {
        functions.EXPLAIN: {"text": "string"},
        functions.DIAGNOSE: {"text": "string"},
        functions.TRIAGE: {"user": "slack#/types/user_id", "channel": "slack#/types/channel_id", "code": "string"},
    }
    assert tuple(inputs[functions.TRIAGE]) == functions.TRIAGE_INPUTS, "the inputs the bot reads"
    types = {"string": str, "array": list, "slack#/types/message_context": dict}
    for callback_id, step in declared.items():
        for kind in ("input_parameters", "output_parameters"):
            for name, parameter in step[kind].items():
                assert parameter.get("name") == name, f"{callback_id} {kind}.{name}: name must repeat the key"
        assert {n: p["type"] for n, p in step["input_parameters"].items()} == inputs[callback_id], callback_id
        assert set(step["output_parameters"]) == set(outputs[callback_id]), callback_id
        for name, value in outputs[callback_id].items():
            wanted = types[step["output_parameters"][name]["type"]]
            assert isinstance(value, wanted), f"{callback_id}.{name} is {type(value).__name__}"
    # Slack's message_context: the channel and the ts of the message, which a "Reply in thread" step takes.
    assert set(outputs[functions.TRIAGE]["thread"]) == {"channel_id", "message_ts"}
    settings = manifest["settings"]
    assert settings["org_deploy_enabled"] is True, "Workflow Builder steps need an org-ready app"
    assert settings["function_runtime"] == "remote", "the steps run in this bot, not on Slack's servers"


def test_commands_scope_backs_the_command_and_shortcut(manifest):
    features = manifest["features"]
    if features.get("slash_commands") or features.get("shortcuts"):
        assert "commands" in manifest["oauth_config"]["scopes"]["bot"]


# --- the schema must catch mistakes (so the validity test cannot pass vacuously) ---------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path
        target = document
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


def _delete(path: tuple) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path
        target = document
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


def _shortcut_count(count: int) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        first = document["features"]["shortcuts"][0]
        document["features"]["shortcuts"] = [{**first, "callback_id": f"cut_{n}"} for n in range(count)]

    return mutate


def _long_description(length: int) -> Mutation:
    return _set(("display_information", "long_description"), ("FTP reply codes explained. " * 200)[:length])


NAME = ("display_information", "name")
COMMAND = ("features", "slash_commands", 0, "command")
SHORTCUTS = ("features", "shortcuts")

BROKEN = [
    # (id, mutation, path of the expected violation, JSON Schema keyword that must fire)
    ("name of 40 characters", _set(NAME, "f" * 40), NAME, "maxLength"),
    ("name of 36 characters", _set(NAME, "f" * 36), NAME, "maxLength"),
    ("empty name", _set(NAME, ""), NAME, "minLength"),
    ("no name", _delete(NAME), ("display_information",), "required"),
    ("command without its slash", _set(COMMAND, "ftpcode"), COMMAND, "pattern"),
    ("command of 33 characters", _set(COMMAND, "/" + "f" * 32), COMMAND, "maxLength"),
    (
        "interactivity without is_enabled",
        _delete(("settings", "interactivity", "is_enabled")),
        ("settings", "interactivity"),
        "required",
    ),
    ("an 11th shortcut", _shortcut_count(11), SHORTCUTS, "maxItems"),
    (
        "shortcut name of 25 characters",
        _set(("features", "shortcuts", 0, "name"), "x" * 25),
        ("features", "shortcuts", 0, "name"),
        "maxLength",
    ),
    (
        "shortcut of an unknown type",
        _set(("features", "shortcuts", 0, "type"), "channel"),
        ("features", "shortcuts", 0, "type"),
        "enum",
    ),
    (
        "callback_id with a space",
        _set(("features", "shortcuts", 0, "callback_id"), "explain message"),
        ("features", "shortcuts", 0, "callback_id"),
        "pattern",
    ),
    (
        "long_description of 174 characters",
        _long_description(174),
        ("display_information", "long_description"),
        "minLength",
    ),
    (
        "description of 141 characters",
        _set(("display_information", "description"), "d" * 141),
        ("display_information", "description"),
        "maxLength",
    ),
    (
        "background colour without #",
        _set(("display_information", "background_color"), "1d4f73"),
        ("display_information", "background_color"),
        "pattern",
    ),
    (
        "usage hint of 1001 characters",
        _set(("features", "slash_commands", 0, "usage_hint"), "u" * 1001),
        ("features", "slash_commands", 0, "usage_hint"),
        "maxLength",
    ),
    (
        "should_escape as a string",
        _set(("features", "slash_commands", 0, "should_escape"), "false"),
        ("features", "slash_commands", 0, "should_escape"),
        "type",
    ),
    (
        "bot display_name of 81 characters",
        _set(("features", "bot_user", "display_name"), "b" * 81),
        ("features", "bot_user", "display_name"),
        "maxLength",
    ),
    (
        "misspelt scope",
        _set(("oauth_config", "scopes", "bot", 0), "chat: write"),
        ("oauth_config", "scopes", "bot", 0),
        "pattern",
    ),
    (
        "misspelt event",
        _set(("settings", "event_subscriptions", "bot_events", 0), "message-im"),
        ("settings", "event_subscriptions", "bot_events", 0),
        "pattern",
    ),
    (
        "socket mode as a string",
        _set(("settings", "socket_mode_enabled"), "yes"),
        ("settings", "socket_mode_enabled"),
        "type",
    ),
    (
        "unknown key in app_home",
        _set(("features", "app_home", "messages_tab_enabld"), True),
        ("features", "app_home"),
        "additionalProperties",
    ),
    ("unknown top-level section", _set(("setings",), {}), (), "additionalProperties"),
    (
        "agent view without its description",
        _delete(("features", "assistant_view", "assistant_description")),
        ("features", "assistant_view"),
        "required",
    ),
    (
        "function without a title",
        _delete(("functions", "explain_ftp_code", "title")),
        ("functions", "explain_ftp_code"),
        "required",
    ),
    (
        "function parameter without a type",
        _delete(("functions", "explain_ftp_code", "input_parameters", "text", "type")),
        ("functions", "explain_ftp_code", "input_parameters", "text"),
        "required",
    ),
    (
        "function callback_id with a space",
        _set(("functions", "explain ftp code"), {}),
        ("functions",),
        "pattern",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "keyword"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_schema_refuses_a_broken_copy(validator, manifest, mutate, path, keyword):
    mutate(manifest)
    found = {(p, k) for p, k, _ in problems(validator, manifest)}
    assert (path, keyword) in found, f"expected {keyword} at {path}, got {sorted(found, key=str)}"


ACCEPTED = [
    ("name of 35 characters", _set(NAME, "f" * 35)),
    ("command of 32 characters", _set(COMMAND, "/" + "f" * 31)),
    ("ten shortcuts", _shortcut_count(10)),
    ("long_description of 175 characters", _long_description(175)),
    ("three-digit colour", _set(("display_information", "background_color"), "#fff")),
    ("HTTP-mode request URL", _set(("settings", "interactivity", "request_url"), "https://ftp.example/")),
]


@pytest.mark.parametrize("mutate", [case[1] for case in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_schema_accepts_values_at_the_limits(validator, manifest, mutate):
    before = problems(validator, manifest)
    mutate(manifest)
    assert problems(validator, manifest) == before
