"""Stage extract_sentences: corpus -> data/sentences/{train,test}.txt and metrics/sentences.json."""
from pathlib import Path

from zhtw_subtitles.core.atomic import atomic_dir
from zhtw_subtitles.core.config import ConfigError, build, run_stage, stage_params
from zhtw_subtitles.core.io import write_lines, write_metrics
from zhtw_subtitles.core.paths import SENTENCES
from zhtw_subtitles.text.corpora import CorpusSettings, open_corpus
from zhtw_subtitles.text.extraction import extract_lines
from zhtw_subtitles.text.sentences import SentenceConfig, split_train_test

METRICS = Path("metrics/sentences.json")


def main() -> None:
    params = stage_params("extract_sentences")
    config = build(SentenceConfig, params["sentences"], "sentences")
    corpus = params["corpus"]
    sources = open_corpus(corpus, CorpusSettings.from_params(params))
    lines, counts = extract_lines(sources, config, params["seed"])
    train, test = split_train_test(lines, config.test_fraction, params["seed"])
    if not train or not test:
        raise ConfigError(
            f"corpus '{corpus}' gave {len(lines)} usable line(s), too few for a train and a test set: "
            "use a larger corpus or relax sentences.min_len / max_len"
        )
    with atomic_dir(SENTENCES) as staging:
        write_lines(staging / "train.txt", train)
        write_lines(staging / "test.txt", test)
    characters = {c for line in lines for c in line}
    write_metrics(METRICS, {
        "corpus": corpus,
        **counts,
        "train_lines": len(train),
        "test_lines": len(test),
        "characters": sum(map(len, lines)),
        "distinct_characters": len(characters),
    })
    print(f"{corpus}: {len(train)} train and {len(test)} test lines, {len(characters)} distinct characters")


if __name__ == "__main__":
    run_stage(main)
