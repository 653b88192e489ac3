"""MeCab morphology (fugashi + unidic-lite), the BM25 analyzer and user dictionaries."""

from __future__ import annotations

import json
import pickle
import random
import re
import threading
from pathlib import Path

import pytest

from jpagent.errors import ConfigError
from jpagent.text import morph
from jpagent.text.morph import Analyzer, AnalyzerConfig, token_spans, tokenize
from jpagent.text.userdict import compile_user_dict, read_user_dict

USER_CSV = """# 社内用語
surface,reading,pos
スマート勤怠Pro,すまーときんたいぷろ,名詞-固有名詞-一般
経費ナビ,ケイヒナビ,固有名詞
"""


@pytest.fixture
def user_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "terms.csv"
    path.write_text(USER_CSV, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------ tokenize
@pytest.mark.parametrize(
    ("text", "surface", "base", "reading", "pos_prefix"),
    [
        ("東京に行った", "東京", "東京", "トウキョウ", "名詞-固有名詞"),  # orthBase, not lemma
        ("東京に行った", "行っ", "行く", "イッ", "動詞"),
        ("大阪で食べました", "食べ", "食べる", "タベ", "動詞"),
        ("美しかった", "美しかっ", "美しい", "ウツクシカッ", "形容詞"),
        ("コンピューターを使う", "コンピューター", "コンピューター", "コンピューター", "名詞"),
    ],
)
def test_token_fields(text: str, surface: str, base: str, reading: str, pos_prefix: str) -> None:
    tokens = {t.surface: t for t in tokenize(text)}
    t = tokens[surface]
    assert (t.base, t.reading) == (base, reading)
    assert t.pos.startswith(pos_prefix)


def test_unknown_word_base_falls_back_to_surface() -> None:
    (t,) = [t for t in tokenize("ﾎｹﾞﾎｹﾞ") if t.surface]
    assert t.base == t.surface
    assert t.reading == ""


@pytest.mark.parametrize(
    "text",
    [
        "東京 タワー\nに\t行く",
        "  先頭と末尾の空白  ",
        "全角\u3000空白と、句読点。",
        "ASCII words and 日本語 mixed 2024年",
        "",
    ],
)
def test_offsets_round_trip(text: str) -> None:
    tokens = tokenize(text)
    assert all(text[t.start : t.end] == t.surface for t in tokens)
    assert [(t.start, t.end) for t in tokens] == token_spans(text)
    rebuilt = "".join(t.surface for t in tokens)
    assert rebuilt == re.sub(r"[ \t\n]", "", text)


def test_long_text_windows_do_not_cut_morphemes() -> None:
    unit = "東京都に住んでいます"
    text = unit * 3000  # 30,000 characters: several analysis windows
    tokens = tokenize(text)
    assert all(text[t.start : t.end] == t.surface for t in tokens)
    one = [t.surface for t in tokenize(unit * 3)]
    per_unit = len(one) // 3
    assert len(tokens) == per_unit * 3000
    assert {t.surface for t in tokens} == set(one)


def test_huge_line_without_punctuation() -> None:
    """MeCab crashes on a single ~400,000-character input; both paths window it."""
    rnd = random.Random(0)
    text = "".join(
        rnd.choice("あいうえおかきくけこ東京都大阪府本日は晴天なり") for _ in range(400_000)
    )
    spans = token_spans(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # contiguous
    terms = Analyzer()(text)
    assert len(terms) > 100_000 and "東京" in terms


# ------------------------------------------------------------------------------ analyzer
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("東京都に住んでいます。", ["東京", "都", "住む", "いる"]),
        ("東京に行った", ["東京", "行く"]),
        ("ＡＢＣ株式会社のＰＣ", ["abc", "株式", "会社", "pc"]),  # width + case folded
        ("ｶﾀｶﾅとｶﾞｲﾄﾞ", ["カタカナ", "ガイド"]),
        ("get_user_id を呼ぶ", ["get_user_id", "呼ぶ"]),
        ("v2.3.1 に更新", ["v2.3.1", "更新"]),
        ("文字コードはISO-2022-JPです", ["文字", "コード", "iso-2022-jp"]),
        ("HTTP404エラー", ["http404", "エラー"]),
        ("C++とC#", ["c++", "c#"]),
        ("円周率は3.14です", ["円周", "率", "3.14"]),
        ("連絡はtaro@example.co.jpへ", ["連絡", "taro@example.co.jp"]),
        ("「えっ！？」（笑）", ["えっ", "笑"]),
        ("x≥y", ["x", "y"]),  # an unknown symbol is dropped by its POS
        ("☃と🍣", []),
        ("", []),
    ],
)
def test_analyzer_terms(text: str, expected: list[str]) -> None:
    assert Analyzer()(text) == expected


def test_regex_tokenizer_failure_is_not_repeated() -> None:
    """bm25s's default pattern turns a Japanese sentence into one token; ours does not."""
    sentence = "東京都に住んでいます"
    assert re.findall(r"(?u)\b\w\w+\b", sentence) == [sentence]
    terms = Analyzer()(sentence)
    assert sentence not in terms and "東京" in terms


@pytest.mark.parametrize(
    ("config", "text", "expected"),
    [
        (AnalyzerConfig(use_base_form=False), "東京に行った", ["東京", "行っ"]),
        (AnalyzerConfig(drop_pos=()), "東京に行った", ["東京", "に", "行く", "た"]),
        (AnalyzerConfig(lowercase=False), "HTTP404とAPI", ["HTTP404", "API"]),
        (AnalyzerConfig(fold_width=False, lowercase=False), "ＡＢＣ", ["ＡＢＣ"]),
    ],
)
def test_analyzer_switches(config: AnalyzerConfig, text: str, expected: list[str]) -> None:
    assert Analyzer(config)(text) == expected


def test_placeholder_in_input_cannot_shift_terms() -> None:
    assert Analyzer()("a\ufdd0b 東京") == ["a", "b", "東京"]


def test_analyze_many_and_pickle() -> None:
    a = Analyzer()
    texts = ["東京に行った", "v2.3.1 に更新"]
    assert a.analyze_many(texts) == [a(t) for t in texts]
    b = pickle.loads(pickle.dumps(a))
    assert b(texts[1]) == ["v2.3.1", "更新"]


def test_settings_are_json() -> None:
    s = Analyzer().settings()
    assert json.loads(json.dumps(s)) == s
    assert s["dictionary"].startswith("unidic-lite")
    assert s["drop_pos"] == ["助詞", "助動詞", "補助記号", "記号", "空白"]


def test_one_tagger_per_thread() -> None:
    main = morph._tagger(None)
    assert morph._tagger(None) is main
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.extend([morph._tagger(None)] * 2))
    worker.start()
    worker.join()
    assert seen[0] is seen[1] and seen[0] is not main


# ------------------------------------------------------- analyzer fast path (short lines)
FAST_PATH_TEXTS = [
    "東京に行った。美しかった景色を見られなかった。",
    "来た人と来なかった人、しなかった人",
    "源氏ボタルが光る",  # rendaku: ボタル's dictionary form is ホタル (table entry)
    "猫がじゃれている",  # じゃれ: two entries (じゃれる / しゃれる): always the full path
    "ＡＢＣ株式会社のget_user_idとｶﾀｶﾅ、x≥y ☃",
    "読んだ本を読み、読まずに読もう。書いて、書かれた。",
]


def _short_first(config: AnalyzerConfig = AnalyzerConfig()) -> Analyzer:
    a = Analyzer(config)
    a._miss_rate = 0.0  # try short lines first from the start (full lines on a miss)
    return a


def _full_only(config: AnalyzerConfig = AnalyzerConfig()) -> Analyzer:
    a = Analyzer(config)
    a._line_terms = None  # as for a dictionary the shipped term table was not built from
    return a


@pytest.mark.parametrize("text", FAST_PATH_TEXTS)
def test_fast_path_gives_the_full_path_terms(text: str) -> None:
    fast, full = _short_first(), _full_only()
    assert fast._line_terms is not None  # the shipped table matches the pinned unidic-lite
    assert fast(text) == full(text)
    assert fast(text) == full(text)  # second time: conjugated forms come from short lines


def test_conjugated_forms_come_from_sys_dic_without_full_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = Analyzer()
    assert a._sys_dic is not None and a._miss_rate < morph._MISS_RATE_FOR_SHORT

    def no_full_lines(text: str) -> list[str]:
        raise AssertionError("full lines used")

    monkeypatch.setattr(a, "_terms_from_full", no_full_lines)
    assert a("美しかった景色を見られなかった") == ["美しい", "景色", "見る"]
    assert a("源氏ボタルが光る。来た人と来なかった人") == [
        "源氏",
        "ホタル",
        "光る",
        "来る",
        "人",
        "来る",
        "人",
    ]
    monkeypatch.undo()
    assert a._terms_from_short("猫がじゃれている") is None  # ambiguous key: full lines


def test_sys_dic_lookups_agree_with_mecab_full_lines() -> None:
    from jpagent.text.unidic_terms import conjugating_left_ids, load_term_table, sys_dic
    from jpagent.text.userdict import unidic_dir

    d = sys_dic(unidic_dir())
    assert d is not None
    conj, ambiguous = conjugating_left_ids(unidic_dir()), load_term_table().ambiguous
    corpus = Path(__file__).parents[2] / "corpora" / "sample"
    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.md"))]
    found = set()
    for text in [*texts, *FAST_PATH_TEXTS]:
        for line in morph._tagger(None, full=True).parse(text).splitlines():
            key, surface, base = line.split("\t")
            if key.isdigit() and int(key) in conj:
                key_line = f"{key}\t{surface}"
                # the dictionary form MeCab printed, or None exactly for the ambiguous keys
                expected = None if key_line in ambiguous else base
                assert d.base_form(surface, int(key)) == expected, line
                found.add(key_line)
    assert len(found) > 50
    assert d.base_form("じゃれ", 1284) is None  # じゃれる / しゃれる
    assert d.base_form("行っ", 0) is None  # no entry with that left id
    assert d.base_form("ぬぬぬぬぬ", 3670) is None  # not a key
    assert d.base_form("", 3670) is None
    assert sys_dic("/nonexistent/dicdir") is None  # the analyzer then learns from full lines


VERBS = (
    "書く 読む 話す 待つ 死ぬ 遊ぶ 飲む 取る 買う 泳ぐ 見る 食べる 起きる 寝る 走る 歩く 作る "
    "使う 思う 言う 聞く 立つ 座る 入る 出る 開ける 閉める 教える 覚える 忘れる 始める 終わる "
    "住む 働く 休む 持つ 落ちる 借りる 貸す 返す"
).split()


def test_new_conjugated_forms_are_no_misses_when_sys_dic_has_them() -> None:
    a = Analyzer()
    a._miss_rate = 1.0  # as after texts with ambiguous keys: full lines
    for verb in VERBS:  # each text brings a conjugated form not seen before
        assert a(f"毎日{verb}") == ["毎日", verb]
    assert a._miss_rate < morph._MISS_RATE_FOR_SHORT  # back to short lines
    learning = _learning()
    for verb in VERBS:
        learning(f"毎日{verb}")
    assert learning._miss_rate > morph._MISS_RATE_FOR_SHORT  # it has to learn each form


def _learning(config: AnalyzerConfig = AnalyzerConfig()) -> Analyzer:
    """An analyzer that learns conjugated forms from full lines (as with a user dictionary)."""
    a = Analyzer(config)
    a._sys_dic, a._miss_rate = None, 1.0
    return a


def test_fast_path_learns_conjugated_forms_and_skips_ambiguous_ones() -> None:
    a = _learning()
    text = a._fold("美しかった景色を見られなかった")
    assert a._terms_from_short(text) is None  # 美しかっ not seen yet
    assert a._terms_from_full(text) == ["美しい", "景色", "見る"]
    assert a._terms_from_short(text) == ["美しい", "景色", "見る"]
    assert a._terms_from_short("源氏ボタルが光る") is None  # 光る is new
    a._terms_from_full("源氏ボタルが光る")
    assert a._terms_from_short("源氏ボタルが光る") == ["源氏", "ホタル", "光る"]
    a._terms_from_full("猫がじゃれている")
    assert a._terms_from_short("猫がじゃれている") is None  # ambiguous key: never learned


def test_line_cache_is_bounded_and_refilled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(morph, "_LINES_MAX", 8)
    fast, full = Analyzer(), _full_only()
    for text in FAST_PATH_TEXTS * 2:
        assert fast(text) == full(text)
        # cleared before a text's new lines go in: at most the limit plus one text's lines
        assert fast._line_terms is not None
        assert len(fast._line_terms) <= 8 + len(tokenize(fast._fold(text))) + 1


def test_fast_path_on_a_corpus_equals_full_path() -> None:
    corpus = Path(__file__).parents[2] / "corpora" / "sample"
    texts = [
        line
        for path in sorted(corpus.glob("*.md"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(texts) > 50
    fast, full = _short_first(), _full_only()
    assert fast.analyze_many(texts) == full.analyze_many(texts)
    assert fast.analyze_many(texts) == full.analyze_many(texts)


def test_short_lines_take_over_once_forms_are_learned(monkeypatch: pytest.MonkeyPatch) -> None:
    a = _learning()
    text = "美しかった景色を見られなかった"
    a(text)
    assert a._miss_rate > morph._MISS_RATE_FOR_SHORT  # cold: full lines, learning
    for _ in range(60):
        a(text)
    assert a._miss_rate < morph._MISS_RATE_FOR_SHORT

    def no_full_lines(text: str) -> list[str]:
        raise AssertionError("full lines used")

    monkeypatch.setattr(a, "_terms_from_full", no_full_lines)
    assert a(text) == ["美しい", "景色", "見る"]


def test_other_dictionary_disables_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(morph, "dictionary_signature", lambda: "2.1.3 sys.dic 1")
    a = Analyzer()
    assert a._line_terms is None
    assert a("東京に行った") == ["東京", "行く"]


def test_term_table_matches_the_installed_dictionary() -> None:
    """Rebuild the shipped table from unidic-lite's sys.dic (about 20 s)."""
    from jpagent.text.unidic_terms import build_term_table, load_term_table

    built, shipped = build_term_table(), load_term_table()
    assert built == shipped
    assert built.fixed["5142\tボタル"] == "ホタル"
    assert "1272\tじゃれ" in built.ambiguous
    assert len(built.fixed) > 500


# ------------------------------------------------------------------------ user dictionary
def test_user_dict_keeps_product_names_whole(user_csv: str) -> None:
    text = "スマート勤怠Proと経費ナビを使う"
    plain = [t.surface for t in tokenize(text)]
    assert "スマート勤怠Pro" not in plain  # without the dictionary MeCab splits it
    with_dict = tokenize(text, user_dict=user_csv)
    assert [t.surface for t in with_dict][:3] == ["スマート勤怠Pro", "と", "経費ナビ"]
    assert with_dict[0].reading == "スマートキンタイプロ"
    assert with_dict[0].pos == "名詞-固有名詞-一般"


def test_user_dict_in_analyzer(user_csv: str) -> None:
    assert "スマート勤怠pro" not in Analyzer()("スマート勤怠Pro")
    a = Analyzer(AnalyzerConfig(user_dict=user_csv))
    assert a("スマート勤怠Proと経費ナビを使う。ｽﾏｰﾄ勤怠ＰＲＯ") == [
        "スマート勤怠pro",
        "経費ナビ",
        "使う",
        "スマート勤怠pro",
    ]
    assert a.settings()["user_dict_sha256"]
    text = "スマート勤怠Proと経費ナビを使う。ｽﾏｰﾄ勤怠ＰＲＯ、経費ﾅﾋﾞで行った"
    fast = _short_first(AnalyzerConfig(user_dict=user_csv))
    assert fast(text) == fast(text) == _full_only(AnalyzerConfig(user_dict=user_csv))(text)


def test_user_dict_is_compiled_once_per_content(user_csv: str, tmp_path: Path) -> None:
    first = compile_user_dict(user_csv, tmp_path / "c")
    mtime = first.stat().st_mtime_ns
    assert compile_user_dict(user_csv, tmp_path / "c") == first
    assert first.stat().st_mtime_ns == mtime
    Path(user_csv).write_text(USER_CSV + "勤怠ナビ,キンタイナビ,固有名詞\n", encoding="utf-8")
    second = compile_user_dict(user_csv, tmp_path / "c")
    assert second != first and second.exists()


def test_read_user_dict_forms(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("用語A,あ,\n用語B,,普通名詞\n用語C,シー,名詞,固有名詞,人名\n", encoding="utf-8")
    got = read_user_dict(p)
    assert [(t.surface, t.reading, t.pos) for t in got] == [
        ("用語A", "ア", ("名詞", "固有名詞", "一般", "*")),
        ("用語B", "*", ("名詞", "普通名詞", "一般", "*")),
        ("用語C", "シー", ("名詞", "固有名詞", "人名", "*")),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "has no terms"),
        ("空白 入り,クウハク,名詞\n", "contains whitespace"),
        ("社内語,シャナイゴ,名詞-固有名詞-一般-一般-余分\n", "more than 4 levels"),
    ],
)
def test_user_dict_errors(tmp_path: Path, content: str | None, message: str) -> None:
    p = tmp_path / "bad.csv"
    if content is not None:
        p.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        compile_user_dict(p, tmp_path / "cache")
    assert str(p) in str(info.value)
    assert info.value.message_ja


def test_user_dict_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "sjis.csv"
    p.write_bytes("社内用語,シャナイヨウゴ,名詞\n".encode("cp932"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_user_dict(p)
