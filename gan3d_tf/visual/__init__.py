"""Pictures and meshes of voxel grids: rendering to PNG, marching cubes to OBJ."""
