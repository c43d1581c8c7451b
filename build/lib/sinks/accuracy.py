"""Area and accuracy from a map's accuracy assessment (Olofsson et al. 2014 stratified estimator).

Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
Good practices for estimating area and assessing accuracy of land change. *Remote Sensing of
Environment* 148: 42–57, doi:10.1016/j.rse.2014.02.015.

The reference sample is a stratified random sample with the **map classes as strata** (simple
random and systematic samples are handled the same way, post-stratified by map class). With
``n_ij`` the sample count of map class ``i`` and reference class ``j``, ``n_i.`` the row total,
``A_i`` the mapped area of class ``i``, ``A = Σ A_i`` and ``W_i = A_i / A`` (Olofsson 2014
equation numbers):

- Eq. 4, estimated area proportion of each cell: ``p̂_ij = W_i n_ij / n_i.``
- Eqs. 1–3, overall, user's and producer's accuracy: ``Ô = Σ_j p̂_jj``,
  ``Û_i = p̂_ii / p̂_i.`` (= ``n_ii / n_i.``), ``P̂_j = p̂_jj / p̂_.j``
- Eq. 5, variance of overall accuracy: ``V̂(Ô) = Σ_i W_i² Û_i (1 − Û_i) / (n_i. − 1)``
- Eq. 9, area proportion of reference class ``k``: ``p̂_.k = Σ_i W_i n_ik / n_i.``
- Eq. 10, its standard error:
  ``S(p̂_.k) = sqrt( Σ_i W_i² (n_ik / n_i.)(1 − n_ik / n_i.) / (n_i. − 1) )``
- Eqs. 11–12, error-adjusted area and its standard error: ``Â_k = A p̂_.k``,
  ``S(Â_k) = A S(p̂_.k)``; the 95 % confidence interval is ``Â_k ± 1.96 S(Â_k)``.

No finite-population correction is applied (negligible when a class covers thousands of pixels
and more), as in the paper's example.

Reading the map at the reference points (:func:`sample_map`) is the only function here that opens
a file; it could move to ``sinks.io`` if that module grows a points reader.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sinks.errors import CRSMismatchError, InputDataError
from sinks.grid import on_grid, pixel_area_ha
from sinks.io.rasters import open_raster
from sinks.io.vectors import read_points
from sinks.zones import zonal_totals

log = logging.getLogger(__name__)

Z95 = 1.96  # two-sided 95 % normal quantile, as used by Olofsson et al. 2014
COLUMNS = ("area", "area_se", "area_ci95", "users_accuracy", "producers_accuracy")


def stratified_area_estimate(counts: np.ndarray | pd.DataFrame,
                             mapped_area: np.ndarray | Sequence[float] | pd.Series
                             ) -> pd.DataFrame:
    """Error-adjusted area, its 95 % interval, and user's / producer's / overall accuracy.

    Stratified estimator of Olofsson et al. (2014), Eqs. 1–5 and 9–12 (see the module docstring
    for the formulas), with the map classes as strata.

    Parameters
    ----------
    counts : (k, k) array or DataFrame
        Error matrix of reference-sample **counts** (number of sample units): rows = map class,
        columns = reference class, both in the same class order. A DataFrame must have the same
        labels, in the same order, on its index and columns; they become the index of the result.
    mapped_area : (k,) array, sequence or Series
        Mapped area of each map class, in any area unit (pixels, ha, km²); the area columns of the
        result are in the same unit. A Series with labels is aligned to the class labels of
        ``counts``; otherwise it is taken in the order of the rows of ``counts``.

    Returns
    -------
    pandas.DataFrame
        One row per class, in the order of ``counts``, with columns

        - ``area``: error-adjusted area ``Â_k`` (unit of ``mapped_area``), Eqs. 9 and 11;
        - ``area_se``: its standard error ``S(Â_k)`` (same unit), Eqs. 10 and 12;
        - ``area_ci95``: half-width of the 95 % confidence interval, ``1.96 × area_se``;
        - ``users_accuracy``: ``Û_i`` (fraction 0–1), Eq. 2; NaN for a class with no samples
          and no mapped area;
        - ``producers_accuracy``: ``P̂_j`` (fraction 0–1), Eq. 3; NaN if the class was never
          found in the reference sample.

        ``.attrs`` holds ``overall_accuracy`` (fraction, Eq. 1), ``overall_accuracy_se``
        (Eq. 5), ``n_samples`` and ``total_area`` (unit of ``mapped_area``).

    Raises
    ------
    InputDataError
        If the matrix is not square, does not match ``mapped_area`` in size or labels, holds
        negative or non-finite counts, or a map class with mapped area has fewer than 2 samples.
    """
    n, labels = _counts_matrix(counts)
    area = _mapped_area(mapped_area, labels, n.shape[0])
    total = area.sum()
    if total <= 0:
        raise InputDataError("accuracy assessment: total mapped area is 0; give the mapped area "
                             "of each map class")
    n_i = n.sum(axis=1)
    empty = (n_i == 0) & (area > 0)
    if empty.any():
        raise InputDataError(f"accuracy assessment: map class(es) {_names(labels, empty)} have "
                             "mapped area but no reference samples; sample every map class "
                             "(stratum) or merge it into another class")
    thin = (n_i == 1) & (area > 0)
    if thin.any():
        raise InputDataError(f"accuracy assessment: map class(es) {_names(labels, thin)} have only "
                             "1 reference sample; the standard error (Olofsson 2014 Eq. 10) "
                             "needs at least 2 per class")
    weight = area / total
    sampled = n_i > 0
    share = np.zeros_like(n)  # n_ij / n_i. (0 for unsampled classes, which have W_i = 0)
    share[sampled] = n[sampled] / n_i[sampled, None]
    p = weight[:, None] * share  # Eq. 4
    p_col = p.sum(axis=0)  # Eq. 9
    dof = np.where(sampled, n_i - 1, 1.0)
    var_col = ((weight[:, None] ** 2) * share * (1 - share) / dof[:, None]).sum(axis=0)  # Eq. 10
    diag = np.diag(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        users = np.where(sampled, np.diag(share), np.nan)  # Eq. 2
        producers = np.where(p_col > 0, diag / p_col, np.nan)  # Eq. 3
    users_ok = np.nan_to_num(users)
    overall = float(diag.sum())  # Eq. 1
    var_overall = float((weight ** 2 * users_ok * (1 - users_ok) / dof).sum())  # Eq. 5
    se = total * np.sqrt(var_col)  # Eq. 12
    out = pd.DataFrame({"area": total * p_col,  # Eq. 11
                        "area_se": se,
                        "area_ci95": Z95 * se,
                        "users_accuracy": users,
                        "producers_accuracy": producers},
                       index=pd.Index(labels, name="class"))
    out.attrs.update(overall_accuracy=overall, overall_accuracy_se=float(np.sqrt(var_overall)),
                     n_samples=int(round(n.sum())), total_area=float(total))
    log.info("stratified area estimate: %d classes, %d samples, overall accuracy %.3f",
             len(labels), out.attrs["n_samples"], overall)
    return out


def stratified_totals(stratum_area: np.ndarray, sample_stratum: np.ndarray, y: np.ndarray,
                      labels: Sequence | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stratified estimates of the totals of per-area quantities, and their standard errors.

    Cochran (1977) *Sampling Techniques*, 3rd ed., Eqs. 5.1 and 5.6 (stratified mean and its
    variance, no finite-population correction), written for totals:
    ``T̂ = Σ_h A_h ȳ_h`` and ``V̂(T̂) = Σ_h A_h² s_h² / n_h``, with ``ȳ_h`` and ``s_h²`` the
    sample mean and variance (ddof 1) of ``y`` in stratum ``h``. With ``y`` the indicator of a
    reference class this is Olofsson et al. (2014) Eqs. 9–12 (``s_h² / n_h = p(1 − p) /
    (n_h − 1)``). Several domains (zones) may share the strata means: each domain's total uses
    its own stratum areas (a synthetic estimator: a zone is assumed to have the region's map
    errors in each stratum).

    Parameters
    ----------
    stratum_area : (m, H) array
        Area of each of the H strata in each of m domains (any unit, e.g. ha).
    sample_stratum : (n,) int array
        Stratum index (0..H-1) of each sample unit.
    y : (n, q) array
        Value per unit area of each sample unit for q quantities (e.g. Mg CO2 ha-1 yr-1).
    labels : sequence of H labels, optional
        Stratum names for the error message.

    Returns
    -------
    (totals, se) : two (m, q) arrays, in the unit of area × y.

    Raises
    ------
    InputDataError
        If a stratum with area has fewer than 2 sample units (its variance cannot be estimated).
    """
    a = np.asarray(stratum_area, dtype="float64")
    h = np.asarray(sample_stratum, dtype="int64")
    y = np.asarray(y, dtype="float64").reshape(h.size, -1)
    n_h = np.bincount(h, minlength=a.shape[1]).astype("float64")
    thin = (a.sum(axis=0) > 0) & (n_h < 2)
    if thin.any():
        names = [labels[i] if labels is not None else i for i in np.flatnonzero(thin)]
        raise InputDataError(f"accuracy assessment: stratum(s) {names[:8]} have mapped area but "
                             "fewer than 2 reference samples; sample every stratum at least twice "
                             "(Olofsson et al. 2014) or merge the rare ones")
    mean = stratum_means(h, y, a.shape[1])
    sq = stratum_means(h, y ** 2, a.shape[1])
    ok = n_h >= 2
    var = np.zeros_like(mean)  # s_h^2 / n_h
    var[ok] = np.clip(sq[ok] - mean[ok] ** 2, 0, None) / (n_h[ok] - 1)[:, None]
    return a @ mean, np.sqrt((a ** 2) @ var)


def stratum_means(sample_stratum: np.ndarray, y: np.ndarray, n_strata: int) -> np.ndarray:
    """Mean of ``y`` (n, q) over the sample units of each stratum, (n_strata, q); 0 where a
    stratum has no unit."""
    h = np.asarray(sample_stratum, dtype="int64")
    y = np.asarray(y, dtype="float64").reshape(h.size, -1)
    n_h = np.bincount(h, minlength=n_strata).astype("float64")
    total = np.stack([np.bincount(h, weights=y[:, j], minlength=n_strata) for j in range(y.shape[1])], axis=1)
    return np.divide(total, n_h[:, None], out=np.zeros_like(total), where=n_h[:, None] > 0)


def error_matrix(map_classes: Sequence | np.ndarray | pd.Series,
                 reference_classes: Sequence | np.ndarray | pd.Series,
                 classes: Sequence) -> pd.DataFrame:
    """Error matrix of sample counts from paired map and reference labels.

    Parameters
    ----------
    map_classes : sequence
        Map class at each reference sample unit (e.g. from :func:`sample_map`).
    reference_classes : sequence
        Reference (interpreted or field) class at the same units, same order and length. Labels
        are compared as given: convert both to the same type first (e.g. raster codes as int).
    classes : sequence
        All classes, in the order wanted for rows and columns (no duplicates).

    Returns
    -------
    pandas.DataFrame
        (k, k) int64 counts (number of sample units), rows = map class (index name ``map``),
        columns = reference class (name ``reference``), ready for
        :func:`stratified_area_estimate`.

    Raises
    ------
    InputDataError
        If the lengths differ, ``classes`` has duplicates, or a label is not in ``classes``
        (the message lists the unknown labels).
    """
    m = pd.Series(np.asarray(map_classes, dtype=object))
    r = pd.Series(np.asarray(reference_classes, dtype=object))
    if len(m) != len(r):
        raise InputDataError(f"accuracy assessment: {len(m)} map labels but {len(r)} reference "
                             "labels; give one of each per sample unit")
    classes = list(classes)
    if len(set(classes)) != len(classes):
        raise InputDataError(f"accuracy assessment: duplicate classes in {classes}")
    for what, labels in (("map", m), ("reference", r)):
        unknown = sorted({str(v) for v in labels if v not in classes})
        if unknown:
            raise InputDataError(f"accuracy assessment: {what} label(s) {unknown[:10]} are not in "
                                 f"the classes {classes}; map them to a class or add the class")
    pos = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    flat = m.map(pos).to_numpy("int64") * k + r.map(pos).to_numpy("int64")
    counts = np.bincount(flat, minlength=k * k).reshape(k, k)
    return pd.DataFrame(counts, index=pd.Index(classes, name="map"),
                        columns=pd.Index(classes, name="reference"))


def sample_map(points, raster_path: str | Path, band: int = 1) -> np.ndarray:
    """Map value (class code) of a raster at each reference point.

    The points are reprojected to the raster's CRS and read with ``rasterio``'s ``sample``
    (the pixel containing each point, no interpolation).

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Reference sample points, with a CRS; only Point geometries.
    raster_path : str or Path
        Class map (GeoTIFF with a CRS).
    band : int
        Band to read (1-based).

    Returns
    -------
    numpy.ndarray
        One value per point, in the order of ``points``, in the raster's dtype.

    Raises
    ------
    InputDataError
        If the raster cannot be read, points are not Points, points fall outside the raster or
        on nodata (the message names the file, how many points, and the first row labels).
    CRSMismatchError
        If the points or the raster have no CRS.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    path = Path(raster_path)
    if points.crs is None:
        raise CRSMismatchError("accuracy assessment: reference points have no CRS; save them with "
                               "their projection")
    geoms = points.geometry
    bad = geoms.isna() | geoms.is_empty | (geoms.geom_type != "Point")
    if bad.any():
        raise InputDataError(f"accuracy assessment: {int(bad.sum())} reference feature(s) are not "
                             f"points (rows {list(points.index[bad][:5])}); give one point per "
                             "sample unit")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputDataError(f"{path}: cannot be read as a raster ({exc}); check the class map "
                             "path") from None
    with src:
        if src.crs is None:
            raise CRSMismatchError(f"{path}: raster has no CRS; set one (gdal_edit.py -a_srs ...)")
        if band > src.count:
            raise InputDataError(f"{path}: has {src.count} band(s), band {band} was asked for")
        pts = geoms.to_crs(src.crs)
        xs, ys = pts.x.to_numpy(), pts.y.to_numpy()
        rows, cols = rasterio.transform.rowcol(src.transform, xs, ys)
        rows, cols = np.asarray(rows), np.asarray(cols)
        outside = (rows < 0) | (rows >= src.height) | (cols < 0) | (cols >= src.width)
        if outside.any():
            raise InputDataError(f"{path}: {int(outside.sum())} of {len(pts)} reference points "
                                 "fall outside the raster (rows "
                                 f"{list(points.index[outside][:5])}); "
                                 "remove them or use a map covering every sample point")
        values = np.array([v[0] for v in src.sample(zip(xs, ys), indexes=band)],
                          dtype=src.dtypes[band - 1])
        nodata = src.nodatavals[band - 1]
    if nodata is not None:
        on_nodata = np.isnan(values) if np.isnan(nodata) else values == nodata
        if on_nodata.any():
            raise InputDataError(f"{path}: {int(on_nodata.sum())} of {len(values)} reference "
                                 f"points fall on nodata ({nodata}) pixels (rows "
                                 f"{list(points.index[on_nodata][:5])}); remove them or fill "
                                 "the map there")
    return values


def _counts_matrix(counts) -> tuple[np.ndarray, list]:
    """Counts as a float (k, k) array and the class labels; checks shape and values."""
    if isinstance(counts, pd.DataFrame):
        if list(counts.index) != list(counts.columns):
            raise InputDataError("accuracy assessment: error matrix rows (map classes) "
                                 f"{list(counts.index)} and columns (reference classes) "
                                 f"{list(counts.columns)} must be the same classes in the same "
                                 "order")
        labels = list(counts.index)
        arr = counts.to_numpy()
    else:
        arr = np.asarray(counts)
        labels = list(range(arr.shape[0])) if arr.ndim == 2 else []
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise InputDataError(f"accuracy assessment: error matrix has shape {arr.shape}; it must be "
                             "square (rows = map class, columns = reference class, same order)")
    try:
        arr = arr.astype("float64")
    except (TypeError, ValueError):
        raise InputDataError("accuracy assessment: error matrix holds non-numeric values; give "
                             "sample counts") from None
    if not np.isfinite(arr).all():
        raise InputDataError("accuracy assessment: error matrix holds NaN or infinite counts")
    if (arr < 0).any():
        raise InputDataError("accuracy assessment: error matrix holds negative counts "
                             f"({int((arr < 0).sum())} cell(s)); counts are numbers of samples")
    return arr, labels


def _mapped_area(mapped_area, labels: list, k: int) -> np.ndarray:
    """Mapped areas as a float (k,) array in the class order of the error matrix."""
    if isinstance(mapped_area, pd.Series) and not isinstance(mapped_area.index, pd.RangeIndex):
        missing = [c for c in labels if c not in mapped_area.index]
        extra = [c for c in mapped_area.index if c not in labels]
        if missing or extra:
            raise InputDataError(f"accuracy assessment: mapped_area classes differ from the error "
                                 f"matrix classes (missing {missing}, extra {extra})")
        mapped_area = mapped_area.reindex(labels)
    arr = np.asarray(mapped_area, dtype="float64")
    if arr.shape != (k,):
        raise InputDataError(f"accuracy assessment: mapped_area has shape {arr.shape} but the "
                             f"error matrix has {k} classes; give one mapped area per map class")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InputDataError(f"accuracy assessment: mapped_area {arr.tolist()} must be finite and "
                             "≥ 0")
    return arr


def _names(labels: list, mask: np.ndarray) -> list:
    return [labels[i] for i in np.flatnonzero(mask)]


def reference_codes(points, field: str, source) -> np.ndarray:
    """The reference class codes of sample points (field ``field``) as integers; an
    ``InputDataError`` naming the file and the first bad value otherwise."""
    labels = pd.to_numeric(points[field], errors="coerce")
    bad = labels.isna() | (labels % 1 != 0)
    if bad.any():
        raise InputDataError(f"{source}: {field} = {points[field][bad].iloc[0]!r} is not an "
                             "integer class code; give the reference class as the map's code")
    return labels.astype("int64").to_numpy()


def assess_class_map(samples_path: str | Path, map_path: str | Path, label_field: str,
                     chunks: int = 2048) -> pd.DataFrame:
    """Error-adjusted class areas (ha) and accuracies of a class map from a reference sample.

    Reads the reference points (any vector file geopandas opens, with a CRS; ``label_field``
    holds each point's reference class code), reads the map at the points, builds the error
    matrix (rows = map class, columns = reference class) and the mapped area of each class in ha
    (pixel areas computed from the map's grid), and applies :func:`stratified_area_estimate`.
    Returns one row per class with ``mapped_area`` too; overall accuracy in ``.attrs``.
    """
    points = read_points(samples_path, label_field)
    labels = pd.Series(reference_codes(points, label_field, samples_path))
    mapped = sample_map(points, map_path).astype("int64")
    codes = open_raster(map_path, chunks=chunks)
    grid = codes.odc.geobox
    nodata = codes.odc.nodata
    size = int(codes.max().compute()) + 1
    ones = on_grid(np.ones(grid.shape.yx, dtype="uint8"), grid).chunk(chunks)
    area = zonal_totals({"map": ones}, {"map": 1}, [codes.astype("int64")], [size],
                        {"area": pixel_area_ha(grid, chunks)})["map"]["area"][1]
    classes = sorted((set(np.flatnonzero(area)) | set(mapped) | set(labels.astype(int)))
                     - ({int(nodata)} if nodata is not None else set()))
    counts = error_matrix(mapped, labels.astype(int).to_numpy(), classes)
    mapped_area = pd.Series([area[c] if c < size else 0.0 for c in classes], index=classes)
    table = stratified_area_estimate(counts, mapped_area)
    table.insert(0, "mapped_area", mapped_area.to_numpy())
    table.index.name = "class"
    return table
