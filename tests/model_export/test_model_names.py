"""A model name or pretrained tag that open_clip does not know is one sentence with what it may have meant, not a
list of every model."""
from __future__ import annotations

import re

import pytest

from engine.errors import BundleError, ModelInstallError
from engine.model.backbone import build_clip, pretrained_config


def test_a_name_in_the_wrong_case_is_pointed_to_the_right_one():
    with pytest.raises(BundleError) as refused:
        build_clip("vit-b-32")
    assert str(refused.value) == "unknown open_clip model 'vit-b-32': names are case-sensitive; did you mean ViT-B-32?"


def test_a_misspelt_name_gets_the_closest_names_only():
    with pytest.raises(ModelInstallError) as refused:
        pretrained_config("ViT-B-23", "openai")
    message = str(refused.value)
    assert message.startswith("unknown open_clip model 'ViT-B-23'; the closest names are ViT-B-32, ")
    assert re.search(r"; common ones are ViT-B-32, ViT-B-16, ViT-L-14 \(all \d+: python -c 'import open_clip; "
                     r"print\(open_clip.list_models\(\)\)'\)$", message), message
    assert len(message) < 300


def test_a_tag_open_clip_does_not_publish_lists_the_tags_it_does():
    with pytest.raises(ModelInstallError, match=r"ViT-B-32 has no pretrained tag 'nothing'; known tags: openai, "):
        pretrained_config("ViT-B-32", "nothing")
    assert pretrained_config("ViT-B-32", "openai")["url"]


def test_a_model_without_published_weights_says_where_weights_can_come_from():
    build_clip("clipseek-tiny")                  # registers the project's own configurations with open_clip
    with pytest.raises(ModelInstallError, match=r"^open_clip publishes no weights for clipseek-tiny; export it from "
                                                r"weights of your own with `clipseek model export --checkpoint"):
        pretrained_config("clipseek-tiny", "openai")
