"""The broadcast styles of issue 11, measured on rendered pixels, and the promise that params.yaml's defaults still
draw exactly the frames the pipeline drew before the styles existed."""
from __future__ import annotations

import hashlib

from zhtw_subtitles.core.config import default_config
from zhtw_subtitles.synth.backgrounds import find_backgrounds
from zhtw_subtitles.synth.fonts import embedded_fonts
from zhtw_subtitles.synth.render import RenderConfig
from zhtw_subtitles.synth.render_split import render_split

SENTENCES = ["我知道", "但是不行", "這是一個國際學校", "你說這話是什麼意思", "明天見", "他們今天晚上不會回來吃飯了"]
# sha256 of the shards and manifests that the renderer of commit a54ab49 (before the styles) wrote for these
# sentences with params.yaml's render defaults (20 frames per split, shards of 8, seed 11). The 40 frames span
# all four frame tiers, shadows, rescaling and blur. Pillow, OpenCV and libjpeg are pinned by requirements.lock.
FRAMES_BEFORE_STYLES = {
    "train": {
        "manifest.csv": "4a2a57b0b1b678b5994c33913b8e8ed8914eea2979ce33544d0c063c58e79b2f",
        "shard-00000.tar": "df7453fee80fa6541e35da09c83e0b31f0d4ff94b5e25d49d79ead62a1ae4e78",
        "shard-00001.tar": "4713cd701784417744cbd9291ad31940b59123c426162daf4b90283013fe8cdc",
        "shard-00002.tar": "7c058142586e051346fed6c60f53ae04381033f602567d0b07caea3914b5d55d",
    },
    "test": {
        "manifest.csv": "1e0735325f4dc23608915c1414f2f7694311160984f508dde4407751953ef875",
        "shard-00000.tar": "27619a5852fd16b485c1abc24e66907f30645fc549871f7dfa55f69cc9725291",
        "shard-00001.tar": "3d78c2afce0dc57ea611fceaf967684716756d7eb992d78982594495da77b730",
        "shard-00002.tar": "74b1f282e14717f829438b35858c459d68d492cdec18f8e21dbe1cca4adeb9f7",
    },
}


def test_default_params_draw_the_same_bytes_as_before_the_styles(tmp_path):
    faces = list(embedded_fonts().values())
    backgrounds, _ = find_backgrounds(True, None)
    config = default_config(RenderConfig, "render", workers=1, shard_size=8)
    for split, expected in FRAMES_BEFORE_STYLES.items():
        out = tmp_path / split
        out.mkdir()
        render_split(split, SENTENCES, 20, faces, backgrounds, config, 11, out)
        assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())} == expected
