"""Writes the MAT-file fixtures of model/data/matv5 with SciPy (an
independent writer): Stanford Dogs-shaped lists, uncompressed (v5) and
compressed (v7), a version 4 file (refused), and a file with the other
classes the reader handles. Run: /usr/bin/python3 make_mat.py in this folder (needs Debian's
python3-scipy)."""
import numpy as np
import scipy.io as sio

files = ["n02085620-Chihuahua/n02085620_10074.jpg",
         "n02085620-Chihuahua/n02085620_10131.jpg",
         "n02085782-Japanese_spaniel/n02085782_1039.jpg"]
file_list = np.empty((len(files), 1), dtype=object)
annotation_list = np.empty((len(files), 1), dtype=object)
for i, f in enumerate(files):
    file_list[i, 0] = f
    annotation_list[i, 0] = f[:-4]
labels = np.array([[1.0], [1.0], [2.0]])
lists = {"file_list": file_list, "annotation_list": annotation_list, "labels": labels}
sio.savemat("lists_v5.mat", lists, do_compression=False)
sio.savemat("lists_v7.mat", lists, do_compression=True)
sio.savemat("v4.mat", {"x": np.arange(6.0).reshape(2, 3)}, format="4")
sio.savemat("classes.mat", {
    "s": {"name": "dog", "id": np.int16([[-3, 4]])},
    "m": np.array(["ab", "cd"]),
    "u": np.uint8([[1, 2, 3]]),
    "f": np.float32([[1.5]]),
    "b": np.array([[True, False]]),
    "e": np.empty((0, 0)),
    "uni": "caf\u00e9",
}, do_compression=True)
