"""Undoes what pasting does to a log before its format is guessed, line for line (line numbers stay those of
the paste): a paste in one pair of double quotes, e-mail and Markdown quoting ("> " before each line),
indentation shared by every line, lines wrapped in backticks or bold markers, forum BBCode, and the labels of
translated FileZilla and WinSCP builds
("Antwort:", "Réponse :", "响应:", "错误码：3"), which become FileZilla's and WinSCP's English ones, and the
prefixes programs put before libcurl's debug callback output ("cURL debug log [1]:  - 220 ...",
"CURLINFO_HEADER_IN: 220 ..."), which become curl -v's marks ("< 220 ...").

Every check looks at the head of the paste first, so a long clean log costs a few searches of 64 KiB.
"""

from __future__ import annotations

import re

_HEAD = 64 * 1024

# --- quoting: "> Status:\tConnecting..." as mail clients, Markdown and forums quote. A curl -v log also starts
# lines with "> " (what it sent), but then some lines start with "< " (what it received) or "* " (its notes).
_QUOTED_LINE = re.compile(r"(?m)^[ \t]*>")
_CURL_MARKS = re.compile(r"(?m)^(?:< |\* |\*\s+Trying )")
_QUOTE_PREFIX = re.compile(r"(?m)^[ \t]*>[ \t]?")

# --- Markdown and BBCode around lines
# (a run of asterisks at a line end is a masked password, "PASS ********", not a bold marker)
_WRAPPED_LINE = re.compile(r"(?m)^[ \t]*(?:`(?!``)|\*\*(?!\*))(?=[^`\n]*\S)|(?<=[^\s*`])(?:`|\*\*)[ \t]*$")
# _WRAPPED_LINE.search as three searches that each start with a literal (a newline, ` or **), where its own
# alternation was tried at every position of the head: 4.5 ms for a FileZilla log, whose masked passwords
# hold "**" (the second one in "\n" + head)
_WRAPPED_LINE_SEARCHES = (
    re.compile(r"`(?<=[^\s*`]`)[ \t]*$", re.M),
    re.compile(r"\n[ \t]*(?:`(?!``)|\*\*(?!\*))(?=[^`\n]*\S)"),
    re.compile(r"\*\*(?<=[^\s*`]\*\*)[ \t]*$", re.M),
)
_BBCODE = re.compile(r"\[/?(?:COLOR|CODE|QUOTE|SIZE|FONT|B|I|U)(?:=[^\]\n]*)?\]", re.I)

# --- translated FileZilla labels (the client's message log in its shipped translations) -> English
_FZ_LABELS = {
    "Status": ("Status", "Statut", "Stato", "Estado", "Статус", "状态", "狀態"),
    "Command": ("Befehl", "Commande", "Comando", "Команда", "命令", "指令"),
    "Response": ("Antwort", "Réponse", "Risposta", "Respuesta", "Resposta", "Ответ", "响应", "回應", "Answer", "Reply"),
    "Error": ("Fehler", "Erreur", "Errore", "Erro", "Ошибка", "错误", "錯誤"),
}
_LABEL_OF = {word: label for label, words in _FZ_LABELS.items() for word in words if word != label}
_FZ_PREFIX = r"(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:[ \t]+\d+){0,2}[ \t]+|\d\d:\d\d:\d\d[ \t]+)?"
_LOCAL_LABEL = re.compile(
    r"(?m)^(" + _FZ_PREFIX + r")(" + "|".join(sorted(_LABEL_OF, key=len, reverse=True)) + r")[ \t]?[:：][ \t]*"
)
# FileZilla's "Connecting to host:port..." in its translations: the rules read the server's address from it.
_CONNECTING = re.compile(r"(?m)^(" + _FZ_PREFIX + r"Status:\t)(?:Verbinde mit|Connexion à|Connessione a|Conectando a|"
                         r"Conectando com|Подключение к|正在连接|正在連線到?) ?")  # fmt: skip
# A translated status line that names a socket error ("状态:\t尝试连接“ECONNREFUSED - 连接被服务器拒绝”失败。"): the
# English words FileZilla uses for it go in front, so the parser keeps the line.
_STATUS_SOCKET_ERROR = re.compile(
    r"(?m)^(" + _FZ_PREFIX + r"Status:\t)"
    r"(?=[^\n]*\bE(?:CONNREFUSED|TIMEDOUT|CONNRESET|CONNABORTED|HOSTUNREACH|NETUNREACH)\b)"
)
# "TLS connection established." in FileZilla's translations: the rules read TLS from it.
_TLS_ESTABLISHED = re.compile(
    r"(?m)^(" + _FZ_PREFIX + r"Status:\t)(?:TLS ?连接已建立|TLS ?連線已建立|TLS-Verbindung hergestellt|"
    r"Connexion TLS établie|Conexión TLS establecida|Connessione TLS stabilita|Conexão TLS estabelecida|"
    r"TLS-соединение установлено)"
)
# WinSCP's error dialog in its translations: "Error code: 3" / "Error message from server: ..."
# --- libcurl's debug callback as applications log it: the info type (0 text, 1 header in, 2 header out) or its
# CURLINFO_ name before the text. They become curl -v's "* ", "< " and "> ".
_CURL_CALLBACK = re.compile(
    r"(?m)^[^\n]*?(?:cURL debug log \[([012])\]:[ \t]*-[ \t]?|"
    r"CURLINFO_(TEXT|HEADER_IN|HEADER_OUT):[ \t]*(?:[\d:.]+[ \t]+)?)"
)
_CURL_MARK_OF = {"0": "* ", "1": "< ", "2": "> ", "TEXT": "* ", "HEADER_IN": "< ", "HEADER_OUT": "> "}
_WINSCP_DIALOG = (
    (re.compile(r"(?m)^(?:错误码|錯誤碼|Fehlercode|Код ошибки)[ \t]?[:：][ \t]*"), "Error code: "),
    (re.compile(r"(?m)^(?:服务器返回的错误消息|伺服器傳回的錯誤訊息|Fehlermeldung vom Server)[ \t]?[:：][ \t]*"),
     "Error message from server: "),
)  # fmt: skip


def normalize(text: str) -> str:
    text = _unquote_paste(text)
    head = text[:_HEAD]
    if ">" in head:
        text = _unquote(text, head)
        head = text[:_HEAD]
    if "`" in head or "**" in head or "[" in head:
        text = _unwrap(text, head)
        head = text[:_HEAD]
    if head[:1] in " \t" or "\n " in head or "\n\t" in head:
        text = _dedent(text, head)
        head = text[:_HEAD]
    if not head.isascii() or "Answer:" in head or "Reply:" in head:
        text = _translate(text, head)
    if "cURL debug log [" in head or "CURLINFO_" in head:
        text = _CURL_CALLBACK.sub(lambda m: _CURL_MARK_OF[m.group(1) or m.group(2)], text)
    return text


def _lines(head: str) -> list[str]:
    return [line for line in head.split("\n") if line.strip()]


def _unquote_paste(text: str) -> str:
    """A paste in one pair of double quotes (an error dialog quoted in a forum post): the two quotes go."""
    start = len(text) - len(text.lstrip())
    end = _stripped_end(text) - 1
    if end - start < 2 or text[start] != '"' or text[end] != '"':
        return text
    first_end = text.find("\n", start, end)
    last_start = text.rfind("\n", start, end) + 1
    if first_end < 0:
        if text.count('"', start, end + 1) != 2:
            return text
    elif text.count('"', start, first_end) != 1 or text.count('"', last_start, end + 1) != 1:
        return text
    return text[:start] + text[start + 1 : end] + text[end + 1 :]


def _stripped_end(text: str, window: int = 4096) -> int:
    """len(text.rstrip()), without a copy of a long text whose end holds something else than blanks."""
    tail = text[-window:].rstrip()
    return len(text) - window + len(tail) if tail and len(text) > window else len(text.rstrip())


def _unquote(text: str, head: str) -> str:
    lines = _lines(head)
    quoted = len(_QUOTED_LINE.findall(head))
    if not lines or quoted < 0.6 * len(lines) or _CURL_MARKS.search(head):
        return text
    return _QUOTE_PREFIX.sub("", text)


def _unwrap(text: str, head: str) -> str:
    if _BBCODE.search(head):
        text = _BBCODE.sub("", text)
    if ("`" in head or "**" in head) and _wrapped_line(text[:_HEAD]):
        text = _WRAPPED_LINE.sub("", text)
    return text


def _wrapped_line(head: str) -> bool:
    """Whether _WRAPPED_LINE finds a line in `head`."""
    at_end, at_start, bold_at_end = _WRAPPED_LINE_SEARCHES
    return bool(at_end.search(head) or at_start.search("\n" + head) or bold_at_end.search(head))


def _dedent(text: str, head: str) -> str:
    """Removes the indentation every non-empty line shares (a forum's code block, a quoted paste)."""
    common: str | None = None
    for line in _lines(head):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if common is None or not indent.startswith(common):
            common = indent if common is None else _shared(common, indent)
        if not common:
            return text
    if not common:
        return text
    return re.sub("(?m)^" + re.escape(common), "", text)


def _shared(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _translate(text: str, head: str) -> str:
    if len(_LOCAL_LABEL.findall(head)) >= 2 or (len(_LOCAL_LABEL.findall(head)) == 1 and len(_lines(head)) <= 2):
        text = _LOCAL_LABEL.sub(lambda m: f"{m.group(1)}{_LABEL_OF[m.group(2)]}:\t", text)
        text = _CONNECTING.sub(r"\1Connecting to ", text)
        text = _STATUS_SOCKET_ERROR.sub(r"\1Connection attempt failed: ", text)
        text = _TLS_ESTABLISHED.sub(r"\1TLS connection established. ", text)
    for pattern, english in _WINSCP_DIALOG:
        text = pattern.sub(english, text)
    return text
