"""The web app: pages rendered on the server (Jinja), plain forms, one small script for the statute search.

Routes
  GET  /                                 the cases in the workspace: options and worst consequence per area
  GET  /cases/new, /cases/{name}/edit    intake form
  POST /intake                           add or remove a block, check, or save the form
  GET  /cases/{name}/questions           the interview's decisive questions still open
  POST /cases/{name}/questions           answers (an empty answer leaves the fact unknown)
  GET  /cases/{name}                     the result: bottom line, options side by side, findings with their trace
  POST /cases/{name}/counter             add a counter-offer as a new option and re-run
  GET  /cases/{name}/download/{file}     memo.{md,html,docx,pdf}, letter-{en,es}.{md,html,docx,pdf}, result.json
  GET  /api/statutes?jurisdiction=&q=    statute search against the offense catalogs
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import secrets
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine.explain.interview import Question, open_questions
from engine.model.errors import InputError
from engine.serve import form as fm
from engine.serve.security import CSRF_FIELD, Guard, derive, form_of
from engine.serve.service import Service
from engine.serve.views import BOTTOM_ROWS, DOWNLOADS, SEVERITY_LABEL, option_view, worst_by_domain
from engine.serve.workspace import NotACase, slug, valid_name

HERE = Path(__file__).resolve().parent
MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8", "json": "application/json",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "pdf": "application/pdf"}
DOWNLOAD = re.compile(r"^(memo|letter-(en|es))\.(md|html|docx|pdf)$|^result\.json$")


class App:
    def __init__(self, service: Service, token: str, cookie: str = "collateral_session") -> None:
        self.service = service
        self.token = token
        self.csrf = derive(token, "csrf")
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(csrf_field=CSRF_FIELD, csrf=self.csrf, severity_label=SEVERITY_LABEL, NONE=fm.NONE,
                                workspace=str(service.workspace.folder))
        self.env.filters["money"] = lambda v: "" if v is None else f"${v:,.0f}"
        routes = [
            Route("/", self.cases),
            Route("/cases/new", self.new_case),
            Route("/cases/{name}/edit", self.edit_case),
            Route("/intake", self.intake, methods=["POST"]),
            Route("/cases/{name}/questions", self.questions, methods=["GET", "POST"]),
            Route("/cases/{name}/counter", self.counter, methods=["POST"]),
            Route("/cases/{name}/download/{file}", self.download),
            Route("/cases/{name}", self.result),
            Route("/api/statutes", self.statutes),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]
        inner = Starlette(routes=routes, exception_handlers={HTTPException: self.http_error})   # type: ignore[dict-item]
        self.asgi = Guard(inner, token, cookie)

    # ------------------------------------------------------------------------------------ helpers
    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(template).render(**context), status)

    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        return self.page("message.html.j2", exc.status_code, title=f"Error {exc.status_code}", message=exc.detail, link=None)

    def _name(self, request: Request) -> str:
        name = str(request.path_params["name"])
        if not valid_name(name) or not self.service.workspace.exists(name):
            raise HTTPException(404, f"There is no case file named {name!r} in the workspace.")
        return name

    # ------------------------------------------------------------------------------------ the case list
    async def cases(self, request: Request) -> Response:
        def rows() -> list[dict[str, Any]]:
            out = []
            for name in self.service.workspace.names():
                try:
                    ev = self.service.evaluate(name, alternatives=False)
                except (OSError, NotACase):
                    continue
                r = ev.result
                data = ev.disk.src.data if ev.disk.src is not None and isinstance(ev.disk.src.data, dict) else {}
                client = data.get("client") if isinstance(data.get("client"), dict) else {}
                out.append({
                    "name": name, "case_id": str(data.get("case_id") or ""), "client": str((client or {}).get("name") or ""),
                    "jurisdiction": str(data.get("jurisdiction") or ""),
                    "options": [(o["id"], o.get("label") or o["id"]) for o in r["options"]] if r else
                    [(str(o.get("id")), str(o.get("label") or o.get("id"))) for o in data.get("options") or [] if isinstance(o, dict)],
                    "domains": worst_by_domain(r) if r else [], "ranked": (r.get("comparison") or {}).get("ranked") if r else [],
                    "problems": ev.checked.problems[:3], "more_problems": max(0, len(ev.checked.problems) - 3)})
            return out

        return self.page("cases.html.j2", cases=await self.service.run(rows), title="Cases")

    # ------------------------------------------------------------------------------------ intake
    async def new_case(self, request: Request) -> Response:
        return await self.service.run(self._intake_page, fm.blank(), "", "", {}, [], "", "")

    async def edit_case(self, request: Request) -> Response:
        name = self._name(request)
        disk = self.service.workspace.read(name)
        if disk.src is None or not isinstance(disk.src.data, dict):
            problems = disk.error.problems if disk.error else []
            return self.page("message.html.j2", 422, title=f"{name} cannot be read",
                             message="; ".join(f"line {p.line}: {p.message}" for p in problems) or "not a case file",
                             link=None)
        note = "Saving from here rewrites the file without its comments." if disk.commented else ""
        return await self.service.run(self._intake_page, copy.deepcopy(disk.src.data), name, disk.digest, {}, [], note, "")

    def _intake_page(self, draft: dict[str, Any], name: str, digest: str, sticky: dict[str, Any],
                     problems: list[tuple[str, str]], note: str, file_name: str, status: int = 200, checked: bool = False) -> Response:
        root = fm.build(draft, self.service.questions, self.service.licenses, self.service.jurisdictions)
        if not name:   # a new case: the name of its file in the workspace
            root.fields.append(fm.Field("file_name", "File name in the workspace (.yaml is added)", fm.Widget("text"),
                                        file_name, "Default: the case number. Letters, digits, dot, dash, underscore."))
        for f in root.walk():
            if f.name in sticky:
                f.value = sticky[f.name]
        summary = fm.place_errors(root, problems)
        on = _date(draft.get("as_of")) or dt.date.today()
        case_juris = str(draft.get("jurisdiction") or "")

        def infos(g: fm.Group) -> None:
            if re.fullmatch(r"(options\[\d+\]\.counts|history|charges)\[\d+\]", g.path):
                statute = fm.get(draft, f"{g.path}.offense.statute")
                juris = fm.get(draft, f"{g.path}.offense.jurisdiction") or case_juris
                if isinstance(statute, str):
                    g.info = self.service.statute_info(str(juris), statute, on)
            for sub in g.groups:
                infos(sub)

        infos(root)
        return self.page("intake.html.j2", status, root=root, draft=json.dumps(draft, default=str, ensure_ascii=False),
                         name=name, digest=digest, summary=summary, note=note, file_name=file_name, checked=checked,
                         title=f"Edit {name}" if name else "New case")

    async def intake(self, request: Request) -> Response:
        form = await form_of(request, self.csrf)
        try:
            draft = json.loads(str(form.get("draft") or "{}"))
        except ValueError:
            draft = None
        if not isinstance(draft, dict):
            raise HTTPException(400, "The form was damaged (its draft is not a case file); open the case again.")
        name = str(form.get("name") or "")
        digest = str(form.get("digest") or "")
        file_name = str(form.get("file_name") or "").strip()
        action = str(form.get("action") or "check")
        return await self.service.run(self._intake_submit, draft, form, name, digest, file_name, action)

    def _intake_submit(self, draft: dict[str, Any], form: Any, name: str, digest: str, file_name: str, action: str) -> Response:
        if name and not (valid_name(name) and self.service.workspace.exists(name)):
            raise HTTPException(404, f"There is no case file named {name!r} in the workspace.")
        fields = list(fm.build(draft, self.service.questions, self.service.licenses, self.service.jurisdictions).walk())
        input_errors, sticky = fm.overlay(draft, form, fields)
        if action.startswith(("add:", "remove:")):
            fm.act(draft, action)
            return self._intake_page(draft, name, digest, sticky, list(input_errors.items()), "", file_name)
        data = fm.ordered(fm.prune(copy.deepcopy(draft)))
        checked = self.service.check(data)
        problems = list(input_errors.items()) + [(p, m) for p, m in checked.problems if p not in input_errors]
        target = name
        if action == "save":
            if not name:
                target = file_name or slug(str(data.get("case_id") or ""))
                if not target or not valid_name(target):
                    problems.append(("file_name", "give a file name: letters, digits, dot, dash or underscore"))
                elif self.service.workspace.exists(target):
                    problems.append(("file_name", f"{target}.yaml already exists in the workspace: choose another name"))
            elif self.service.workspace.read(name).digest != digest:
                problems.append(("", f"{name} was changed on disk since this form was opened (by the command line or "
                                     "another window): open it again before saving"))
        if problems or action != "save":
            return self._intake_page(draft, name, digest, sticky, problems, "", file_name,
                                     422 if problems else 200, checked=not problems)
        self.service.workspace.write(target, data)
        return RedirectResponse(f"/cases/{target}/questions", 303)

    # ------------------------------------------------------------------------------------ the interview
    async def questions(self, request: Request) -> Response:
        name = self._name(request)
        skipped = set(request.query_params.getlist("skip"))
        if request.method == "POST":
            form = await form_of(request, self.csrf)
            skipped = {str(x) for x in form.getlist("skip")}
            return await self.service.run(self._answer, name, form, skipped)
        return await self.service.run(self._questions_page, name, skipped, {}, {})

    def _questions_page(self, name: str, skipped: set[str], typed: dict[str, Any], errors: dict[str, str]) -> Response:
        ev = self.service.evaluate(name, alternatives=False)
        if ev.checked.case is None or ev.disk.src is None:
            return self._problems_page(name, ev.checked.problems)
        pending = self.service.open_questions(ev.disk.src.data, skipped)
        if not pending:
            return RedirectResponse(f"/cases/{name}", 303)
        items = [self._question_view(i, q, typed.get(q.key), errors.get(q.key, "")) for i, q in enumerate(pending)]
        return self.page("questions.html.j2", 422 if errors else 200, name=name, questions=items, skipped=sorted(skipped),
                         title=f"Questions for {name}")

    def _question_view(self, i: int, q: Question, value: Any, error: str) -> dict[str, Any]:
        kind = {"bool": "tri", "enum": "select", "tags": "tags", "date": "date", "int": "int", "number": "number"}.get(q.type, "text")
        vocab = self.service.licenses if q.field == "client.licenses" else None
        where = q.fact.split("|")[-1]
        return {"key": q.key, "id": f"q{i}", "ask": q.ask, "stakes": q.stakes, "kind": kind, "error": error,
                "choices": sorted(((c, fm.choice_label(c, vocab)) for c in q.choices), key=lambda x: x[1].lower())
                if q.type == "tags" else [(c, fm.choice_label(c, vocab)) for c in q.choices],
                "value": value if value is not None else ([] if kind == "tags" else ""),
                "where": f"option {q.option}, {where}" if where.startswith(("counts[", "history[")) else "",
                "decides": len(q.why)}

    def _answer(self, name: str, form: Any, skipped: set[str]) -> Response:
        ev = self.service.evaluate(name, alternatives=False)
        if ev.checked.case is None or ev.disk.src is None:
            return self._problems_page(name, ev.checked.problems)
        pending = self.service.open_questions(ev.disk.src.data, skipped)
        answers: dict[str, str] = {}
        typed: dict[str, Any] = {}
        for q in pending:
            raw = [str(x) for x in form.getlist("answer:" + q.key)]
            typed[q.key] = raw if q.type == "tags" else (raw[0] if raw else "")
            if q.type == "tags":
                answers[q.key] = "none" if fm.NONE in raw and len(raw) == 1 else ", ".join(x for x in raw if x)
                if fm.NONE in raw and len(raw) > 1:
                    answers[q.key] = "__both__"
            else:
                answers[q.key] = raw[0] if raw else ""
        data, errors, left = self.service.apply_answers(ev.disk.src.data, pending, answers)
        for key, text in answers.items():
            if text == "__both__":
                errors[key] = "choose “None” or some of the others, not both"
        if errors:
            return self._questions_page(name, skipped, typed, errors)
        if data != ev.disk.src.data:
            self.service.workspace.write(name, data)
        if str(form.get("action") or "") == "memo":
            return RedirectResponse(f"/cases/{name}", 303)
        skip = sorted(skipped | set(left))
        return RedirectResponse(f"/cases/{name}/questions" + (f"?{urlencode([('skip', k) for k in skip])}" if skip else ""), 303)

    def _problems_page(self, name: str, problems: list[tuple[str, str]]) -> Response:
        return self.page("message.html.j2", 422, title=f"{name} needs attention before it can be evaluated",
                         message="", problems=problems, link=(f"/cases/{name}/edit", "Open the intake form"))

    # ------------------------------------------------------------------------------------ the result
    async def result(self, request: Request) -> Response:
        name = self._name(request)
        return await self.service.run(self._result_page, name)

    def _result_page(self, name: str) -> Response:
        from engine.present.memo import build

        ev = self.service.evaluate(name, alternatives=True)
        if ev.result is None:
            return self._problems_page(name, ev.checked.problems)
        r = ev.result
        memo = build(copy.deepcopy(r))
        by_id = {o.id: o for o in memo.options}
        options = [option_view(o, by_id.get(o["id"])) for o in r["options"]]
        n_questions = len(open_questions(r, sorted(self.service.licenses)))
        return self.page("result.html.j2", name=name, r=r, memo=memo, options=options, domains=worst_by_domain(r),
                         bottom_rows=BOTTOM_ROWS, downloads=DOWNLOADS, n_questions=n_questions, title=f"{name}: advice")

    async def counter(self, request: Request) -> Response:
        name = self._name(request)
        form = await form_of(request, self.csrf)
        option = str(form.get("option") or "")
        try:
            index = int(str(form.get("index") or ""))
        except ValueError:
            raise HTTPException(400, "No counter-offer was chosen.") from None
        return await self.service.run(self._add_counter, name, option, index)

    def _add_counter(self, name: str, option: str, index: int) -> Response:
        ev = self.service.evaluate(name, alternatives=True)
        if ev.result is None or ev.disk.src is None:
            return self._problems_page(name, ev.checked.problems)
        try:
            data = self.service.counter_option(ev.disk.src.data, ev.result, option, index)
        except LookupError:
            raise HTTPException(404, "That counter-offer is no longer proposed for this case (the case changed): "
                                     "reload the result.") from None
        checked = self.service.check(data)
        if checked.case is None:
            return self._problems_page(name, checked.problems)
        self.service.workspace.write(name, data)
        new_id = data["options"][-1]["id"]
        return RedirectResponse(f"/cases/{name}#o-{''.join(c if c.isalnum() else '-' for c in new_id)}", 303)

    async def download(self, request: Request) -> Response:
        name = self._name(request)
        file = str(request.path_params["file"])
        if not DOWNLOAD.match(file):
            raise HTTPException(404, f"No download named {file!r}.")
        return await self.service.run(self._download, name, file)

    def _download(self, name: str, file: str) -> Response:
        from engine.present import letter_document, memo_document
        from engine.review.seal import result_text

        ev = self.service.evaluate(name, alternatives=True)
        if ev.result is None:
            return self._problems_page(name, ev.checked.problems)
        result = copy.deepcopy(ev.result)
        stem, fmt = file.rsplit(".", 1)
        try:
            if stem == "result":
                content: str | bytes = result_text(result)
            elif stem == "memo":
                content = memo_document(result, fmt)
            else:
                content = letter_document(result, stem.split("-")[1], fmt)
        except InputError as exc:
            raise HTTPException(500, f"The {stem} could not be written: {exc}") from None
        except (ImportError, OSError) as exc:
            raise HTTPException(500, f"The {stem} could not be written as {fmt.upper()} on this machine: {exc}") from None
        body = content.encode("utf-8") if isinstance(content, str) else content
        return Response(body, media_type=MEDIA[fmt],
                        headers={"content-disposition": f'attachment; filename="{name}-{file}"'})

    # ------------------------------------------------------------------------------------ statute search
    async def statutes(self, request: Request) -> Response:
        q = request.query_params
        on = _date(q.get("as_of"))
        # the catalogs are read only: searched at once, not queued behind an evaluation
        return JSONResponse(self.service.statute_search(q.get("jurisdiction", ""), q.get("q", ""), on))


def _date(v: Any) -> Optional[dt.date]:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v)) if v else None
    except ValueError:
        return None


def create_app(workspace: Path, token: Optional[str] = None, cookie: str = "collateral_session",
               rules_dir: Optional[Path] = None) -> App:
    """The web app over WORKSPACE; `app.asgi` is the ASGI application, `app.token` its access token."""
    return App(Service(workspace, rules_dir), token or secrets.token_urlsafe(32), cookie)
