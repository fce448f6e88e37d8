import numpy as np

from zhtw_subtitles.text.piece_index import BASES, PieceIndex


def cut(index: PieceIndex, pieces: list[str]) -> list[int]:
    """Ids of `pieces`, laid out in one text the way the extractor lays them out: each followed by one end."""
    text = "".join(piece + "\x1e" for piece in pieces)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    ends = np.flatnonzero(codes == 0x1E)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return index.ids(text, codes, starts, ends).tolist()


PIECES = ["你好", "", "世界", "你好", "a", "a\x00", "\x00a", "好你", "", "世界"]


def expected_ids(pieces: list[str], seen: dict[str, int]) -> list[int]:
    return [seen.setdefault(piece, len(seen)) for piece in pieces]


def test_equal_pieces_share_an_id_and_new_ones_come_in_first_seen_order():
    index, seen = PieceIndex(), {}
    assert cut(index, PIECES) == expected_ids(PIECES, seen)
    assert index.take_new() == list(seen)
    later = ["世界", "新的", "a\x00", "新的"]
    assert cut(index, later) == expected_ids(later, seen)
    assert index.take_new() == ["新的"] and index.take_new() == []


def test_pieces_that_collide_on_the_first_hash_stay_apart():
    index, seen = PieceIndex(bases=(np.uint64(1), BASES[1])), {}  # base 1: anagrams of one length collide
    pieces = ["你好", "好你", "ab", "ba", "你好", "ba"]
    assert cut(index, pieces) == expected_ids(pieces, seen)
    assert index.take_new() == ["你好", "好你", "ab", "ba"]


def test_a_longer_text_reuses_ids_across_batches():
    index, seen = PieceIndex(), {}
    for batch in (["一", "二"] * 3, ["三" * 40] + ["二", "一"] * 500):
        assert cut(index, batch) == expected_ids(batch, seen)
