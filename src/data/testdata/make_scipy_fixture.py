# Records SciPy/NumPy reference values for src/data tests (zoom, rotate, percentile, the CT reader).
# Run from the repository root: python3 src/data/testdata/make_scipy_fixture.py, then
# npx biome format --write src/data/testdata (biome owns the JSON layout).
# Written with SciPy 1.17 / NumPy 2.4; the official code used SciPy 1.10.1 / NumPy 1.23 (see masam-spec 8.5).
import json
import numpy as np
import scipy
import scipy.ndimage as nd

rng = np.random.default_rng(20240607)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


zoom_cases = []


def add_zoom(name, x, factors, order):
    y = nd.zoom(x, factors, order=order)
    zoom_cases.append({
        'name': name, 'dtype': str(x.dtype), 'shape': list(x.shape), 'data': flat(x),
        'factors': list(factors), 'order': order, 'outShape': list(y.shape), 'expected': flat(y),
    })


r1 = rng.normal(size=7)
for order in (0, 1, 3):
    add_zoom(f'1d float64 x1.6 order {order}', r1, (1.6,), order)
add_zoom('1d float64 x0.5 rounds size half to even', rng.normal(size=5), (0.5,), 3)
r2 = rng.normal(size=(5, 7))
add_zoom('2d float64 (1.6, 0.7) order 3', r2, (1.6, 0.7), 3)
add_zoom('2d float64 (1.6, 0.7) order 0', r2, (1.6, 0.7), 0)
add_zoom('2d float64 prostate-like 10x12 to 16x16 order 3', rng.normal(size=(10, 12)), (16 / 10, 16 / 12), 3)
add_zoom('3d float32 (1.5, 2, 1) order 3', rng.normal(size=(6, 5, 4)).astype(np.float32), (1.5, 2, 1), 3)
add_zoom('3d int16 labels (0.6, 1.4, 1) order 0', rng.integers(0, 5, size=(6, 5, 3)).astype(np.int16), (0.6, 1.4, 1), 0)
add_zoom('2d uint8 (2, 2) order 3 rounds and clips', np.array([[0, 255, 0, 255], [255, 0, 255, 0], [0, 0, 255, 255]], dtype=np.uint8), (2, 2), 3)
add_zoom('1d int8 x2.5 order 3 clips', np.array([-128, -128, 127, 127, -128, -128], dtype=np.int8), (2.5,), 3)
add_zoom('1d int16 x1.5 order 1 rounds half away from zero', np.array([-1, -2, 1, 2], dtype=np.int16), (1.5,), 1)
add_zoom('2d float64 length-1 axis', np.array([[3.0, 5.0]]), (4, 1.5), 3)

rotate_cases = []
img = rng.normal(size=(7, 9, 2))
for angle in (13, -7, 14, -15, 0):
    y = nd.rotate(img, angle, order=0, reshape=False)
    rotate_cases.append({'angle': angle, 'shape': list(img.shape), 'data': flat(img), 'expected': flat(y)})

percentile_cases = []
for n in (1, 2, 7, 100, 301):
    x = rng.normal(size=n) * 100
    ps = [0, 37.5, 50, 99, 100]
    percentile_cases.append({'data': flat(x), 'p': ps, 'expected': [float(np.percentile(x, p)) for p in ps]})

# The CT reader (datasets/dataset.py): clip, scale, float32, z-score, min-max over the stack.
hu = rng.normal(size=(4, 3, 5)) * 300 + 20
d = np.clip(hu, -200, 250)
d = (d + 200) / 450 * 255.0
d = np.float32(d)
d = (d - 50.21997497685108) / 68.47153712416372
d = (d - d.min()) / (d.max() - d.min() + 0.00000001)
ct = {'data': flat(hu), 'expected': flat(np.float32(d))}

out = {
    'generator': f'src/data/testdata/make_scipy_fixture.py with scipy {scipy.__version__}, numpy {np.__version__}',
    'zoom': zoom_cases, 'rotate': rotate_cases, 'percentile': percentile_cases, 'ctReader': ct,
}
with open('src/data/testdata/scipy_fixture.json', 'w') as f:
    json.dump(out, f)
print('wrote', sum(len(v) for v in (zoom_cases, rotate_cases, percentile_cases)), 'cases')
