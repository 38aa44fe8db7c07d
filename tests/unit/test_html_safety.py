"""Text a user supplies never becomes markup or a path.

1. A static scan of every `unsafe_allow_html` call (and st.html / components.html) in app.py,
   pages/ and ui/: the HTML must be a constant or built only from escaped or numeric values.
2. Pages fed a run name, a tag, a candidate name and CSV column names like
   ``<img src=x onerror=alert(1)>`` show them through elements that render text only.
3. Uploads named ``../../evil.csv``, ``/etc/passwd``, ``a\\b.csv`` or ``..`` go through the real
   upload widgets: nothing lands outside the data directory and stored names come from content.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_fault_messages import _NavigationPagesManager

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = "<img src=x onerror=alert(1)>"
TIMEOUT = 60

# -- 1. static scan ------------------------------------------------------------------------------

ESCAPERS = {"escape", "html.escape", "markupsafe.escape", "bleach.clean"}
HTML_SINKS = {"st.html", "html", "components.html", "st.components.v1.html", "components.v1.html"}
NUMERIC_FORMATS = ("d", "f", "e", "g", "%", "n", "x", "b", "o")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _module_constants(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level names bound once: their value expression (reassigned names are not trusted)."""
    seen: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    seen.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            seen.setdefault(node.target.id, []).append(node.value)
    return {name: values[0] for name, values in seen.items() if len(values) == 1}


def _trusted(node: ast.AST, consts: dict[str, ast.AST], depth: int = 0) -> bool:
    """Whether ``node`` can only evaluate to markup written by us, or to escaped or numeric text."""
    if depth > 20:
        return False
    again = lambda n: _trusted(n, consts, depth + 1)  # noqa: E731
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, int, float))
    if isinstance(node, ast.Name):
        return node.id in consts and again(consts[node.id])
    if isinstance(node, ast.JoinedStr):
        return all(again(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        spec = node.format_spec
        last = spec.values[-1] if isinstance(spec, ast.JoinedStr) and spec.values else None
        numeric = isinstance(last, ast.Constant) and str(last.value).endswith(NUMERIC_FORMATS)
        return numeric or again(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return again(node.left) and again(node.right)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(again(e) for e in node.elts)
    if isinstance(node, ast.IfExp):
        return again(node.body) and again(node.orelse)
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        if name in ESCAPERS:
            return True
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
            return (again(node.func.value) and all(again(a) for a in node.args)
                    and all(again(k.value) for k in node.keywords))
    return False


def unsafe_html_calls(source: str, filename: str = "<string>") -> tuple[list[str], list[str]]:
    """(every call that renders HTML, those whose HTML is not provably ours) as 'file:line: call'."""
    tree = ast.parse(source, filename)
    consts = _module_constants(tree)
    calls, bad = [], []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        flag = next((k for k in node.keywords if k.arg == "unsafe_allow_html"), None)
        sink = _dotted(node.func) in HTML_SINKS
        if flag is None and not sink:
            continue
        if flag is not None and isinstance(flag.value, ast.Constant) and flag.value.value is False:
            continue
        where = f"{filename}:{node.lineno}: {ast.unparse(node)[:120]}"
        calls.append(where)
        body = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg in ("body", "html")), None)
        flag_constant = flag is None or (isinstance(flag.value, ast.Constant) and flag.value.value is True)
        if body is None or not flag_constant or not _trusted(body, consts):
            bad.append(where)
    return calls, bad


def _ui_sources() -> list[Path]:
    return [REPO / "app.py", *sorted((REPO / "pages").glob("*.py")), *sorted((REPO / "ui").glob("*.py"))]


def test_every_html_the_pages_render_is_ours_or_escaped():
    calls, bad = [], []
    for path in _ui_sources():
        c, b = unsafe_html_calls(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
        calls += c
        bad += b
    print(f"{len(calls)} call(s) render HTML:", *calls, sep="\n  ")
    assert not bad, "HTML built from values that are neither constant nor escaped:\n" + "\n".join(bad)


@pytest.mark.parametrize("code", [
    'st.markdown(f"<b>{name}</b>", unsafe_allow_html=True)',
    'st.markdown("<b>" + run.name + "</b>", unsafe_allow_html=True)',
    'st.write(text, unsafe_allow_html=True)',
    'st.caption("<i>{}</i>".format(user), unsafe_allow_html=True)',
    'st.markdown("<br>", unsafe_allow_html=flag)',
    'st.html(body)',
    'components.html(f"<div>{column}</div>")',
    'TEMPLATE = "<b>{}</b>"\nTEMPLATE = name\nst.markdown(TEMPLATE, unsafe_allow_html=True)',
    'st.markdown(f"{value:>10}", unsafe_allow_html=True)',
])
def test_the_scan_flags_html_built_from_unescaped_values(code):
    calls, bad = unsafe_html_calls(code)
    assert calls and bad == calls


@pytest.mark.parametrize("code", [
    'st.markdown("<br>", unsafe_allow_html=True)',
    'st.markdown(f"<b>{html.escape(name)}</b>", unsafe_allow_html=True)',
    'st.markdown(f"<b>{share:.1f}%</b> of {n:,d}", unsafe_allow_html=True)',
    'CSS = "<style>p {color: red}</style>"\nst.markdown(CSS, unsafe_allow_html=True)',
    'st.html("<hr>" + escape(caption))',
    'st.markdown(run.name)',
    'st.markdown(run.name, unsafe_allow_html=False)',
])
def test_the_scan_accepts_constant_and_escaped_html(code):
    assert unsafe_html_calls(code)[1] == []


# -- 2. hostile names on the pages ---------------------------------------------------------------


def _html_leaks(at: AppTest, payload: str) -> tuple[list[str], int]:
    """(elements rendering ``payload`` as HTML, number of elements showing it at all)."""
    leaks, shown = [], 0
    stack = [at._tree]
    while stack:
        node = stack.pop()
        stack.extend(getattr(node, "children", {}).values())
        proto = getattr(node, "proto", None)
        if proto is None or payload not in str(proto) and payload.encode() not in proto.SerializeToString():
            continue
        shown += 1
        fields = proto.DESCRIPTOR.fields_by_name
        if getattr(node, "type", "") == "html" or (
                "allow_html" in fields and proto.allow_html) or (
                "unsafe_allow_html" in fields and proto.unsafe_allow_html):
            leaks.append(f"{node.type}: {str(proto)[:200]}")
    return leaks, shown


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("TRADEOFF_LAB_HOME", str(path))
    return path


@pytest.fixture
def app_shell(monkeypatch):
    """Pages run through app.py as the server runs them (see tests/app/test_fault_messages.py)."""
    import streamlit.testing.v1.app_test as app_test_module

    monkeypatch.setattr(app_test_module, "PagesManager", _NavigationPagesManager)

    def open_page(page: str) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
        return at.switch_page(page).run()

    return open_page


def test_a_hostile_run_name_tag_and_candidate_name_are_shown_as_text(home, app_shell):
    from core.experiment import run
    from core.specs import CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec, MeasureSpec
    from core.store import RunStore

    fast = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)
    result = run(ExperimentSpec(DatasetSpec("iris"), (CandidateSpec(PAYLOAD, LogisticRegressionSpec()),),
                                fast))
    with RunStore(home) as store:
        run_id = store.record(result, name=PAYLOAD, tags=(PAYLOAD,))
    at = app_shell("pages/history.py")
    assert not at.exception, at.exception
    assert at.multiselect(key="hist-select").value == [run_id]  # selected: header, charts, manage
    leaks, shown = _html_leaks(at, PAYLOAD)
    assert shown >= 3, "the name should be on the page (table, header, manage title)"
    assert leaks == []


def test_hostile_csv_column_names_and_values_are_shown_as_text(home, app_shell):
    rows = "\n".join(f"{i},{i % 3},{'a' if i % 2 else PAYLOAD},{'yes' if i % 2 else 'no'}" for i in range(40))
    csv = f"id,\"{PAYLOAD}\",note,label\n{rows}\n".encode()
    at = app_shell("pages/data.py")
    at.selectbox(key="data-name").set_value("csv").run()
    at.file_uploader(key="data-upload").set_value(("hostile.csv", csv, "text/csv")).run()
    assert not at.exception, at.exception
    assert at.session_state["dataset_spec"].name == "csv"  # the CSV was accepted and shown
    leaks, shown = _html_leaks(at, PAYLOAD)
    assert shown >= 2, "the column name should be on the page (target choice, tables)"
    assert leaks == []


# -- 3. upload names are never paths ----------------------------------------------------------------

HOSTILE_NAMES = ["../../evil.csv", "/etc/passwd", "a\\b.csv", "..", "../../../../tmp/evil.txt"]


def _tree(root: Path, skip: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and skip not in p.parents}


def test_upload_file_names_are_never_used_as_paths(home, app_shell, tmp_path, monkeypatch):
    # A deep working directory inside tmp_path: a relative "../../evil.csv" would land in tmp_path.
    cwd = tmp_path / "work" / "a" / "b"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    passwd = Path("/etc/passwd").read_bytes()
    outside_before = _tree(tmp_path, home)
    csv = b"x,y,label\n" + b"".join(b"%d,%d,%s\n" % (i, i * 2, b"ab"[i % 2:i % 2 + 1]) for i in range(40))
    text = ("Hostile names are only names. " * 200).encode()  # above the minimum a corpus needs
    model = os.urandom(512)
    for name in HOSTILE_NAMES:
        at = app_shell("pages/data.py")
        at.selectbox(key="data-name").set_value("csv").run()
        at.file_uploader(key="data-upload").set_value((name, csv, "text/csv")).run()
        refused_by_type = any("Invalid file extension" in e.value for e in at.exception)
        assert not at.exception or refused_by_type, (name, at.exception)  # Streamlit's own type check
        if not refused_by_type:
            stored = Path(at.session_state["dataset_spec"].csv_path)
            assert stored.parent == home / "uploads"
            assert stored.name == hashlib.sha256(csv).hexdigest()[:24] + ".csv"

        at = app_shell("pages/language.py")
        at.radio(key="lm-corpus-src").set_value(False).run()  # not the built-in text: an upload
        at.file_uploader(key="lm-corpus-up").set_value((name, text, "text/plain")).run()
        refused_by_type = any("Invalid file extension" in e.value for e in at.exception)
        assert not at.exception or refused_by_type, (name, at.exception)

        at = app_shell("pages/history.py")
        at.file_uploader(key="imp-files").set_value((name, model, "application/octet-stream")).run()
        at.button(key="imp-go").click().run()
        assert not at.exception, (name, at.exception)
        assert at.error, "random bytes must be refused with a message"

    assert Path("/etc/passwd").read_bytes() == passwd
    assert _tree(tmp_path, home) == outside_before, "a file was written outside the data directory"
    uploads = sorted(p.name for p in (home / "uploads").iterdir())
    allowed = {hashlib.sha256(csv).hexdigest()[:24] + ".csv", hashlib.sha256(text).hexdigest()[:24] + ".txt"}
    assert set(uploads) == allowed, uploads  # both upload widgets stored, by content only
    for path in home.rglob("*"):  # no stored path carries any part of an uploaded name
        assert not any(part in path.name for part in ("evil", "passwd", "\\")), path


# -- 4. the server listens on this machine only -------------------------------------------------------


def test_server_binds_to_localhost_unless_told_otherwise():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] in ("localhost", "127.0.0.1")
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["enableCORS"] is True
    run_script = (REPO / "scripts" / "run").read_text(encoding="utf-8")
    assert '--server.address "${ADDRESS:-localhost}"' in run_script
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "binds to `localhost` only" in readme and "ADDRESS=0.0.0.0 scripts/run" in readme
    assert "reverse proxy" in readme and "authentication" in readme
