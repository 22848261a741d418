"""일자리 도우미: the Streamlit chat and program finder, a thin client of `guro_jobs`.

The assistant is loaded (or, the first time, built) by one background thread per process, started by
the first visitor and shared by all: it goes on when a tab closes, every visitor sees its progress, and a
question typed while it loads is shown at once and answered when it is ready. The conversation lives in
`st.session_state` and, by an id in the address (`?c=…`), in a server-side store, so a reload in the same
browser keeps it. Every visible string is Korean.
"""

from __future__ import annotations

import html
import json
import logging
import re
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:  # the core is imported at run time only after the page frame is on screen
    from guro_jobs.assistant import Assistant
    from guro_jobs.conversations import ConversationStore
    from guro_jobs.factory import LoadReport
    from guro_jobs.feedback import FeedbackStore
    from guro_jobs.models import Answer, Citation, QuotedLine
    from guro_jobs.settings import Settings
    from knowledge.catalog import Catalog, Program

logger = logging.getLogger(__name__)

PAGES = ("질문하기", "사업 찾기")
EXAMPLE_QUESTIONS = (
    "청년도전지원사업 인센티브는 얼마인가요?",
    "50세 이상은 어떤 지원을 받을 수 있나요?",
    "노인 일자리사업 보수는 얼마인가요?",
    "중장년 일자리센터는 어디에 있나요?",
)
STAGE_LABELS = {"load": "계획서를 읽고 있습니다", "embed": "문장의 뜻을 계산하고 있습니다", "write": "색인을 저장하고 있습니다"}
VERDICT_STYLE = {"yes": "success", "no": "error", "check": "warning"}
VERDICT_ICON = {"yes": ":material/check_circle:", "no": ":material/cancel:", "check": ":material/help:"}
FINDER_PAGE = 20
# Characters that would otherwise turn plan text into Markdown/LaTeX (e.g. `18세~39세 … 1월~12월`).
_MD_INLINE = re.compile(r"([\\`*_~$\[\]<>|])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])")

CSS = """
<style>
h1 {font-size: clamp(1.3rem, 6vw, 2.1rem) !important; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
    padding-bottom: 0.2rem !important;}
[data-testid="InputInstructions"], [data-testid="stStatusWidget"] {display: none !important;}
[data-testid="stSkipToContent"] {font-size: 0 !important;}
[data-testid="stSkipToContent"]::after {content: "본문으로 건너뛰기"; font-size: 1rem;}
.gj-quote {border-left: 3px solid #d0d7de; padding: 0.2rem 0 0.2rem 0.75rem; line-height: 1.6;}
.gj-line {white-space: pre-wrap; color: #6e7781;}
.gj-line.gj-used {color: inherit;}
.gj-line.gj-used mark {background: #fff1a8; color: #1f2328; padding: 0 0.15rem; border-radius: 3px;}
.gj-no {font-size: 0.75rem; color: #8c959f; margin-right: 0.5rem; font-variant-numeric: tabular-nums;}
.gj-path {font-size: 0.75rem; color: #8c959f;}
@media (max-width: 640px) {
  .block-container {padding-top: 0.8rem !important; padding-left: 0.7rem !important; padding-right: 0.7rem !important;}
  [data-testid="stCaptionContainer"] {font-size: 0.8rem;}
}
</style>
"""


# -- loading: one thread per process, shared by every session ----------------------------------------------
class Loader:
    """Loads the assistant (building the index first when it is missing or outdated) in its own thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stage, self.done, self.total = "load", 0, 0
        self.assistant: Assistant | None = None
        self.report: LoadReport | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="assistant-loader", daemon=True)
        self.thread.start()

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    def _run(self) -> None:
        try:
            from guro_jobs.factory import build_assistant

            self.assistant, self.report = build_assistant(self.settings, progress=self._progress)
        except BaseException as error:  # shown to every visitor; the log has the details
            logger.exception("loading the assistant failed")
            self.error = error

    @property
    def ready(self) -> bool:
        return self.assistant is not None


def _settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


@st.cache_resource(show_spinner=False, hash_funcs={"guro_jobs.settings.Settings": _settings_key})
def get_loader(settings: Settings) -> Loader:
    return Loader(settings)


@st.cache_resource(show_spinner=False)
def get_feedback_store(db_path: str) -> FeedbackStore:
    from guro_jobs.feedback import FeedbackStore

    return FeedbackStore(db_path)


@st.cache_resource(show_spinner=False)
def get_conversation_store(db_path: str) -> ConversationStore:
    from guro_jobs.conversations import ConversationStore

    return ConversationStore(db_path)


@st.cache_data(ttl=30, show_spinner=False)
def llm_status(_llm: Any, name: str) -> str:
    """The LLM server's status line, asked at most every 30 s (it may make a network call)."""
    return _llm.status()


def plan_titles(settings: Settings) -> list[str]:
    """The loaded plans' names from the index manifest (read without loading anything heavy)."""
    from knowledge.manifest import IndexInvalid, read_manifest

    try:
        return [d.profile.display_title for d in read_manifest(settings.index_dir).documents]
    except IndexInvalid:
        return []


def app_title(settings: Settings) -> str:
    from knowledge.manifest import IndexInvalid, read_manifest

    try:
        issuers = {d.profile.issuer for d in read_manifest(settings.index_dir).documents if d.profile.issuer}
    except IndexInvalid:
        issuers = set()
    if len(issuers) == 1:
        # `구로구` -> `구로 일자리 도우미`
        return f"{re.sub(r'[구군시]$', '', issuers.pop())} 일자리 도우미"
    return "일자리 도우미"


# -- text helpers ----------------------------------------------------------------------------------------
def md(text: str) -> str:
    """Plain plan text as Markdown: special characters escaped, line breaks kept."""
    lines = [_MD_LINE_START.sub(r"\1\\\2", _MD_INLINE.sub(r"\\\1", line)) for line in text.splitlines()]
    return "  \n".join(lines)


def emphasised(text: str, highlights: list[str]) -> str:
    """Markdown of the text with its key values (amount, age, period, place) in bold."""
    out = md(text)
    for value in highlights:
        escaped = md(value)
        if escaped and escaped in out:
            out = out.replace(escaped, f"**{escaped}**", 1)
    return out


def quote_html(lines: list[QuotedLine], numbers: bool) -> str:
    """The quoted source lines; the ones the answer used are highlighted; line numbers for counselors."""
    rows = []
    for line in lines:
        where = ""
        if numbers:
            span = f"{line.start}행" if line.start == line.end else f"{line.start}–{line.end}행"
            where = f'<span class="gj-no">{span}{f" · {line.page}쪽" if line.page else ""}</span>'
        text = html.escape(line.text.strip())
        body = f"<mark>{text}</mark>" if line.used else text
        css = "gj-line gj-used" if line.used else "gj-line"
        rows.append(f'<div class="{css}">{where}{body}</div>')
    return '<div class="gj-quote">' + "".join(rows) + "</div>"


def citation_label(citation: Citation) -> str:
    """`청년도전지원사업 — 사업개요 · 구로구 「2023년 일자리 대책 세부계획」`: the program and section in words."""
    leaf = citation.section_path[-1] if citation.section_path else ""
    title = citation.title or leaf
    part = f" — {leaf}" if leaf and leaf not in title and title not in leaf else ""
    return md(f"{title}{part} · {citation.document_title or citation.document}")


# -- session ---------------------------------------------------------------------------------------------
def init_session(settings: Settings) -> None:
    from guro_jobs.conversations import new_id

    state = st.session_state
    state.setdefault("turns", [])
    state.setdefault("pending", [])
    state.setdefault("ratings", {})
    state.setdefault("restored", False)
    if "c" not in st.query_params:
        st.query_params["c"] = new_id()
    state.conversation = st.query_params["c"]
    if not state.restored:
        state.restored = True
        store = conversation_store(settings)
        if store is not None and not state.turns:
            state.turns = [{"question": q, "answer": a} for q, a in store.load(state.conversation)]


def conversation_store(settings: Settings) -> ConversationStore | None:
    if not settings.history.enabled:
        return None
    try:
        return get_conversation_store(str(settings.history.db_path))
    except (OSError, sqlite3.Error):
        logger.exception("conversation store unavailable")
        return None


def queue(question: str) -> None:
    st.session_state.pending.append(question)


def new_conversation() -> None:
    from guro_jobs.conversations import new_id

    st.session_state.turns = []
    st.session_state.pending = []
    st.query_params["c"] = new_id()


# -- feedback: a 👍/👎 is saved on click, a comment may follow ------------------------------------------------
def save_rating(store: FeedbackStore, turn: dict[str, Any], key: str) -> None:
    from guro_jobs.feedback import RATING_DOWN, RATING_UP

    choice = st.session_state.get(f"rating-{key}")
    if choice is None:
        return
    answer: Answer = turn["answer"]
    citations = json.dumps([c.model_dump(mode="json") for c in answer.citations], ensure_ascii=False)
    try:
        row = store.record(turn["question"], answer.text, citations, RATING_UP if choice == 1 else RATING_DOWN)
    except sqlite3.Error:
        logger.exception("could not store a rating")
        st.session_state[f"feedback-error-{key}"] = "의견을 저장하지 못했습니다. 잠시 후 다시 눌러 주세요."
        return
    st.session_state.ratings[key] = row
    st.session_state.pop(f"feedback-error-{key}", None)


def save_comment(store: FeedbackStore, key: str) -> None:
    row = st.session_state.ratings.get(key)
    comment = st.session_state.get(f"comment-{key}", "")
    if row is None or not comment.strip():
        return
    try:
        store.add_comment(row, comment)
    except sqlite3.Error:
        logger.exception("could not store a comment")
        st.session_state[f"feedback-error-{key}"] = "의견을 저장하지 못했습니다. 잠시 후 다시 시도해 주세요."
        return
    st.session_state[f"commented-{key}"] = True


def render_feedback(store: FeedbackStore, turn: dict[str, Any], key: str) -> None:
    st.feedback("thumbs", key=f"rating-{key}", on_change=save_rating, args=(store, turn, key))
    if key in st.session_state.ratings:
        if st.session_state.get(f"commented-{key}"):
            st.caption("✅ 의견을 보내 주셔서 감사합니다.")
        else:
            st.caption("✅ 평가를 저장했습니다. 덧붙일 말이 있으면 적어 주세요 (선택).")
            left, right = st.columns([5, 1.4], vertical_alignment="bottom")
            left.text_input(
                "의견",
                key=f"comment-{key}",
                placeholder="이름·연락처 같은 개인정보는 저장 전에 지워집니다",
                label_visibility="collapsed",
                max_chars=500,
            )
            right.button("의견 보내기", key=f"send-{key}", on_click=save_comment, args=(store, key))
    error = st.session_state.get(f"feedback-error-{key}")
    if error:
        st.caption(f"⚠️ {error}")


# -- chat ------------------------------------------------------------------------------------------------
def render_citations(answer: Answer, expand_first: bool, details: bool) -> None:
    if not answer.citations:
        return
    st.caption(f"근거 {len(answer.citations)}곳 — 눌러서 계획서 원문을 확인하세요 (답변에 쓰인 줄은 노란색)")
    for number, citation in enumerate(answer.citations):
        with st.expander(citation_label(citation), expanded=expand_first and number == 0, icon=":material/description:"):
            st.markdown(quote_html(citation.lines, numbers=details), unsafe_allow_html=True)
            if details:
                page = f" · {citation.page}쪽" if citation.page else ""
                st.markdown(
                    f'<div class="gj-path">{html.escape(citation.document)} · {html.escape(citation.section)} · '
                    f"{citation.start}–{citation.end}행{page}</div>",
                    unsafe_allow_html=True,
                )


def render_answer(answer: Answer, key: str, latest: bool, details: bool) -> None:
    if answer.mode == "hint":
        st.info(answer.text, icon=":material/edit:")
        return
    if answer.abstained:
        st.warning(md(answer.text), icon=":material/search_off:")
        if answer.suggestions and latest:
            for number, name in enumerate(answer.suggestions):
                st.button(name, key=f"suggest-{key}-{number}", on_click=queue, args=(f"{name}에 대해 알려줘",), icon=":material/arrow_forward:")
        return
    lines = answer.text.splitlines()
    head, body = lines[0], lines[1:]
    if answer.verdict is not None:
        verdict = answer.verdict
        text = f"**{md(verdict.label)}** — 대상: {md(verdict.reason)}"
        if verdict.unchecked:
            text += "  \n확인할 조건: " + md(", ".join(verdict.unchecked))
        getattr(st, VERDICT_STYLE[verdict.outcome])(text, icon=VERDICT_ICON[verdict.outcome])
        head = answer.focus or head
    st.markdown(f"#### {md(head)}")
    st.markdown(emphasised("\n".join(body), answer.highlights))
    for notice in answer.notices:
        st.info(notice, icon=":material/info:")
    note = [f"{md(answer.plan)} 기준"] if answer.plan else []
    if answer.contact:
        note.append(f"문의: {md(answer.contact)}")
    if note:
        st.caption(" · ".join(note))
    render_citations(answer, expand_first=latest, details=details)
    if latest and answer.followups:
        st.caption("이어서 물어보기")
        for number, followup in enumerate(answer.followups):
            st.button(followup, key=f"follow-{key}-{number}", on_click=queue, args=(followup,), icon=":material/chat:")
    with st.popover("답변 복사", icon=":material/content_copy:"):
        st.code(answer.text, language=None, wrap_lines=True)


def render_turn(turn: dict[str, Any], key: str, latest: bool, store: FeedbackStore | None, details: bool) -> None:
    with st.chat_message("user"):
        st.text(turn["question"])
    with st.chat_message("assistant"):
        render_answer(turn["answer"], key, latest, details)
        if store is not None and turn["answer"].mode != "hint":
            render_feedback(store, turn, key)


def render_examples(plans: list[str]) -> None:
    with st.chat_message("assistant"):
        plan = "·".join(plans) if plans else "일자리 대책 세부계획"
        st.markdown(f"안녕하세요! {md(plan)}에 나온 일자리 사업을 안내해 드립니다. 모든 답변에 계획서 원문을 함께 보여 드립니다.")
        st.caption("이런 질문으로 시작해 보세요")
        for number, question in enumerate(EXAMPLE_QUESTIONS):
            st.button(question, key=f"example-{number}", on_click=queue, args=(question,))


def answer_pending(assistant: Assistant, settings: Settings, documents: list[str] | None) -> None:
    """Answer the questions waiting in this session, in the order they were asked."""
    state = st.session_state
    store = conversation_store(settings)
    while state.pending:
        question = state.pending.pop(0)
        history = [turn["question"] for turn in state.turns]
        try:
            answer = assistant.ask(question, history=history, documents=documents)
        except Exception:
            logger.exception("answering failed")
            from guro_jobs.models import Answer

            answer = Answer(question=question, text="답변을 만드는 중 문제가 생겼습니다. 잠시 후 다시 물어봐 주세요.", abstained=True, mode="abstain")
        if answer.mode == "hint" and not question.strip():
            continue
        state.turns.append({"question": question, "answer": answer})
        if store is not None:
            store.append(state.conversation, len(state.turns) - 1, question, answer)


# -- program finder --------------------------------------------------------------------------------------
def unique_programs(programs: list[Program]) -> list[Program]:
    """Each program once: a summary-table row that the plan also describes as a task is that task."""
    ids = {p.id for p in programs}
    return [p for p in programs if not (p.origin == "table" and any(link in ids for link in p.linked))]


def render_program_card(program: Program, details: bool, number: int) -> None:
    from knowledge.catalog import source_label

    # `plan-` containers hold the plan's own words (they may be English: `IT/SW`, `ICT`).
    with st.container(border=True, key=f"plan-card-{number}"):
        where = f"과제 {program.task_id}" if program.task_id else (program.table or "")
        st.markdown(f"**{md(program.name)}**  \n:gray[{md(where)}]")
        rows = []
        target = program.target.text if program.target else (program.age.text if program.age else "")
        if target:
            rows.append(("대상", target))
        if program.support:
            rows.append(("지원", program.support[0].text))
        elif program.description:
            rows.append(("내용", program.description.text))
        for label, value in (("기간", program.period), ("위치", program.location), ("문의", program.contact)):
            if value is not None:
                rows.append((label, value.text))
        for label, text in rows:
            st.markdown(f"- **{label}**: {md(text)}")
        if details:
            st.caption(md(f"{program.section} · {source_label(program)}"))


def parse_age(text: str) -> tuple[int | None, str | None]:
    text = text.strip()
    if not text:
        return None, None
    if not text.isdigit() or not 0 <= int(text) <= 120:
        return None, "나이는 0부터 120 사이의 숫자로 적어 주세요."
    return int(text), None


def render_finder(catalog: Catalog, details: bool) -> None:
    from knowledge.catalog import TARGET_GROUPS, render_programs

    st.subheader("나에게 맞는 사업 찾기")
    st.caption("나이, 대상, 검색어로 계획서의 사업을 골라 봅니다. 아무것도 고르지 않으면 전체 사업이 보입니다.")
    age_text = st.text_input("나이 (만)", key="finder-age", placeholder="예: 67")
    age, problem = parse_age(age_text)
    if problem:
        st.caption(f"⚠️ {problem}")
    groups = st.pills("대상", TARGET_GROUPS, selection_mode="multi", key="finder-groups")
    keyword = st.text_input("검색어", key="finder-keyword", placeholder="예: 창업, 교육, 인센티브")
    programs = unique_programs(catalog.filter(age=age, groups=list(groups) or None, keyword=keyword.strip() or None))
    note = f"조건에 맞는 사업 {len(programs)}개"
    if age is not None and not groups:
        note += " · 나이가 적혀 있지 않은 사업은 대상을 함께 고르면 보입니다"
    st.caption(note)
    if not programs:
        st.info("조건에 맞는 사업이 없습니다. 조건을 줄이거나 다른 검색어를 써 보세요.", icon=":material/search_off:")
        return
    shown = st.session_state.get("finder-shown", FINDER_PAGE)
    for number, program in enumerate(programs[:shown]):
        render_program_card(program, details, number)
    if len(programs) > shown:
        st.button(
            f"더 보기 ({len(programs) - shown}개 더)",
            key="finder-more",
            on_click=lambda: st.session_state.update({"finder-shown": shown + FINDER_PAGE}),
        )
    st.download_button(
        "목록을 CSV로 내려받기",
        icon=":material/download:",
        data=render_programs(programs, "csv").encode("utf-8-sig"),  # BOM: Excel reads Hangul
        file_name="일자리사업.csv",
        mime="text/csv",
        on_click="ignore",
        key="finder-csv",
    )


# -- sidebar: the plan, and details for counselors ------------------------------------------------------
def render_sidebar(assistant: Assistant | None, loader: Loader, settings: Settings, store: FeedbackStore | None) -> list[str] | None:
    documents: list[str] | None = None
    with st.sidebar:
        st.button("새 대화 시작", icon=":material/add_comment:", on_click=new_conversation, key="new-chat")
        if assistant is not None:
            profiles = assistant.kb.profiles
            st.subheader("계획서")
            if len(profiles) > 1:
                names = list(profiles)
                options = ["모든 계획서", *names]
                choice = st.radio(
                    "답변에 쓸 계획서",
                    options,
                    format_func=lambda name: name if name == "모든 계획서" else profiles[name].display_title,
                    key="plan-choice",
                )
                documents = None if choice == "모든 계획서" else [choice]
            else:
                for profile in profiles.values():
                    st.markdown(md(profile.display_title))
        st.toggle("상담사용 자세히 보기 (줄 번호·원문 위치)", key="details")
        st.caption("의견(좋아요/아쉬워요)은 누르는 즉시 저장되며, 이름·연락처 같은 개인정보는 저장 전에 지워집니다." if store else "의견 받기가 꺼져 있습니다.")
        with st.expander("관리자 정보"):
            if assistant is None:
                st.caption("도우미를 준비하고 있습니다.")
            else:
                manifest = assistant.kb.manifest
                report = loader.report
                if report is not None and report.rebuilt:
                    st.caption(f"이번 시작 때 색인을 새로 만들었습니다: {report.reason_ko or '문서나 설정이 바뀌었습니다'}")
                for document in manifest.documents:
                    st.markdown(f"- {md(document.name)}: {document.lines:,}줄, 근거 단위 {document.units:,}개, 사업 {document.profile.programs}개")
                    for warning in document.profile.warnings:
                        st.caption(f"⚠️ {md(warning)}")
                built = manifest.built_at.replace("T", " ").replace("+00:00", " UTC")
                st.markdown(f"- 색인 만든 시각: {built}\n- 임베더: `{manifest.embedder_id}`")
                if assistant.llm is not None:
                    st.markdown(f"- LLM: `{assistant.llm.name}`")
                    st.caption(llm_status(assistant.llm, assistant.llm.name))
                else:
                    st.markdown("- 답변 방식: 추출형 (계획서 문장을 그대로 인용)")
    return documents


def open_feedback_store(settings: Settings) -> FeedbackStore | None:
    if not settings.feedback.enabled:
        return None
    try:
        return get_feedback_store(str(settings.feedback.db_path))
    except (OSError, sqlite3.Error):
        logger.exception("feedback store unavailable at %s", settings.feedback.db_path)
        return None


@st.fragment(run_every=0.8)
def render_loading(loader: Loader) -> None:
    """Progress of the shared build, refreshed on its own; the whole page reruns once it is ready."""
    if loader.ready or loader.error is not None:
        st.rerun(scope="app")
    if loader.total:
        share = min(1.0, loader.done / loader.total)
        text = f"{STAGE_LABELS.get(loader.stage, '준비하고 있습니다')} ({loader.done}/{loader.total})"
    else:
        share, text = 0.0, "도우미를 준비하고 있습니다"
    with st.status("도우미를 준비하고 있습니다… 처음 실행이면 몇 분 걸릴 수 있습니다.", expanded=True):
        st.progress(share, text=text)
        st.caption("창을 닫아도 준비는 계속됩니다. 먼저 질문을 남기시면 준비되는 대로 답해 드립니다.")


def main() -> None:
    from guro_jobs.settings import Settings

    settings = Settings()
    st.set_page_config(page_title=app_title(settings), page_icon=":material/work:", layout="wide", initial_sidebar_state="collapsed")
    st.markdown(CSS, unsafe_allow_html=True)
    st.title(app_title(settings))
    plans = plan_titles(settings)
    st.caption(f"{md('·'.join(plans)) if plans else '일자리 대책 세부계획'}을 근거로 답하고 원문을 함께 보여 드립니다.")
    init_session(settings)
    page = st.segmented_control("화면", PAGES, default=PAGES[0], key="page", label_visibility="collapsed") or PAGES[0]
    loader = get_loader(settings)
    store = open_feedback_store(settings)
    if page == PAGES[0]:
        typed = st.chat_input("일자리 사업에 대해 물어보세요", key="question")
        if typed is not None:
            queue(typed)
    assistant = loader.assistant
    documents = render_sidebar(assistant, loader, settings, store)
    if loader.error is not None:
        st.error("도우미를 불러오지 못했습니다. 색인 폴더와 계획서 파일을 확인한 뒤 페이지를 새로 고쳐 주세요.", icon=":material/error:")
        return
    if assistant is not None and page == PAGES[0]:
        answer_pending(assistant, settings, documents)
    details = bool(st.session_state.get("details"))
    if page == PAGES[0]:
        turns = st.session_state.turns
        for number, turn in enumerate(turns):
            render_turn(turn, f"{st.session_state.conversation}-{number}", number == len(turns) - 1, store, details)
        for question in st.session_state.pending:  # asked while loading: shown at once
            with st.chat_message("user"):
                st.text(question)
            with st.chat_message("assistant"):
                st.caption("⏳ 도우미가 준비되는 대로 답해 드립니다.")
        if not turns and not st.session_state.pending:
            render_examples(plans)
    if assistant is None:
        render_loading(loader)
        return
    if page == PAGES[1]:
        render_finder(assistant.kb.catalog, details)


main()
