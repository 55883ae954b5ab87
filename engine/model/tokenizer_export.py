"""Write open_clip's SimpleTokenizer as a Hugging Face ``tokenizers`` tokenizer.json.

The json holds the byte-level BPE (same vocabulary, merges and "</w>" end-of-word suffix),
open_clip's word-splitting regex, and a start/end template with truncation and zero padding
to the context length, so that ``Tokenizer.from_file(...).encode(cleaned_text).ids`` equals
open_clip's ids for cleaned text. Text cleaning (ftfy, html unescape, whitespace, lower case)
and the special-token strings typed inside a text are handled by ``engine.runtime.tokenizer``,
because the ``tokenizers`` normalisers cannot express ftfy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors

from engine.errors import BundleError
from engine.runtime.tokenizer import END_OF_TEXT, START_OF_TEXT, WORD_PATTERN
from engine.util.atomic import atomic_write_text


def build_hf_tokenizer(simple_tokenizer: Any, context_length: int) -> Tokenizer:
    _check_simple_tokenizer(simple_tokenizer)
    vocab: dict[str, int] = dict(simple_tokenizer.encoder)
    merges = [pair for pair, _ in sorted(simple_tokenizer.bpe_ranks.items(), key=lambda item: item[1])]
    tokenizer = Tokenizer(models.BPE(
        vocab=vocab, merges=merges, end_of_word_suffix="</w>", continuing_subword_prefix="",
        fuse_unk=False, unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.BPEDecoder(suffix="</w>")])
    sot, eot = simple_tokenizer.sot_token_id, simple_tokenizer.eot_token_id
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{START_OF_TEXT} $A {END_OF_TEXT}", special_tokens=[(START_OF_TEXT, sot), (END_OF_TEXT, eot)])
    # Truncating the text to L-2 tokens then adding both specials is open_clip's
    # "cut to L, force the last id to end-of-text".
    tokenizer.enable_truncation(max_length=context_length)
    tokenizer.enable_padding(length=context_length, pad_id=0, pad_token=simple_tokenizer.decoder[0])
    return tokenizer


def write_tokenizer_json(simple_tokenizer: Any, context_length: int, path: Path) -> Path:
    tokenizer = build_hf_tokenizer(simple_tokenizer, context_length)
    atomic_write_text(Path(path), tokenizer.to_str(pretty=False))
    return Path(path)


def _check_simple_tokenizer(tok: Any) -> None:
    name = type(tok).__name__
    if name != "SimpleTokenizer" or getattr(tok, "reduction_fn", None) is not None:
        raise BundleError(f"tokenizer {name} is not supported; ClipSeek bundles need open_clip's SimpleTokenizer "
                          "(the CLIP BPE used by ViT-B-32 and similar models)")
    clean = getattr(getattr(tok, "clean_fn", None), "__name__", "")
    if clean != "_clean_lower":
        raise BundleError(f"tokenizer cleaning {clean!r} is not supported; only open_clip's default 'lower'")
    for special in (START_OF_TEXT, END_OF_TEXT):
        if special not in tok.encoder:
            raise BundleError(f"tokenizer has no {special} token; it is not open_clip's CLIP BPE")
    if len(tok.all_special_ids) != 2:
        raise BundleError("tokenizers with additional special tokens are not supported")
