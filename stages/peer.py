"""Stage peer: the off-the-shelf reader, rapidocr's full detection + recognition pipeline on the whole frame,
reads the same test splits -> data/predictions/peer/{test,unseen}.csv and metrics/speed/peer.json. It does not
depend on model.base, so model experiments never re-run it."""

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import parse_crop, run_stage, stage_params
from zhtw_subtitles.core.io import write_metrics
from zhtw_subtitles.core.paths import PREDICTIONS, SPEED
from zhtw_subtitles.reading.peer import RapidOcrPeer
from zhtw_subtitles.reading.predictions import predict_test_splits, test_split_sizes
from zhtw_subtitles.reading.whole_frames import read_frames_one_by_one

OUT_DIR = PREDICTIONS / "peer"
SPEED_FILE = SPEED / "peer.json"


def main() -> None:
    peer = RapidOcrPeer(parse_crop(stage_params("peer")["crop"]))
    sizes = test_split_sizes()
    with atomic_dir(OUT_DIR) as staging:
        speed = predict_test_splits(
            staging, lambda frames, count: read_frames_one_by_one(peer.read, frames, peer.crop, count), sizes)
    write_metrics(SPEED_FILE, speed)


if __name__ == "__main__":
    run_stage(main)
