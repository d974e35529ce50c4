"""Generator and discriminator: shapes, parameter counts, serialization."""

import keras
import numpy as np
import pytest

from gan3d_tf import Discriminator, Generator, get_preset


def generator_params(z_dim, widths):
    """Parameters implied by the architecture: bias-free k^3=64 transposed convs,
    and 4 batch-norm numbers (gamma, beta, mean, variance) per hidden channel."""
    chans = [z_dim, *widths, 1]
    convs = sum(a * b * 64 for a, b in zip(chans[:-1], chans[1:]))
    return convs + 4 * sum(widths)


def discriminator_params(widths):
    """First conv and the logit conv have a bias, the others feed batch norm."""
    chans = [1, *widths]
    convs = sum(a * b * 64 for a, b in zip(chans[:-1], chans[1:])) + widths[0]
    logit = widths[-1] * 64 + 1
    return convs + logit + 4 * sum(widths[1:])


@pytest.mark.parametrize("preset,resolution", [("paper64", 64), ("modelnet32", 32)])
def test_shapes_and_parameter_counts(preset, resolution):
    m = get_preset(preset).model
    g = Generator(m.z_dim, m.g_widths)
    d = Discriminator(m.d_widths)
    assert g.resolution == d.resolution == resolution
    assert g.output_shape == (None, resolution, resolution, resolution)
    assert d.output_shape == (None,)
    assert g.count_params() == generator_params(m.z_dim, m.g_widths)
    assert d.count_params() == discriminator_params(m.d_widths)
    # intermediate volumes follow the paper: 4^3 after the first layer, x2 per stage
    sides = [g.get_layer(f"relu{i + 1}").output.shape[1] for i in range(len(m.g_widths))]
    assert sides == [4 * 2**i for i in range(len(m.g_widths))]
    assert [g.get_layer(f"relu{i + 1}").output.shape[-1] for i in range(len(m.g_widths))] == list(m.g_widths)


def test_paper_parameter_count_by_hand():
    # 200*512*64 + 512*256*64 + 256*128*64 + 128*64*64 + 64*1*64 + 4*(512+256+128+64)
    assert Generator().count_params() == 17_571_584
    # (64*64+64) + 64*128*64 + 128*256*64 + 256*512*64 + (512*64+1) + 4*(128+256+512)
    assert Discriminator().count_params() == 11_050_561


def test_forward_ranges():
    g, d = Generator(16, (16, 8)), Discriminator((8, 16))
    z = np.random.default_rng(0).random((3, 16), dtype=np.float32)
    v = np.asarray(g(z, training=False))
    assert v.shape == (3, 16, 16, 16) and v.dtype == np.float32
    assert (v > 0).all() and (v < 1).all()
    logits = np.asarray(d(v, training=False))
    assert logits.shape == (3,) and np.isfinite(logits).all()


def test_mixed_precision_keeps_float32_io_and_variables():
    g = Generator(16, (16, 8), dtype="mixed_bfloat16")
    d = Discriminator((8, 16), dtype="mixed_bfloat16")
    assert g.get_layer("deconv2").compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in g.weights + d.weights)
    v = g(np.zeros((2, 16), np.float32))
    assert v.dtype == "float32" and d(v).dtype == "float32"
    for net, cls in ((g, Generator), (d, Discriminator)):
        assert net.dtype_policy.name == "mixed_bfloat16"
        assert (
            cls.from_config(net.get_config()).get_layer("conv2" if cls is Discriminator else "deconv2").compute_dtype
            == "bfloat16"
        )


@pytest.mark.parametrize("model", ["generator", "discriminator"])
def test_keras_file_round_trip_safe_mode(tmp_path, model):
    net = Generator(16, (16, 8), z_distribution="normal") if model == "generator" else Discriminator((8, 16))
    x = np.random.default_rng(1).random((2, *net.input_shape[1:]), dtype=np.float32)
    path = tmp_path / f"{model}.keras"
    net.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(net)
    assert loaded.get_config() == net.get_config()
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), np.asarray(net(x, training=False)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="z_distribution"):
        Generator(16, (8,), z_distribution="gaussian")
