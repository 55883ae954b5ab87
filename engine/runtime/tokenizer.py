"""Text -> token ids [N,L] int64, exactly as open_clip's SimpleTokenizer, without torch.

open_clip cleans a text (ftfy.fix_text, html.unescape twice, strip, collapse whitespace,
lower case), splits it with WORD_PATTERN, byte-level BPEs each piece, then writes
[start] + ids + [end] cut to L (the last id forced to end-of-text) and zero padded.
The cleaning runs here in Python; the BPE runs in ``tokenizers`` from the bundle's
tokenizer.json. A special-token string typed inside a text ("<end_of_text>") is one token
for open_clip only where its regex reaches it; ``_split_specials`` finds those places.
"""
from __future__ import annotations

import html
import unicodedata
from pathlib import Path

import ftfy
import numpy as np
from tokenizers import Tokenizer as HFTokenizer

from engine.errors import BundleError

START_OF_TEXT = "<start_of_text>"
END_OF_TEXT = "<end_of_text>"
# open_clip's pattern minus its leading "<start_of_text>|<end_of_text>|" alternatives.
WORD_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def clean_text(text: str) -> str:
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).strip().lower()


class Tokenizer:
    def __init__(self, tokenizer_json: Path, context_length: int):
        try:
            self._hf = HFTokenizer.from_file(str(tokenizer_json))
        except Exception as exc:  # tokenizers raises its own Exception type for bad json
            raise BundleError(f"{tokenizer_json}: unreadable tokenizer ({exc}); re-export the bundle") from exc
        self._hf.no_padding()
        self._hf.no_truncation()
        self.context_length = context_length
        self.sot_id = self._special_id(START_OF_TEXT, tokenizer_json)
        self.eot_id = self._special_id(END_OF_TEXT, tokenizer_json)

    @classmethod
    def from_bundle(cls, bundle_dir: Path) -> "Tokenizer":
        from engine.runtime.bundle import open_bundle

        info = open_bundle(bundle_dir)
        return cls(Path(bundle_dir) / info.files["tokenizer"], info.context_length)

    def encode(self, texts: list[str] | str, pad_to_longest: bool = False) -> np.ndarray:
        """-> int64 [N, L], L the context length, or with ``pad_to_longest`` the longest row's length
        (start and end of text included; never more than the context length)."""
        if isinstance(texts, str):
            texts = [texts]
        rows = []
        for tokens in self._bpe_ids([clean_text(t) for t in texts]):
            tokens = [self.sot_id, *tokens, self.eot_id]
            if len(tokens) > self.context_length:
                tokens = tokens[:self.context_length]
                tokens[-1] = self.eot_id
            rows.append(tokens)
        width = max((len(r) for r in rows), default=0) if pad_to_longest else self.context_length
        ids = np.zeros((len(texts), width), dtype=np.int64)
        for row, tokens in enumerate(rows):
            ids[row, :len(tokens)] = tokens
        return ids

    def _bpe_ids(self, cleaned: list[str]) -> list[list[int]]:
        plain = [i for i, text in enumerate(cleaned) if START_OF_TEXT not in text and END_OF_TEXT not in text]
        out: list[list[int]] = [[] for _ in cleaned]
        for i, encoding in zip(plain, self._hf.encode_batch([cleaned[i] for i in plain], add_special_tokens=False)):
            out[i] = list(encoding.ids)
        for i in set(range(len(cleaned))) - set(plain):
            for piece in _split_specials(cleaned[i]):
                if piece == START_OF_TEXT:
                    out[i].append(self.sot_id)
                elif piece == END_OF_TEXT:
                    out[i].append(self.eot_id)
                elif piece:
                    out[i].extend(self._hf.encode(piece, add_special_tokens=False).ids)
        return out

    def _special_id(self, token: str, path: Path) -> int:
        token_id = self._hf.token_to_id(token)
        if token_id is None:
            raise BundleError(f"{path}: no {token} token; this is not a CLIP tokenizer, re-export the bundle")
        return token_id


def _split_specials(text: str) -> list[str]:
    """Cut ``text`` around the special-token strings that open_clip's regex would match.

    Its regex tries the specials first at each place a match starts. A match starts at the
    text's start, after whitespace, after a letter or digit (those runs stop at "<"), or right
    after a previous special; after other punctuation the punctuation run swallows the "<".
    """
    pieces: list[str] = []
    start = 0
    i = 0
    while i < len(text):
        special = next((s for s in (START_OF_TEXT, END_OF_TEXT) if text.startswith(s, i)), None)
        if special and (i == start or _match_starts_after(text[i - 1])):
            pieces += [text[start:i], special]
            i += len(special)
            start = i
            continue
        i += 1
    pieces.append(text[start:])
    return pieces


def _match_starts_after(before: str) -> bool:
    return before.isspace() or unicodedata.category(before)[0] in ("L", "N")
