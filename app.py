"""구로 일자리 도우미: the Streamlit chat and program finder, a thin client of `guro_jobs`.

The page frame (title, tabs, chat input) renders first and the core is imported after it (pydantic,
then FAISS and Kiwi inside the getter), so a resident sees the page at once. The assistant is loaded
once per process by one `@st.cache_resource` getter. Conversation history lives in
`st.session_state` only, so sessions never see each other's questions.
"""

from __future__ import annotations

import html
import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:  # the core is imported at run time only after the page frame is on screen
    from guro_jobs.assistant import Assistant
    from guro_jobs.factory import LoadReport
    from guro_jobs.feedback import FeedbackStore
    from guro_jobs.models import Answer, Citation, QuotedLine
    from guro_jobs.settings import Settings
    from knowledge.catalog import Catalog, Program

logger = logging.getLogger(__name__)

TITLE = "구로 일자리 도우미"
PLAN_TITLE = "「2023년 구로구 일자리 대책 세부계획」"
CHAT_TAB = ":material/chat: 질문하기"
FINDER_TAB = ":material/person_search: 나에게 맞는 사업 찾기"
EXAMPLE_QUESTIONS = (
    "청년도전지원사업 인센티브는 얼마인가요?",
    "50세 이상은 어떤 지원을 받을 수 있나요?",
    "노인 일자리사업 보수는 얼마인가요?",
    "중장년 일자리센터는 어디에 있나요?",
)
MODE_LABELS = {
    "extractive": "계획서 원문 발췌",
    "llm": "LLM 요약 (원문 검증)",
    "catalog": "사업 목록",
    "abstain": "답변 보류",
    "hint": "안내",
}
STAGE_LABELS = {"load": "문서 읽는 중", "embed": "문장 임베딩 계산 중", "write": "색인 저장 중"}
# Characters that would otherwise turn plan text into Markdown/LaTeX (e.g. `18세~39세 … 1월~12월`).
_MD_INLINE = re.compile(r"([\\`*_~$\[\]<>|])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])")

QUOTE_CSS = """
<style>
.gj-quote {border-left: 3px solid #d0d7de; padding: 0.2rem 0 0.2rem 0.75rem; line-height: 1.6;}
.gj-line {white-space: pre-wrap; color: #6e7781;}
.gj-line.gj-used {color: inherit;}
.gj-line.gj-used mark {background: #fff1a8; color: #1f2328; padding: 0 0.15rem; border-radius: 3px;}
.gj-no {font-size: 0.75rem; color: #8c959f; margin-right: 0.5rem; font-variant-numeric: tabular-nums;}
</style>
"""


# -- loading (once per process) --------------------------------------------------------------------
def _settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


class BuildProgress:
    """Feeds the factory's progress callback (stage, done, total) into an `st.status` with a bar."""

    def __init__(self, area: Any) -> None:
        self.area = area
        self.bar: Any = None
        self.last: tuple[str, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bar is None:
            with self.area.container():
                status = st.status(
                    "색인을 만들고 있습니다… 처음 실행이거나 문서가 바뀌어 몇 분 걸릴 수 있습니다.",
                    expanded=True,
                )
                self.bar = status.progress(0.0)
        percent = int(100 * done / total) if total else 100
        if (stage, percent) == self.last:  # keep the recorded messages few
            return
        self.last = (stage, percent)
        self.bar.progress(min(percent, 100) / 100, text=f"{STAGE_LABELS.get(stage, stage)} ({done}/{total})")


@st.cache_resource(show_spinner=False, hash_funcs={"guro_jobs.settings.Settings": _settings_key})
def get_assistant(settings: Settings) -> tuple[Assistant, LoadReport]:
    """The one assistant of this process; builds the index first when it is missing or outdated."""
    # Imported here so the page frame renders before FAISS, Kiwi and the embedder are loaded.
    from guro_jobs.factory import build_assistant

    area = st.empty()
    try:
        return build_assistant(settings, progress=BuildProgress(area))
    finally:
        # Cached elements are replayed on every cache hit; clearing them keeps later pages clean.
        area.empty()


@st.cache_resource(show_spinner=False)
def get_feedback_store(db_path: str) -> FeedbackStore:
    from guro_jobs.feedback import FeedbackStore

    return FeedbackStore(db_path)


@st.cache_data(ttl=30, show_spinner=False)
def llm_status(_llm: Any, name: str) -> str:
    """The LLM server's status line, asked at most every 30 s (it may make a network call)."""
    return _llm.status()


# -- text helpers ----------------------------------------------------------------------------------
def md(text: str) -> str:
    """Plain plan text as Markdown: special characters escaped, line breaks kept."""
    lines = [_MD_LINE_START.sub(r"\1\\\2", _MD_INLINE.sub(r"\\\1", line)) for line in text.splitlines()]
    return "  \n".join(lines)


def citation_label(citation: Citation) -> str:
    page = f" · {citation.page}쪽" if citation.page else ""
    return md(f"{citation.document} · {citation.section}{page}")


def quote_html(lines: list[QuotedLine]) -> str:
    """The quoted source lines; the ones the answer used are highlighted."""
    rows = []
    for line in lines:
        where = f"{line.start}행" if line.start == line.end else f"{line.start}–{line.end}행"
        if line.page:
            where += f" · {line.page}쪽"
        text = html.escape(line.text.strip())
        body = f"<mark>{text}</mark>" if line.used else text
        css = "gj-line gj-used" if line.used else "gj-line"
        rows.append(f'<div class="{css}"><span class="gj-no">{where}</span>{body}</div>')
    # One HTML block (no blank lines), so Markdown never reinterprets the plan text.
    return '<div class="gj-quote">' + "".join(rows) + "</div>"


# -- session state ---------------------------------------------------------------------------------
def init_session() -> None:
    st.session_state.setdefault("turns", [])
    st.session_state.setdefault("conversation", 0)
    st.session_state.setdefault("pending_question", None)
    st.session_state.setdefault("feedback_sent", set())


def new_conversation() -> None:
    st.session_state.turns = []
    st.session_state.pending_question = None
    st.session_state.conversation += 1


def queue_question(question: str) -> None:
    st.session_state.pending_question = question


# -- chat ------------------------------------------------------------------------------------------
def render_citations(answer: Answer, expand_first: bool) -> None:
    if not answer.citations:
        return
    st.caption(f"출처 {len(answer.citations)}곳 — 눌러서 원문을 확인하세요 (답변에 쓰인 줄은 노란색)")
    for number, citation in enumerate(answer.citations):
        with st.expander(
            citation_label(citation), expanded=expand_first and number == 0, icon=":material/description:"
        ):
            st.markdown(quote_html(citation.lines), unsafe_allow_html=True)


def submit_feedback(store: FeedbackStore, turn: dict[str, Any], key: str) -> None:
    from guro_jobs.feedback import RATING_DOWN, RATING_UP

    choice = st.session_state.get(f"rating-{key}")
    if choice is None:
        st.session_state[f"feedback-error-{key}"] = "좋아요 또는 아쉬워요(엄지 아이콘)를 먼저 골라 주세요."
        return
    answer: Answer = turn["answer"]
    citations = json.dumps([c.model_dump(mode="json") for c in answer.citations], ensure_ascii=False)
    try:
        store.record(
            question=turn["question"],
            answer_text=answer.text,
            citations_json=citations,
            rating=RATING_UP if choice == 1 else RATING_DOWN,
            comment=st.session_state.get(f"comment-{key}", ""),
        )
    except sqlite3.Error:
        logger.exception("could not store feedback")
        st.session_state[f"feedback-error-{key}"] = "의견을 저장하지 못했습니다. 잠시 후 다시 시도해 주세요."
        return
    st.session_state.pop(f"feedback-error-{key}", None)
    st.session_state.feedback_sent.add(key)


def render_feedback(store: FeedbackStore, turn: dict[str, Any], key: str) -> None:
    if key in st.session_state.feedback_sent:
        st.caption(":material/check_circle: 의견을 보내 주셔서 감사합니다.")
        return
    with st.form(f"feedback-{key}", border=False, enter_to_submit=False):
        rating_col, comment_col, send_col = st.columns([1.2, 5, 1.6], vertical_alignment="bottom")
        with rating_col:
            st.feedback("thumbs", key=f"rating-{key}")
        with comment_col:
            st.text_input(
                "의견 (선택)",
                key=f"comment-{key}",
                placeholder="의견 (선택) — 이름·연락처 같은 개인정보는 적지 마세요",
                label_visibility="collapsed",
                max_chars=500,
            )
        with send_col:
            st.form_submit_button("의견 보내기", on_click=submit_feedback, args=(store, turn, key))
    error = st.session_state.get(f"feedback-error-{key}")
    if error:
        st.caption(f":material/warning: {error}")


def render_answer(answer: Answer, key: str, latest: bool) -> None:
    if answer.abstained:
        st.warning(md(answer.text), icon=":material/search_off:")
        if answer.suggestions:
            st.caption("계획서에 있는 가까운 사업을 물어볼 수 있습니다:")
            columns = st.columns(len(answer.suggestions))
            for number, (column, name) in enumerate(zip(columns, answer.suggestions, strict=True)):
                column.button(
                    name,
                    key=f"suggest-{key}-{number}",
                    on_click=queue_question,
                    args=(f"{name}에 대해 알려줘",),
                    width="stretch",
                )
    else:
        st.markdown(md(answer.text))
    for notice in answer.notices:
        st.info(notice, icon=":material/info:")
    render_citations(answer, expand_first=latest)
    seconds = f" · {answer.latency_ms / 1000:.2f}초" if answer.latency_ms else ""
    st.caption(f"{MODE_LABELS.get(answer.mode, answer.mode)}{seconds}")


def render_turn(turn: dict[str, Any], key: str, latest: bool, store: FeedbackStore | None) -> None:
    with st.chat_message("user"):
        st.text(turn["question"])
    with st.chat_message("assistant"):
        render_answer(turn["answer"], key, latest)
        if store is not None:
            render_feedback(store, turn, key)


def render_examples() -> None:
    with st.chat_message("assistant"):
        st.markdown(
            f"안녕하세요! {PLAN_TITLE}에 나온 구로구 일자리 사업을 안내해 드립니다. "
            "모든 답변에는 계획서 원문 출처가 함께 표시됩니다."
        )
        st.caption("이런 질문으로 시작해 보세요:")
        columns = st.columns(2)
        for number, question in enumerate(EXAMPLE_QUESTIONS):
            columns[number % 2].button(
                question, key=f"example-{number}", on_click=queue_question, args=(question,), width="stretch"
            )


def answer_question(assistant: Assistant, question: str, store: FeedbackStore | None) -> None:
    """Ask with this session's earlier questions as history, show the answer and keep the turn."""
    turns: list[dict[str, Any]] = st.session_state.turns
    history = [turn["question"] for turn in turns]
    if question.strip():
        with st.chat_message("user"):
            st.text(question)
    with st.chat_message("assistant"):
        with st.spinner("계획서에서 답을 찾고 있습니다…"):
            try:
                answer = assistant.ask(question, history=history)
            except Exception:
                logger.exception("answering failed")
                st.error(
                    "답변을 만드는 중 문제가 생겼습니다. 잠시 후 다시 시도해 주세요.", icon=":material/error:"
                )
                return
        if answer.mode == "hint":  # empty question: show the hint, keep nothing
            st.info(answer.text, icon=":material/edit:")
            return
        turn = {"question": answer.question or question, "answer": answer}
        turns.append(turn)
        key = f"{st.session_state.conversation}-{len(turns) - 1}"
        render_answer(answer, key, latest=True)
        if store is not None:
            render_feedback(store, turn, key)


# -- program finder --------------------------------------------------------------------------------
def render_program_detail(program: Program) -> None:
    from guro_jobs.models import QuotedLine
    from knowledge.catalog import source_label

    where = (
        f"과제 {program.task_id} {program.task_title or ''}".strip()
        if program.task_id
        else program.table or ""
    )
    st.markdown(f"**{md(program.name)}**  \n{md(where)}")
    fields = program.fields()
    for field in fields:
        st.markdown(f"- **{md(field.label)}**: {md(field.text)}")
    st.caption(
        ":material/description: " + md(f"{program.document} · {program.section} · {source_label(program)}")
    )
    span = program.span
    lines = [QuotedLine(text=span.text, start=span.start, end=span.end, page=span.page, used=False)]
    lines += [
        QuotedLine(text=f.source.text, start=f.source.start, end=f.source.end, page=f.source.page)
        for f in fields
    ]
    by_start = {line.start: line for line in reversed(lines)}  # one row per source line
    st.markdown(quote_html([by_start[start] for start in sorted(by_start)]), unsafe_allow_html=True)


def render_finder(catalog: Catalog) -> None:
    from knowledge.catalog import COLUMNS, TARGET_GROUPS, program_cells, render_programs, source_label

    st.subheader("나에게 맞는 사업 찾기")
    st.caption(
        "나이, 대상, 검색어로 계획서의 사업을 골라 봅니다. 아무것도 고르지 않으면 전체 사업이 보입니다."
    )
    age_col, group_col, keyword_col = st.columns([1, 2, 2])
    age = age_col.number_input(
        "나이 (만)", min_value=0, max_value=120, value=None, step=1, placeholder="예: 67", key="finder-age"
    )
    groups = group_col.multiselect("대상", TARGET_GROUPS, key="finder-groups", placeholder="전체")
    keyword = keyword_col.text_input("검색어", key="finder-keyword", placeholder="예: 창업, 교육, 인센티브")
    programs = catalog.filter(
        age=int(age) if age is not None else None, groups=groups or None, keyword=keyword.strip() or None
    )
    note = f"조건에 맞는 사업 {len(programs)}개"
    if age is not None and not groups:
        note += " · 나이가 적혀 있지 않은 사업은 대상을 함께 고르면 보입니다"
    st.caption(note)
    if not programs:
        st.info(
            "조건에 맞는 사업이 없습니다. 조건을 줄이거나 다른 검색어를 써 보세요.",
            icon=":material/search_off:",
        )
        return
    rows = [dict(zip(COLUMNS, program_cells(program), strict=True)) for program in programs]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button(
        "CSV로 내려받기",
        icon=":material/download:",
        data=render_programs(programs, "csv").encode("utf-8-sig"),  # BOM: Excel reads Hangul
        file_name="구로구_일자리사업.csv",
        mime="text/csv",
        on_click="ignore",
        key="finder-csv",
    )
    choice = st.selectbox(
        "자세히 볼 사업",
        range(len(programs)),
        format_func=lambda number: f"{programs[number].name} — {source_label(programs[number])}",
        key="finder-detail",
    )
    with st.container(border=True):
        render_program_detail(programs[choice or 0])


# -- sidebar ---------------------------------------------------------------------------------------
def render_sidebar(
    assistant: Assistant, report: LoadReport, settings: Settings, store: FeedbackStore | None
) -> None:
    manifest = assistant.kb.manifest
    with st.sidebar:
        st.header("도우미 정보")
        if report.rebuilt:
            st.info(
                f"이번 시작 때 색인을 새로 만들었습니다: {report.reason_ko or '문서나 설정이 바뀌었습니다'}",
                icon=":material/build:",
            )
        st.subheader("불러온 문서")
        for document in manifest.documents:
            st.markdown(f"- {md(document.name)}  \n  {document.lines:,}줄 · 조각 {document.chunks}개")
        st.subheader("색인")
        built = manifest.built_at.replace("T", " ").replace("+00:00", " UTC")
        st.markdown(
            f"- 만든 시각: {built}\n"
            f"- 조각: {manifest.chunk_count:,}개\n"
            f"- 사업: {manifest.program_count:,}개\n"
            f"- 임베더: `{manifest.embedder_id}`"
        )
        st.subheader("답변 방식")
        if assistant.llm is not None:
            st.markdown(f"LLM 답변: `{assistant.llm.name}`")
            st.caption(llm_status(assistant.llm, assistant.llm.name))
        else:
            st.markdown("추출형 — 계획서 문장을 그대로 인용합니다.")
            if settings.answer_mode == "llm":
                st.caption("LLM 서버가 설정되지 않아 추출형으로 답합니다.")
        st.subheader("의견")
        st.caption(
            "답변마다 좋아요/아쉬워요와 의견을 남길 수 있습니다 (개인정보는 저장하지 않습니다)."
            if store
            else "의견 받기가 꺼져 있습니다."
        )


# -- page ------------------------------------------------------------------------------------------
def open_feedback_store(settings: Settings) -> FeedbackStore | None:
    if not settings.feedback.enabled:
        return None
    try:
        return get_feedback_store(str(settings.feedback.db_path))
    except (OSError, sqlite3.Error):
        logger.exception("feedback store unavailable at %s", settings.feedback.db_path)
        return None


@dataclass
class Frame:
    """The parts of the page that exist before the assistant is loaded."""

    chat_tab: Any
    finder_tab: Any
    messages: Any
    loading: Any
    typed: str | None


def render_frame() -> Frame:
    st.markdown(QUOTE_CSS, unsafe_allow_html=True)
    st.title(f":material/work: {TITLE}")
    st.caption(f"{PLAN_TITLE}을 근거로 답하고, 원문 출처를 함께 보여 드립니다. 인터넷 없이 동작합니다.")
    chat_tab, finder_tab = st.tabs([CHAT_TAB, FINDER_TAB])
    with chat_tab:
        st.button("새 대화 시작", icon=":material/add_comment:", on_click=new_conversation, key="new-chat")
        messages = st.container()
        # No max_chars: an over-long question is cut by the assistant, which says so in a notice.
        typed = st.chat_input("구로구 일자리 사업에 대해 물어보세요", key="question")
        loading = st.container()
    return Frame(chat_tab, finder_tab, messages, loading, typed)


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/work:", layout="wide")
    init_session()
    frame = render_frame()

    from guro_jobs.settings import Settings

    settings = Settings()
    store = open_feedback_store(settings)
    question = frame.typed if frame.typed is not None else st.session_state.pending_question
    st.session_state.pending_question = None
    turns = st.session_state.turns
    with frame.messages:  # history and the examples need no assistant
        for number, turn in enumerate(turns):
            latest = question is None and number == len(turns) - 1
            render_turn(turn, f"{st.session_state.conversation}-{number}", latest, store)
        if question is None and not turns:
            render_examples()
    # st.spinner appears only after 0.5 s, so a cache hit shows nothing.
    with frame.loading, st.spinner("도우미를 준비하고 있습니다…"):
        try:
            assistant, report = get_assistant(settings)
        except Exception:
            logger.exception("loading the assistant failed")
            st.error(
                "도우미를 불러오지 못했습니다. 색인 폴더와 계획서 파일을 확인한 뒤 페이지를 새로 고쳐 주세요.",
                icon=":material/error:",
            )
            return
    if question is not None:
        with frame.messages:
            answer_question(assistant, question, store)
    render_sidebar(assistant, report, settings, store)
    with frame.finder_tab:
        render_finder(assistant.kb.catalog)


main()
