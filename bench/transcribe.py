"""Video seconds transcribed per wall second, decoding included, and the time-matched scores, of `transcribe` against
the way the usual tools work (the rapidocr full pipeline on the whole frame at 2 frames per second, consecutive
readings merged by fuzzy ratio), on one 720p H.264 video of at least a minute built here; then `transcribe`'s start
and end errors, in frames, on the tests' own video. Lines are found by the classical locator and, where it sees none,
by the learned line finder (models/line_finder, when built), and for comparison by the classical locator alone; the
same video is also built with yellow subtitles on a dark box, which only the learned finder sees.
Targets: >= 10x real time; >= 20x the peer's speed at half its CER or less; cue recall >= 0.97; times within a frame.
Usage: python bench/transcribe.py [--model models/recognizer] [--line-finder models/line_finder] [--seconds 65]
"""
from __future__ import annotations

import argparse
import collections
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from results import write_results

from zhtw_subtitles.core.config import build, default_params, parse_crop
from zhtw_subtitles.models.registry import is_ctc_recognizer, load_for_inference, load_line_finder
from zhtw_subtitles.reading.band import band_bounds
from zhtw_subtitles.reading.peer import RapidOcrPeer
from zhtw_subtitles.scoring.timed import timed_scores
from zhtw_subtitles.testing.subtitled_video import TEST_CUES, TimedText, write_subtitled_video
from zhtw_subtitles.video.cues import Cue
from zhtw_subtitles.video.decode import Video
from zhtw_subtitles.video.transcriber import FINDER_THREADS, VideoReading, transcribe_video

LINES = ("我們明天見", "這是一個國際學校", "好", "你說話什麼意思\n我知道但是不行", "真的嗎？", "他今天不會來了",
         "快點！我們要遲到了", "你為什麼不早點告訴我", "沒關係", "這件事情跟你沒有關係", "對", "我已經決定了",
         "請你再說一次", "我們一起去吃晚餐吧\n這裡的風景很漂亮", "不要擔心，一切都會好起來的", "你還記得我嗎", "等一下",
         "我覺得這樣不太好", "歡迎來到臺灣", "他們正在開會", "嗯", "今天的天氣怎麼樣", "謝謝你的幫忙")
YELLOW = (255, 235, 0)
PEER_FPS = 2
PEER_SIMILARITY = 80  # rapidfuzz ratio (0-100) at which two consecutive readings are one cue, as those tools merge


def bench_cues(seconds: float, rng: np.random.Generator) -> list[TimedText]:
    """Subtitles back to back or after a gap, shown 0.4 s (one or two characters) to 3 s, until `seconds`."""
    cues, now, index = [], 0.5, 0
    while True:
        text = LINES[index % len(LINES)]
        length = rng.uniform(0.4, 0.6) if len(text) <= 2 else rng.uniform(1.2, 3.0)
        if now + length > seconds - 0.5:
            return cues
        start = round(now * 1000)
        cues.append(TimedText(start, start + round(length * 1000), text))
        now += length + (0.0 if rng.random() < 0.3 else rng.uniform(0.2, 0.8))
        index += 1


def peer_transcribe(path: Path, peer: RapidOcrPeer) -> list[Cue]:
    """rapidocr on the whole frame every 1/PEER_FPS s; readings chained while similar; a cue ends at the first sample
    that no longer shows it."""
    cues: list[Cue] = []
    open_cue: tuple[float, list[str]] | None = None
    next_sample = 0.0
    with Video(path) as video:
        for timed in video.frames():
            if timed.time < next_sample:
                continue
            next_sample += 1 / PEER_FPS
            text = peer_read(peer, timed.frame.to_ndarray(format="bgr24"))
            if open_cue and (not text or fuzz.ratio(open_cue[1][-1], text) < PEER_SIMILARITY):
                cues.append(Cue(open_cue[0], timed.time, collections.Counter(open_cue[1]).most_common(1)[0][0]))
                open_cue = None
            if text:
                open_cue = (open_cue or (timed.time, []))
                open_cue[1].append(text)
        if open_cue:
            cues.append(Cue(open_cue[0], next_sample, collections.Counter(open_cue[1]).most_common(1)[0][0]))
    return cues


def peer_read(peer: RapidOcrPeer, frame: np.ndarray) -> str:
    """The peer's boxes in the band as lines, top to bottom (the boxes of one line ordered left to right)."""
    result = peer.engine(frame)
    if getattr(result, "txts", None) is None or len(result.txts) == 0:
        return ""
    x0, y0, x1, y1 = band_bounds(frame.shape[0], frame.shape[1], peer.crop)
    corners = np.asarray(result.boxes, dtype=np.float32)
    centres = corners.mean(axis=1)
    inside = [i for i, (x, y) in enumerate(centres) if x0 <= x < x1 and y0 <= y < y1]
    heights = corners[:, :, 1].max(axis=1) - corners[:, :, 1].min(axis=1)
    rows: dict[int, list[int]] = collections.defaultdict(list)
    for i in sorted(inside, key=lambda i: centres[i, 1]):
        row = next((r for r in rows if abs(centres[rows[r][0], 1] - centres[i, 1]) < heights[i] / 2), len(rows))
        rows[row].append(i)
    return "\n".join("".join(result.txts[i] for i in sorted(row, key=lambda i: corners[i, :, 0].min()))
                     for row in rows.values())


def timed(action):
    """(value, wall seconds, CPU seconds of all this process's threads) of `action()`."""
    start, cpu = time.perf_counter(), time.process_time()
    value = action()
    return value, time.perf_counter() - start, time.process_time() - cpu


def frame_errors(cues: list[Cue], truth, times: list[Fraction]) -> dict:
    """Largest start and end error in frames, against the first frame showing (or no longer showing) each cue."""
    shown = [float(t) for t in times] + [float(2 * times[-1] - times[-2])]  # the end of the last frame too

    def true_frame(milliseconds: int) -> int:
        return next(i for i, t in enumerate(shown) if t >= milliseconds / 1000 - 1e-9)

    def frame_of(seconds: float) -> int:
        return int(np.argmin([abs(t - seconds) for t in shown]))

    pairs = list(zip(cues, truth)) if [c.text for c in cues] == [t.text for t in truth] else []
    return {
        "cues_recovered": sum(c.text == t.text for c, t in zip(cues, truth)), "cues": len(truth),
        "max_start_error_frames": max((abs(frame_of(c.start) - true_frame(t.start_ms)) for c, t in pairs), default=None),
        "max_end_error_frames": max((abs(frame_of(c.end) - true_frame(t.end_ms)) for c, t in pairs), default=None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/recognizer", help="a saved model folder or a built-in base name "
                        "(falls back to ppocr_v6_small when the folder is missing)")
    parser.add_argument("--line-finder", default="models/line_finder", help="the learned line finder's folder "
                        "(the classical locator alone when it is missing)")
    parser.add_argument("--seconds", type=float, default=65.0, help="length of the 720p bench video (>= 60)")
    args = parser.parse_args()
    params = default_params()
    crop = parse_crop(params["crop"])
    reading = build(VideoReading, params["transcribe"]["reading"], "transcribe.reading")
    model_name = args.model if is_ctc_recognizer(args.model) else "ppocr_v6_small"
    model = load_for_inference(model_name)
    finder = load_line_finder(args.line_finder, FINDER_THREADS) if Path(args.line_finder).is_dir() else None
    finder_name = args.line_finder if finder else "classical"

    def transcribe(video: Path, line_finder):
        return timed(lambda: transcribe_video(video, model, crop, reading, progress=False, line_finder=line_finder))

    with tempfile.TemporaryDirectory() as scratch:
        # The tests' own video first: it also warms onnxruntime up (it plans on its first runs).
        test_video = Path(scratch) / "test.mp4"
        times = write_subtitled_video(test_video, TEST_CUES, duration_s=8.5)
        test = frame_errors(transcribe(test_video, finder)[0].cues, TEST_CUES, times)

        video, boxed = Path(scratch) / "bench.mp4", Path(scratch) / "boxed.mp4"
        truth = bench_cues(args.seconds, np.random.default_rng(0))
        scenes = (9.0, 12.0, 7.0, 15.0, 11.0, 30.0)
        write_subtitled_video(video, truth, args.seconds, size=(1280, 720), fps=30, scenes=scenes)
        write_subtitled_video(boxed, truth, args.seconds, size=(1280, 720), fps=30, scenes=scenes, style="box",
                              colour=YELLOW)
        reference = [Cue(c.start_ms / 1000, c.end_ms / 1000, c.text) for c in truth]
        ours, our_seconds, our_cpu = transcribe(video, finder)
        classical, classical_seconds, _ = transcribe(video, None)
        boxed_scores = {name: timed_scores(reference, transcribe(boxed, line_finder)[0].cues)
                        for name, line_finder in (("classical", None), (finder_name, finder))}
        peer = RapidOcrPeer(crop)
        theirs, their_seconds, their_cpu = timed(lambda: peer_transcribe(video, peer))

    our_scores, their_scores = timed_scores(reference, ours.cues), timed_scores(reference, theirs)
    classical_scores = timed_scores(reference, classical.cues)
    our_speed, their_speed = ours.seconds / our_seconds, ours.seconds / their_seconds
    classical_speed = ours.seconds / classical_seconds
    load = os.getloadavg()[0]
    print(f"video: {ours.seconds:.1f} s, 1280x720 H.264 30 fps, {len(truth)} cues; model: {model_name}; line finder: "
          f"{finder_name}; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'transcribe, classical locator':36s} {classical_speed:6.2f}x real time  CER {classical_scores['cer']:.4f}  "
          f"recall {classical_scores['cue_recall']:.3f}")
    for name, speed, scores in (("peer (rapidocr, 2 fps, fuzzy merge)", their_speed, their_scores),
                                ("transcribe", our_speed, our_scores)):
        print(f"{name:36s} {speed:6.2f}x real time  CER {scores['cer']:.4f}  recall {scores['cue_recall']:.3f}  "
              f"precision {scores['cue_precision']:.3f}  start/end error {scores['start_error_ms']:.0f}/"
              f"{scores['end_error_ms']:.0f} ms")
    half_or_less = our_scores["cer"] <= their_scores["cer"] / 2
    print(f"speed: {our_speed:.1f}x real time (target >= 10x), {our_speed / their_speed:.1f}x the peer (target >= 20x); "
          f"CPU seconds per video second: {our_cpu / ours.seconds:.3f}, the peer {their_cpu / ours.seconds:.3f}")
    print(f"CER: ours {our_scores['cer']:.4f}, the peer's {their_scores['cer']:.4f}: "
          f"{'at most half' if half_or_less else 'more than half'} of it (target: at most half); "
          f"cue recall {our_scores['cue_recall']:.3f} (target >= 0.97)")
    print(f"test video: {test['cues_recovered']}/{test['cues']} cues read right, largest start/end error "
          f"{test['max_start_error_frames']}/{test['max_end_error_frames']} frames (target <= 1)")
    for name, scores in boxed_scores.items():
        print(f"yellow on a dark box, lines found by {name}: CER {scores['cer']:.4f}, cue recall {scores['cue_recall']:.3f}")
    write_results("transcribe", {
        "video_seconds": round(ours.seconds, 2), "video": "1280x720 H.264 30 fps", "cues": len(truth),
        "model": model_name, "line_finder": finder_name, "reading": params["transcribe"]["reading"],
        "classical_locator": {"real_time_factor": round(classical_speed, 2), "scores": classical_scores},
        "yellow_on_dark_box": boxed_scores,
        "real_time_factor": round(our_speed, 2), "peer_real_time_factor": round(their_speed, 3),
        "speed_up_over_peer": round(our_speed / their_speed, 1), "scores": our_scores, "peer_scores": their_scores,
        "cpu_s_per_video_s": round(our_cpu / ours.seconds, 4), "peer_cpu_s_per_video_s": round(their_cpu / ours.seconds, 4),
        "load_average": round(load, 2), "cores": os.cpu_count(),
        "cer_at_most_half_the_peers": half_or_less, "test_video": test,
        "targets": {"real_time_factor": 10, "speed_up_over_peer": 20, "cer_at_most_half_the_peers": True,
                    "cue_recall": 0.97, "max_error_frames": 1},
    })


if __name__ == "__main__":
    main()
