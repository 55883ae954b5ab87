"""tokenizer.json + the runtime's cleaning give exactly open_clip's token ids."""
from __future__ import annotations

import random

import numpy as np
import open_clip
import pytest
from tokenizers import Tokenizer as HFTokenizer

from engine.errors import BundleError
from engine.model.tokenizer_export import write_tokenizer_json
from engine.runtime.tokenizer import Tokenizer, clean_text

PIECES = [
    "a dog runs", "The Cat's toy", "naïve café", "crème brûlée", "Ünïcödé", "日本語のテキスト", "中文字符串",
    "한국어 문장", "🙂🐶🎉", "👨‍👩‍👧", "🏳️‍🌈", "&amp; &lt;b&gt;", "&amp;amp;", "&#39;quoted&#39;", "&nbsp;x",
    "  \t\n spaces   ", "don't", "I'LL WE'VE", "it's'", "12345", "3.14159", "e=mc²", "½ ⅓ Ⅻ", "ﬁ ligature",
    "İstanbul", "straße", "\u200b", "\u00a0nbsp", "mojibake Ã©tÃ©", "—–-", "…", "Ωmega", "٣٤٥", "क्षत्रिय",
    "עברית", "العربية", "\x00\x01", "\u2028line", "a_b-c", "#hashtag @user", "http://x.com/a?b=c&d=e",
    "'s't're've'm'll'd", "ＦＵＬＬＷＩＤＴＨ", "\U0001F600" * 30, "word " * 60, "<start_of_text>",
    "x<end_of_text>y", "<<start_of_text>", "!<end_of_text>", "<end_of_text><end_of_text>", "<END_OF_TEXT>",
    "2<end_of_text>", "$100,000.00", "C++ & C#", "(parens) [brackets] {braces}", "tab\tsep", "ÅÄÖ", "ŉ ǅ",
]


def generated_texts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    blocks = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x3040, 0x30FF), (0x4E00, 0x4FFF),
              (0xAC00, 0xAD00), (0x1F300, 0x1F64F), (0x2000, 0x206F), (0x0600, 0x06FF)]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.6:
                parts.append(rng.choice(PIECES))
            else:
                lo, hi = rng.choice(blocks)
                parts.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 12))))
        texts.append(rng.choice(["", " ", "  "]).join(parts))
    return texts


@pytest.fixture(scope="module")
def simple_tokenizer():
    return open_clip.get_tokenizer("ViT-B-32")


@pytest.fixture(scope="module")
def tokenizer_json(simple_tokenizer, tmp_path_factory):
    return write_tokenizer_json(simple_tokenizer, 77, tmp_path_factory.mktemp("tok") / "tokenizer.json")


@pytest.mark.parametrize("context_length", [77, 16])
def test_ids_equal_open_clip_on_1200_generated_strings(simple_tokenizer, tokenizer_json, context_length):
    texts = generated_texts(1200)
    ours = Tokenizer(tokenizer_json, context_length).encode(texts)
    theirs = simple_tokenizer(texts, context_length=context_length).numpy()
    assert ours.dtype == np.int64 and ours.shape == (1200, context_length)
    mismatched = [texts[i] for i in range(len(texts)) if not np.array_equal(ours[i], theirs[i])]
    assert mismatched == []
    truncated = (theirs[:, -1] == simple_tokenizer.eot_token_id).sum()
    assert truncated > 20, "the generator must produce texts longer than the context"


def test_json_alone_reproduces_ids_of_cleaned_text(simple_tokenizer, tokenizer_json):
    hf = HFTokenizer.from_file(str(tokenizer_json))
    texts = [t for t in generated_texts(300, seed=1) if "_of_text>" not in clean_text(t)]
    got = np.array([e.ids for e in hf.encode_batch([clean_text(t) for t in texts])])
    assert np.array_equal(got, simple_tokenizer(texts, context_length=77).numpy())


def test_special_token_strings_inside_text(simple_tokenizer, tokenizer_json):
    texts = ["<end_of_text>", "a<end_of_text>b", "!<end_of_text>", "<<start_of_text>>", "x_<start_of_text>",
             "<end_of_text><start_of_text>!", "é<end_of_text>", "7<start_of_text>"]
    ours = Tokenizer(tokenizer_json, 77).encode(texts)
    assert np.array_equal(ours, simple_tokenizer(texts, context_length=77).numpy())


def test_empty_text_is_start_and_end(tokenizer_json, simple_tokenizer):
    ids = Tokenizer(tokenizer_json, 8).encode(["", "   "])
    assert ids.tolist() == [[simple_tokenizer.sot_token_id, simple_tokenizer.eot_token_id] + [0] * 6] * 2


def test_other_tokenizers_are_refused(tmp_path):
    class HFTokenizerLike:
        pass

    with pytest.raises(BundleError, match="not supported"):
        write_tokenizer_json(HFTokenizerLike(), 77, tmp_path / "tokenizer.json")
