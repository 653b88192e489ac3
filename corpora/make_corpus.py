"""Generate the binary and legacy-encoded files of the sample corpus, reproducibly.

    .venv/bin/python corpora/make_corpus.py            # writes corpora/sample/

Writes, from the sources below (all text invented for this project, 株式会社さくらテック is a
fictional company):

- security_policy.pdf  情報セキュリティ規程, 4 pages (reportlab, built-in Japanese CID fonts
  HeiseiMin-W3 / HeiseiKakuGo-W5, ``invariant=1`` so the bytes are the same on every run)
- expense_policy.docx  経費精算規程 with headings and a table of limits (python-docx; the ZIP
  entries get a fixed timestamp so the bytes are the same on every run)
- notice_2019_cp932.txt   an old notice in CP932 with CRLF and vendor characters ①㈱髙﨑～
- server_memo_eucjp.txt   an EUC-JP memo from an old Unix server
- health_check_mail_iso2022jp.txt  a mail body in ISO-2022-JP
- inquiries.csv        問い合わせ一覧 as Excel's "CSV UTF-8" saves it (BOM, CRLF)

work_rules.md, smart_kintai_pro_manual.md and it_faq.html are written by hand in sample/.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent / "sample"

# ---------------------------------------------------------------- 情報セキュリティ規程 (PDF)
# Each page: a list of (kind, text); kind "h" = heading, "p" = paragraph.
SECURITY_PAGES: list[list[tuple[str, str]]] = [
    [
        ("t", "情報セキュリティ規程"),
        ("p", "株式会社さくらテック　情報システム部　2024年4月1日改定"),
        ("h", "第1章　総則"),
        ("h", "第1条（目的）"),
        (
            "p",
            "この規程は、株式会社さくらテック（以下「会社」という。）が保有する情報資産を、"
            "漏えい、改ざん、紛失などの脅威から守るために、従業員が守るべき事項を定める。",
        ),
        ("h", "第2条（適用範囲）"),
        (
            "p",
            "この規程は、役員、正社員、契約社員、派遣社員および業務委託先の担当者を含め、"
            "会社の情報資産を取り扱うすべての者に適用する。",
        ),
        ("h", "第3条（情報の分類）"),
        (
            "p",
            "会社の情報は「極秘」「社外秘」「公開」の3区分に分類する。顧客の個人情報と"
            "未発表の製品情報は「極秘」とし、アクセスできる者を必要最小限に限定する。",
        ),
    ],
    [
        ("h", "第2章　アカウントとパスワード"),
        ("h", "第4条（パスワードの要件）"),
        (
            "p",
            "業務システムのパスワードは12文字以上とし、英大文字、英小文字、数字および記号の"
            "うち3種類以上を組み合わせる。氏名、社員番号、誕生日など推測されやすい文字列を"
            "含めてはならない。",
        ),
        ("h", "第5条（パスワードの変更）"),
        (
            "p",
            "パスワードを定期的に変更する必要はない。ただし、漏えいの疑いがあるときは、"
            "ただちに変更し、セキュリティ窓口に報告する。",
        ),
        ("h", "第6条（多要素認証）"),
        (
            "p",
            "社外から業務システムに接続するときは、スマートフォンの認証アプリによる"
            "多要素認証を必ず用いる。",
        ),
    ],
    [
        ("h", "第3章　情報の持ち出しと機器の利用"),
        ("h", "第7条（持ち出し申請）"),
        (
            "p",
            "「社外秘」以上の情報を社外へ持ち出すときは、事前に「情報持ち出し申請書」を"
            "情報システム部に提出し、所属長の承認を得なければならない。申請書の保存期間は"
            "3年とする。",
        ),
        ("h", "第8条（記録媒体）"),
        (
            "p",
            "USBメモリなどの記録媒体は、会社が支給する暗号化USBメモリに限り使用できる。"
            "私物の記録媒体を業務用PCに接続してはならない。",
        ),
        ("h", "第9条（ノートPCの管理）"),
        (
            "p",
            "ノートPCを持ち歩くときは、画面ロックを5分以内に設定し、車内や飲食店に"
            "放置してはならない。",
        ),
    ],
    [
        ("h", "第4章　事故の報告"),
        ("h", "第10条（インシデントの報告）"),
        (
            "p",
            "情報漏えい、PCやスマートフォンの紛失、不審なメールの開封など、情報セキュリティ"
            "事故またはその疑いを発見した者は、発見から1時間以内にセキュリティ窓口"
            "（内線 4321）へ報告しなければならない。",
        ),
        ("h", "第11条（教育）"),
        ("p", "全従業員は、毎年6月に実施する情報セキュリティ研修を受講しなければならない。"),
        ("h", "附則"),
        ("p", "この規程は、2024年4月1日から施行する。"),
    ],
]

# ---------------------------------------------------------------------- 経費精算規程 (DOCX)
EXPENSE_BLOCKS: list[tuple[str, object]] = [
    ("title", "経費精算規程"),
    ("p", "株式会社さくらテック　経理部　2024年4月1日施行"),
    ("h1", "第1章　総則"),
    ("h2", "第1条（目的）"),
    ("p", "この規程は、従業員が業務のために立て替えた費用の精算手続きを定める。"),
    ("h2", "第2条（精算の期限）"),
    (
        "p",
        "経費の精算は、費用が発生した月の翌月10日までに、スマート勤怠Proの経費精算機能から"
        "領収書の画像を添えて申請する。期限を過ぎた申請は、経理部長の承認がなければ"
        "受け付けない。",
    ),
    ("h1", "第2章　出張旅費"),
    ("h2", "第3条（日当および宿泊費）"),
    (
        "p",
        "出張の日当および宿泊費の上限は、次の表のとおりとする。宿泊費は実費を支給し、"
        "上限を超えた分は自己負担とする。",
    ),
    (
        "table",
        [
            ["区分", "役員", "一般社員"],
            ["国内出張日当（1日）", "5,000円", "3,000円"],
            ["宿泊上限（東京23区・大阪市）", "15,000円", "12,000円"],
            ["宿泊上限（その他の地域）", "12,000円", "10,000円"],
            ["海外出張日当（1日）", "8,000円", "6,000円"],
        ],
    ),
    ("h2", "第4条（交通費）"),
    (
        "p",
        "交通費は、最も経済的な経路の実費とする。新幹線はグリーン車を利用できない。"
        "片道100km未満の出張では、特急料金を支給しない。",
    ),
    ("h1", "第3章　その他の経費"),
    ("h2", "第5条（交際費）"),
    ("p", "取引先との会食は、1人あたり5,000円を上限とし、事前に所属長へ申請する。"),
    ("h2", "第6条（承認）"),
    ("p", "1件10万円以上の経費は、所属長に加えて部長の承認を必要とする。"),
]

# ------------------------------------------------------------ legacy-encoded text files
NOTICE_CP932 = """\
平成31年 年末年始休業のお知らせ

社員各位

㈱さくらテック 総務部

年末年始の休業期間を、下記のとおりお知らせします。

① 休業期間：2019年12月28日（土）～2020年1月5日（日）
② 仕事始め：2020年1月6日（月）午前9時
③ 休業期間中の緊急連絡先：総務部 髙橋部長（携帯 090-0000-1234）

なお、大阪支店の山﨑さんが休業中のサーバ監視当番を担当します。
以上
"""

SERVER_MEMO_EUCJP = """\
サーバ保守のお知らせ（開発サーバ sakura-dev01）

開発サーバは、毎月第2土曜日の22時から翌2時まで定期保守のため停止します。
保守中はソースコードリポジトリとビルドサーバも利用できません。
緊急の作業がある場合は、前日までにインフラ担当の半田までメールで連絡してください。
"""

HEALTH_MAIL_ISO2022JP = """\
件名: 2024年度 定期健康診断のご案内
差出人: 人事部 健康管理室

社員各位

2024年度の定期健康診断を、次のとおり実施します。

日時: 2024年6月12日（水） 9時〜16時
会場: 本社5階 大会議室
持ち物: 健康保険証、問診票

都合が悪い人は、5月31日までに人事部 健康管理室へ連絡してください。
"""

INQUIRY_ROWS = [
    ["受付番号", "受付日", "部署", "種別", "内容", "対応状況", "担当者"],
    ["Q-2024-0001", "2024/04/01", "営業部", "アカウント", "スマート勤怠Proにログインできない", "完了", "小林"],
    ["Q-2024-0002", "2024/04/02", "開発部", "ネットワーク", "VPN「SakuraConnect」が切断される", "完了", "小林"],
    ["Q-2024-0003", "2024/04/05", "総務部", "PC", "ノートPCの画面が映らない。\n代替機を希望", "完了", "山﨑"],
    ["Q-2024-0004", "2024/04/08", "人事部", "ソフトウェア", "打刻修正申請の承認ボタンが押せない", "対応中", "佐藤"],
    ["Q-2024-0005", "2024/04/10", "営業部", "アカウント", "パスワードを5回間違えてロックされた", "完了", "小林"],
    ["Q-2024-0006", "2024/04/12", "経理部", "ソフトウェア", "経費精算で領収書画像が添付できない（PDF, 12MB）", "対応中", "佐藤"],
    ["Q-2024-0007", "2024/04/15", "開発部", "周辺機器", "暗号化USBメモリの追加支給", "完了", "山﨑"],
    ["Q-2024-0008", "2024/04/18", "企画部", "ネットワーク", "来客用Wi-Fi「SAKURA-GUEST」のパスワードを知りたい", "完了", "佐藤"],
    ["Q-2024-0009", "2024/04/22", "営業部", "セキュリティ", "不審なメールの添付ファイルを開いてしまった", "完了", "髙橋"],
    ["Q-2024-0010", "2024/04/25", "開発部", "ソフトウェア", "エラーコードE102が表示されて打刻できない", "未着手", ""],
]  # fmt: skip


def write_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    body_font, head_font = "HeiseiMin-W3", "HeiseiKakuGo-W5"
    for name in (body_font, head_font):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    width, height = A4
    margin = 64
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    pdf.setTitle("情報セキュリティ規程")
    pdf.setAuthor("株式会社さくらテック 情報システム部")
    for number, page in enumerate(SECURITY_PAGES, start=1):
        y = height - margin
        for kind, text in page:
            font, size = {"t": (head_font, 18), "h": (head_font, 12)}.get(kind, (body_font, 10.5))
            pdf.setFont(font, size)
            y -= 10 if kind == "h" else 0
            for line in wrap(text, font, size, width - 2 * margin):
                pdf.drawString(margin, y, line)
                y -= size * 1.6
            y -= 6
        pdf.setFont(body_font, 9)
        pdf.drawCentredString(width / 2, 36, f"社外秘　{number} / {len(SECURITY_PAGES)}")
        pdf.showPage()
    pdf.save()


def wrap(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Break Japanese text into lines that fit, keeping 、。」） off the start of a line."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    line = ""
    for ch in text:
        if line and stringWidth(line + ch, font, size) > max_width and ch not in "、。」）":
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines


def write_docx(path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    # Japanese Word names its heading styles 見出し 1, 見出し 2…; use that name for articles.
    article_style = document.styles.add_style("見出し 2", WD_STYLE_TYPE.PARAGRAPH)
    article_style.base_style = document.styles["Normal"]
    article_style.font.bold = True
    for kind, content in EXPENSE_BLOCKS:
        if kind == "title":
            document.add_paragraph(str(content), style="Title")
        elif kind == "h1":
            document.add_paragraph(str(content), style="Heading 1")
        elif kind == "h2":
            document.add_paragraph(str(content), style="見出し 2")
        elif kind == "table":
            rows = list(content)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        else:
            document.add_paragraph(str(content))
    fixed = datetime(2024, 4, 1, tzinfo=UTC)
    props = document.core_properties
    props.title, props.author, props.last_modified_by = "経費精算規程", "経理部", "経理部"
    props.created = props.modified = fixed
    props.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """Rewrite a ZIP with a fixed timestamp on every entry, so the bytes are reproducible."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(2024, 4, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def write_csv(path: Path) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(INQUIRY_ROWS)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))


def main(out: Path = OUT) -> list[Path]:
    """Write the generated files into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = [
        out / "security_policy.pdf",
        out / "expense_policy.docx",
        out / "notice_2019_cp932.txt",
        out / "server_memo_eucjp.txt",
        out / "health_check_mail_iso2022jp.txt",
        out / "inquiries.csv",
    ]
    write_pdf(written[0])
    write_docx(written[1])
    written[2].write_bytes(NOTICE_CP932.replace("\n", "\r\n").encode("cp932"))
    written[3].write_bytes(SERVER_MEMO_EUCJP.encode("euc-jp"))
    written[4].write_bytes(HEALTH_MAIL_ISO2022JP.encode("iso-2022-jp"))
    write_csv(written[5])
    return written


if __name__ == "__main__":
    for path in main():
        print(f"{path.stat().st_size:>8,}  {path.relative_to(path.parents[1])}")
