"""Frame layout: saliency maps over the patch grid, added to the frame vector so it says where things are."""
from __future__ import annotations

import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine.model.export import GRAPH_IO, export_graph, graph_examples
from engine.model.heads.layout import FrameLayout, LayoutConfig
from engine.model.stack import StackConfig

CELLS, WIDTH, DIM = 16, 8, 12


def _hot_patches(cell: int) -> torch.Tensor:
    """One frame's patch tokens [1,G,W]: channel 0 is 1 at ``cell`` (the object) and 0 elsewhere."""
    patches = torch.zeros(1, CELLS, WIDTH)
    patches[0, cell, 0] = 1.0
    return patches


def _layout_watching_channel_0(centroids: bool = False, map_projection: bool = True) -> FrameLayout:
    torch.manual_seed(0)
    layout = FrameLayout(WIDTH, CELLS, DIM, LayoutConfig(enabled=True, maps=2, centroids=centroids,
                                                         map_projection=map_projection))
    with torch.no_grad():
        layout.saliency.weight.zero_()
        layout.saliency.bias.zero_()
        layout.saliency.weight[0, 0] = 20.0  # map 0 lights up where channel 0 is high
    return layout


def test_maps_are_distributions_over_the_grid():
    layout = FrameLayout(WIDTH, CELLS, DIM, LayoutConfig(enabled=True, maps=3))
    maps = layout.maps(torch.randn(5, CELLS, WIDTH))
    assert maps.shape == (5, 3, CELLS)
    assert torch.allclose(maps.sum(dim=-1), torch.full((5, 3), float(CELLS)))
    assert layout(torch.randn(5, CELLS, WIDTH)).shape == (5, DIM)


def test_a_map_follows_the_object_across_the_grid():
    layout = _layout_watching_channel_0()
    for cell in (0, 5, 15):
        assert int(layout.maps(_hot_patches(cell))[0, 0].argmax()) == cell
    left, right = layout(_hot_patches(4)), layout(_hot_patches(7))
    assert not torch.allclose(left, right, atol=1e-3)
    # a class token blind to position sees the same content in both frames; the sum is what tells them apart
    assert torch.allclose(layout(_hot_patches(4)), left)


def test_wrong_grid_and_bad_config_are_named():
    layout = FrameLayout(WIDTH, CELLS, DIM, LayoutConfig(enabled=True))
    with pytest.raises(ValueError, match="16 patch tokens"):
        layout(torch.randn(1, CELLS + 1, WIDTH))
    with pytest.raises(ValueError, match="maps"):
        FrameLayout(WIDTH, CELLS, DIM, LayoutConfig(enabled=True, maps=0))


@pytest.mark.parametrize("name", ["stack_full", "stack_plain"])
def test_frame_vector_is_the_class_embedding_plus_the_layout(make_model, name):
    """With and without VoP's prompted tower: unit(class-token embedding + layout(patch tokens))."""
    model = make_model(name, layout=LayoutConfig(enabled=True)).eval()
    plain = make_model(name).eval()  # same seed: the same tower and prompts, no layout
    pixels = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        if model.cfg.vop.enabled:
            embedding, patches = model.vision_prompts.encode_frames_with_patches(model.clip.visual, pixels)
        else:
            from engine.model import backbone
            embedding, patches = backbone.image_embedding_and_patches(model.clip, pixels)
            assert torch.allclose(embedding, model.clip.encode_image(pixels), atol=1e-5)
        expected = embedding + model.layout(patches)
        got = model.encode_frames(pixels)
        without = plain.encode_frames(pixels)
    assert torch.allclose(got, expected / expected.norm(dim=-1, keepdim=True), atol=1e-5)
    assert torch.allclose(without, embedding / embedding.norm(dim=-1, keepdim=True), atol=1e-5)


def test_layout_learns_from_the_video_losses(make_model, tokenize):
    model = make_model("stack_full", layout=LayoutConfig(enabled=True)).train()
    assert "layout.project.weight" in {n for n, p in model.named_parameters() if p.requires_grad}
    batch = {"pixels": torch.randn(2, 6, 3, 64, 64), "frame_mask": torch.ones(2, 6),
             "token_ids": tokenize(["a big red circle moving left", "a big red circle moving right"])}
    model.losses(batch)["total"].backward()
    assert float(model.layout.saliency.weight.grad.abs().sum()) > 0
    assert float(model.layout.project.weight.grad.abs().sum()) > 0


def test_function_variant_adds_the_layout_per_frame(make_model):
    from engine.model.heads.vop import VopConfig

    model = make_model("stack_full", layout=LayoutConfig(enabled=True),
                       vop=VopConfig(variant="function", function_layers=1, freeze_backbone=False)).eval()
    with torch.no_grad():
        features = model.encode_video_pixels(torch.randn(2, 6, 3, 64, 64), torch.ones(2, 6))
    assert features.shape == (2, 6, model.width)
    assert torch.allclose(features.norm(dim=-1), torch.ones(2, 6), atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("centroids, map_projection", [(False, True), (True, True), (True, False)])
def test_frame_encoder_with_layout_exports(make_model, tmp_path, centroids, map_projection):
    layout = LayoutConfig(enabled=True, centroids=centroids, map_projection=map_projection)
    model = make_model("stack_full", layout=layout).eval()
    example = graph_examples(model, model.export_spec())["frame_encoder"]
    export_graph(example, GRAPH_IO["frame_encoder"], tmp_path / "frame_encoder.onnx")
    session = ort.InferenceSession(str(tmp_path / "frame_encoder.onnx"), providers=["CPUExecutionProvider"])
    pixels = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        want = model.encode_frames(pixels).numpy()
    (have,) = session.run(None, {"pixels": pixels.numpy()})
    assert np.abs(want - have).max() < 1e-4


def test_shapes_stack_turns_layout_and_differences_on_and_older_configs_leave_them_off():
    shapes, full = StackConfig.from_json("stack_shapes"), StackConfig.from_json("stack_full")
    assert shapes.layout.enabled and shapes.hcmi.frame_differences  # where the object is, and how that changes
    assert shapes.layout.centroids  # a move reads the same from any start
    stills = StackConfig.from_json("stack_shapes_still_layout")
    assert stills.layout == shapes.layout  # learned on stills, handed to the video stage as it is (init_from)
    assert not full.layout.enabled and not full.hcmi.frame_differences
    legacy = StackConfig.from_json("stack_shapes").to_dict()
    legacy.pop("layout")  # a bundle.json written before the layout existed
    assert StackConfig.from_dict(legacy).layout == dataclasses.replace(LayoutConfig(), enabled=False)


def test_centroids_say_where_the_object_is_in_image_coordinates():
    layout = _layout_watching_channel_0(centroids=True)  # a 4 x 4 grid, cells numbered row by row
    top_left, bottom_right, row_1_column_2 = (layout.centroids(_hot_patches(c))[0, 0] for c in (0, 15, 6))
    assert torch.allclose(top_left, torch.tensor([-0.75, -0.75]), atol=1e-3)
    assert torch.allclose(bottom_right, torch.tensor([0.75, 0.75]), atol=1e-3)
    assert torch.allclose(row_1_column_2, torch.tensor([0.25, -0.25]), atol=1e-3)
    # a map that sees nothing spreads evenly and sits in the middle
    assert torch.allclose(layout.centroids(_hot_patches(0))[0, 1], torch.zeros(2), atol=1e-5)


def test_a_move_reads_the_same_wherever_it_starts():
    """One column to the left is one vector from the centroids, from any start: what 'moving left' needs."""
    layout = _layout_watching_channel_0(centroids=True)
    with torch.no_grad():
        layout.project.weight.zero_()  # leave only the centroid path
        left_from_1 = layout(_hot_patches(0)) - layout(_hot_patches(1))
        left_from_11 = layout(_hot_patches(10)) - layout(_hot_patches(11))
        up_from_5 = layout(_hot_patches(1)) - layout(_hot_patches(5))
    assert torch.allclose(left_from_1, left_from_11, atol=1e-3)
    assert not torch.allclose(left_from_1, up_from_5, atol=1e-2)
    assert float(left_from_1.norm()) > 0.1


def test_centroid_columns_start_at_the_configured_norm_and_need_a_square_grid():
    layout = FrameLayout(WIDTH, CELLS, DIM, LayoutConfig(enabled=True, maps=3, centroids=True, centroid_scale=2.5))
    assert torch.allclose(layout.place.weight.norm(dim=0), torch.full((6,), 2.5))
    assert "cell_xy" not in layout.state_dict()  # derived from the grid, not a weight
    with pytest.raises(ValueError, match="square"):
        FrameLayout(WIDTH, 12, DIM, LayoutConfig(enabled=True, centroids=True))
    with pytest.raises(ValueError, match="no centroids"):
        FrameLayout(WIDTH, CELLS, DIM, LayoutConfig(enabled=True)).centroids(_hot_patches(0))



def test_centres_alone_say_where_without_projecting_the_maps():
    layout = _layout_watching_channel_0(centroids=True, map_projection=False)
    assert layout.project is None and not any(n.startswith("project") for n in layout.state_dict())
    with torch.no_grad():
        want = layout.place(layout.centroids(_hot_patches(6)).flatten(1))
        left_from_1 = layout(_hot_patches(0)) - layout(_hot_patches(1))
        left_from_11 = layout(_hot_patches(10)) - layout(_hot_patches(11))
    assert torch.allclose(layout(_hot_patches(6)), want, atol=1e-6)
    assert torch.allclose(left_from_1, left_from_11, atol=1e-3) and float(left_from_1.norm()) > 0.1
    with pytest.raises(ValueError, match="map_projection, centroids or both"):
        FrameLayout(WIDTH, CELLS, DIM, LayoutConfig(enabled=True, map_projection=False))


def test_centres_alone_learn_from_the_losses(make_model, tokenize):
    model = make_model("stack_full", layout=LayoutConfig(enabled=True, centroids=True, map_projection=False)).train()
    batch = {"pixels": torch.randn(2, 6, 3, 64, 64), "frame_mask": torch.ones(2, 6),
             "token_ids": tokenize(["a big red circle moving left", "a big red circle moving right"])}
    model.losses(batch)["total"].backward()
    assert float(model.layout.saliency.weight.grad.abs().sum()) > 0
    assert float(model.layout.place.weight.grad.abs().sum()) > 0


def test_without_patch_gradient_the_layout_learns_but_leaves_the_tower_alone():
    patches = torch.randn(3, CELLS, WIDTH, requires_grad=True)
    cfg = LayoutConfig(enabled=True, centroids=True, map_projection=False)
    for patch_gradient in (True, False):
        torch.manual_seed(0)
        layout = FrameLayout(WIDTH, CELLS, DIM, dataclasses.replace(cfg, patch_gradient=patch_gradient))
        patches.grad = None
        layout(patches).pow(2).sum().backward()
        assert float(layout.saliency.weight.grad.abs().sum()) > 0
        assert (patches.grad is not None) == patch_gradient
