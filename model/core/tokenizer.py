"""The scorer's tokenizer: the model directory's tokenizer.json, read with the `tokenizers` library.

transformers' fast tokenizers wrap this very library and file; reading it directly gives the same
ids and offsets (a test holds them equal) without importing transformers at scoring time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence


class ScoringTokenizer:
    """Ids, offsets and word indices of sentences, truncated at a maximum length (special tokens included)."""

    def __init__(self, directory: Path | str) -> None:
        from tokenizers import Tokenizer

        d = Path(directory)
        self._tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        self._tok.no_padding()
        self._window: tuple[int, int] | None = None
        pad = "[PAD]"
        cfg = d / "tokenizer_config.json"
        if cfg.is_file():
            got = json.loads(cfg.read_text(encoding="utf-8")).get("pad_token", pad)
            pad = got.get("content", pad) if isinstance(got, dict) else got
        pad_id = self._tok.token_to_id(pad)
        if pad_id is None:
            raise ValueError(f"{d / 'tokenizer.json'}: the padding token {pad!r} is not in the vocabulary")
        self.pad_token_id: int = pad_id

    def __len__(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode(self, texts: Sequence[str], max_length: int, stride: int = 0) -> list[Any]:
        """`tokenizers.Encoding` per text: `.ids`, `.offsets`, `.word_ids`, and `.overflowing` when cut (the
        further windows, each sharing `stride` tokens with the one before)."""
        if self._window != (max_length, stride):
            self._tok.enable_truncation(max_length, stride=stride)
            self._window = (max_length, stride)
        return self._tok.encode_batch(list(texts))
