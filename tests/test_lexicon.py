"""The Korean lexicon: every data file reads, its README names it, and it says what it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.lexicon import FOLDER, LexiconError, load

DATA_FILES = sorted(p.name for p in FOLDER.iterdir() if p.suffix in (".tsv", ".txt"))


def test_every_data_file_is_described_in_the_readme():
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    for name in DATA_FILES:
        assert f"`{name}`" in readme, name


def test_the_lexicon_loads_and_names_no_plan():
    lexicon = load()
    assert lexicon.paraphrases and lexicon.english and lexicon.stopwords and lexicon.places
    # Knowledge of Korean only: no program of the bundled plan is written in the lexicon.
    text = "\n".join((FOLDER / name).read_text(encoding="utf-8") for name in DATA_FILES)
    for plan_word in ("청년도전지원사업", "청년이룸", "두-잇", "G밸리", "워케이션"):
        assert plan_word not in text


@pytest.mark.parametrize(
    ("question", "slot"),
    [
        ("인센티브는 얼마예요?", "amount"),
        ("몇 살까지 돼요?", "age"),
        ("어디에 있어요?", "place"),
        ("몇 시에 열어요?", "hours"),
        ("몇 명 뽑아요?", "count"),
        ("신청은 어떻게 해요?", "apply"),
        ("전화번호 알려주세요", "contact"),
        ("How much is the allowance?", "amount"),
    ],
)
def test_slots_from_question_words(question: str, slot: str):
    assert slot in load().slots(question)


def test_everyday_words_have_plan_register_paraphrases():
    lexicon = load()
    assert "아르바이트" in lexicon.expand("알바")
    assert "경력단절여성" in lexicon.expand("경단녀")
    assert "교육" in lexicon.expand("수업")
    assert "모집인원" in lexicon.expand("정원")
    assert "청년" in lexicon.expand("Youth")
    assert "경력단절" in lexicon.phrase_expansions("애 키우느라 일 그만뒀는데")


def test_values_groups_and_places():
    lexicon = load()
    text = "인센티브 : 월 20만원, 만 18세 이상, 개봉로23길 10, 300㎡, 80명, 10:00 ~ 22:00"
    assert {"money", "age", "address", "area", "count", "time"} <= lexicon.value_kinds(text)
    assert [text[a:b] for a, b, k in lexicon.value_spans(text, {"money"})] == ["월 20만원"]
    assert "노인·어르신" in lexicon.groups("저희 엄마가 66살이고 기초연금 받아요", side="question")
    assert lexicon.groups("청년 중소기업 체험사업") == {"청년"}
    places = [p.name for p in lexicon.places_in("금천구에 살고 부산 출신, 남구로역 근처")]
    assert places == ["금천구", "부산"] or sorted(places) == ["금천구", "부산"]
    assert lexicon.block_role("추진배경 및 현황") == "background"
    assert lexicon.has("refer", "그 중에 교육 프로그램은?") and lexicon.ordinal("첫 번째 거요") == 1
    assert lexicon.year_offsets("올해 모집하나요? 내년에도 해요?") == [0, 1]
    assert lexicon.year_offsets("작년에 했던 거") == [-1] and lexicon.year_offsets("청년 일자리") == []


def test_a_word_start_phrase_does_not_match_inside_another_word():
    lexicon = load()
    assert lexicon.has("personal", "제 신청 결과 나왔어요?") and not lexicon.has("personal", "언제 신청할 수 있어요?")
    assert lexicon.has("total", "총 얼마예요?") and not lexicon.has("total", "경제총조사 요원은 얼마 받아요?")
    assert not lexicon.has("total", "가상안전체험관은 어디예요?") and lexicon.has("refer", "그거 언제 해요?")


def test_an_english_sentence_is_told_from_letters():
    lexicon = load()
    assert lexicon.is_sentence("What was the population of Guro-gu at the end of 2022?")
    assert lexicon.is_sentence("how do I apply")
    for text in ("asdfghjk", "qwe rty uio", "the the the", "청년 일자리 뭐 있어요?", "Youth job"):
        assert not lexicon.is_sentence(text), text


def test_a_malformed_file_names_its_line(tmp_path: Path):
    for name in DATA_FILES:
        (tmp_path / name).write_text((FOLDER / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "slots.tsv").write_text("amount\n", encoding="utf-8")
    load.cache_clear()
    try:
        with pytest.raises(LexiconError, match=r"slots\.tsv:1"):
            load(tmp_path)
    finally:
        load.cache_clear()
