"""/ftpcode: a lookup is answered in the ack itself; a pasted log and a server test are queued and answered on
the response_url."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, BoltResponse

from bot import answered, insights, payloads, probe_job, replies
from bot.mrkdwn import plain_from_slack
from bot.views import insights as insights_view
from bot.views import probe as probe_view
from bot.worker import Work
from knowledge import text_kind
from knowledge.probe.model import Refused

BUSY = "I could not take that log just now. Try again in a minute."
BUSY_PROBE = "I could not take that test just now. Try again in a minute."
BUSY_STATS = "I could not count just now. Try again in a minute."
FORGET_USAGE = "`/ftpcode forget me` deletes what I stored about you: your questions, votes and comments."
FORGETTING = "Deleting what I stored about you…"


def command_text(raw: object) -> str:
    return plain_from_slack(payloads.text_of(raw))


def kind_of(text: str) -> str:
    """What `/ftpcode text` asks for: "forget", "stats", "probe", "scan" (a pasted log) or "lookup"."""
    first = text.lower().split()[:1] if "\n" not in text else []
    if first in (["forget"], ["stats"]):
        return first[0]
    if probe_job.is_test_command(text):
        return "probe"
    return "scan" if text_kind.looks_like_log(text) else "lookup"


def is_lookup(raw_text: object) -> bool:
    """Whether /ftpcode with this text is a lookup: answered in the ack from memory, no database, no job
    (bot/http_front.py runs those on its event loop)."""
    return kind_of(command_text(raw_text)) == "lookup"


def ftpcode_command(ack: Ack, command: dict, context: BoltContext) -> BoltResponse | None:
    text = command_text(command.get("text"))
    kind = kind_of(text)
    if kind == "forget":
        queue_forget(ack, command, context, text)
        return None
    if kind == "stats":
        queue_stats(ack, command, context, text)
        return None
    if kind == "probe":
        queue_probe(ack, command, context, text)
        return None
    if kind == "scan":
        # A scan can take a moment: it is queued, and answered on the response_url.
        who = {**_who(command), "response_url": payloads.response_url(command.get("response_url"))}
        taken = who["response_url"] is not None and context["work"].submit("scan_command", {**who, "text": text})
        if taken:
            ack()
        else:
            ack(response_type="ephemeral", text=BUSY)
        return None
    # A lookup and its (cached) rendering are quick enough for the ack (bench/README.md), so the answer travels in
    # it: no second request to Slack, and the user sees it sooner.
    reply = replies.for_text(text, ephemeral=True)
    return answered.in_ack(context["work"], reply, text, _who(command), "command", "ephemeral")


def _who(command: dict) -> dict:
    return {"user": payloads.user_id(command.get("user_id")), "team": payloads.team_id(command.get("team_id"))}


def queue_forget(ack: Ack, command: dict, context: BoltContext, text: str) -> None:
    """`/ftpcode forget me`: the user's feedback rows are deleted by a job, which confirms on the response_url."""
    job = {**_who(command), "response_url": payloads.response_url(command.get("response_url"))}
    if text.lower().split() != ["forget", "me"] or not job["user"]:
        ack(response_type="ephemeral", text=FORGET_USAGE)
        return
    taken = job["response_url"] is not None and context["work"].submit("forget_me", job)
    ack(response_type="ephemeral", text=FORGETTING if taken else BUSY)


def queue_stats(ack: Ack, command: dict, context: BoltContext, text: str) -> None:
    """`/ftpcode stats [7d|30d|90d]` for FTPCODE_ADMINS; counted by a job, answered on the response_url."""
    work = context["work"]
    job = {**_who(command), "response_url": payloads.response_url(command.get("response_url"))}
    if job["user"] not in work.config.admins:
        ack(response_type="ephemeral", text=insights_view.NOT_ADMIN)
        return
    words = text.split()[1:]
    days = insights.period_days(words[0] if words else None) if len(words) <= 1 else None
    if days is None:
        ack(response_type="ephemeral", text=insights_view.USAGE)
        return
    taken = job["response_url"] is not None and work.submit("stats", {**job, "days": days})
    ack(response_type="ephemeral", text=f"Counting the last {days} days…" if taken else BUSY_STATS)


def run_stats(work: Work) -> None:
    stats = work.store.feedback_stats(work.payload["days"])
    work.respond(response_type="ephemeral", **insights_view.stats_message(stats).kwargs())


def run_forget(work: Work) -> None:
    removed = work.store.forget_user(work.payload["user"])
    text = (
        f"Done: I deleted {removed} record{'s' if removed != 1 else ''} of yours (questions, votes, comments, triage"
        " outcomes). A triage still open keeps your name until it ends or expires."
    )
    work.respond(response_type="ephemeral", text=text)


def queue_probe(ack: Ack, command: dict, context: BoltContext, text: str) -> None:
    """`/ftpcode test HOST`: refusals that need no lookup are answered in the ack; the probe itself (up to
    30 s) is queued, and the ack says it is coming."""
    request = probe_job.parse(text)
    if request is None:
        ack(response_type="ephemeral", **probe_view.usage_message().kwargs())
        return
    work = context["work"]
    try:
        the_plan = probe_job.screen(work.config.probe, request)
    except Refused as refused:
        ack(response_type="ephemeral", **probe_view.one_line(refused.message))
        return
    job = {
        "user": payloads.user_id(command.get("user_id")),
        "team": payloads.team_id(command.get("team_id")),
        "response_url": payloads.response_url(command.get("response_url")),
        "target": request.target,
        "protocol": request.protocol,
    }
    taken = job["user"] is not None and job["response_url"] is not None and work.submit("probe", job)
    text = probe_view.testing_text(the_plan.target) if taken else BUSY_PROBE
    ack(response_type="ephemeral", text=text)


def run_scan(work: Work) -> None:
    text = work.payload["text"]
    reply = replies.for_text(text, ephemeral=True)
    message = answered.in_job(work, reply, text, work.payload, "command")
    work.respond(response_type="ephemeral", **message.kwargs())


JOBS = {"scan_command": run_scan, "probe": probe_job.run, "forget_me": run_forget, "stats": run_stats}


def register(app: App) -> None:
    app.command("/ftpcode")(ftpcode_command)
