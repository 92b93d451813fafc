"""`ftpcode probe`: a probe's result as terminal text, read like a scan of a log: the failure and why first,
then every step with its time, then the knowledge entries."""

from __future__ import annotations

import textwrap

from knowledge.probe.model import ProbeResult
from knowledge.scan_text import Styler, codes_section

MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skipped": "–"}


def headline(result: ProbeResult) -> str:
    """One line: what was probed and how it went ("… failed at PASV" / "… every step passed")."""
    failure = result.failure
    if failure is not None:
        how = f"failed at {failure.title}"
    elif any(s.status == "warn" for s in result.steps):
        how = "every step passed, with warnings"
    else:
        how = "every step passed"
    return f"Probe of {result.target}: {how}"


def step_line(result: ProbeResult, index: int) -> str:
    step = result.steps[index]
    milliseconds = f"{step.seconds * 1000:,.0f} ms"
    command = f"{step.command} → " if step.command and not step.detail.startswith(step.command) else ""
    return f"{MARKS.get(step.status, '?')} {step.title:<16}{milliseconds:>9}  {command}{step.detail}"


def render_probe(result: ProbeResult, style: Styler, width: int) -> str:
    bullet = textwrap.TextWrapper(width=width, initial_indent="  • ", subsequent_indent="    ")
    out = [style.bold(headline(result)), style.dim(f"Protocol: {result.protocol_note}.")]
    failure = result.failure
    if failure is not None:
        number = result.steps.index(failure) + 1
        out += ["", style.title(f"It failed at {failure.title} (step {number} of {len(result.steps)})")]
        command = f"{failure.command} → " if failure.command else ""
        out.append(bullet.fill(command + (failure.reply or failure.detail)))
    if result.findings:
        out += ["", style.title("Why")]
        for finding in result.findings:
            prefix = "Warning: " if finding.severity == "warn" else ""
            out.append(bullet.fill(prefix + finding.summary))
    out += ["", style.title("Steps")]
    step_wrap = textwrap.TextWrapper(width=width, initial_indent="  ", subsequent_indent=" " * 31)
    out += [step_wrap.fill(step_line(result, i)) for i in range(len(result.steps))]
    out.append(style.dim(f"  {result.seconds * 1000:,.0f} ms in all"))
    out += codes_section(result.codes, style, bullet)
    return "\n".join(out) + "\n"
