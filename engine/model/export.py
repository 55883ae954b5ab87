"""Turn an ExportableModel (plain CLIP or the five-method stack) into a model bundle folder.

The bundle is assembled in a hidden sibling folder and moved into place only when complete,
with bundle.json written last, so an interrupted export never leaves a half bundle behind.
Each graph is checked against torch on example inputs before the bundle is accepted.
"""
from __future__ import annotations

import dataclasses

import json
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from engine import __version__
from engine.errors import BundleError
from engine.model.backbone import load_backbone
from engine.model.exportable import ExportableModel, ExportSpec
from engine.model.patch_matmul import patch_convs_as_matmuls
from engine.model.plain import PlainClipModel
from engine.model.tokenizer_export import write_tokenizer_json
from engine.model.traceable_attention import traceable_attention
from engine.runtime.bundle import (BUNDLE_JSON, BUNDLE_VERSION, CAPTION_FILES, DEFAULT_FILES, GRAPH_IO,
                                   TEXT_LENGTH_AXIS, BundleInfo, GraphSpec, TensorSpec, compute_fingerprint,
                                   is_bundle_name, write_bundle_json)
from engine.runtime.sessions import ORT_DTYPES
from engine.util.atomic import atomic_write_text

OPSET = 17
FP32_TOLERANCE = 1e-3     # export self-check; the tests hold fp32 graphs to 1e-4
INT8_MIN_COSINE = 0.99    # export self-check for quantized graphs
INT8_GRAPHS = ("frame_encoder", "text_encoder")  # the big ones; clip encoder and reranker stay fp32
TINY_CONFIG = "clipseek-tiny"
EXAMPLE_TEXTS = ["a dog runs on the beach", "two people are talking in a kitchen at night"]


@dataclass
class GraphExample:
    """A graph module with example inputs and the dynamic axis of each input and output."""
    module: nn.Module
    inputs: tuple[torch.Tensor, ...]
    dynamic: dict[str, dict[int, str]]


def export_bundle(model_name: str, out_dir: Path | str, pretrained: str | None = None,
                  checkpoint: Path | str | None = None, random_weights: bool = False, int8: bool = False,
                  frames_per_clip: int = 12, name: str | None = None, pretrained_file: Path | None = None) -> Path:
    """Export the plain CLIP model of an open_clip architecture into the bundle folder ``out_dir``.

    The default name says what went in: "ViT-B-32-laion2b_s34b_b79k", "clipseek-tiny-random",
    "ViT-B-32-<checkpoint stem>", with "-int8" appended for int8 graphs.
    """
    if name is None:
        weights = pretrained or (Path(checkpoint).stem if checkpoint else "random")
        name = re.sub(r"[^A-Za-z0-9._+-]", "-", f"{model_name}-{weights}") + ("-int8" if int8 else "")
    source = load_backbone(model_name, pretrained=pretrained, checkpoint=Path(checkpoint) if checkpoint else None,
                           random_weights=random_weights, pretrained_file=pretrained_file)
    return export_model(PlainClipModel(source, frames_per_clip=frames_per_clip, name=name), out_dir, int8=int8)


def export_tiny_bundle(out_dir: Path | str, frames_per_clip: int = 4) -> Path:
    """A few-second, deterministic bundle (tiny config, random weights, seed 0) for tests."""
    with torch.random.fork_rng(devices=[]):  # seed 0 without disturbing the caller's random state
        torch.manual_seed(0)
        return export_bundle(TINY_CONFIG, out_dir, random_weights=True, frames_per_clip=frames_per_clip,
                             name="clipseek-tiny-random")


def export_model(model: ExportableModel, out_dir: Path | str, int8: bool = False, check: bool = True,
                 extra_config: dict | None = None) -> Path:
    """Export ``model`` into the bundle folder ``out_dir``; ``extra_config`` joins bundle.json's config."""
    out_dir = Path(out_dir)
    _check_destination(out_dir)
    spec = model.export_spec()
    if extra_config:
        spec = dataclasses.replace(spec, config={**spec.config, **extra_config})
    if not is_bundle_name(spec.name):
        raise BundleError(f"bundle name {spec.name!r} must be letters, digits and . _ + - (it names a folder)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        files = dict(DEFAULT_FILES)
        examples = graph_examples(model, spec)
        graphs: dict[str, GraphSpec] = {}
        for graph, example in examples.items():
            path = work / files[graph]
            export_graph(example, GRAPH_IO[graph], path)
            if int8 and graph in INT8_GRAPHS:
                quantize_int8(path)
            graphs[graph] = graph_spec(path, graph, spec)
            if check:
                check_graph(path, example, GRAPH_IO[graph], int8=int8 and graph in INT8_GRAPHS)
        if check and spec.variable_text_length:
            check_short_texts(work / files["text_encoder"], work / files["reranker"], examples,
                              int8=int8 and "text_encoder" in INT8_GRAPHS)
        write_tokenizer_json(model.tokenizer_model(), spec.context_length, work / files["tokenizer"])
        bank = model.caption_bank()
        if bank is not None:
            files.update(CAPTION_FILES)
            write_caption_bank(work, bank, spec.embed_dim)
        info = BundleInfo(
            name=spec.name, version=BUNDLE_VERSION, backbone=spec.backbone, embed_dim=spec.embed_dim,
            frames_per_clip=spec.frames_per_clip, clip_tokens=spec.clip_tokens, phrase_tokens=spec.phrase_tokens,
            image_size=spec.image_size, context_length=spec.context_length,
            mean=tuple(float(v) for v in spec.mean), std=tuple(float(v) for v in spec.std),  # type: ignore[arg-type]
            precision="int8" if int8 else "fp32", fingerprint=compute_fingerprint(work, files), files=files,
            graphs=graphs, config=json.loads(json.dumps(spec.config)), created_by=f"clipseek {__version__}",
            resize=spec.resize)
        write_bundle_json(work, info)
        _make_readable(work)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir


def graph_examples(model: ExportableModel, spec: ExportSpec) -> dict[str, GraphExample]:
    """Example inputs for tracing; batch sizes differ per graph so that no axis is mistaken for another."""
    generator = torch.Generator().manual_seed(0)
    s, t, d = spec.image_size, spec.frames_per_clip, spec.embed_dim
    pixels = torch.randn(2, 3, s, s, generator=generator)
    frames = _unit(torch.randn(3, t, d, generator=generator))
    frame_mask = torch.ones(3, t)
    frame_mask[1, t // 2:] = 0
    token_ids = torch.as_tensor(np.asarray(model.tokenizer_model()(EXAMPLE_TEXTS, context_length=spec.context_length)),
                                dtype=torch.int64)
    text_encoder, clip_encoder = model.text_encoder(), model.clip_encoder()
    with torch.no_grad():
        text_vector, word_tokens, phrase_tokens, word_mask = text_encoder(token_ids[:1])
        _, clip_tokens, frame_tokens = clip_encoder(frames, frame_mask)
    n = {0: "N"}
    words = {1: TEXT_LENGTH_AXIS} if spec.variable_text_length else {}
    text_axes = {name: n for name in (*GRAPH_IO["text_encoder"][0], *GRAPH_IO["text_encoder"][1])}
    for name in ("token_ids", "word_tokens", "word_mask"):
        text_axes[name] = {**n, **words}
    rerank_axes = {"clip_tokens": n, "frame_tokens": n, "frame_mask": n, "scores": n}
    if words:
        rerank_axes.update(word_tokens=words, word_mask=words)
    return {
        "frame_encoder": GraphExample(model.frame_encoder(), (pixels,),
                                      {"pixels": n, "frame_features": n}),
        "clip_encoder": GraphExample(clip_encoder, (frames, frame_mask),
                                     {name: {0: "B"} for name in (*GRAPH_IO["clip_encoder"][0],
                                                                  *GRAPH_IO["clip_encoder"][1])}),
        "text_encoder": GraphExample(text_encoder, (token_ids,), text_axes),
        "reranker": GraphExample(model.reranker(),
                                 (text_vector, word_tokens, phrase_tokens, word_mask, clip_tokens, frame_tokens,
                                  frame_mask), rerank_axes),
    }


def export_graph(example: GraphExample, names: tuple[tuple[str, ...], tuple[str, ...]], path: Path) -> None:
    """TorchScript-based exporter: quick and exact for these transformer graphs, opset 17.

    Self-attention and patch embeddings are traced in the forms of traceable_attention and patch_matmul:
    the same arithmetic in fewer nodes, and a patch embedding that int8 export quantizes (ViT-B-32's int8
    frame encoder 28.3 -> 26.0 ms a frame on one core; 27.5 with attention's form alone).
    """
    module = example.module.eval()
    # nn.MultiheadAttention's inference fast path is one fused op that has no ONNX form.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), warnings.catch_warnings(), traceable_attention(module), \
                patch_convs_as_matmuls(module):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, example.inputs, str(path), input_names=list(names[0]),
                              output_names=list(names[1]), dynamic_axes=example.dynamic, opset_version=OPSET,
                              dynamo=False, do_constant_folding=True)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    _restore_unused_inputs(path, example, names[0])
    _merge_duplicate_constants(path)


MERGE_MIN_ELEMENTS = 256   # smaller constants (shapes, scalars) are not worth comparing


def _merge_duplicate_constants(path: Path) -> None:
    """The TorchScript exporter writes a buffer once per use (the caption bank: once for its cosines, once
    for gathering neighbours); keep one copy of each large constant and point every use at it."""
    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in graph.node for a in n.attribute):
        return  # renaming inside subgraphs is not needed by these graphs; leave such a graph as it is
    first: dict[tuple, str] = {}
    rename: dict[str, str] = {}

    def seen(tensor: onnx.TensorProto, name: str) -> bool:
        values = numpy_helper.to_array(tensor)
        if values.size < MERGE_MIN_ELEMENTS:
            return False
        key = (tensor.data_type, tuple(tensor.dims), values.tobytes())
        if key in first:
            rename[name] = first[key]
            return True
        first[key] = name
        return False

    initializers = [t for t in graph.initializer if not seen(t, t.name)]
    nodes = [n for n in graph.node
             if not (n.op_type == "Constant" and len(n.attribute) == 1 and n.attribute[0].name == "value"
                     and seen(n.attribute[0].t, n.output[0]))]
    if not rename or any(output.name in rename for output in graph.output):
        return  # nothing to merge, or a graph output that is a duplicated constant (no graph here has one)
    for node in nodes:
        for i, name in enumerate(node.input):
            node.input[i] = rename.get(name, name)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(graph_model, str(path))


def _restore_unused_inputs(path: Path, example: GraphExample, input_names: tuple[str, ...]) -> None:
    """The exporter drops inputs a graph ignores (the plain reranker reads no phrase tokens), but the
    input names are a contract: put them back, in contract order."""
    graph_model = onnx.load(str(path))
    present = {i.name: i for i in graph_model.graph.input}
    if all(name in present for name in input_names):
        return
    inputs = []
    for name, tensor in zip(input_names, example.inputs):
        if name in present:
            inputs.append(present[name])
            continue
        dims = [example.dynamic.get(name, {}).get(axis, size) for axis, size in enumerate(tensor.shape)]
        elem_type = onnx.helper.np_dtype_to_tensor_dtype(tensor.numpy().dtype)
        inputs.append(onnx.helper.make_tensor_value_info(name, elem_type, dims))
    del graph_model.graph.input[:]
    graph_model.graph.input.extend(inputs)
    onnx.save(graph_model, str(path))


def quantize_int8(path: Path) -> None:
    """Weights of MatMul/Gemm to 8 bits (dynamic quantization); activations stay float.

    Unsigned weights (u8 x u8): on x86 CPUs without VNNI (AVX2, AVX-512 before VNNI) the u8 x s8
    kernel sums in saturating 16-bit pairs, and a text vector drifted to cosine 0.98 of fp32 there;
    7-bit signed weights (reduce_range) avoid that but lose precision (0.998). A bundle runs on
    whatever CPU the user has, so it takes the kernel that never saturates.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = path.with_name(path.stem + ".int8.onnx")
    quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QUInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gemm"])
    quantized.replace(path)


def graph_spec(path: Path, graph: str, spec: ExportSpec) -> GraphSpec:
    """Names and dtypes as onnxruntime reads them; shapes from the contract (N/B dynamic, the rest fixed)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    s, t, k, p, d = spec.image_size, spec.frames_per_clip, spec.clip_tokens, spec.phrase_tokens, spec.embed_dim
    length: int | str = TEXT_LENGTH_AXIS if spec.variable_text_length else spec.context_length
    shapes: dict[str, tuple[int | str, ...]] = {
        "frame_encoder.pixels": ("N", 3, s, s), "frame_encoder.frame_features": ("N", d),
        "clip_encoder.frame_features": ("B", t, d), "clip_encoder.frame_mask": ("B", t),
        "clip_encoder.clip_vector": ("B", d), "clip_encoder.clip_tokens": ("B", k, d),
        "clip_encoder.frame_tokens": ("B", t, d),
        "text_encoder.token_ids": ("N", length), "text_encoder.text_vector": ("N", d),
        "text_encoder.word_tokens": ("N", length, d), "text_encoder.phrase_tokens": ("N", p, d),
        "text_encoder.word_mask": ("N", length),
        "reranker.text_vector": (1, d), "reranker.word_tokens": (1, length, d), "reranker.phrase_tokens": (1, p, d),
        "reranker.word_mask": (1, length), "reranker.clip_tokens": ("N", k, d), "reranker.frame_tokens": ("N", t, d),
        "reranker.frame_mask": ("N", t), "reranker.scores": ("N",),
    }

    def tensors(args: list[Any]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(a.name, ORT_DTYPES.get(a.type, a.type), shapes[f"{graph}.{a.name}"]) for a in args)

    got = ([a.name for a in session.get_inputs()], [a.name for a in session.get_outputs()])
    if got != tuple(list(names) for names in GRAPH_IO[graph]):
        raise BundleError(f"{graph}: the module's graph has inputs {got[0]} and outputs {got[1]}, but the bundle "
                          f"contract is {list(GRAPH_IO[graph][0])} -> {list(GRAPH_IO[graph][1])}; fix its forward()")
    return GraphSpec(inputs=tensors(session.get_inputs()), outputs=tensors(session.get_outputs()))


def check_graph(path: Path, example: GraphExample, names: tuple[tuple[str, ...], tuple[str, ...]],
                int8: bool = False) -> None:
    """onnxruntime must reproduce torch on the example inputs (also at another batch size)."""
    inputs = _grown_batch(example, names[0])
    with torch.no_grad():
        expected = example.module(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(list(names[1]), {name: x.numpy() for name, x in zip(names[0], inputs)})
    for name, want, have in zip(names[1], expected, got):
        want = want.float().numpy()
        have = np.asarray(have, dtype=np.float32)
        if want.shape != have.shape:
            raise BundleError(f"{path.name}: output {name} has shape {have.shape} in ONNX, {want.shape} in torch")
        if int8:
            cosine = _min_cosine(want, have)
            if cosine < INT8_MIN_COSINE:
                raise BundleError(f"{path.name}: int8 output {name} drifts from fp32 (cosine {cosine:.4f}); "
                                  "export without --int8")
        elif np.abs(want - have).max(initial=0.0) > FP32_TOLERANCE:
            raise BundleError(f"{path.name}: output {name} differs from torch by {np.abs(want - have).max():.2e}; "
                              "this model does not export faithfully with opset "
                              f"{OPSET}")


QUANTIZED_TEXT_OUTPUTS = ("text_vector", "phrase_tokens", "word_tokens")  # the mask and scores stay exact


def check_short_texts(text_path: Path, reranker_path: Path, examples: dict[str, GraphExample], int8: bool) -> None:
    """A variable text length must change nothing: token ids cut after the longest end-of-text give
    the full-context vectors, word tokens (on the real positions), phrase tokens and rerank scores."""
    text, rerank = examples["text_encoder"], examples["reranker"]
    token_ids = text.inputs[0]
    with torch.no_grad():
        want_text = [x.float().numpy() for x in text.module(token_ids)]
    mask = want_text[3]
    width = int(mask.sum(axis=1).max())
    session = ort.InferenceSession(str(text_path), providers=["CPUExecutionProvider"])
    got_text = session.run(list(GRAPH_IO["text_encoder"][1]), {"token_ids": token_ids[:, :width].numpy()})
    pairs = [("text_vector", want_text[0], got_text[0]), ("phrase_tokens", want_text[2], got_text[2]),
             ("word_tokens", want_text[1][:, :width] * mask[:, :width, None], got_text[1] * mask[:, :width, None]),
             ("word_mask", mask[:, :width], got_text[3])]
    # The reranker, fed the first text cut to its own length, against the example (full context).
    row = int(mask[0].sum())
    with torch.no_grad():
        want_scores = rerank.module(*rerank.inputs).float().numpy()
    cut = [x.numpy() for x in rerank.inputs]
    cut[1], cut[3] = cut[1][:, :row], cut[3][:, :row]
    session = ort.InferenceSession(str(reranker_path), providers=["CPUExecutionProvider"])
    got_scores = session.run(["scores"], dict(zip(GRAPH_IO["reranker"][0], cut)))[0]
    pairs.append(("scores", want_scores, got_scores))
    for name, want, have in pairs:
        have = np.asarray(have, dtype=np.float32)
        drift = (want.shape != have.shape or
                 (_min_cosine(want, have) < INT8_MIN_COSINE if int8 and name in QUANTIZED_TEXT_OUTPUTS
                  else np.abs(want - have).max(initial=0.0) > FP32_TOLERANCE))
        if drift:
            raise BundleError(f"{text_path.name}: {name} of texts cut to their own length differs from the full "
                              "context; the model's text encoder must be causal and mask its padding "
                              "(ExportSpec.variable_text_length)")


def write_caption_bank(bundle_dir: Path, bank: tuple[np.ndarray, list[str]], embed_dim: int) -> None:
    embeddings, captions = bank
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or embeddings.shape[1] != embed_dim or len(captions) != embeddings.shape[0]:
        raise BundleError(f"caption bank must be [M,{embed_dim}] with M captions; got {embeddings.shape} "
                          f"and {len(captions)} captions")
    np.save(bundle_dir / CAPTION_FILES["caption_bank"], embeddings, allow_pickle=False)
    atomic_write_text(bundle_dir / CAPTION_FILES["captions"], json.dumps(list(captions), ensure_ascii=False))


def _make_readable(folder: Path) -> None:
    """mkdtemp and the atomic writes create owner-only modes; a bundle is ordinary shared data."""
    folder.chmod(0o755)
    for file in folder.iterdir():
        file.chmod(0o644)


def _check_destination(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / BUNDLE_JSON).exists())):
        raise BundleError(f"{out_dir} exists and is not a bundle folder; choose an empty or new --out folder")


def _grown_batch(example: GraphExample, names: tuple[str, ...]) -> list[torch.Tensor]:
    """The example inputs with one more row on every dynamic batch axis (checks the axis really is dynamic)."""
    return [torch.cat([x, x[:1]]) if 0 in example.dynamic.get(name, {}) else x
            for x, name in zip(example.inputs, names)]


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True)


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(1, -1)
    b = b.reshape(b.shape[0], -1) if b.ndim > 1 else b.reshape(1, -1)
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.min(num / np.maximum(den, 1e-12)))
