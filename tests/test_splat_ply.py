"""procsplat.splat.ply: 3DGS .ply round trip, layout, and clear errors for bad files."""

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from procsplat.splat.ply import (
    SplatPlyError,
    load_splats_ply,
    save_splats_ply,
    splat_property_names,
)


def random_splats(n=50, sh_degree=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    k = (sh_degree + 1) ** 2
    return {
        "means": torch.randn(n, 3, generator=g),
        "scales": torch.randn(n, 3, generator=g) - 4.0,
        "quats": torch.randn(n, 4, generator=g),
        "opacities": torch.randn(n, generator=g),
        "sh0": torch.randn(n, 1, 3, generator=g),
        "shN": torch.randn(n, k - 1, 3, generator=g),
    }


@pytest.mark.parametrize("sh_degree", [0, 1, 3])
def test_round_trip_is_bit_identical(tmp_path, sh_degree):
    splats = random_splats(sh_degree=sh_degree)
    splats["means"][0, 0] = float("inf")  # special values survive too
    splats["opacities"][1] = -0.0
    path = tmp_path / "scene.ply"
    save_splats_ply(path, **splats)
    loaded = load_splats_ply(path)
    assert set(loaded) == set(splats)
    for key, value in splats.items():
        assert loaded[key].dtype == torch.float32
        assert loaded[key].shape == value.shape, key
        assert torch.equal(loaded[key].view(torch.int32), value.view(torch.int32)), key
    assert [p for p in tmp_path.iterdir()] == [path]  # no temporary file left behind


def test_file_layout_is_standard_3dgs(tmp_path):
    splats = random_splats(n=4, sh_degree=1)
    path = tmp_path / "s.ply"
    save_splats_ply(path, **splats)
    raw = path.read_bytes()
    assert raw.startswith(b"ply\nformat binary_little_endian 1.0\nelement vertex 4\n")
    vertex = PlyData.read(str(path))["vertex"]
    names = [p.name for p in vertex.properties]
    assert names == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"] + \
        [f"f_rest_{i}" for i in range(9)] + \
        ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    assert all(p.val_dtype == "f4" for p in vertex.properties)
    # f_rest is channel-major: red's 3 coefficients, then green's, then blue's
    shN = splats["shN"]
    assert vertex["f_rest_0"][2] == shN[2, 0, 0] and vertex["f_rest_1"][2] == shN[2, 1, 0]
    assert vertex["f_rest_3"][2] == shN[2, 0, 1] and vertex["f_rest_8"][2] == shN[2, 2, 2]
    assert vertex["rot_0"][3] == splats["quats"][3, 0]  # w first
    assert vertex["opacity"][1] == splats["opacities"][1]
    assert (vertex["nx"] == 0).all()


def test_reads_gsplat_export_without_normals(tmp_path):
    from gsplat.exporter import export_splats

    splats = random_splats(n=10, sh_degree=2)
    path = tmp_path / "gsplat.ply"
    export_splats(**splats, format="ply", save_to=str(path))
    loaded = load_splats_ply(path)
    for key, value in splats.items():
        assert torch.equal(loaded[key], value), key


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "s.ply"
    save_splats_ply(path, **random_splats(n=3))
    before = path.read_bytes()
    bad = random_splats(n=3)
    bad["quats"] = bad["quats"][:, :3]
    with pytest.raises(ValueError, match=r"quats must have shape \(N, 4\) with N = len\(means\)"):
        save_splats_ply(path, **bad)
    assert path.read_bytes() == before

    def write_half_then_fail(self, stream):  # e.g. disk full in the middle of the data
        stream.write(b"ply\nformat binary_little_endian 1.0\n")
        raise OSError("No space left on device")

    monkeypatch.setattr(PlyData, "write", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_splats_ply(path, **random_splats(n=8, seed=1))
    assert path.read_bytes() == before  # old file untouched
    assert [p.name for p in tmp_path.iterdir()] == ["s.ply"]  # temporary file removed


def test_save_rejects_non_square_sh(tmp_path):
    bad = random_splats(n=3)
    bad["shN"] = bad["shN"][:, :5]
    with pytest.raises(ValueError, match="shN must be"):
        save_splats_ply(tmp_path / "s.ply", **bad)


def test_truncated_file(tmp_path):
    path = tmp_path / "s.ply"
    save_splats_ply(path, **random_splats(n=20))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(SplatPlyError, match=r"s\.ply: not a readable binary PLY"):
        load_splats_ply(path)


def test_trailing_bytes_after_declared_vertices(tmp_path):
    path = tmp_path / "s.ply"
    save_splats_ply(path, **random_splats(n=20))
    path.write_bytes(path.read_bytes() + b"\x00" * 12)
    with pytest.raises(SplatPlyError, match=r"s\.ply: 12 bytes after the 20 vertices"):
        load_splats_ply(path)


def test_garbage_and_missing_files(tmp_path):
    path = tmp_path / "garbage.ply"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(SplatPlyError, match=r"garbage\.ply: not a readable binary PLY"):
        load_splats_ply(path)
    with pytest.raises(SplatPlyError, match=r"nothere\.ply: no such file"):
        load_splats_ply(tmp_path / "nothere.ply")


def write_vertex(path, names, dtype="<f4", n=5, element="vertex"):
    arr = np.zeros(n, dtype=[(name, dtype) for name in names])
    PlyData([PlyElement.describe(arr, element)], byte_order="<").write(str(path))


def test_missing_extra_misordered_and_wrong_type_properties(tmp_path):
    good = splat_property_names(9)
    path = tmp_path / "p.ply"

    write_vertex(path, [p for p in good if p != "scale_1"])
    with pytest.raises(SplatPlyError, match=r"p\.ply: .*missing \['scale_1'\]"):
        load_splats_ply(path)

    write_vertex(path, good + ["red"])
    with pytest.raises(SplatPlyError, match=r"unexpected \['red'\]"):
        load_splats_ply(path)

    swapped = good.copy()
    swapped[-1], swapped[-2] = swapped[-2], swapped[-1]
    write_vertex(path, swapped)
    with pytest.raises(SplatPlyError, match="wrong order"):
        load_splats_ply(path)

    write_vertex(path, good, dtype="<f8")
    with pytest.raises(SplatPlyError, match="must be float32"):
        load_splats_ply(path)

    write_vertex(path, splat_property_names(6))  # 2 coefficients per channel: not SH bands
    with pytest.raises(SplatPlyError, match="do not form SH bands"):
        load_splats_ply(path)

    write_vertex(path, good, element="face")
    with pytest.raises(SplatPlyError, match="no 'vertex' element"):
        load_splats_ply(path)


def test_loaded_splats_render(tmp_path):
    """The file's conventions feed the rasteriser: exp(scales), sigmoid(opacities), SH."""
    from procsplat.splat.rasterize import rasterize

    splats = random_splats(n=30, sh_degree=1)
    splats["means"][:, 2] = splats["means"][:, 2].abs() + 2.0
    path = tmp_path / "s.ply"
    save_splats_ply(path, **splats)
    s = load_splats_ply(path)
    K = torch.tensor([[[30.0, 0, 16], [0, 30.0, 12], [0, 0, 1]]])
    colors, alphas, _ = rasterize(
        s["means"], s["quats"], torch.exp(s["scales"]), torch.sigmoid(s["opacities"]),
        torch.cat([s["sh0"], s["shN"]], 1), torch.eye(4)[None], K, 32, 24, sh_degree=1)
    assert alphas.max() > 0.1 and torch.isfinite(colors).all()
