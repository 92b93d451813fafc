"""/ftpcode: a lookup is answered in the ack itself; a pasted log and a server test are queued and answered on
the response_url."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, BoltResponse

from bot import payloads, probe_job, probe_reply, replies, scan_reply
from bot.mrkdwn import plain_from_slack
from bot.worker import Work
from knowledge.probe.model import Refused

BUSY = "I could not take that log just now. Try again in a minute."
BUSY_PROBE = "I could not take that test just now. Try again in a minute."


def ftpcode_command(ack: Ack, command: dict, context: BoltContext) -> BoltResponse | None:
    text = plain_from_slack(payloads.text_of(command.get("text")))
    if probe_job.is_test_command(text):
        queue_probe(ack, command, context, text)
        return None
    if scan_reply.looks_like_log(text):
        # A scan can take a moment: it is queued, and answered on the response_url.
        who = {"response_url": payloads.response_url(command.get("response_url"))}
        taken = who["response_url"] is not None and context["work"].submit("scan_command", {**who, "text": text})
        if taken:
            ack()
        else:
            ack(response_type="ephemeral", text=BUSY)
        return None
    # A lookup and its (cached) rendering take well under a millisecond, so the answer travels in the ack:
    # no second request to Slack, and the user sees it sooner (bench/README.md). Returned rather than passed to
    # ack(): the app processes before it responds, so Bolt sends what the listener returns, here encoded once.
    return BoltResponse(status=200, body=replies.for_text(text, ephemeral=True).ephemeral_ack)


def queue_probe(ack: Ack, command: dict, context: BoltContext, text: str) -> None:
    """`/ftpcode test HOST`: refusals that need no lookup are answered in the ack; the probe itself (up to
    30 s) is queued, and the ack says it is coming."""
    request = probe_job.parse(text)
    if request is None:
        ack(response_type="ephemeral", **probe_reply.usage_message().kwargs())
        return
    work = context["work"]
    try:
        the_plan = probe_job.screen(work.config.probe, request)
    except Refused as refused:
        ack(response_type="ephemeral", **probe_reply.one_line(refused.message))
        return
    job = {
        "user": payloads.user_id(command.get("user_id")),
        "team": payloads.team_id(command.get("team_id")),
        "response_url": payloads.response_url(command.get("response_url")),
        "target": request.target,
        "protocol": request.protocol,
    }
    taken = job["user"] is not None and job["response_url"] is not None and work.submit("probe", job)
    text = probe_reply.testing_text(the_plan.target) if taken else BUSY_PROBE
    ack(response_type="ephemeral", text=text)


def run_scan(work: Work) -> None:
    reply = replies.for_text(work.payload["text"], ephemeral=True)
    work.respond(response_type="ephemeral", **reply.message.kwargs())


JOBS = {"scan_command": run_scan, "probe": probe_job.run}


def register(app: App) -> None:
    app.command("/ftpcode")(ftpcode_command)
