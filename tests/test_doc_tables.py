"""gan3d_tf.config.doc_tables: docs/design.md's table of training options is the fields' own."""

from gan3d_tf.config.core import TrainConfig
from gan3d_tf.config.doc_tables import DESIGN, current_block, generated_block, main
from gan3d_tf.config.options import options


def test_docs_table_matches_the_fields():
    assert current_block(DESIGN.read_text()) == generated_block(), (
        "docs/design.md's training options differ from TrainConfig: run python -m gan3d_tf.config.doc_tables"
    )
    assert main(["--check"]) == 0


def test_every_training_option_has_a_row_and_a_help_text():
    block = generated_block()
    for f in options(TrainConfig):
        assert f"| `train.{f.name}` |" in block and f.metadata["help"]
