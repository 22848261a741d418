"""The program catalog built from the real plan: records checked field by field against the plan text.

Every expected value below was read off data/plans/guro_2023_job_plan.txt (line numbers in comments),
not copied from the extractor's output.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import pytest

from ingestion.loaders import load_document
from ingestion.parser import parse_document
from ingestion.profile import build_profile
from ingestion.programs import extract_programs, parse_age, parse_amounts
from knowledge.catalog import Catalog, Program, render_programs, source_label

PLAN = Path(__file__).resolve().parents[1] / "data" / "plans" / "guro_2023_job_plan.txt"
TASK_IDS = [
    *(f"1-{n}" for n in range(1, 8)),
    *(f"2-{n}" for n in range(1, 8)),
    *(f"3-{n}" for n in range(1, 7)),
    *(f"4-{n}" for n in range(1, 8)),
]
TABLE_ROWS = {
    "직접 일자리사업": 21,
    "직업능력개발훈련 사업": 14,
    "고용서비스": 11,
    "고용장려금": 6,
    "창업지원": 5,
    "중소기업 역량강화": 11,
    "민간위탁 사업": 23,
    # The single-row 세부사업명 table of □ 민간․관급 공사장 근로자 채용 (line 1480) is a program too.
    "민간․관급 공사장 근로자 채용": 1,
}


@pytest.fixture(scope="module")
def programs() -> list[Program]:
    document = load_document(PLAN)
    lines = parse_document(document)
    return extract_programs(lines, build_profile(document, lines))


@pytest.fixture(scope="module")
def catalog(programs: list[Program]) -> Catalog:
    return Catalog(programs)


def terminal_width(text: str) -> int:
    """Columns a terminal gives the text: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def get(catalog: Catalog, ident: str) -> Program:
    assert ident in catalog.by_id, f"no record {ident}"
    return catalog.by_id[ident]


def amount_tuples(program: Program) -> list[tuple[float, str, float | None, str | None]]:
    return [(a.value, a.unit, a.won, a.per) for a in program.amounts]


# ------------------------------------------------------------------------------------------------
# coverage
# ------------------------------------------------------------------------------------------------
def test_every_task_has_a_record(catalog: Catalog) -> None:
    for task_id in TASK_IDS:
        record = get(catalog, f"task-{task_id}")
        assert record.origin == "task" and record.task_id == task_id
    task_ids = {p.task_id for p in catalog.programs if p.origin == "task"}
    assert task_ids == set(TASK_IDS)


def test_each_plan_table_has_one_record_per_row(catalog: Catalog) -> None:
    counts: dict[str, int] = {}
    for program in catalog.programs:
        if program.origin == "table":
            assert program.table is not None
            counts[program.table] = counts.get(program.table, 0) + 1
    assert counts == TABLE_ROWS
    for table, rows in TABLE_ROWS.items():
        numbers = sorted(p.table_row for p in catalog.programs if p.table == table)
        assert numbers == list(range(1, rows + 1)), table


def test_sub_programs_of_tasks(catalog: Catalog) -> None:
    def subs(task_id: str) -> list[str]:
        return [p.name for p in catalog.programs if p.task_id == task_id and p.id != f"task-{task_id}"]

    # 【】 blocks of 과제 1-5 (lines 2063-2083) and □ blocks of 1-2 (1764-1803) and 1-7 (2193, 2205)
    assert subs("1-5") == [
        "재취업 토털 프로젝트",
        "시니어 헬스케어 역량강화 교육",
        "4050 커리어 피트니스사업",
        "중장년 경비원 취업지원 프로그램",
    ]
    assert subs("1-2") == [
        "G밸리형 구로청년 일경험 지원사업",
        "G밸리 의료기기·IT 청년인재 채용지원사업",
        "청년 중소기업 체험사업",
        "서울형 청년뉴딜일자리 사업",
    ]
    assert subs("1-7") == ["노인 일자리사업", "안심 일자리사업"]
    assert subs("4-1") == ["G밸리 수출상담회", "해외시장 개척단 운영"]
    assert subs("2-6") == ["구로사회적경제통합지원센터 운영", "구로사회적경제창업지원센터 운영"]
    # 1-3 describes one program in □ 사업개요: the task record is the program.
    assert subs("1-3") == []
    structural = {
        "추진방향",
        "추진배경",
        "추진배경 및 현황",
        "사업개요",
        "사업내용",
        "기대효과",
        "연차별 추진계획",
        "소요예산",
        "사업예산",
    }
    assert not structural & {p.name for p in catalog.programs}


def test_ids_are_unique_and_stable(catalog: Catalog) -> None:
    assert len(catalog.by_id) == len(catalog.programs)
    assert "task-1-5-4050-커리어-피트니스사업" in catalog.by_id
    assert get(catalog, "table-고용서비스-7").name == "청년도전지원사업"


# ------------------------------------------------------------------------------------------------
# hand-checked records (Ⅳ tasks and sub-programs)
# ------------------------------------------------------------------------------------------------
def test_1_3_youth_challenge(catalog: Catalog) -> None:
    p = get(catalog, "task-1-3")
    assert p.name == "도전하니깐 청춘이다! 청년도전지원사업"
    assert p.task_title == p.name
    assert p.section_path == ["Ⅳ. 전략 및 과제", "(과제 1-3) 도전하니깐 청춘이다! 청년도전지원사업"]
    assert p.section == "Ⅳ. 전략 및 과제 > (과제 1-3) 도전하니깐 청춘이다! 청년도전지원사업"
    assert (p.span.start, p.span.end) == (1855, 1928)
    assert p.target is not None and p.target.label == "대상"
    assert p.target.text == "만 18세~39세 중 구직단념한 청년 80명"  # line 1869
    assert p.target.source.start == 1869
    assert p.age is not None
    assert (p.age.min, p.age.min_inclusive, p.age.max, p.age.max_inclusive) == (18, True, 39, True)
    assert p.period is not None and p.period.text == "2023. 1월 ~ 12월"  # line 1867
    assert p.capacity is not None and p.capacity.text == "80명"
    # line 1899: 인센티브 : 도전프로그램 월 20만원, 도약프로그램 월 50만원 지급
    incentive = [fv for fv in p.support if fv.label == "인센티브"]
    assert [fv.text for fv in incentive] == ["도전프로그램 월 20만원, 도약프로그램 월 50만원 지급"]
    assert incentive[0].source.start == 1899
    assert amount_tuples(p) == [(20, "만원", 200_000, "월"), (50, "만원", 500_000, "월")]
    assert p.budget is not None and p.budget.text == "383"  # 사업비 2023년 (line 1919)
    assert p.budget_amount is not None and (p.budget_amount.value, p.budget_amount.unit) == (383, "백만원")
    assert [k.text.split(":")[0] for k in p.kpi] == ["청년도전지원사업 이수자 수"]
    assert p.groups == ["청년"]


def test_1_5_career_fitness(catalog: Catalog) -> None:
    p = get(catalog, "task-1-5-4050-커리어-피트니스사업")
    assert p.section_path == [
        "Ⅳ. 전략 및 과제",
        "(과제 1-5) 중장년 재취업 역량강화 프로그램 운영",
        "사업내용",
        "4050 커리어 피트니스사업",
    ]
    assert p.task_id == "1-5" and p.task_title == "중장년 재취업 역량강화 프로그램 운영"
    assert (p.span.start, p.span.end) == (2075, 2081)
    assert p.target is not None and p.target.text == "만 40세 이상 퇴직 전문인력 30명"  # line 2077
    assert p.age is not None and (p.age.min, p.age.min_inclusive, p.age.max) == (40, True, None)
    assert p.description is not None
    assert p.description.text == "운영기관을 통한 참여자 1:1 맞춤형 생애설계, 직무적합 교육, 취업처 알선 등"
    assert (p.description.source.start, p.description.source.end) == (2079, 2081)
    # its own KPI row of the task's 연차별 추진계획 (line 2096), matched by name
    assert [k.text for k in p.kpi] == [
        "4050 커리어 피트니스 훈련생 수: 2023년 30 · 2024년 30 · 2025년 30 · 2026년 30"
    ]
    # the plan states no period, place or budget for this sub-program
    assert p.period is None and p.location is None and p.budget is None and p.hours is None
    assert p.groups == ["중장년"]


def test_1_5_security_guard_age_bounds(catalog: Catalog) -> None:
    p = get(catalog, "task-1-5-중장년-경비원-취업지원-프로그램")
    assert p.target is not None and p.target.text == "만 40세 이상 70세 미만 중장년 180명"  # line 2085
    assert p.age is not None
    assert (p.age.min, p.age.min_inclusive, p.age.max, p.age.max_inclusive) == (40, True, 70, False)
    assert p.age.text == "만 40세 이상 70세 미만"
    assert p.age.admits(40) and p.age.admits(69)
    assert not p.age.admits(39) and not p.age.admits(70)
    assert p.capacity is not None and p.capacity.text == "180명"
    assert (
        p.description is not None and p.description.text == "경비원 법정 필요교육 총 24시간 교육 후 취업알선"
    )


def test_1_5_task_record(catalog: Catalog) -> None:
    p = get(catalog, "task-1-5")
    assert p.budget is not None and p.budget.text == "75"  # line 2110: 300 75 75 75 75
    assert len(p.kpi) == 4  # all four KPI rows stay with the task
    assert p.target is None and p.age is None  # no target stated at task level
    assert p.groups == ["중장년"]


def test_1_6_new_middle_aged(catalog: Catalog) -> None:
    p = get(catalog, "task-1-6")
    assert (
        p.target is not None and p.target.text == "만 50세 이상 70세 미만 신중년 미취업자 21명"
    )  # line 2130
    assert p.age is not None
    assert (p.age.min, p.age.min_inclusive, p.age.max, p.age.max_inclusive) == (50, True, 70, False)
    assert [(fv.label, fv.text) for fv in p.support] == [
        ("지원내용", "참여자에 대한 인건비 및 운영기관 사업비 등 지원")
    ]
    assert p.capacity is not None and p.capacity.text == "21명"
    assert p.budget is not None and p.budget.text == "249"
    assert len(p.kpi) == 2
    assert p.groups == ["중장년", "신중년"]


def test_1_7_senior_jobs(catalog: Catalog) -> None:
    p = get(catalog, "task-1-7-노인-일자리사업")
    assert p.target is not None and p.target.label == "사업대상"
    assert p.target.text == "4,203명[만 65세 이상 기초연금수급자(공익형 기준)]"  # line 2199
    assert p.age is not None and (p.age.min, p.age.min_inclusive, p.age.max) == (65, True, None)
    pay = [fv for fv in p.support if fv.label == "보수"]
    assert [fv.text for fv in pay] == ["1인당 월 27만원 이상, 월 30시간 내(공익형 기준)"]  # line 2201
    assert pay[0].source.start == 2201
    assert amount_tuples(p) == [(27, "만원", 270_000, "1인당 월")]
    assert p.capacity is not None and p.capacity.text == "4,203명"
    assert p.groups == ["노인·어르신"]
    assert p.income_criteria == []  # 기초연금수급자 is not an income threshold


def test_1_7_safe_jobs_income_criteria(catalog: Catalog) -> None:
    p = get(catalog, "task-1-7-안심-일자리사업")
    assert p.target is not None and p.target.label == "참여대상"
    assert p.target.text.startswith("만 18세 이상의 근로능력 자로 가구소득이")
    assert p.age is not None and (p.age.min, p.age.max) == (18, None)
    assert [(c.label, c.text) for c in p.income_criteria] == [
        ("소득기준", "기준중위소득의 70% 이하"),
        ("재산기준", "재산이 4억원 이하"),
    ]
    assert all(c.source.start == 2209 and c.source.end == 2211 for c in p.income_criteria)
    wage = [fv for fv in p.support if fv.label == "임금"]
    assert [fv.text for fv in wage] == ["2023년 최저시급 9,620 원 기준(간식비 5,000원 별도)"]  # line 2213
    assert amount_tuples(p) == [(9620, "원", 9620, "시간당"), (5000, "원", 5000, None)]
    assert p.capacity is not None and (p.capacity.label, p.capacity.text) == (
        "규모",
        "500명(상반기 250명, 하반기 250명)",
    )
    assert p.groups == ["저소득·수급자·차상위"]


def test_1_2_gvalley_work_experience(catalog: Catalog) -> None:
    p = get(catalog, "task-1-2-G밸리형-구로청년-일경험-지원사업")
    assert p.capacity is not None and (p.capacity.label, p.capacity.text) == (
        "사업규모",
        "구로구 청년 20명 내외",
    )
    assert p.period is not None and (p.period.label, p.period.text) == (
        "지원기간",
        "최대 6개월(직무교육 3개월 + 인턴 3개월)",
    )
    assert [(fv.label, fv.text) for fv in p.support] == [
        ("기업", "인턴 3개월 인건비+ 정규직 전환채용 인센티브(1회)"),
        ("참여자", "최대 3개월 직무교육 + 교육수당(1일, 20천원)"),
    ]
    assert amount_tuples(p) == [(20, "천원", 20_000, "1일")]  # 교육수당 1일 20천원
    assert p.target is None  # the block states 사업규모, not a 대상 line


def test_1_2_medical_device_hiring(catalog: Catalog) -> None:
    p = get(catalog, "task-1-2-G밸리-의료기기-IT-청년인재-채용지원사업")
    assert p.period is not None and p.period.text == "2022. 6월 ~ 2024. 5월[1년 추가 가능(인센티브지원)]"
    # lines 1790/1792
    assert amount_tuples(p) == [
        (2400, "만원", 24_000_000, "1인당 연간"),
        (300, "만원", 3_000_000, "1인당 연간"),
    ]
    assert [(r.text, r.percent) for r in p.ratios] == [("80%", 80), ("기업부담 20%", 20)]


def test_1_2_seoul_new_deal_inclusive_upper_bound(catalog: Catalog) -> None:
    p = get(catalog, "task-1-2-서울형-청년뉴딜일자리-사업")
    assert p.target is not None and p.target.text == "18세~39세 이하 서울시민"  # line 1805
    assert p.age is not None
    assert (p.age.min, p.age.min_inclusive, p.age.max, p.age.max_inclusive) == (18, True, 39, True)
    assert p.age.admits(39) and not p.age.admits(40) and not p.age.admits(17)
    assert [(fv.label, fv.text) for fv in p.support] == [("임금", "2023년 서울시 생활임금 적용")]
    assert p.hours is not None and p.hours.text == "전일 근무형(주5일 근무, 1일 6~8시간)"


def test_1_2_sme_experience_is_for_youth_not_firms(catalog: Catalog) -> None:
    p = get(catalog, "task-1-2-청년-중소기업-체험사업")
    assert (
        p.target is not None and p.target.text == "구로구 미취업 청년 및 관내 대학, 특성화고 재학생 250여 명"
    )
    assert p.capacity is not None and p.capacity.text == "250여 명"
    assert p.groups == ["청년", "특성화고·학생"]
    # the same program's Ⅲ row (line 1224) names no target: its name and 사업내용 say 청년
    assert get(catalog, "table-직업능력개발훈련-사업-3").groups == ["청년"]


def test_1_1_do_it_challenge(catalog: Catalog) -> None:
    p = get(catalog, "task-1-1-특성화고-현장실습-지원사업-두-잇-챌린지")
    assert p.target is not None and p.target.text == "관내 특성화고 4개교 재학생 중 현장실습 대상자"
    assert p.description is not None and p.description.text == "특성화고 현장실습 대상자 100회 실습 기회 제공"
    assert amount_tuples(p) == [(1, "백만원", 1_000_000, "1인당")]  # 1인당 1백만원 (line 1667-1670)
    assert p.support[0].source.start == 1667
    assert p.groups == ["특성화고·학생"]


def test_2_1_middle_aged_job_center(catalog: Catalog) -> None:
    p = get(catalog, "task-2-1")
    assert p.location is not None and p.location.text == "개봉소공인 드림창작소 4층(구로구 개봉로23길 10)"
    assert p.location.source.start == 2258
    assert p.target is not None and (p.target.label, p.target.text) == (
        "운영대상",
        "구로구 관내 중장년(만 40세 이상)",
    )
    assert p.age is not None and (p.age.min, p.age.max) == (40, None)
    assert p.capacity is not None and p.capacity.text == "300㎡ 내외(일자리상담실, 교육실, 1인 창업공간 등)"
    assert p.budget is not None and p.budget.text == "390"
    assert p.kpi[0].text.startswith("중장년 일자리센터 확충 공사진행률: 2023년 100%")


def test_2_2_youth_space_hours_and_place(catalog: Catalog) -> None:
    p = get(catalog, "task-2-2")
    assert p.location is not None and p.location.label == "장소및규모"
    assert p.location.text == "구로구 오리로 1130 (천왕역 지하 1층), 2,244㎡"  # line 2321
    assert p.hours is not None and p.hours.text == "평일 10:00 ~ 22:00, 토요일 10:00 ~ 17:00"  # line 2325
    assert p.target is not None and (p.target.label, p.target.text) == ("이용대상", "청년구직자 등 지역주민")
    assert p.budget is not None and p.budget.text == "861"


def test_2_3_budget_from_required_budget_line(catalog: Catalog) -> None:
    p = get(catalog, "task-2-3")
    assert p.period is not None and p.period.text == "2022.07. ~ 2026.06."
    assert p.budget is not None and (p.budget.label, p.budget.text) == (
        "소요예산",
        "1,335백만원(구비 1,250, 벤처기업협회 85)",
    )
    assert p.budget_amount is not None and (p.budget_amount.value, p.budget_amount.unit) == (1335, "백만원")
    assert p.support == []  # the 소요예산 breakdown is budget, not support


def test_2_4_non_budget(catalog: Catalog) -> None:
    p = get(catalog, "task-2-4")
    assert p.budget is not None and p.budget.text == "비예산(시비 100%)"  # line 2523
    assert p.budget_amount is None
    assert p.period is not None and p.period.text == "2022. 7. ~ 2026. 6."


def test_2_6_integrated_center(catalog: Catalog) -> None:
    p = get(catalog, "task-2-6-구로사회적경제통합지원센터-운영")
    assert p.location is not None and p.location.text == "구로구 경인로20가길 38, 4층(오류동, 오류문화센터)"
    assert p.period is not None and (p.period.label, p.period.text) == (
        "위탁기간",
        "2년 ( 2023. 1. 1. ~ 2024. 12. 31.)",
    )
    assert p.groups == ["사회적기업"]


def test_3_2_tuition_ratio(catalog: Catalog) -> None:
    p = get(catalog, "task-3-2")
    assert [fv.text for fv in p.support] == ["1인당 연간 1천만원 이내에서 학비 90%까지 지원"]  # line 2805
    assert amount_tuples(p) == [(1000, "만원", 10_000_000, "1인당 연간")]
    assert [(r.text, r.percent) for r in p.ratios] == [("학비 90%", 90)]
    assert p.period is not None and p.period.text == "2022. 7. 1. ~ 2029. 12. 31."
    assert p.budget is not None and p.budget.text == "2,400"


def test_3_1_serves_foreign_residents(catalog: Catalog) -> None:
    p = get(catalog, "task-3-1")
    assert p.period is not None and p.period.text == "2023. 3. 1. ~ 2024. 2. 28."
    assert p.description is not None and "외국인 주민을 위한 교육 실시" in p.description.text  # line 2749
    assert "외국인" in p.groups


def test_3_6_center_under_construction(catalog: Catalog) -> None:
    p = get(catalog, "task-3-6")
    assert p.location is not None and p.location.text == "고척동 63-16 외 5필지"
    assert p.period is not None and p.period.text == "2018. 11. ~ 2023. 하반기 준공(2024년 개관 예정)"
    assert (
        p.capacity is not None and p.capacity.text == "부지면적 1,801㎡, 연면적 3,496㎡(지상 4층, 지하 1층)"
    )
    assert p.budget is not None and p.budget.text.startswith("20,455백만원(국비 1,000")
    assert p.budget_amount is not None and p.budget_amount.won == 20_455_000_000


def test_3_5_place(catalog: Catalog) -> None:
    p = get(catalog, "task-3-5")
    assert p.location is not None and p.location.label == "운영장소"
    assert p.location.text == "거점센터 2개소 (스마트 구로 홍보관, 구로 스마트팜 센터)"


def test_4_1_export_pioneers(catalog: Catalog) -> None:
    p = get(catalog, "task-4-1-해외시장-개척단-운영")
    assert p.target is not None and p.target.text == "구로구 소재 유망 중소기업 10개사 내외"  # line 3119
    assert p.capacity is not None and p.capacity.text == "10개사 내외"
    assert p.groups == ["중소기업·재직자"]


def test_4_2_loans(catalog: Catalog) -> None:
    p = get(catalog, "task-4-2-중소기업-소상공인-자금-지원")
    assert p.target is not None and (p.target.label, p.target.text) == (
        "지원대상",
        "구로구에 사업장을 둔 중소기업 및 소상공인",
    )
    assert amount_tuples(p)[:4] == [
        (1, "억원", 100_000_000, None),
        (3000, "만원", 30_000_000, None),
        (2, "억원", 200_000_000, None),
        (5000, "만원", 50_000_000, None),
    ]
    assert (40, "억원", 4_000_000_000, "연간") in amount_tuples(p)  # 융자규모 연 40억원
    assert [r.percent for r in p.ratios] == [0.8, 1]  # 대출금리 연 0.8% 최대 1%


def test_4_4_welfare_points(catalog: Catalog) -> None:
    p = get(catalog, "task-4-4")
    assert p.target is not None and p.target.text == "관내 중소기업 근로자 500명"
    assert p.capacity is not None and p.capacity.text == "500명"
    assert amount_tuples(p)[0] == (60, "만원", 600_000, "1인당")  # 1인당 60만원 이상 (line 3332)
    assert p.budget is not None and p.budget.text == "275"
    # the 추진배경 sentence the plan wraps over three lines comes back whole
    assert p.description is not None and p.description.text.endswith("중소기업의 인력난 해소에 기여")


def test_4_5_workation(catalog: Catalog) -> None:
    p = get(catalog, "task-4-5")
    assert (
        p.target is not None
        and p.target.text == "관내 중소기업 근로자 500명 (기업당 최대 50인까지 신청 가능)"
    )
    assert amount_tuples(p)[0] == (45, "만원", 450_000, "1인당")
    assert p.budget is not None and p.budget.text == "225"


def test_4_6_business_development_fund(catalog: Catalog) -> None:
    p = get(catalog, "task-4-6-사업개발비-지원-구비")
    assert p.target is not None and p.target.text == "구로구 관내 (예비)사회적기업"
    assert [(fv.label, fv.text) for fv in p.support] == [("지원규모", "선정기업 당 10,000천원 이내")]
    assert amount_tuples(p) == [(10000, "천원", 10_000_000, "기업당")]
    assert p.budget is not None and (p.budget.label, p.budget.text) == ("소요예산", "40,000천원(구비)")
    assert p.budget_amount is not None and p.budget_amount.won == 40_000_000
    assert [k.text.split(":")[0] for k in p.kpi] == ["사업개발비 지원 지원금액"]


def test_4_6_social_economy_village(catalog: Catalog) -> None:
    p = get(catalog, "task-4-6-사회적경제빌리지-운영")
    assert (
        p.location is not None and p.location.text == "구로구 오리로 1130 천왕역사 지하 1층(구로 청년이룸 내)"
    )
    assert p.capacity is not None and p.capacity.text == "295㎡ (구로청년공간 청년이룸 총 면적 : 2,244㎡)"
    assert p.period is not None and (p.period.label, p.period.text) == (
        "사용기간",
        "계약일로부터 1년(최대 3년까지 연장 가능)",
    )


def test_4_7_certification(catalog: Catalog) -> None:
    p = get(catalog, "task-4-7")
    assert p.target is not None and p.target.label == "선정기준"
    assert p.capacity is not None and (p.capacity.label, p.capacity.text) == ("선정기업", "20 ~ 30개")
    assert p.period is not None and p.period.text == "인증일로부터 2년간"
    assert "지방세 세무조사 2년간 유예" in [fv.text for fv in p.support]
    assert p.budget is not None and p.budget.text == "6"


def test_4_3_content_table_printed_after_budget(catalog: Catalog) -> None:
    p = get(catalog, "task-4-3")
    assert p.target is not None and p.target.text == "G밸리 소재 AIoT 관련 기업"
    assert (
        p.description is not None and "재직자 대상 상담 프로그램 운영 지원" in p.description.text
    )  # line 3301
    assert p.budget is not None and p.budget.text == "95"


def test_budget_as_the_2023_column_states_it(catalog: Catalog) -> None:
    # 1-2's 2023 column is 1,538.5 (line 1845); 1-4's is 1,350 although its 합계 reads 1,080 (line 2039).
    assert get(catalog, "task-1-2").budget_amount.value == 1538.5  # type: ignore[union-attr]
    assert get(catalog, "task-1-4").budget.text == "1,350"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------------
# hand-checked records (Ⅲ table rows)
# ------------------------------------------------------------------------------------------------
def test_table_row_safe_jobs(catalog: Catalog) -> None:
    p = get(catalog, "table-직접-일자리사업-1")
    assert p.name == "안심일자리 사업" and p.table == "직접 일자리사업" and p.table_row == 1
    assert p.section == "Ⅲ. 민선 8기 일자리 목표 > 3. 분야별 일자리 목표 > 직접 일자리사업"
    assert p.capacity is not None and (p.capacity.label, p.capacity.text) == ("취업인원", "500")
    assert p.budget is not None and p.budget.text == "3,357"
    assert p.budget_amount is not None and p.budget_amount.won == 3_357_000_000
    assert (p.span.start, p.span.end) == (1089, 1094)
    assert p.period is None and p.location is None


def test_table_row_youth_savings(catalog: Catalog) -> None:
    p = get(catalog, "table-고용장려금-5")
    assert p.name == "청년내일저축계좌"
    assert p.age is not None
    assert (p.age.min, p.age.min_inclusive, p.age.max, p.age.max_inclusive) == (19, True, 34, True)
    assert [c.text for c in p.income_criteria] == ["중위소득 100% 이하"]
    assert amount_tuples(p) == [(10, "만원", 100_000, "월")]  # 매월 10만원 이상 저축
    assert p.capacity is not None and (p.capacity.label, p.capacity.text) == ("참여인원", "877")
    assert p.budget is not None and p.budget.text == "1,014"
    assert p.groups == ["청년", "저소득·수급자·차상위"]


def test_table_row_new_middle_aged(catalog: Catalog) -> None:
    p = get(catalog, "table-직접-일자리사업-10")
    assert p.age is not None
    assert (p.age.min, p.age.min_inclusive, p.age.max, p.age.max_inclusive) == (50, True, 70, False)
    assert p.age.text == "50세 이상 70세 미만"


def test_training_rows_are_filed_under_their_own_table(catalog: Catalog) -> None:
    # The 직업능력개발훈련 rows are printed after the □ 고용서비스 heading (line 1195).
    p = get(catalog, "table-직업능력개발훈련-사업-1")
    assert p.name == "온라인 마켓파트너사업단"
    assert p.span.start == 1212
    assert p.section_path[-1] == "직업능력개발훈련 사업"


def test_table_rows_with_dashes_and_missing_budget(catalog: Catalog) -> None:
    hub = get(catalog, "table-창업지원-4")
    assert hub.capacity is not None and hub.capacity.text == "-"
    assert hub.budget is not None and hub.budget.text == "165"
    youth_space = get(catalog, "table-민간위탁-사업-22")
    assert youth_space.capacity is not None and youth_space.capacity.text == "8"
    assert youth_space.budget is None  # (사업비 예산 중복 제외): no budget column in the row
    assert get(catalog, "table-고용서비스-1").budget_amount is None  # budget written as '-'


# ------------------------------------------------------------------------------------------------
# parsing helpers on the plan's own phrases
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("만 18세~39세", (18, True, 39, True)),
        ("18세~39세 이하", (18, True, 39, True)),
        ("만 50세 이상 70세 미만", (50, True, 70, False)),
        ("50세 이상 70세 미만", (50, True, 70, False)),
        ("만 65세 이상", (65, True, None, True)),
        ("만 40세 이상", (40, True, None, True)),
        ("만 19~34세", (19, True, 34, True)),
    ],
)
def test_parse_age(text: str, expected: tuple[int, bool, int | None, bool]) -> None:
    age = parse_age(text)
    assert age is not None
    got = (age.min, age.min_inclusive, age.max, age.max_inclusive if age.max is not None else True)
    assert got == expected


def test_parse_amounts_units() -> None:
    assert [(a.value, a.unit, a.won) for a in parse_amounts("1,335백만원")] == [
        (1335, "백만원", 1_335_000_000)
    ]
    assert [(a.value, a.unit, a.per) for a in parse_amounts("월 200/250만원")] == [
        (200, "만원", "월"),
        (250, "만원", "월"),
    ]
    assert parse_amounts("원어민 강사 채용") == []


# ------------------------------------------------------------------------------------------------
# catalog queries
# ------------------------------------------------------------------------------------------------
# Read off the plan's target texts: 1805 (18~39 이하), 1869 (만 18~39), 2209 (만 18 이상), 1371 (만 19~34),
# 2065/2071/2077 (만 40 이상), 2085 (40 이상 70 미만), 2278 (만 40 이상), 2130/1151/1156 (50 이상 70 미만),
# 2199 (만 65 이상).
AGE_TABLE: dict[int, set[str]] = {
    17: set(),
    25: {
        "서울형 청년뉴딜일자리 사업",
        "도전하니깐 청춘이다! 청년도전지원사업",
        "안심 일자리사업",
        "청년내일저축계좌",
    },
    35: {"서울형 청년뉴딜일자리 사업", "도전하니깐 청춘이다! 청년도전지원사업", "안심 일자리사업"},
    45: {
        "재취업 토털 프로젝트",
        "시니어 헬스케어 역량강화 교육",
        "4050 커리어 피트니스사업",
        "중장년 경비원 취업지원 프로그램",
        "중장년 일자리센터 조성 및 운영",
        "안심 일자리사업",
    },
    55: {
        "재취업 토털 프로젝트",
        "시니어 헬스케어 역량강화 교육",
        "4050 커리어 피트니스사업",
        "중장년 경비원 취업지원 프로그램",
        "중장년 일자리센터 조성 및 운영",
        "안심 일자리사업",
        "신중년 경력형, 지역특화형 일자리 창출사업",
        "신중년 경력형 일자리",
        "신중년 지역특화사업",
    },
    67: {
        "재취업 토털 프로젝트",
        "시니어 헬스케어 역량강화 교육",
        "4050 커리어 피트니스사업",
        "중장년 경비원 취업지원 프로그램",
        "중장년 일자리센터 조성 및 운영",
        "안심 일자리사업",
        "신중년 경력형, 지역특화형 일자리 창출사업",
        "신중년 경력형 일자리",
        "신중년 지역특화사업",
        "노인 일자리사업",
    },
}


@pytest.mark.parametrize("age", sorted(AGE_TABLE))
def test_age_filter_matches_hand_made_table(catalog: Catalog, age: int) -> None:
    assert {p.name for p in catalog.filter(age=age)} == AGE_TABLE[age]


def test_age_bounds_at_the_edges(catalog: Catalog) -> None:
    at_70 = {p.name for p in catalog.filter(age=70)}
    assert "중장년 경비원 취업지원 프로그램" not in at_70  # 70세 미만
    assert "노인 일자리사업" in at_70
    at_39 = {p.name for p in catalog.filter(age=39)}
    assert "서울형 청년뉴딜일자리 사업" in at_39  # 39세 이하
    assert "재취업 토털 프로젝트" not in at_39


def test_age_range_questions(catalog: Catalog) -> None:
    fifties = {p.name for p in catalog.filter(age_range=(50, 59))}  # "50대"
    assert fifties == AGE_TABLE[55]
    over_65 = {p.name for p in catalog.filter(age_range=(65, 120))}  # "65세 이상"
    assert over_65 == AGE_TABLE[67]
    assert "청년내일저축계좌" not in over_65


def ids_for(catalog: Catalog, group: str) -> set[str]:
    return {p.id for p in catalog.filter(groups=[group])}


def test_group_disabled(catalog: Catalog) -> None:
    # rows 5, 6 of 직접 일자리사업 (1110, 1119) and 9, 11 of 고용서비스 (1301, 1313)
    assert ids_for(catalog, "장애인") == {
        "table-직접-일자리사업-5",
        "table-직접-일자리사업-6",
        "table-고용서비스-9",
        "table-고용서비스-11",
    }


def test_group_women(catalog: Catalog) -> None:
    # 과제 1-4, 온라인 창업자 양성과정 (경력단절여성, 1242), 여성취업교실 (경력보유여성, 1252), and
    # 여성안심 스카우트 (1158), whose work is about women (`여성·청소년 … 안전귀가 지원`): a row's groups are
    # read from its words, and the catalog does not know which table hires whom.
    assert ids_for(catalog, "여성·경력단절여성") == {
        "task-1-4",
        "table-직업능력개발훈련-사업-8",
        "table-직업능력개발훈련-사업-13",
        "table-직접-일자리사업-12",
    }


def test_group_low_income(catalog: Catalog) -> None:
    assert ids_for(catalog, "저소득·수급자·차상위") == {
        "task-1-7",  # its 안심 일자리사업
        "task-1-7-안심-일자리사업",  # 기준중위소득의 70% 이하 (2209)
        "table-직접-일자리사업-7",
        "table-직접-일자리사업-8",  # 기초수급자, 차상위 (1127, 1137)
        "table-고용장려금-3",
        "table-고용장려금-4",  # 수급가구 (1359, 1365)
        "table-고용장려금-5",  # 중위소득 100% 이하 (1371)
    }


def test_group_seniors(catalog: Catalog) -> None:
    # 민간위탁 rows 4 and 7 hire staff for seniors' programs; they are not for seniors.
    assert ids_for(catalog, "노인·어르신") == {
        "task-1-7",
        "task-1-7-노인-일자리사업",
        "table-직접-일자리사업-4",
    }


def test_group_new_middle_aged_and_foreigners(catalog: Catalog) -> None:
    assert ids_for(catalog, "신중년") == {"task-1-6", "table-직접-일자리사업-10", "table-직접-일자리사업-11"}
    assert ids_for(catalog, "외국인") == {"task-3-1"}


def test_group_students(catalog: Catalog) -> None:
    assert ids_for(catalog, "특성화고·학생") == {
        "task-1-1",
        "task-1-1-특성화고-현장실습-지원사업-두-잇-챌린지",
        "task-1-1-진로직업체험도-기초가-중요-초-중-고-직업체험-多多益善",
        "task-1-2",
        "task-1-2-청년-중소기업-체험사업",  # 특성화고 재학생 (1796)
        "task-3-5",  # 초·중·고등학생 (2991)
        "table-직접-일자리사업-3",  # 대학생 대상 (1100)
        "table-고용서비스-5",
        "table-고용장려금-6",
    }


def test_group_with_age_keeps_programs_without_stated_age(catalog: Catalog) -> None:
    names = {p.name for p in catalog.filter(age=55, groups=["중장년"])}
    assert "중장년 재취업 역량강화 프로그램 운영" in names  # the task states no age but serves 중장년
    assert "중장년 경비원 취업지원 프로그램" in names
    assert "노인 일자리사업" not in names


def test_find_by_name(catalog: Catalog) -> None:
    hits = catalog.find_by_name("4050 커리어 피트니스사업 대상이 어떻게 되나요?")
    assert hits and hits[0].id == "task-1-5-4050-커리어-피트니스사업"
    hits = catalog.find_by_name("청년도전지원사업 인센티브 얼마예요")
    assert "table-고용서비스-7" in {p.id for p in hits}


# ------------------------------------------------------------------------------------------------
# the same program in Ⅲ and Ⅳ
# ------------------------------------------------------------------------------------------------
LINKS = [
    ("task-1-3", "table-고용서비스-7"),  # 청년도전지원사업
    ("task-1-7-안심-일자리사업", "table-직접-일자리사업-1"),  # 안심일자리 사업
    ("task-1-7-노인-일자리사업", "table-직접-일자리사업-4"),  # 어르신 일자리사업
    ("task-2-1", "table-고용서비스-8"),  # 중장년 일자리센터
    ("task-1-5-중장년-경비원-취업지원-프로그램", "table-직업능력개발훈련-사업-4"),
    ("task-1-5-재취업-토털-프로젝트", "table-직업능력개발훈련-사업-5"),
    ("task-1-6", "table-직접-일자리사업-10"),
    ("task-1-6", "table-직접-일자리사업-11"),
    ("task-1-1-특성화고-현장실습-지원사업-두-잇-챌린지", "table-고용장려금-6"),
    ("task-2-2", "table-민간위탁-사업-22"),  # 구로청년이룸 운영
    ("task-4-2-중소기업-소상공인-자금-지원", "table-중소기업-역량강화-1"),
]


@pytest.mark.parametrize(("task", "row"), LINKS)
def test_links_both_ways(catalog: Catalog, task: str, row: str) -> None:
    assert row in get(catalog, task).linked
    assert task in get(catalog, row).linked


def test_no_false_links(catalog: Catalog) -> None:
    assert get(catalog, "table-민간위탁-사업-4").linked == []  # 어르신일자리 전담인력: staff, not the program
    assert get(catalog, "table-고용서비스-5").linked == []  # 특성화고 취업지원 사업 is not 두-잇 챌린지
    assert (
        get(catalog, "table-직업능력개발훈련-사업-6").linked == []
    )  # 청년이룸 직업훈련 is not 청년이룸 운영
    for program in catalog.programs:
        for other in program.linked:
            assert get(catalog, other).origin != program.origin


# ------------------------------------------------------------------------------------------------
# rendering for counselors
# ------------------------------------------------------------------------------------------------
def test_render_table_aligns_hangul_columns(catalog: Catalog) -> None:
    chosen = catalog.filter(age=55)
    text = render_programs(chosen, "table")
    lines = text.rstrip("\n").split("\n")
    assert lines[0].split() == ["사업명", "대상", "지원", "기간", "위치", "출처"]
    assert len(lines) == 2 + len(chosen)
    offsets = set()
    for line, program in zip(lines[2:], chosen, strict=True):
        label = source_label(program)
        assert line.endswith(label)  # the citation is never cut
        offsets.add(terminal_width(line[: line.index(label)]))
    assert len(offsets) == 1  # 출처 starts at the same terminal column on every row
    assert "개봉소공인 드림창작소 4층" in text  # 2-1's 위치


def test_render_csv(catalog: Catalog) -> None:
    chosen = [get(catalog, "task-2-2"), get(catalog, "table-고용서비스-7")]
    rows = list(csv.reader(io.StringIO(render_programs(chosen, "csv"))))
    assert rows[0] == ["id", "사업명", "대상", "지원", "기간", "위치", "출처"]
    assert len(rows) == 3
    space = dict(zip(rows[0], rows[1], strict=True))
    assert space["위치"] == "구로구 오리로 1130 (천왕역 지하 1층), 2,244㎡"
    assert space["대상"] == "청년구직자 등 지역주민"
    assert space["출처"].startswith("과제 2-2")
    challenge = dict(zip(rows[0], rows[2], strict=True))
    assert challenge["사업명"] == "청년도전지원사업" and challenge["출처"] == "고용서비스 7번 (1296행)"


def test_render_json_round_trips(catalog: Catalog) -> None:
    chosen = catalog.filter(groups=["장애인"])
    data = json.loads(render_programs(chosen, "json"))
    assert [d["id"] for d in data] == [p.id for p in chosen]
    assert [Program.model_validate(d) for d in data] == chosen


def test_render_unknown_format(catalog: Catalog) -> None:
    with pytest.raises(ValueError):
        render_programs(catalog.programs[:1], "xml")  # type: ignore[arg-type]
