"""Video in, subtitles out: a video encoded here with PyAV, subtitles burned in from a timed .srt, read back by the
`zhtw-subtitles` command and the transcribe stage with the recogniser before fine-tuning."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import cv2
import pytest

from zhtw_subtitles import cli
from zhtw_subtitles.core.config import default_params
from zhtw_subtitles.testing.dvc_repo import DvcRepo
from zhtw_subtitles.testing.subtitled_video import (
    TEST_CUES,
    TimedText,
    truncate,
    write_audio_only,
    write_srt,
    write_subtitled_video,
)
from zhtw_subtitles.video.cues import Cue, Reading, Stretch, assemble, vote
from zhtw_subtitles.video.decode import Video, band_bgr
from zhtw_subtitles.video.subtitle_file import read_cues, write_subtitles

MODEL = "ppocr_v6_small"
COMMAND = Path(sys.executable).parent / "zhtw-subtitles"


def first_frame_at(times: list[Fraction], seconds: float) -> float:
    """The presentation time of the first frame shown at or after `seconds`: where a cue truly starts or ends."""
    return float(next((t for t in times if t >= Fraction(seconds).limit_denominator(10_000)), times[-1]))


@pytest.fixture(scope="module")
def test_video(tmp_path_factory) -> tuple[Path, list[Fraction]]:
    folder = tmp_path_factory.mktemp("video")
    times = write_subtitled_video(folder / "episode.mp4", TEST_CUES, duration_s=8.5)
    write_srt(TEST_CUES, folder / "episode.srt")
    return folder / "episode.mp4", times


def transcribe(video: Path, output: Path, *options: str) -> list[Cue]:
    assert cli.main(["transcribe", str(video), "-o", str(output), "--model", MODEL, "--quiet", *options]) == 0
    return read_cues(output)


def assert_recovered(cues: list[Cue], truth: tuple[TimedText, ...], times: list[Fraction]) -> None:
    assert [cue.text for cue in cues] == [cue.text for cue in truth]
    period = max(float(b - a) for a, b in pairwise(times))
    for cue, true in zip(cues, truth):
        # Exactly the first frame showing the subtitle and the first frame after it (to the .srt's millisecond) ...
        assert cue.start == pytest.approx(first_frame_at(times, true.start_ms / 1000), abs=0.0015), true.text
        assert cue.end == pytest.approx(first_frame_at(times, true.end_ms / 1000), abs=0.0015), true.text
        # ... so within one frame of the reference times.
        assert abs(cue.start - true.start_ms / 1000) < period and abs(cue.end - true.end_ms / 1000) < period


def test_recovers_every_cue_text_and_frame(test_video, tmp_path):
    """Different lengths, a gap, a one-character cue of 0.36 s, a two-line cue, a scene cut inside a cue, and two
    cues back to back: each comes out once, with its text and lines, on its exact first and last frames."""
    video, times = test_video
    cues = transcribe(video, tmp_path / "episode.srt")
    assert_recovered(cues, TEST_CUES, times)
    assert "你說話什麼意思\n我知道但是不行" in (tmp_path / "episode.srt").read_text(encoding="utf-8")


@pytest.mark.parametrize("style", ["outline", "box", "shadow"])
def test_the_learned_finder_reads_yellow_subtitles_that_the_classical_locator_misses(trained_line_finder, tmp_path, style):
    _, root, _, _ = trained_line_finder
    video = tmp_path / f"{style}.mp4"
    times = write_subtitled_video(video, TEST_CUES, duration_s=8.5, style=style, colour=(255, 235, 0))
    classical = ["transcribe", str(video), "-o", str(tmp_path / "classical.srt"), "--model", MODEL, "--quiet"]
    assert cli.main([*classical, "--line-finder", "classical"]) == 0
    assert (tmp_path / "classical.srt").read_text().strip() == ""  # not one subtitle
    assert_recovered(transcribe(video, tmp_path / "learned.srt", "--line-finder", str(root / "finder")), TEST_CUES, times)


def test_variable_frame_rate_uses_each_frames_timestamp(tmp_path):
    cues = (TimedText(200, 1500, "我們明天見"), TimedText(1900, 3300, "謝謝你的幫忙"))
    times = write_subtitled_video(tmp_path / "vfr.mp4", cues, duration_s=3.8, fps=25, vfr=True, scenes=(2.0, 2.0))
    assert len({b - a for a, b in pairwise(times)}) == 2  # frames of 40 and 60 ms
    assert_recovered(transcribe(tmp_path / "vfr.mp4", tmp_path / "vfr.srt"), cues, times)


def test_ass_and_vtt_keep_the_two_lines(test_video, tmp_path):
    video, _ = test_video
    for suffix in ("ass", "vtt"):
        cues = transcribe(video, tmp_path / f"out.{suffix}")
        assert "你說話什麼意思\n我知道但是不行" in [cue.text for cue in cues]
    assert r"你說話什麼意思\N我知道但是不行" in (tmp_path / "out.ass").read_text(encoding="utf-8")
    assert (tmp_path / "out.vtt").read_text(encoding="utf-8").startswith("WEBVTT")


@pytest.mark.parametrize("make_input, message", [
    (lambda folder, video: (folder / "notes.mp4").write_text("not a video at all\n") and folder / "notes.mp4",
     "cannot be opened as a video"),
    (lambda folder, video: write_audio_only(folder / "sound.m4a"), "holds no video stream (only audio)"),
    (lambda folder, video: truncate(video, folder / "cut.mp4"), "cannot be opened as a video"),
])
def test_bad_video_is_a_clear_error_and_writes_nothing(test_video, tmp_path, capsys, make_input, message):
    source = make_input(tmp_path, test_video[0])
    output = tmp_path / "out" / "subtitles.srt"
    assert cli.main(["transcribe", str(source), "-o", str(output), "--model", MODEL, "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and "Traceback" not in error
    assert not output.exists() and not any(output.parent.glob("*"))


def test_video_cut_inside_its_frames_is_reported_truncated(tmp_path, capsys):
    """An MP4 whose index comes first opens fine; decoding then runs out of frames."""
    faststart = tmp_path / "faststart.mp4"
    write_subtitled_video(faststart, TEST_CUES[:1], duration_s=2.0, movflags="faststart")
    cut = truncate(faststart, tmp_path / "cut.mp4", fraction=0.6)
    output = tmp_path / "cut.srt"
    assert cli.main(["transcribe", str(cut), "-o", str(output), "--model", MODEL, "--quiet"]) == 2
    assert "the file is truncated" in capsys.readouterr().err
    assert not output.exists()


def test_unwritable_output_fails_before_reading(test_video, tmp_path, capsys):
    video, _ = test_video
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a folder should be")
    assert cli.main(["transcribe", str(video), "-o", str(blocker / "out.srt"), "--model", MODEL, "--quiet"]) == 2
    assert f"{blocker} is a file, not a folder" in capsys.readouterr().err
    assert blocker.read_text() == "a file where a folder should be"


def test_help_documents_every_option():
    for command, options in (("transcribe", ["-o", "--format", "--model", "--crop", "--whole-frame", "--prompt", "--line-finder",
                                             "--quiet", *(f"--{n.replace('_', '-')}" for n in cli.READING_DEFAULTS)]),
                             ("read", ["-o", "--model", "--crop", "--whole-frame", "--prompt", "--batch-size", "--line-finder",
                                       "--line-separator"])):
        result = subprocess.run([str(COMMAND), command, "--help"], capture_output=True, text=True, check=True)
        documented = {line.split()[0].rstrip(",") for line in result.stdout.splitlines() if line.strip().startswith("-")}
        assert set(options) <= documented | {"-o"}, result.stdout
        assert "(default:" in result.stdout


def test_command_defaults_are_the_params():
    assert cli.READING_DEFAULTS == default_params()["transcribe"]["reading"]
    assert cli.READ_BATCH_SIZE == default_params()["infer"]["batch_size"]
    assert cli.READ_MIN_CONFIDENCE == default_params()["infer"]["min_confidence"]
    assert cli.LINE_SEPARATOR == default_params()["infer"]["csv_line_separator"]
    assert cli.DEFAULT_MODEL == "models/recognizer"


def test_read_folder_of_frames_writes_submission(test_video, tmp_path):
    video, _ = test_video
    frames = tmp_path / "frames"
    frames.mkdir()
    with Video(video) as opened:
        for timed in opened.frames():
            if round(timed.time, 2) in (1.0, 3.6, 6.0):
                cv2.imwrite(str(frames / f"{timed.time:.1f}.png"), band_bgr(timed.frame, None))
    output = tmp_path / "submission.csv"
    assert cli.main(["read", str(frames), "-o", str(output), "--model", MODEL]) == 0
    # The two-line subtitle on one CSV line, its lines joined by the separator (a space by default).
    assert output.read_text(encoding="utf-8").splitlines() == [
        "id,text", "1.0,我們明天見", "3.6,這是一個國際學校", "6.0,你說話什麼意思 我知道但是不行"]
    assert cli.main(["read", str(frames), "-o", str(output), "--model", MODEL, "--line-separator", "/"]) == 0
    assert output.read_text(encoding="utf-8").splitlines()[-1] == "6.0,你說話什麼意思/我知道但是不行"


# Cue assembly, on readings made up here.

def stretch(start: float, end: float, *texts: str, confidence: float = 0.9) -> Stretch:
    return Stretch(start, bool(texts), end, [Reading(text, confidence) for text in texts])


def test_vote_is_weighted_by_confidence():
    readings = [Reading("我們明天見", 0.95), Reading("我們明夭見", 0.6), Reading("我們明夭見", 0.3)]
    assert vote(readings).text == "我們明天見"
    assert vote([Reading("好", 0.2), Reading("奵", 0.3)]).text == "奵"


def test_flicker_and_one_misread_character_merge_but_a_gap_ends_a_cue():
    cues = assemble([
        stretch(0.0, 1.0, "這是一個國際學校"),
        stretch(1.0, 1.08),  # the band flickered for two frames
        stretch(1.08, 2.0, "這是一個國際學枚"),  # one character misread
        stretch(2.0, 2.5),  # a real gap
        stretch(2.5, 2.8, "好"),  # a short one-character cue stays
        stretch(2.8, 3.2, "我們明天見"),
    ], merge_gap=0.1, min_confidence=0.5)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (0.0, 2.0, "這是一個國際學校"), (2.5, 2.8, "好"), (2.8, 3.2, "我們明天見")]


def test_unsure_and_empty_readings_are_dropped():
    cues = assemble([stretch(0, 1, "口口", confidence=0.3), stretch(1, 2, ""), stretch(2, 3, "謝謝")],
                    merge_gap=0.1, min_confidence=0.5)
    assert [c.text for c in cues] == ["謝謝"]


def test_subtitle_file_keeps_traditional_text_and_full_width_punctuation(tmp_path):
    write_subtitles([Cue(1.0, 2.5, "真的嗎？臺灣「好」"), Cue(3.0, 4.0, "第一行\n第二行")], tmp_path / "out.srt", "srt")
    assert (tmp_path / "out.srt").read_bytes().decode("utf-8") == (
        "1\n00:00:01,000 --> 00:00:02,500\n真的嗎？臺灣「好」\n\n2\n00:00:03,000 --> 00:00:04,000\n第一行\n第二行\n\n")


@pytest.mark.slow
def test_transcribe_and_score_video_stages(test_video, trained_line_finder, tmp_path):
    """The DVC stages on a copy of the repository: the video and its reference in data/videos, the recogniser
    before fine-tuning saved as models/recognizer, the tests' small line finder as models/line_finder; the
    time-matched scores land in metrics/."""
    from zhtw_subtitles.models.recognizer import pretrained_ppocr_v6_small

    video, _ = test_video
    repo = DvcRepo.create(tmp_path / "repo")
    model_dir = repo.root / "models/recognizer"
    recogniser = pretrained_ppocr_v6_small()
    recogniser.save_pretrained(model_dir)
    recogniser.export_onnx(model_dir)
    shutil.copytree(trained_line_finder[1] / "finder", repo.root / "models/line_finder")
    (repo.root / "data/videos" / video.name).write_bytes(video.read_bytes())
    (repo.root / "data/videos/episode.srt").write_bytes(video.with_suffix(".srt").read_bytes())
    repo.run("dvc", "repro", "--single-item", "transcribe")
    repo.run("dvc", "repro", "--single-item", "score_video")
    written = read_cues(repo.root / "data/subtitles/episode.srt")
    assert [cue.text for cue in written] == [cue.text for cue in TEST_CUES]
    metrics = json.loads(repo.run("dvc", "metrics", "show", "--json").stdout)
    scores = next(iter(metrics.values()))["data"]["metrics/video_scores.json"]["data"]["all"]
    assert scores["cer"] == 0.0 and scores["cue_recall"] == 1.0 and scores["cue_precision"] == 1.0
    assert scores["start_error_ms"] < 40 and scores["end_error_ms"] < 40
    speed = json.loads((repo.root / "metrics/speed/transcribe.json").read_text())
    assert speed["videos"] == 1 and speed["video_seconds"] == pytest.approx(8.52, abs=0.05)
