"""Built-in procedural dataset of voxel furniture (no download needed).

Every shape is assembled from a few solid primitives (axis-aligned boxes that
may be sheared along z, vertical cylinders and horizontal bars) described in
continuous object coordinates, scaled uniformly into the unit cube and only
then rasterized. The 32^3 and 64^3 versions of the same random draw are
therefore the same object at two resolutions.

Grid conventions, measured on the ModelNet10 grids the project reads
(../shared/data/modelnet10_vox32.npz) and checked on ModelNet40:
    * array axes are (x, y, z); z (axis 2) points up (index 0 is the bottom);
    * each object fills the grid: its largest extent spans all R voxels and
      it is centred on all three axes (so tall objects such as chairs and
      bookcases stand on index 0, flat ones such as beds float mid-grid);
    * chairs and bookcases: width along x, front (open side) facing -y;
      beds: length along y, headboard at +y;
      sofas, desks and tables: width (long side) along y, front facing -x
      (sofa backrest and desk back at +x), as in ModelNet.

Example:
    >>> from gan3d_tf.data.procedural import make_dataset
    >>> chairs = make_dataset("chair", n=8, resolution=32, seed=0)
    >>> chairs.shape, chairs.dtype
    ((8, 32, 32, 32), dtype('uint8'))

Layout (dependencies point down the list, never up):
    dataset.py      CATEGORIES, `make_shape`, `make_dataset` (the public API, re-exported here)
    chairs.py       the five chair styles
    furniture.py    tables, desks, bookcases, sofas, beds
    primitives.py   `_Parts` (boxes, cylinders, bars in object coordinates) and `_rasterize`
"""

from gan3d_tf.data.procedural.dataset import CATEGORIES, make_dataset, make_shape

__all__ = ["CATEGORIES", "make_dataset", "make_shape"]
