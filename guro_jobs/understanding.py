"""What a question asks: its intents (amount, eligibility, …), ages, target groups, and red flags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# Intent cues in residents' words (Korean and English); a question may carry several.
INTENT_CUES: dict[str, tuple[str, ...]] = {
    "amount": ("얼마를", "얼마씩", "얼마 받", "얼마 줘", "얼마 지원", "금액", "수당", "지원금", "인센티브", "월급", "임금", "보수", "급여", "시급", "만원", "돈",
               "지원액", "받을 수 있는 돈", "혜택", "인건비", "지원비", "얼마나 지원", "how much", "amount",
               "allowance", "incentive", "wage", "pay", "salary", "percentage"),
    "eligibility": ("대상", "자격", "누가", "누구", "나이", "몇 살", "몇살", "연령", "조건", "요건", "기준", "소득",
                    "재산", "참여할 수", "신청할 수", "들을 수", "해당", "받을 수 있", "뽑", "선정", "어떤 가구", "어떤 기업", "어떤 사람", "우선",
                    "who", "eligib", "age", "qualif"),
    "period": ("기간", "언제", "몇 년도", "몇년도", "몇 월", "몇월", "일정", "날짜", "기한", "몇 개월", "몇개월", "얼마 동안", "얼마동안",
               "when", "period", "how long", "duration", "until"),
    "location": ("어디에 있", "어디 있", "어디로", "어디예요", "어딘", "어디야", "어디죠", "어디에요", "위치", "주소", "장소",
                 "건물", "몇 층", "몇층", "면적", "크기", "어디에 지", "어디에 생", "어디 가면", "정확히 어디", "where", "address",
                 "location", "located", "floor"),
    "hours": ("운영시간", "몇 시", "몇시", "영업시간", "시간에", "근무 시간", "근무시간", "근무형태", "근로형태", "open",
              "hours"),
    "budget": ("예산", "사업비", "국비", "구비", "시비", "재원", "들어가는 돈", "드는 돈", "쓰는 돈", "투입", "budget", "funding"),
    "figure": ("얼마", "몇 명", "몇명", "인구", "비율", "목표", "실적", "고용률", "취업자", "통계", "몇 개", "몇개", "인원",
               "규모", "몇 번", "몇번", "몇 회", "며칠", "몇 시간", "how many", "rate", "number of", "population", "target",
               "share"),
    "apply": ("신청 방법", "신청방법", "신청하려면", "어떻게 신청", "신청은 어디", "신청서", "서류", "예약", "접수",
              "가입은", "가입 방법", "가입하려면", "how to apply", "how do i apply", "sign up", "register"),
    "howto": ("방법", "절차", "어떻게 해", "어떻게 하", "어떻게 진행", "어떻게 만들", "어떻게 정", "어떻게 선정", "모집",
              "순서", "단계", "진행", "how to", "how do", "procedure", "process"),
    "content": ("뭐 해", "뭘 해", "무슨 일", "뭘 배", "뭐 배", "뭐 하는", "무엇을 하", "어떤 일", "하는 일", "어떤 서비스",
                "무슨 서비스", "내용", "커리큘럼", "과목", "어떤 혜택", "무슨 혜택", "혜택이 뭐", "혜택은 뭐", "어떤 도움", "what does", "what do they", "what is offered"),
    "agency": ("어디서", "어디랑", "어디와", "어디에서", "누가 운영", "누가 맡", "맡아", "운영기관", "수행기관", "협력", "협업",
               "같이 해", "함께 해", "같이 추진", "함께 추진", "어떤 기관", "직접 운영", "위탁받", "운영 주체", "which organization", "who runs", "partner"),
    "list": ("어떤 지원", "어떤 사업", "어떤 프로그램", "어떤 일자리", "무슨 지원", "무슨 사업", "무슨 프로그램", "뭐가 있",
             "뭐 있", "뭐있", "목록", "종류", "사업들", "프로그램들", "어떤 게", "어떤게", "어떤 것", "뭐뭐", "어디어디",
             "무엇무엇", "어떤 과목", "구성", "유형", "어떤 종류", "어떤 분야", "어떤 영역", "지원이 뭐", "지원은 뭐", "사업이 뭐", "사업은 뭐", "프로그램이 뭐", "프로그램은 뭐", "what programs", "which programs", "what support", "list"),
}
# Field labels (spacing removed) that carry each intent's answer.
INTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "amount": ("지원내용", "인센티브", "보수", "임금", "지원기준", "지원규모", "지원사항", "교육수당", "참여자", "기업", "청년",
               "지원금액", "대출금리"),
    "eligibility": ("대상", "사업대상", "참여대상", "지원대상", "운영대상", "이용대상", "선정기준", "공고대상", "교육대상",
                    "설문대상", "모집대상"),
    "period": ("사업기간", "기간", "지원기간", "위탁기간", "사용기간", "인증기간", "교육기간", "조사기간", "지원시기",
               "시간적범위", "모집공고", "지원시기", "시기"),
    "location": ("위치", "장소및규모", "운영장소", "장소", "조성위치", "규모"),
    "hours": ("운영시간", "근로형태", "근무형태"),
    "budget": ("소요예산", "사업예산", "예산"),
    "apply": ("신청", "접수", "모집공고", "지원시기", "지원방법", "추진절차", "증빙서류", "지원조건"),
    "howto": ("추진절차", "지원방법", "추진체계", "추진내용", "추진방법", "사업내용", "운영방법", "선정기준", "지원조건"),
    "content": ("사업내용", "추진내용", "지원내용", "교육내용", "주요내용", "운영프로그램", "역할", "교육분야", "대상사업",
                "사업분야", "공간구성"),
    "agency": ("사업수행기관", "운영방법", "운영방식", "추진방식", "추진방법", "추진체계", "수탁기관", "협업기관", "운영기관",
               "사업방식"),
    "figure": ("2023년목표", "규모", "사업규모", "선정기업"),
}
FIGURE = re.compile(r"\d[\d,.]*\s*(?:%|명|개|세대|개사|개소|건|회|천명|시간|일)")
MONEY = re.compile(r"\d[\d,.]*\s*(?:억\s*)?(?:원|만원|천원|천만원|백만원|억원)|\d+\s*만\s*원|\d+(?:\.\d+)?\s*%")
DATE = re.compile(r"\d{4}\s*\.\s*\d{1,2}|\d{1,2}\s*월|\d{4}년|\d+\s*개월|\d+\s*년간")
AGE_TEXT = re.compile(r"\d{2}\s*세")

INJECTION = re.compile(
    r"(ignore|disregard|forget)\s+(all\s+)?(your|the|previous|prior|above)|system\s*prompt|your\s+(prompt|instructions)"
    r"|jailbreak|developer\s+mode|프롬프트|시스템\s*메시지|(지시|명령|규칙|지침)\S*\s*(을|를)?\s*(모두\s*)?(무시|잊어)"
    r"|역할\s*(을|를)?\s*(바꿔|무시)|너의\s*(설정|지시)",
    re.IGNORECASE,
)

GROUP_CUES: dict[str, tuple[str, ...]] = {
    "청년": ("청년", "20대", "30대", "대학생", "young", "youth"),
    "중장년": ("중장년", "40대", "50대", "4050", "퇴직", "middle"),
    "신중년": ("신중년", "5060"),
    "노인·어르신": ("노인", "어르신", "65세", "70대", "60대", "시니어", "고령", "elderly", "senior"),
    "여성·경력단절여성": ("여성", "경력단절", "경단녀", "경력보유", "주부", "엄마", "women", "woman"),
    "장애인": ("장애", "disab"),
    "저소득·수급자·차상위": ("저소득", "수급자", "차상위", "기초생활", "취약계층", "low-income", "low income"),
    "특성화고·학생": ("특성화고", "고등학생", "학생", "초중고", "청소년", "student"),
    "중소기업·재직자": ("중소기업", "재직자", "직장인", "회사원", "사업주", "기업", "sme", "employee"),
    "사회적기업": ("사회적기업", "사회적경제", "협동조합", "마을기업", "social enterprise"),
    "외국인": ("외국인", "foreigner", "immigrant"),
}


# Seoul's other districts: a question about their services is outside Guro-gu's plan.
OTHER_DISTRICTS = re.compile(
    r"(종로|중구|용산|성동|광진|동대문|중랑|성북|강북|도봉|노원|은평|서대문|마포|양천|강서|금천|영등포|동작|관악|서초|강남|송파|강동)구"
    r"|부산|인천|대구|대전|광주|울산|세종시|경기도|성남|수원"
)


@dataclass
class QuestionInfo:
    text: str
    intents: list[str] = field(default_factory=list)
    age: int | None = None
    age_range: tuple[int, int] | None = None
    groups: list[str] = field(default_factory=list)
    injection: bool = False
    has_korean: bool = True

    @property
    def primary_intent(self) -> str | None:
        return self.intents[0] if self.intents else None


def _has_cue(text: str, cue: str) -> bool:
    return next(_cue_spans(text, cue), None) is not None


def _cue_spans(text: str, cue: str) -> Iterator[tuple[int, int]]:
    if cue not in text:
        return iter(())
    pattern = rf"(?<![a-z]){re.escape(cue)}" if cue.isascii() else re.escape(cue)
    return (m.span() for m in re.finditer(pattern, text))


def _name_spans(text: str, names: list[str]) -> list[tuple[int, int]]:
    """Where the question spells a program's name (spacing ignored): `사업개발비 지원(구비)`."""
    spans: list[tuple[int, int]] = []
    for name in filter(None, names):
        pattern = r"\s*".join(re.escape(ch) for ch in name if not ch.isspace())
        spans.extend(m.span() for m in re.finditer(pattern, text))
    return spans


def _intent_matches(lower: str, names: list[str]) -> list[tuple[str, str]]:
    """(intent, cue) pairs found in the question. A cue inside a program's name asks nothing (`구비` in
    `사업개발비 지원(구비)`), and a cue inside a longer cue of another intent gives way to it (`누가` in
    `누가 운영`)."""
    found = [
        (intent, cue, span) for intent, cues in INTENT_CUES.items() for cue in cues for span in _cue_spans(lower, cue)
    ]
    blocked = _name_spans(lower, names)
    kept: list[tuple[str, str]] = []
    for intent, cue, (start, end) in found:
        if any(s <= start and end <= e for s, e in blocked):
            continue
        if any(
            other != intent and s <= start and end <= e and e - s > end - start for other, _, (s, e) in found
        ):
            continue
        kept.append((intent, cue))
    return kept


def analyse(question: str, names: list[str] | None = None) -> QuestionInfo:
    """What the question asks; `names` are the program names it mentions (their words are not cues)."""
    text = question.strip()
    lower = text.lower()
    info = QuestionInfo(text=text)
    info.has_korean = bool(re.search(r"[\uac00-\ud7a3]", text))
    info.injection = bool(INJECTION.search(text))
    matches = _intent_matches(lower, [n.lower() for n in names or []])
    for intent in INTENT_CUES:
        if any(found == intent for found, _ in matches):
            info.intents.append(intent)
    # "몇 명" style figures outrank a generic "대상" cue; "얼마" outranks both.
    if "얼마" in lower and not {"amount", "budget"} & set(info.intents) and re.search(
        r"융자|빌려|빌릴|대출|지원금|지원액|지원돼|지원되|지원해|지원받|나와|나오|비는|비가|료는|료가|비용|요금|한도|학비|부담|포인트|받|줘|드려|임금|보수"
        r"|급여|수당", text
    ) and not {"location", "period"} & set(info.intents):
        info.intents.append("amount")  # 얼마 about money; otherwise it asks for a figure
    if "어디어디" in text:  # "which ones": a list of partners or places, not one address
        info.intents = [i for i in info.intents if i != "location"] + ["agency", "list"]
    order = ["amount", "location", "hours", "period", "budget", "eligibility", "agency", "apply", "howto", "content",
             "figure", "list"]
    info.intents.sort(key=order.index)
    if any(intent == "howto" and cue.startswith("어떻게") for intent, cue in matches):
        # "대상은 어떻게 선정해요?" asks for the method, whatever else it mentions.
        info.intents.remove("howto")
        info.intents.insert(0, "howto")
    if m := re.search(r"(\d)0\s*대", text):
        decade = int(m.group(1)) * 10
        info.age_range = (decade, decade + 9)
    elif m := re.search(r"(?:만\s*)?(\d{2})\s*(?:세|살)\s*(이상|넘|부터|이후)?", text):
        age = int(m.group(1))
        if m.group(2):
            info.age_range = (age, 120)
        else:
            info.age = age
    for group, cues in GROUP_CUES.items():
        if any(_has_cue(lower, cue) for cue in cues):
            info.groups.append(group)
    return info


_BACKGROUND_CLAUSE = re.compile(r"\S*(?:인데|는데|은데|한데|운데|던데|이라서|여서|라서)[,.]?\s+")


def main_clause(question: str) -> str:
    """The question without its background clauses: "구로에서 식당 하는 소상공인인데 기금으로 얼마까지
    빌릴 수 있어요?" asks about the fund; the restaurant is the asker's situation, not the topic."""
    parts = _BACKGROUND_CLAUSE.split(question)
    return parts[-1] if parts[-1].strip() else question


def mostly_latin(text: str) -> bool:
    return len(re.findall(r"[A-Za-z]", text)) > len(re.findall(r"[\uac00-\ud7a3]", text))


def is_list_question(info: QuestionInfo, named_program: bool) -> bool:
    """'50세 이상은 어떤 지원?' / '장애인 일자리 사업은?': a list assembled from many programs.

    Only for questions about who (an age or a target group) that name no program: a question about
    one program's details is answered from that program's lines.
    """
    if named_program or not (info.groups or info.age is not None or info.age_range):
        return False
    if "list" in info.intents:
        return True
    text = info.text.strip()
    if re.search(r"(사업|프로그램|일자리|지원)\S{0,3}\s*(뭐|무엇|뭐가|어떤\s*것|어떤\s*게)?\s*(있|알려|\?|$)", text):
        other = set(info.intents) - {"eligibility", "list"}
        return not other
    return False


# Residents' words the plan does not use, mapped to the plan's words (query expansion; never "unknown").
SYNONYMS: dict[str, str] = {
    "주소": "위치", "며칠": "일", "월급": "임금 보수", "급여": "임금 보수", "돈": "지원", "알바": "아르바이트",
    "아르바이트": "아르바이트", "경단녀": "경력단절여성", "나이": "세", "연세": "세", "살": "세", "어르신": "노인 어르신",
    "노인": "노인 어르신", "회사": "기업", "직장인": "재직자", "직원": "재직자 근로자", "사장": "기업", "대표": "기업",
    "시급": "최저시급 임금", "수당": "인센티브 수당", "면적": "규모 ㎡", "크기": "규모", "건물": "위치",
    "층": "층", "퍼센트": "%", "가게": "소상공인", "자영업자": "소상공인", "학생": "학생 재학생", "엄마": "여성",
    "주부": "여성 경력단절", "장애": "장애인", "취준생": "구직자 미취업", "백수": "미취업", "실업자": "실업자 미취업",
    "창업자": "창업", "스타트업": "창업", "목표치": "목표", "목푯값": "목표", "대출": "융자", "이자": "금리", "기간": "기간", "시간": "시간",
    "구청": "구로구", "구": "구로구", "종류": "유형 구성", "유형": "유형 형", "남녀": "남성 여성", "위치": "위치",
    "비용": "지원 예산", "사업장": "사업체 사업장", "업종": "업종 용도 분야", "구경": "전시 체험",
}
