"""A Cloud-Optimized GeoTIFF written once, block by block: how a block is written.

:class:`CogBuilder` takes the blocks of a map in any order and from any thread (the
``da.store`` target of :func:`sinks.io.rasters.write_cogs`, or any loop that receives
computed blocks). For each block it applies the TIFF predictor and the final compression
(DEFLATE or ZSTD, through imagecodecs, which releases the GIL, so the blocks of both cores
compress at once) to its 512 x 512 tiles and to the tiles of the overviews that lie inside the
block; the overview levels that span several blocks are kept as a small array (1/64 of the map
with 2048-pixel chunks) and finished at the end. Compressed tiles wait in a spill file beside
the output; :meth:`CogBuilder.write` then lays out the file as GDAL's COG driver does (ghost
header ``LAYOUT=IFDS_BEFORE_DATA``, every IFD before the data, the smallest overview's tiles
first, each tile with its size before it and its last 4 bytes after it), copying the
compressed bytes without decoding them. No tile is compressed twice.

The GeoTIFF and GDAL tags (CRS geokeys with the CRS name, geotransform, nodata, band
description, unit, dataset tags, colour table) are not encoded here: GDAL writes them into a
1 x 1 GeoTIFF in memory with the same grid, and those tags are copied into the COG's first IFD,
so they are exactly what GDAL would have written.

Measured with benchmarks/bench_cog_write.py (README, Benchmarks): on an 8000 x 8000 float32
map, 1.12 s instead of 1.97 s for a tiled temporary copied by GDAL's COG driver (whose overview
pass was most of the copy), about the time of a one-thread DEFLATE write without overviews.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import imagecodecs
import numpy as np
from rasterio.io import MemoryFile

BLOCK = 512  # tile side of the COG and its overviews (pixels)
# DEFLATE level 4 instead of GDAL's 6: 30 % faster for 5 % larger files on a province-size
# float map; ZSTD level 1 compresses these maps as well as DEFLATE 4, about 3 times faster
# (benchmarks/bench_cog_write.py).
LEVELS = {"deflate": 4, "zstd": 1}
COMPRESSIONS = tuple(LEVELS)
_TIFF_COMPRESSION = {"deflate": 8, "zstd": 50000}
RESAMPLINGS = ("average", "nearest")
# TIFF tags that GDAL writes for the grid and metadata, copied from its 1 x 1 GeoTIFF:
# ColorMap, ModelPixelScale, ModelTiepoint, ModelTransformation, GeoKeyDirectory,
# GeoDoubleParams, GeoAsciiParams, GDAL_METADATA, GDAL_NODATA.
_COPIED = (320, 33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113)
_ON_OVERVIEWS = (320, 42113)  # colour table and nodata also on every overview, as GDAL does
_SHORT, _LONG, _LONG8 = 3, 4, 16
CLASSIC_MAX_BYTES = 2**32  # a larger file is a BigTIFF (classic TIFF offsets are 32-bit)


def overview_shapes(height: int, width: int) -> list[tuple[int, int]]:
    """Shapes of the full-resolution image and each overview (halving, rounded up, until the
    image fits in one 512 block), as GDAL's COG driver chooses them."""
    shapes = [(height, width)]
    while max(shapes[-1]) > BLOCK:
        h, w = shapes[-1]
        shapes.append(((h + 1) // 2, (w + 1) // 2))
    return shapes


def downsample2(a: np.ndarray, method: str, nodata) -> np.ndarray:
    """One overview step (factor 2, the last row/column alone when odd). ``average``: mean of
    the valid pixels of each 2 x 2 window (nodata and NaN left out; nodata where none is
    valid; integers rounded); ``nearest``: the window's upper-left pixel, as GDAL picks it."""
    if method == "nearest":
        return a[::2, ::2]
    invalid = None if nodata is None else a == nodata
    if a.dtype.kind == "f":
        invalid = np.isnan(a) if invalid is None else invalid | np.isnan(a)
    work = np.float32 if a.dtype == np.float32 else np.float64  # a sum of 4 values
    fill = nodata if nodata is not None else (np.nan if a.dtype.kind == "f" else 0)
    if a.shape[0] % 2 or a.shape[1] % 2:  # the odd last row/column: pad with invalid pixels
        pad = ((0, a.shape[0] % 2), (0, a.shape[1] % 2))
        invalid = np.pad(np.zeros(a.shape, bool) if invalid is None else invalid, pad, constant_values=True)
        a = np.pad(a, pad, constant_values=0)
    if invalid is None or not invalid.any():  # every pixel valid (most blocks): a plain mean
        f = a.astype(work, copy=False)
        mean = (f[::2, ::2] + f[1::2, ::2] + f[::2, 1::2] + f[1::2, 1::2]) * work(0.25)
        return (np.rint(mean) if a.dtype.kind in "iu" else mean).astype(a.dtype)
    f = np.where(invalid, work(0), a).astype(work, copy=False)
    valid = ~invalid
    total = f[::2, ::2] + f[1::2, ::2] + f[::2, 1::2] + f[1::2, 1::2]
    n = valid[::2, ::2].astype(np.uint8) + valid[1::2, ::2] + valid[::2, 1::2] + valid[1::2, 1::2]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
    if a.dtype.kind in "iu":
        mean = np.rint(mean)
    return np.where(n > 0, mean, fill).astype(a.dtype)


class TileCodec:
    """Predictor (3 for floats, 2 for integers, as GDAL's ``PREDICTOR=YES``) and compression
    of one 512 x 512 tile; edge tiles are padded with ``fill``."""

    def __init__(self, dtype, compression: str, fill):
        if compression not in LEVELS:
            raise ValueError(f"compression {compression!r}: use one of {', '.join(COMPRESSIONS)}")
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.predictor = 3 if self.dtype.kind == "f" else 2 if self.dtype.kind in "iu" else 1
        self.compression, self.level, self.fill = compression, LEVELS[compression], fill

    def __call__(self, tile: np.ndarray) -> bytes:
        h, w = tile.shape
        if (h, w) != (BLOCK, BLOCK):
            tile = np.pad(tile, ((0, BLOCK - h), (0, BLOCK - w)), constant_values=self.fill)
        tile = np.ascontiguousarray(tile, dtype=self.dtype)
        if self.predictor == 3:
            tile = imagecodecs.floatpred_encode(tile, axis=-1)
        elif self.predictor == 2:
            tile = imagecodecs.delta_encode(tile, axis=-1)
        if self.compression == "zstd":
            return bytes(imagecodecs.zstd_encode(tile, level=self.level))
        return bytes(imagecodecs.deflate_encode(tile, level=self.level))  # zlib stream (TIFF 8)


def _internal_edges(chunks: tuple[int, ...]) -> list[int]:
    return list(np.cumsum(chunks)[:-1])


class CogBuilder:
    """Compressed tiles of one single-band COG, fed block by block (see the module docstring).

    ``chunks``: the dask chunks (rows, columns) the blocks will come in; every internal chunk
    edge must lie on the 512-pixel tile grid. :meth:`put_block` is thread-safe.
    """

    def __init__(self, shape: tuple[int, int], chunks, dtype, nodata, compression: str,
                 resampling: str, spill: Path):
        if resampling not in RESAMPLINGS:
            raise ValueError(f"overview resampling {resampling!r}: use one of {', '.join(RESAMPLINGS)}")
        self.dtype, self.nodata, self.resampling = np.dtype(dtype), nodata, resampling
        self.compression = compression
        self.codec = TileCodec(dtype, compression, 0 if nodata is None else nodata)
        self.shapes = overview_shapes(*shape)
        edges = _internal_edges(chunks[0]) + _internal_edges(chunks[1])
        if any(e % BLOCK for e in edges):
            raise ValueError(f"chunk edges {edges} are not on the {BLOCK}-pixel tile grid")
        # levels whose tiles lie wholly inside one block: compressed as the block arrives
        self.in_block = 0
        while (self.in_block + 1 < len(self.shapes)
               and all(e % (BLOCK << (self.in_block + 1)) == 0 for e in edges)):
            self.in_block += 1
        # the next level spans blocks: assembled here, finished by finish()
        self.shared = None
        if self.in_block + 1 < len(self.shapes):
            self.shared = np.empty(self.shapes[self.in_block + 1], self.dtype)
        self.index: dict[tuple[int, int, int], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._spill_path = spill
        self._spill = open(spill, "w+b")
        self._size = 0

    def put_block(self, row: int, col: int, block: np.ndarray) -> None:
        """Compress the block at pixel (``row``, ``col``) of the full-resolution map and the
        overview tiles inside it; ``block`` holds the values as stored (nodata, not NaN)."""
        img = block
        for level in range(self.in_block + 1):
            if level:
                img = downsample2(img, self.resampling, self.nodata)
            self._put_tiles(level, img, row >> level, col >> level)
        if self.shared is not None:
            level = self.in_block + 1
            img = downsample2(img, self.resampling, self.nodata)
            r, c = row >> level, col >> level
            self.shared[r:r + img.shape[0], c:c + img.shape[1]] = img

    def _put_tiles(self, level: int, img: np.ndarray, row: int, col: int) -> None:
        for r in range(0, img.shape[0], BLOCK):
            for c in range(0, img.shape[1], BLOCK):
                data = self.codec(img[r:r + BLOCK, c:c + BLOCK])
                with self._lock:
                    offset = self._size
                    self._size += len(data)
                os.pwrite(self._spill.fileno(), data, offset)
                self.index[level, (row + r) // BLOCK, (col + c) // BLOCK] = (offset, len(data))

    def finish(self) -> None:
        """Compress the overview levels that span blocks (after every block was put)."""
        if self.shared is None:
            return
        img = self.shared
        for level in range(self.in_block + 1, len(self.shapes)):
            if level > self.in_block + 1:
                img = downsample2(img, self.resampling, self.nodata)
            self._put_tiles(level, img, 0, 0)
        self.shared = None

    def close(self) -> None:
        self._spill.close()
        self._spill_path.unlink(missing_ok=True)

    def write(self, path: Path, gdal_tags: dict[int, tuple[int, int, bytes]]) -> None:
        """Lay the COG out at ``path`` (``gdal_tags`` from :func:`gdal_tags`)."""
        order = []  # (level, tile row, tile col): smallest overview first, row-major
        for level in reversed(range(len(self.shapes))):
            h, w = self.shapes[level]
            order += [(level, ty, tx) for ty in range(-(-h // BLOCK)) for tx in range(-(-w // BLOCK))]
        missing = [k for k in order if k not in self.index]
        if missing:
            raise ValueError(f"{path.name}: {len(missing)} tiles were never written, first {missing[0]}")
        data_size = sum(self.index[k][1] + 8 for k in order)
        head = self._layout(order, gdal_tags, big=False)
        if len(head) + data_size >= CLASSIC_MAX_BYTES:  # BIGTIFF=IF_SAFER: classic TIFF while it fits
            head = self._layout(order, gdal_tags, big=True)
        with open(path, "wb") as out:
            out.write(head)
            fd = self._spill.fileno()
            for k in order:
                offset, n = self.index[k]
                data = os.pread(fd, n, offset)
                out.write(struct.pack("<I", n) + data + data[-4:])

    def _layout(self, order, gdal_tags, big: bool) -> bytes:
        """Header, ghost area and every IFD, with the tile offsets the data will have."""
        ghost = _ghost()
        start = (16 if big else 8) + len(ghost)
        start += start % 2
        # the IFD sizes do not depend on the offsets: lay out with zeros, then for real
        offsets = {k: 0 for k in order}
        blob = self._ifds(start, offsets, gdal_tags, big)
        pos = start + len(blob)
        for k in order:
            offsets[k] = pos + 4  # after the 4-byte size leader
            pos += self.index[k][1] + 8
        blob = self._ifds(start, offsets, gdal_tags, big)
        header = (b"II+\x00" + struct.pack("<HHQ", 8, 0, start)) if big else \
            (b"II*\x00" + struct.pack("<I", start))
        head = header + ghost
        head += b"\x00" * (start - len(head))
        return head + blob

    def _ifds(self, start: int, offsets: dict, gdal_tags, big: bool) -> bytes:
        blob = bytearray()
        photometric = 3 if 320 in gdal_tags else 1
        sample_format = {"u": 1, "i": 2, "f": 3}[self.dtype.kind]
        n_levels = len(self.shapes)
        for level, (h, w) in enumerate(self.shapes):
            ny, nx = -(-h // BLOCK), -(-w // BLOCK)
            keys = [(level, ty, tx) for ty in range(ny) for tx in range(nx)]
            off_type = _LONG8 if big else _LONG
            fmt = "<%dQ" if big else "<%dI"
            tags = {
                256: (_LONG, 1, struct.pack("<I", w)),
                257: (_LONG, 1, struct.pack("<I", h)),
                258: (_SHORT, 1, struct.pack("<H", self.dtype.itemsize * 8)),
                259: (_SHORT, 1, struct.pack("<H", _TIFF_COMPRESSION[self.compression])),
                262: (_SHORT, 1, struct.pack("<H", photometric)),
                277: (_SHORT, 1, struct.pack("<H", 1)),
                284: (_SHORT, 1, struct.pack("<H", 1)),
                317: (_SHORT, 1, struct.pack("<H", self.codec.predictor)),
                322: (_SHORT, 1, struct.pack("<H", BLOCK)),
                323: (_SHORT, 1, struct.pack("<H", BLOCK)),
                324: (off_type, len(keys), struct.pack(fmt % len(keys), *(offsets[k] for k in keys))),
                325: (off_type, len(keys), struct.pack(fmt % len(keys), *(self.index[k][1] for k in keys))),
                339: (_SHORT, 1, struct.pack("<H", sample_format)),
            }
            if level:
                tags[254] = (_LONG, 1, struct.pack("<I", 1))  # reduced-resolution image
            tags.update({t: v for t, v in gdal_tags.items() if level == 0 or t in _ON_OVERVIEWS})
            last = level == n_levels - 1
            blob += _ifd(tags, start + len(blob), big, last)
            if len(blob) % 2:
                blob += b"\x00"
        return bytes(blob)


def _ghost() -> bytes:
    """GDAL's COG ghost area: the structural metadata that makes GDAL report LAYOUT=COG."""
    body = ("LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n"
            "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ")
    return f"GDAL_STRUCTURAL_METADATA_SIZE={len(body):06d} bytes\n{body}".encode("ascii")


def _ifd(tags: dict[int, tuple[int, int, bytes]], at: int, big: bool, last: bool) -> bytes:
    """One IFD at file offset ``at``, its out-of-line values right after it; the next-IFD
    pointer points right after those values unless ``last``."""
    entry, count_fmt, inline = ("<HHQ", "<Q", 8) if big else ("<HHI", "<H", 4)
    ptr_fmt = "<Q" if big else "<I"
    n = len(tags)
    ext_at = at + struct.calcsize(count_fmt) + n * (20 if big else 12) + struct.calcsize(ptr_fmt)
    body, ext = bytearray(struct.pack(count_fmt, n)), bytearray()
    for tag in sorted(tags):
        typ, count, data = tags[tag]
        if len(data) <= inline:
            value = data.ljust(inline, b"\x00")
        else:
            if (ext_at + len(ext)) % 2:
                ext += b"\x00"
            value = struct.pack(ptr_fmt, ext_at + len(ext))
            ext += data
        body += struct.pack(entry, tag, typ, count) + value
    end = ext_at + len(ext)
    end += end % 2
    body += struct.pack(ptr_fmt, 0 if last else end)
    return bytes(body + ext)


def gdal_tags(profile: dict, description: str, unit: str, tags: dict, colormap=None) -> dict:
    """The GeoTIFF and GDAL tags GDAL writes for this grid and metadata: {tag: (type, count,
    little-endian bytes)}. ``profile``: rasterio creation keys crs, transform, dtype, nodata."""
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=1, height=1, count=1, BIGTIFF="NO",
                      **{k: profile[k] for k in ("crs", "transform", "dtype", "nodata")}) as dst:
            dst.set_band_description(1, description)
            dst.set_band_unit(1, unit)
            dst.update_tags(**tags)
            if colormap:
                dst.write_colormap(1, colormap)
        raw = mem.read()
    return {t: v for t, v in _read_ifd0(raw).items() if t in _COPIED}


_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}


def _read_ifd0(raw: bytes) -> dict[int, tuple[int, int, bytes]]:
    """The entries of the first IFD of a little-endian classic TIFF held in memory."""
    if raw[:4] != b"II*\x00":
        raise ValueError("not a little-endian classic TIFF")
    at = struct.unpack_from("<I", raw, 4)[0]
    out = {}
    for i in range(struct.unpack_from("<H", raw, at)[0]):
        tag, typ, count = struct.unpack_from("<HHI", raw, at + 2 + 12 * i)
        size = _TYPE_SIZE[typ] * count
        pos = at + 2 + 12 * i + 8
        if size > 4:
            pos = struct.unpack_from("<I", raw, pos)[0]
        out[tag] = (typ, count, raw[pos:pos + size])
    return out

