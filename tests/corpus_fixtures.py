"""Small files in the published layouts and columns of the study's corpora, and messy subtitle files."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ALPACA_ROWS = [
    {"instruction": "請介紹台北", "input": "", "output": "台北是台灣的首都。這裡有很多好吃的小吃，夜市非常熱鬧！"},
    {"instruction": "寫一首短詩", "input": "主題：海", "output": "1. 海浪輕輕拍打沙灘\n2. 夕陽染紅了天空"},
    {"instruction": "翻譯", "input": "Hello", "output": "你好，歡迎光臨。"},
]
DIALOGUE_ROWS = [
    {"instruction": "生成一段對話", "input": "",
     "output": "小明：你今天要去哪裡？\n小華:我要去圖書館看書。\n小明：那我們一起去吧！"},
]
DOLLY_ROWS = [
    {"instruction": "小森田智昭是什麼時候出生的？", "context": "小森田出生於1981年7月10日。",
     "response": "小森田智昭出生於熊本縣，在二零零零年加入俱樂部。"},
]
CORRECTION_RECORDS = {
    "alpha": [{"type": "typo", "correct": "我今天很開心，因為天氣很好。", "incorrect": "我今天很開新，因為天氣很好。"}],
    "beta": [{"type": "order", "correct": "他昨天去了市場買菜。", "incorrect": "他去了昨天市場買菜。"}],
    "gamma": [{"type": "typo", "correct": "請你再說一次好嗎？", "incorrect": "請你在說一次好嗎？"}],
}
PARQUET_ROWS = {"multiturn_chat": ALPACA_ROWS, "generated_chat": DIALOGUE_ROWS, "train_1m": ALPACA_ROWS,
                "dolly_15k": DOLLY_ROWS}


def write_parquet(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_hub_corpus(corpus_dir: Path, name: str) -> Path:
    """`corpus_dir/name/` as the dataset publishes it (one shard where it has several)."""
    folder = Path(corpus_dir) / name
    if name == "zhtw_error_correction":
        for split, records in CORRECTION_RECORDS.items():
            (folder / split).mkdir(parents=True, exist_ok=True)
            lines = (json.dumps(record, ensure_ascii=False) for record in records)
            (folder / split / "out.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        write_parquet(folder / "data/train-00000-of-00001-abc123.parquet", PARQUET_ROWS[name])
    return folder


SRT = """1
00:00:01,000 --> 00:00:02,500
{\\an8}<i>你聽到了嗎</i>

2
00:00:03,000 --> 00:00:04,000
小明：我們走吧
<font color="#ffff00">快一點</font>

3
00:00:05,000 --> 00:00:06,000
- 等等我
- 好啦
"""
SRT_LINES = ["你聽到了嗎", "我們走吧", "快一點", "- 等等我", "- 好啦"]

ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Noto Sans TC,48,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.00,Default,阿美,0,0,0,,{\\an8}{\\fs40}這是第一行\\N這是第二行
Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,翻譯註解不要顯示
Dialogue: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100 0 100{\\p0}
Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\\i1}明天見{\\i0}
"""
ASS_LINES = ["這是第一行", "這是第二行", "明天見"]

VTT = """WEBVTT

NOTE 這段是註解

00:00:01.000 --> 00:00:02.000 align:middle line:90%
<v 老師>大家早安</v>

00:00:03.000 --> 00:00:04.000
<c.yellow>今天</c>要考試
"""
VTT_LINES = ["大家早安", "今天要考試"]

SSA = """[Script Info]
ScriptType: v4.00

[V4 Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding
Style: Default,Arial,20,16777215,65535,65535,0,0,0,1,2,0,2,10,10,10,0,1

[Events]
Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,{\\i1}舊格式字幕{\\i0}\\N第二行
"""
SSA_LINES = ["舊格式字幕", "第二行"]
