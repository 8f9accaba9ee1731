package waste

import "slices"

// aggregates sum hidden copies as they are found, so nothing per copy
// needs keeping: by cause, by finding (cause × causing step × cache
// kind), by path (the offenders), by layer.
type aggregates struct {
	wasted   int64
	comp     float64
	byCause  map[Cause]*causeSum
	findings map[findingKey]*findingSum
	items    map[string]*itemSum
	// shippedWaste[i] is the waste layer i shipped, causedWaste[i] what
	// layer i hid.
	shippedWaste []int64
	causedWaste  []int64
}

type causeSum struct {
	bytes int64
	comp  float64
	files int
}

type findingKey struct {
	cause Cause
	by    int32
	cache string
}

type findingSum struct {
	causeSum
	shipped []int32
	example string
	exBytes int64
}

type itemSum struct {
	causeSum
	cause   Cause
	by      int32
	shipped []int32
}

func newAggregates() aggregates {
	return aggregates{byCause: map[Cause]*causeSum{}, findings: map[findingKey]*findingSum{}, items: map[string]*itemSum{}}
}

// add counts h in (sign +1) or out again (-1: a hardlink kept it visible).
func (g *aggregates) add(a *Analyzer, h hidden, sign int) {
	n := int64(sign) * h.size
	c := float64(n) * a.info[h.shipped].ratio
	for len(g.shippedWaste) < len(a.info) {
		g.shippedWaste = append(g.shippedWaste, 0)
		g.causedWaste = append(g.causedWaste, 0)
	}
	g.wasted += n
	g.comp += c
	g.shippedWaste[h.shipped] += n
	g.causedWaste[h.by] += n

	cs := g.byCause[h.cause]
	if cs == nil {
		cs = &causeSum{}
		g.byCause[h.cause] = cs
	}
	cs.bump(n, c, sign)

	fk := findingKey{cause: h.cause, by: h.by, cache: h.cache}
	f := g.findings[fk]
	if f == nil {
		f = &findingSum{}
		g.findings[fk] = f
	}
	f.bump(n, c, sign)
	if sign > 0 {
		f.shipped = addLayer(f.shipped, h.shipped)
		if f.example == "" || h.size > f.exBytes || (h.size == f.exBytes && h.key < f.example) {
			f.example, f.exBytes = h.key, h.size
		}
	}

	it := g.items[h.key]
	if it == nil {
		it = &itemSum{cause: h.cause, by: h.by}
		g.items[h.key] = it
	}
	it.bump(n, c, sign)
	if sign > 0 {
		it.shipped = addLayer(it.shipped, h.shipped)
	}
}

func (s *causeSum) bump(n int64, c float64, sign int) {
	s.bytes += n
	s.comp += c
	s.files += sign
}

func addLayer(set []int32, l int32) []int32 {
	i, found := slices.BinarySearch(set, l)
	if found {
		return set
	}
	return slices.Insert(set, i, l)
}
