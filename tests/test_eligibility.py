"""Eligibility verdicts: a table of (asker, program) cases written from the plan's target lines.

The targets, as the plan writes them:
  노인 일자리사업       사업대상 : 4,203명[만 65세 이상 기초연금수급자(공익형 기준)]               (line 2199)
  안심 일자리사업       참여대상 : 만 18세 이상의 근로능력 자로 가구소득이 기준중위소득의 70% 이하이면서
                        재산이 4억원 이하인 가구의 구성원                                       (2209)
  청년도전지원사업      대 상 : 만 18세~39세 중 구직단념한 청년 80명                             (1871)
  신중년 경력형…       대 상 : 만 50세 이상 70세 미만 신중년 미취업자 21명
  중장년 경비원 …      대 상 : 만 40세 이상 70세 미만 중장년 180명
  서울형 청년뉴딜일자리 사업대상 : 18세~39세 이하 서울시민
  4050 커리어 피트니스  대 상 : 만 40세 이상 퇴직 전문인력 30명
  재취업 토털 프로젝트  대 상 : 만 40세 이상 중장년 구직자 및 퇴직자 40명
A verdict is `yes` only when every criterion the plan states is met by what the asker said, `no` when a
stated criterion fails, and `check` otherwise (an income limit is always left to check).
"""

from __future__ import annotations

import pytest

from guro_jobs.eligibility import judge
from guro_jobs.understand import _asker
from ingestion.loaders import load_document
from ingestion.parser import parse_document
from ingestion.profile import build_profile
from ingestion.programs import extract_programs
from knowledge.catalog import Catalog
from knowledge.lexicon import load as load_lexicon

SENIOR = "task-1-7-노인-일자리사업"
SAFE = "task-1-7-안심-일자리사업"
CHALLENGE = "task-1-3"
NEW_MIDDLE = "task-1-6"
GUARD = "task-1-5-중장년-경비원-취업지원-프로그램"
NEW_DEAL = "task-1-2-서울형-청년뉴딜일자리-사업"
FITNESS = "task-1-5-4050-커리어-피트니스사업"
TOTAL = "task-1-5-재취업-토털-프로젝트"

CASES = [
    (SENIOR, "64살이에요", "no"),
    (SENIOR, "65살이에요", "check"),
    (SENIOR, "65살이고 기초연금 받아요", "yes"),
    (SENIOR, "엄마가 66살이고 기초연금 받으세요", "yes"),
    (SENIOR, "80세 기초연금 수급자예요", "yes"),
    (SENIOR, "70대예요", "check"),
    (SENIOR, "60대예요", "check"),
    (SAFE, "17살이에요", "no"),
    (SAFE, "18살이에요", "check"),
    (SAFE, "45살인데 소득이 적어요", "check"),
    (CHALLENGE, "17살이에요", "no"),
    (CHALLENGE, "18살이고 구직 포기했어요", "yes"),
    (CHALLENGE, "39살 미취업이에요", "yes"),
    (CHALLENGE, "40살이에요", "no"),
    (CHALLENGE, "25살이에요", "check"),
    (NEW_MIDDLE, "49살 미취업자예요", "no"),
    (NEW_MIDDLE, "50살 미취업자예요", "yes"),
    (NEW_MIDDLE, "69살인데 일 안 해요", "check"),
    (NEW_MIDDLE, "70살 미취업자예요", "no"),
    (GUARD, "39살이에요", "no"),
    (GUARD, "40살이에요", "yes"),
    (GUARD, "69살이에요", "yes"),
    (GUARD, "70살이에요", "no"),
    (NEW_DEAL, "39살 서울시민이에요", "yes"),
    (NEW_DEAL, "39살 서울 살아요", "check"),
    (NEW_DEAL, "40살 서울시민이에요", "no"),
    (FITNESS, "52살 퇴직했어요", "yes"),
    (FITNESS, "52살이에요", "check"),
    (FITNESS, "39살 퇴직자예요", "no"),
    (TOTAL, "55살 구직 중이에요", "check"),
]


@pytest.fixture(scope="module")
def catalog(plan_path) -> Catalog:
    document = load_document(plan_path)
    lines = parse_document(document)
    return Catalog(extract_programs(lines, build_profile(document, lines)))


def test_the_table_is_large_enough():
    assert len(CASES) >= 25 and len({program for program, _, _ in CASES}) >= 6


@pytest.mark.parametrize(("program", "said", "outcome"), CASES)
def test_verdict(catalog: Catalog, program: str, said: str, outcome: str):
    lexicon = load_lexicon()
    verdict = judge(_asker(said, lexicon, []), catalog.by_id[program], lexicon)
    assert verdict is not None
    assert verdict.outcome == outcome, (said, verdict)
    if outcome == "no":
        assert not verdict.unchecked or verdict.reason  # the failing criterion is named
    if outcome == "check":
        assert verdict.unchecked, "what is still to check is named"
    assert verdict.reason and verdict.reason in catalog.by_id[program].target.text


def test_never_a_yes_when_the_age_fails(catalog: Catalog):
    lexicon = load_lexicon()
    for program in catalog.programs:
        if program.age is None or program.target is None:
            continue
        low, high = program.age.bounds()
        for age in (low - 1, high + 1):
            if 0 < age < 120:
                verdict = judge(_asker(f"{age}살이에요 기초연금 받고 미취업 퇴직 서울시민 재학생", lexicon, []), program, lexicon)
                assert verdict is None or verdict.outcome == "no", (program.name, age, verdict)
