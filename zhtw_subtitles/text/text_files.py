"""Text out of local files: decoding (UTF-8 with or without BOM, UTF-16, Big5, GB18030) and named text columns."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

from zhtw_subtitles.core.config import ConfigError

AUTO = "auto"
BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
# Tried by charset-normalizer, in this order, when a file is not UTF-8: Taiwan's, Hong Kong's and the mainland's.
LEGACY_CHINESE = ["cp950", "big5hkscs", "gb18030", "utf_16"]
TABLE_SUFFIXES = (".parquet", ".jsonl", ".csv")
PARQUET_BATCH_ROWS = 65_536


def decode(raw: bytes, path: Path, encoding: str = AUTO) -> str:
    """`raw` as text; `auto` reads a BOM, then UTF-8, then lets charset-normalizer pick a legacy Chinese encoding."""
    if encoding != AUTO:
        try:
            return raw.decode(encoding).removeprefix("\ufeff")
        except LookupError:
            raise ConfigError(f"unknown encoding '{encoding}': use auto or a Python codec name such as big5 or gb18030") from None
        except UnicodeDecodeError as error:
            raise ConfigError(f"{path} is not {encoding} (bad byte at offset {error.start}): "
                              "set corpus_files.encoding to the file's encoding, or auto") from None
    for bom, codec in BOMS:
        if raw.startswith(bom):
            return raw.decode(codec).removeprefix("\ufeff")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    guess = from_bytes(raw, cp_isolation=LEGACY_CHINESE).best()
    if guess is None:
        raise ConfigError(f"cannot tell the encoding of {path}: it is neither UTF-8 nor Big5/CP950, Big5-HKSCS, "
                          "GB18030 or UTF-16; convert it to UTF-8 or set corpus_files.encoding (e.g. big5)")
    return str(guess)


def column_texts(path: Path, column: str, encoding: str = AUTO, hint: str = "") -> Iterator[str]:
    """The non-empty strings of the column (or JSON field) named `column` of a .parquet, .jsonl or .csv file.

    A file without that column is an error naming the columns it has; `hint` says how to fix it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        chunks = _parquet_chunks(path, column, hint)
    elif suffix == ".jsonl":
        chunks = [_non_empty_strings(_jsonl_field(decode(path.read_bytes(), path, encoding), path, column, hint))]
    elif suffix == ".csv":
        chunks = [_non_empty_strings(_csv_column(decode(path.read_bytes(), path, encoding), path, column, hint))]
    else:
        raise ConfigError(f"{path}: a text column can be read from {', '.join(TABLE_SUFFIXES)} files only")
    # Whole chunks, chained in C: the extractor reads a million rows in well under a second.
    return chain.from_iterable(chunks)


def _non_empty_strings(values: list) -> list[str]:
    return [value for value in values if isinstance(value, str) and value]


def _missing_column(path: Path | str, column: str, present, hint: str) -> ConfigError:
    return ConfigError(f"{path} has no column '{column}' (it has: {', '.join(map(str, present)) or 'none'}){hint}")


def _parquet_chunks(path: Path, column: str, hint: str) -> Iterator[list[str]]:
    """The non-empty strings of the column, a batch of rows at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise ConfigError(f"{path} is not a readable parquet file ({error})") from None
    names = table.schema_arrow.names
    if column not in names:
        raise _missing_column(path, column, names, hint)
    for batch in table.iter_batches(columns=[column], batch_size=PARQUET_BATCH_ROWS):
        values = batch.column(0)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            yield pc.filter(values, pc.greater(pc.utf8_length(values), 0)).to_pylist()  # nulls drop out too
        else:
            yield _non_empty_strings(values.to_pylist())


def _jsonl_field(text: str, path: Path, column: str, hint: str) -> list:
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}, line {number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict) or column not in record:
            raise _missing_column(f"{path}, line {number},", column, record if isinstance(record, dict) else (), hint)
        values.append(record[column])
    return values


def _csv_column(text: str, path: Path, column: str, hint: str) -> list:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if column not in (reader.fieldnames or ()):
        raise _missing_column(path, column, reader.fieldnames or (), hint)
    return [row[column] for row in reader]
