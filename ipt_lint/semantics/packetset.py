"""Packet sets: unions of boxes over the fields of `space.py`, with exact set operations.

Two box shapes:

* a dense box is a tuple with one value per field (the packets a flow stands for);
* a sparse box ("constraint") is a tuple of `(field, value)` pairs for the fields it restricts,
  sorted by field: what a rule matches. Rules restrict two or three fields, so matching a flow
  against a rule only touches those.

`PacketSet` is the public face: `&`, `|`, `-`, `complement()`, `is_empty()`, `issubset()`,
`sample()`. Boxes in a set may overlap; `normalised()` merges boxes that differ in one field
and drops duplicates, which keeps "everything except these 500 ports" at one box.
"""

from __future__ import annotations

from .cubes import cu_and, cu_contains, cu_or, cu_sub
from .intervals import iv_and, iv_contains, iv_or, iv_sub, iv_union
from .space import BM, CU, IV, KIND, NFIELDS, ORIG_FIELDS, PARTNER, Space


def _bm_and(a, b):
    return a & b


def _bm_sub(a, b):
    return a & ~b


def _bm_or(a, b):
    return a | b


_AND = {IV: iv_and, BM: _bm_and, CU: cu_and}
_SUB = {IV: iv_sub, BM: _bm_sub, CU: cu_sub}
_OR = {IV: iv_or, BM: _bm_or, CU: cu_or}
def _bm_union(values):
    out = 0
    for v in values:
        out |= v
    return out


def _cu_union(values):
    values = list(values)
    out = values[0]
    for v in values[1:]:
        out = cu_or(out, v)
    return out


_UNION = {IV: iv_union, BM: _bm_union, CU: _cu_union}
AND = tuple(_AND[k] for k in KIND)
SUB = tuple(_SUB[k] for k in KIND)
OR = tuple(_OR[k] for k in KIND)
UNION = tuple(_UNION[k] for k in KIND)  # the union of many values of one field at once

Box = tuple
Sparse = tuple  # ((field, value), ...)


# --- box against constraint (the hot path) -----------------------------------------------------


def box_and(box: Box, sparse: Sparse) -> Box | None:
    """The part of `box` inside the constraint, or None."""
    b = list(box)
    for f, v in sparse:
        g = PARTNER[f] if b[f] is None else f
        nv = AND[g](b[g], v)
        if not nv:
            return None
        b[g] = nv
    return tuple(b)


def box_meets(box: Box, sparse: Sparse) -> bool:
    """Does `box` intersect the constraint? (Exact; only tied fields need a second look.)"""
    tied_dims = None
    for f, v in sparse:
        g = f
        if box[f] is None:
            g = PARTNER[f]
            tied_dims = True
        if not AND[g](box[g], v):
            return False
    if tied_dims:
        return box_and(box, sparse) is not None
    return True


def box_split(box: Box, sparse: Sparse) -> tuple[Box | None, list[Box]]:
    """(box_and(box, sparse), box_sub(box, sparse)) in one pass, with the box kept whole,
    [box], when it misses the constraint: what a rule does to a flow's box (the walker's hot
    path; box_meets, box_and and box_sub each intersected every field again). A miss, the
    common case on a large dump, copies nothing."""
    parts = []
    for f, v in sparse:
        g = PARTNER[f] if box[f] is None else f
        inside = AND[g](box[g], v)
        if not inside:
            return None, [box]
        parts.append((g, v, inside))
    if len(parts) > 1 and len({p[0] for p in parts}) < len(parts):
        # a field constrained twice (itself and through its tie): each test narrows the last
        inside = box_and(box, sparse)
        return (inside, box_sub(box, sparse)) if inside is not None else (None, [box])
    out = []
    cur = list(box)
    for g, v, inside in parts:
        rest = SUB[g](cur[g], v)
        if rest:
            piece = cur.copy()
            piece[g] = rest
            out.append(tuple(piece))
        cur[g] = inside
    return tuple(cur), out


def box_sub(box: Box, sparse: Sparse) -> list[Box]:
    """`box` minus the constraint, as disjoint boxes."""
    out = []
    cur = list(box)
    for f, v in sparse:
        g = PARTNER[f] if cur[f] is None else f
        inside = AND[g](cur[g], v)
        if not inside:
            out.append(tuple(cur))
            return out
        rest = SUB[g](cur[g], v)
        if rest:
            piece = cur.copy()
            piece[g] = rest
            out.append(tuple(piece))
        cur[g] = inside
    return out


# --- box against box -------------------------------------------------------------------------


def box_box_and(a: Box, b: Box) -> Box | None:
    out = list(a)
    for f in range(NFIELDS):
        if f in ORIG_FIELDS:
            continue
        v = AND[f](a[f], b[f])
        if not v:
            return None
        out[f] = v
    for f in ORIG_FIELDS:
        x, y = a[f], b[f]
        if x is None and y is None:
            continue
        if x is None or y is None:
            p = PARTNER[f]
            v = AND[p](out[p], y if x is None else x)
            if not v:
                return None
            out[p] = v
            out[f] = None
        else:
            v = AND[f](x, y)
            if not v:
                return None
            out[f] = v
    return tuple(out)


MAX_TIE_EXPANSION = 256


def box_as_constraints(space: Space, b: Box, against: Box | None = None) -> list[Sparse] | None:
    """Box `b` as constraints (a union) to subtract from `against`.

    A tie in `b` ("orig == current") over a field that `against` holds explicitly is not a box;
    it is expanded value by value (orig = current = v) when there are at most MAX_TIE_EXPANSION
    candidate values. Beyond that None: the caller cannot subtract `b` exactly."""
    full = space.full
    items = {}
    for f in range(NFIELDS):
        v = b[f]
        if v is not None and v != full[f]:
            items[f] = v
    expand: list[tuple[int, int, tuple]] = []
    for f in ORIG_FIELDS:
        if b[f] is None and against is not None and against[f] is not None:
            p = PARTNER[f]
            common = AND[p](AND[p](b[p], against[p]), against[f])
            if not common:
                return [((p, common),)]  # disjoint: subtracts nothing
            if sum(hi - lo + 1 for lo, hi in common) > MAX_TIE_EXPANSION:
                return None
            expand.append((f, p, common))
    out = [items]
    for f, p, common in expand:
        nxt = []
        for c in out:
            for lo, hi in common:
                for v in range(lo, hi + 1):
                    d = dict(c)
                    d[p] = d[f] = ((v, v),)
                    nxt.append(d)
        out = nxt
    return [tuple(sorted(c.items())) for c in out]


def box_as_constraint(space: Space, b: Box) -> Sparse:
    """Box `b` (without ties to resolve against another box) as one constraint."""
    return tuple((f, v) for f, v in enumerate(b) if v is not None and v != space.full[f])


def box_box_sub(space: Space, a: Box, b: Box) -> list[Box]:
    cs = box_as_constraints(space, b, a)
    if cs is None:
        return [a]  # not expressible: subtract nothing (the difference is over-approximated)
    pieces = [a]
    for c in cs:
        nxt = []
        for x in pieces:
            nxt.extend(box_sub(x, c))
        pieces = nxt
    return pieces


def box_within(space: Space, a: Box, b: Box) -> bool:
    return not box_box_sub(space, a, b)


# --- normalisation -------------------------------------------------------------------------------

# Fields most likely to differ between boxes of one set first.
_MERGE_ORDER = (4, 1, 0, 2, 5, 6, 3, 7, 12, 14, 15, 16, 17, 18, 8, 9, 10, 11, 13, 19, 20, 21, 22)


def merge_boxes(boxes, passes: int = 2) -> list[Box]:
    """Drop duplicates and merge boxes that differ in a single field."""
    boxes = list(dict.fromkeys(boxes))
    if len(boxes) < 2:
        return boxes
    if len(boxes) == 2:
        return _merge_two(boxes)
    return _merge_groups(boxes, passes)


def _merge_two(boxes: list[Box]) -> list[Box]:
    """_merge_groups() of two different boxes (most sets the exposure question merges): one box
    when they differ in a single field and neither side is a tie there, else both as they are."""
    a, b = boxes
    differ = [f for f, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(differ) != 1:
        return boxes
    f = differ[0]
    if a[f] is None or b[f] is None:
        return boxes
    return [a[:f] + (UNION[f]([a[f], b[f]]),) + a[f + 1 :]]


def _merge_groups(boxes: list[Box], passes: int) -> list[Box]:
    """Merge boxes that differ in a single field, field by field, `passes` times at most."""
    for _ in range(passes):
        before = len(boxes)
        for f in _MERGE_ORDER:
            if len(boxes) < 2:
                break
            groups: dict = {}
            for b in boxes:
                v = b[f]
                # a tie and an explicit value never merge: the tie is part of the key
                key = (b[:f], b[f + 1 :], v is None)
                g = groups.get(key)
                if g is None:
                    groups[key] = [[v], b]
                elif v is not None:
                    g[0].append(v)
            if len(groups) != len(boxes):
                union = UNION[f]
                boxes = [b[:f] + ((vs[0] if len(vs) == 1 or vs[0] is None else union(vs)),) + b[f + 1 :]
                         for vs, b in groups.values()]
        if len(boxes) == before:
            break
    return boxes


def drop_subsumed(space: Space, boxes: list[Box], limit: int = 48) -> list[Box]:
    """Remove boxes inside another box of the list (quadratic: only for short lists)."""
    if len(boxes) < 2 or len(boxes) > limit:
        return boxes
    kept: list[Box] = []
    for b in boxes:
        if any(box_within(space, b, o) for o in kept):
            continue
        kept = [o for o in kept if not box_within(space, o, b)]
        kept.append(b)
    return kept


# --- the public set type -----------------------------------------------------------------------


class PacketSet:
    """A set of packets in one `Space`, as a union of dense boxes. Immutable."""

    __slots__ = ("space", "boxes")

    def __init__(self, space: Space, boxes=()):
        self.space = space
        self.boxes = tuple(boxes)

    # construction
    @classmethod
    def empty(cls, space: Space) -> "PacketSet":
        return cls(space, ())

    @classmethod
    def universe(cls, space: Space) -> "PacketSet":
        return cls(space, (space.full,))

    @classmethod
    def from_constraints(cls, space: Space, constraints, base: Box | None = None) -> "PacketSet":
        """The union of sparse constraints, inside `base` (default: everything)."""
        base = base or space.full
        boxes = []
        for c in constraints:
            b = box_and(base, c)
            if b is not None:
                boxes.append(b)
        return cls(space, merge_boxes(boxes))

    # queries
    def is_empty(self) -> bool:
        return not self.boxes

    def __bool__(self) -> bool:
        return bool(self.boxes)

    def __len__(self) -> int:
        return len(self.boxes)

    def __repr__(self) -> str:
        return f"PacketSet({len(self.boxes)} boxes)"

    # algebra
    def __and__(self, other: "PacketSet") -> "PacketSet":
        out = []
        for a in self.boxes:
            for b in other.boxes:
                c = box_box_and(a, b)
                if c is not None:
                    out.append(c)
        return PacketSet(self.space, merge_boxes(out))

    def __or__(self, other: "PacketSet") -> "PacketSet":
        return PacketSet(self.space, merge_boxes(self.boxes + other.boxes))

    def __sub__(self, other: "PacketSet") -> "PacketSet":
        pieces = list(self.boxes)
        for b in other.boxes:
            nxt = []
            for a in pieces:
                nxt.extend(box_box_sub(self.space, a, b))
            pieces = nxt
            if not pieces:
                break
        return PacketSet(self.space, merge_boxes(pieces))

    def complement(self) -> "PacketSet":
        return PacketSet.universe(self.space) - self

    def issubset(self, other: "PacketSet") -> bool:
        return (self - other).is_empty()

    def same_as(self, other: "PacketSet") -> bool:
        return self.issubset(other) and other.issubset(self)

    def intersects(self, other: "PacketSet") -> bool:
        return any(box_box_and(a, b) is not None for a in self.boxes for b in other.boxes)

    # constraints
    def restrict(self, constraint: Sparse) -> "PacketSet":
        out = [c for c in (box_and(b, constraint) for b in self.boxes) if c is not None]
        return PacketSet(self.space, out)

    def without(self, constraint: Sparse) -> "PacketSet":
        out = []
        for b in self.boxes:
            out.extend(box_sub(b, constraint))
        return PacketSet(self.space, merge_boxes(out))

    def normalised(self) -> "PacketSet":
        return PacketSet(self.space, drop_subsumed(self.space, merge_boxes(self.boxes)))

    # projections
    def values(self, field: int):
        """The union of one field's values over all boxes (a tie reads its partner)."""
        if not self.boxes:
            return _empty_of(field)
        partner = PARTNER.get(field)
        return UNION[field]([b[field] if b[field] is not None else b[partner] for b in self.boxes])

    def contains(self, point: dict[int, int]) -> bool:
        """Is the packet with these field values (others: any) in the set? A tied ORIG_ field
        holds only when it equals its partner's value."""
        for b in self.boxes:
            if all(_field_has(b, f, x, point) for f, x in point.items()):
                return True
        return False


def _field_has(b: Box, f: int, x: int, point: dict[int, int]) -> bool:
    v = b[f]
    if v is None:
        p = PARTNER[f]
        if p in point and point[p] != x:
            return False
        v = b[p]
    kind = KIND[f]
    if kind == IV:
        return iv_contains(v, x)
    if kind == BM:
        return bool(v >> x & 1)
    return cu_contains(v, x)


def _empty_of(field: int):
    return 0 if KIND[field] == BM else ()
