"""The learned parts: weights files, reproducible training, and the ranker using the weights it loads.

These run over a tiny plan with a fake embedder (tests/conftest.py): no real index is built.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.train import neutral, save, train
from guro_jobs.assistant import Assistant
from guro_jobs.decide import DECLINE_FEATURES, DECLINE_VERSION
from guro_jobs.factory import load_models
from guro_jobs.features import FEATURE_NAMES, FEATURE_VERSION
from guro_jobs.model import (
    DECLINE_FILE,
    MEMORY_FILE,
    SECTION_FILE,
    UNIT_FILE,
    LinearModel,
    ModelError,
    NeighbourMemory,
    WordingProbe,
    char_grams,
)
from knowledge.lexicon import load as load_lexicon

TINY_QA = [
    ("청년도전지원사업 인센티브는 얼마예요?", "(과제 1-1)", "월 20만원"),
    ("도전프로그램 한 달에 얼마 받아요?", "(과제 1-1)", "월 20만원"),
    ("청년도전지원사업 대상이 누구예요?", "(과제 1-1)", "만 18세~39세"),
    ("청년도전 사업 몇 살까지 돼요?", "(과제 1-1)", "39세"),
    ("청년도전지원사업 언제 해요?", "(과제 1-1)", "2023. 1월 ~ 12월"),
    ("노인 일자리 보수는 얼마예요?", "(과제 1-2)", "월 27만원"),
    ("어르신 일자리 한 달에 몇 시간 일해요?", "(과제 1-2)", "월 30시간"),
    ("노인 일자리 누가 할 수 있어요?", "(과제 1-2)", "만 65세 이상"),
    ("중장년 일자리센터 어디 있어요?", "(과제 1-3)", "개봉로23길 10"),
    ("중장년 일자리센터 몇 시에 열어요?", "(과제 1-3)", "09:00"),
    ("중장년 센터는 몇 살부터 이용해요?", "(과제 1-3)", "만 40세 이상"),
    ("청년도전지원사업 이수자 목표는 몇 명이에요?", "(과제 1-1)", "80"),
]
TINY_UNANSWERABLE = [
    "마포구 청년수당은 얼마예요?",
    "국민연금은 몇 살부터 받아요?",
    "중장년 일자리센터 전화번호 알려주세요",
    "노인 일자리 신청 서류가 뭐예요?",
    "강남구 일자리센터 주소 알려주세요",
    "실업급여는 얼마 나와요?",
]


def _qa_file(path: Path) -> Path:
    rows = [
        {"id": f"t-{i}", "question": q, "sections": [s], "facts": [[f]], "kind": "field"}
        for i, (q, s, f) in enumerate(TINY_QA)
    ]
    rows += [
        {"id": f"u-{i}", "question": q, "answerable": False, "sections": [], "facts": [], "kind": "unanswerable"}
        for i, q in enumerate(TINY_UNANSWERABLE)
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _assistant(kb, models) -> Assistant:
    return Assistant(kb, *models, load_lexicon())


def _neutral() -> tuple[LinearModel, LinearModel, LinearModel]:
    return neutral("section"), neutral("unit"), neutral("decline")


def test_training_is_reproducible_and_saves_versioned_json(tiny_kb, tmp_path: Path):
    qa = _qa_file(tmp_path / "tiny.jsonl")
    first = train(_assistant(tiny_kb, _neutral()), [qa], quiet=True)
    second = train(_assistant(tiny_kb, _neutral()), [qa], quiet=True)
    for a, b in ((first.section, second.section), (first.unit, second.unit), (first.decline, second.decline)):
        assert a.to_json() == b.to_json()
    paths = save(first, tmp_path / "weights")
    for path in paths[:3]:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["feature_version"] and len(data["coef"]) == len(data["feature_names"])
    assert "Training report" in paths[3].read_text(encoding="utf-8")
    _section, unit, decline = load_models(tmp_path / "weights")
    assert unit.params["support_ratio"] == first.unit.params["support_ratio"]
    assert 0.0 < decline.params["threshold"] <= 1.0


def test_a_weights_file_of_another_feature_version_is_refused(tmp_path: Path):
    model = neutral("unit")
    model.feature_version = "units-0"
    model.save(tmp_path / UNIT_FILE)
    with pytest.raises(ModelError, match="python -m eval train"):
        LinearModel.load(tmp_path / UNIT_FILE, "unit", FEATURE_VERSION, FEATURE_NAMES)
    other = neutral("decline")
    other.feature_names = list(reversed(other.feature_names))
    other.save(tmp_path / DECLINE_FILE)
    with pytest.raises(ModelError, match="feature version"):
        LinearModel.load(tmp_path / DECLINE_FILE, "decline", DECLINE_VERSION, DECLINE_FEATURES)
    (tmp_path / SECTION_FILE).write_text("not json", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot read"):
        load_models(tmp_path)


def _unit_model(weights: dict[str, float]) -> LinearModel:
    model = neutral("unit")
    model.coef = np.array([weights.get(name, 0.0) for name in FEATURE_NAMES])
    return model


def test_the_ranker_uses_the_weights_it_loads(tiny_kb, tmp_path: Path):
    """Two weights files for the unit ranker: the same question gets a different best unit."""
    question = "청년도전지원사업 인센티브는 얼마예요?"
    section = neutral("section")
    by_amount = _unit_model({"label_amount": 3.0, "value_amount": 3.0})
    by_order = _unit_model({"first_in_section": 3.0})
    tops = []
    for name, unit in (("amount", by_amount), ("order", by_order)):
        folder = tmp_path / name
        section.save(folder / SECTION_FILE)
        unit.save(folder / UNIT_FILE)
        neutral("decline").save(folder / DECLINE_FILE)
        assistant = _assistant(tiny_kb, load_models(folder))
        ranking = assistant.evidence(question, []).ranking
        tops.append(tiny_kb.units[int(ranking.units[0])])
    assert "인센티브" in tops[0].text
    assert tops[1].id != tops[0].id and "인센티브" not in tops[1].text


def test_the_decline_memory_is_reproducible_saved_and_read_back(tiny_kb, tmp_path: Path):
    """The questions the decline model learned from are saved with their labels and vectors; a memory of
    another version is refused, one made by another embedder is embedded again."""
    qa = _qa_file(tmp_path / "tiny.jsonl")
    first = train(_assistant(tiny_kb, _neutral()), [qa], quiet=True)
    second = train(_assistant(tiny_kb, _neutral()), [qa], quiet=True)
    assert first.memory is not None and second.memory is not None
    assert first.memory.texts == second.memory.texts
    assert np.array_equal(first.memory.vectors, second.memory.vectors)
    save(first, tmp_path / "weights")
    path = tmp_path / "weights" / MEMORY_FILE
    again = path.read_bytes()
    save(second, tmp_path / "weights")
    assert path.read_bytes() == again
    memory = NeighbourMemory.load(path, DECLINE_VERSION, tiny_kb.embedder)
    assert int(memory.labels.sum()) == len(TINY_UNANSWERABLE) and len(memory.texts) == len(TINY_QA) + len(TINY_UNANSWERABLE)
    assert np.allclose(memory.vectors, first.memory.vectors, atol=2e-3)
    # A question the memory holds as unanswered is nearer to an unanswered one than to any answered one.
    unanswered = memory.texts[int(np.flatnonzero(memory.labels == 1)[0])]
    share, gap, probe, _ = memory.features(tiny_kb.embedder.query(unanswered))
    assert gap > 0 and share > 0
    answered = memory.texts[int(np.flatnonzero(memory.labels == 0)[0])]
    assert probe > memory.features(tiny_kb.embedder.query(answered))[2]
    # The wording probe is read back as it was saved: the same score for every question it learned from.
    assert memory.questions == first.memory.questions and len(memory.wording.grams) > 0
    for question in memory.questions:
        assert memory.wording.score(question) == pytest.approx(first.memory.wording.score(question), abs=1e-4)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["embedder"], data["vectors"], data["dim"] = "another-model", "", 0
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    remade = NeighbourMemory.load(path, DECLINE_VERSION, tiny_kb.embedder)
    assert remade.embedder == tiny_kb.embedder.id
    assert np.allclose(remade.vectors, tiny_kb.embedder.queries(memory.texts))
    assert len(remade.probe) == tiny_kb.embedder.dim
    assert remade.wording.grams == memory.wording.grams and np.array_equal(remade.wording.coef, memory.wording.coef)
    with pytest.raises(ModelError, match="python -m eval train"):
        NeighbourMemory.load(path, "decline-0", tiny_kb.embedder)


def test_the_wording_probe_learns_how_unanswered_questions_are_worded():
    """Fitted on labelled questions, the probe scores a new question worded like the unanswered ones
    above one worded like the answered ones; it learns the words, nobody lists them. Its sklearn fit and
    its plain-arithmetic score agree."""
    answered = [q for q, _, _ in TINY_QA]
    unanswered = [*TINY_UNANSWERABLE, "청년센터 전화번호 뭐예요?", "노인 일자리 전화번호 있어요?", "일자리센터 홈페이지 주소 알려주세요"]
    labels = np.array([0] * len(answered) + [1] * len(unanswered))
    probe = WordingProbe.fit(answered + unanswered, labels)
    assert probe.score("청년도전지원사업 전화번호 알려주세요") > probe.score("청년도전지원사업 인센티브 얼마예요?")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(analyzer=char_grams, min_df=2, sublinear_tf=True)
    x = vectoriser.fit_transform(answered + unanswered)
    model = LogisticRegression(C=4.0, max_iter=5000, class_weight="balanced").fit(x, labels)
    question = "노인 일자리 전화 몇 번이에요?"
    assert probe.score(question) == pytest.approx(float(model.decision_function(vectoriser.transform([question]))[0]), abs=1e-6)
    # One kind of label only: no probe, a score of 0.
    assert WordingProbe.fit(answered, np.zeros(len(answered), dtype=int)).score(question) == 0.0


def test_char_grams_are_read_inside_words():
    assert char_grams("알바 OK") == [" ", "알", "바", " ", " 알", "알바", "바 ", " 알바", "알바 ", " ", "o", "k", " ", " o", "ok", "k ", " ok", "ok "]
