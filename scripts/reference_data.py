"""The data sets the reference scripts share, read as the tests read them, and exact rational
helpers. Imported by the scripts beside it (`python3 scripts/<name>.py` puts this folder on
the import path)."""
import os
from fractions import Fraction

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_csv(name):
    """A CSV file of data/sklearn/: its header and its values (2-D)."""
    path = os.path.join(ROOT, "data", "sklearn", name)
    with open(path) as f:
        header = f.readline().strip().split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def diabetes_named():
    """scikit-learn's diabetes: feature names, features, target `target`."""
    header, data = read_csv("diabetes.csv")
    t = header.index("target")
    names = [h for i, h in enumerate(header) if i != t]
    return names, np.delete(data, t, axis=1), data[:, t]


def diabetes():
    _, x, y = diabetes_named()
    return x, y


def longley_text():
    """NIST's Longley data as the file's decimal strings: rows of x1..x6, and y."""
    path = os.path.join(ROOT, "data", "nist-strd", "Longley.dat")
    with open(path) as f:
        lines = f.read().splitlines()
    start = max(i for i, l in enumerate(lines) if l.strip().startswith("Data:")) + 1
    rows = [l.split() for l in lines[start:] if l.strip()]
    return [r[1:] for r in rows], [r[0] for r in rows]


def longley_named():
    """Longley: feature names x1..x6, features, y."""
    x_text, y_text = longley_text()
    x = np.array([[float(v) for v in row] for row in x_text])
    y = np.array([float(v) for v in y_text])
    return [f"x{i}" for i in range(1, 7)], x, y


def longley():
    _, x, y = longley_named()
    return x, y


def exact_inverse(a):
    """The inverse of a square matrix of Fractions, by exact Gauss-Jordan elimination."""
    p = len(a)
    m = [row[:] + [Fraction(int(i == j)) for j in range(p)] for i, row in enumerate(a)]
    for c in range(p):
        piv = next(r for r in range(c, p) if m[r][c] != 0)
        m[c], m[piv] = m[piv], m[c]
        f = m[c][c]
        m[c] = [v / f for v in m[c]]
        for r in range(p):
            if r != c and m[r][c] != 0:
                g = m[r][c]
                m[r] = [a - g * b for a, b in zip(m[r], m[c])]
    return [row[p:] for row in m]
