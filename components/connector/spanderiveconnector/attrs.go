// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

import "go.opentelemetry.io/collector/pdata/pcommon"

// spanAttrs reads every span attribute the three aggregations want in one
// pass over the span's attributes: each pcommon.Map.Get is a scan of the
// whole map, and a span was looked up about fifteen times. The wanted keys
// are registered once (slot) and found through a small open-addressing
// table, so an attribute nobody wants costs one table probe.
type spanAttrs struct {
	keys []string
	// table has at least four times as many entries as keys (a power of
	// two): slot+1, 0 empty.
	table []int32
	mask  uint32
	vals  []pcommon.Value
	has   []bool
}

func attrHash(k string) uint32 {
	if k == "" {
		return 0
	}
	return uint32(len(k)*157 + int(k[0])*31 + int(k[len(k)-1])*7 + int(k[len(k)/2]))
}

// slot registers key (once) and returns its index.
func (a *spanAttrs) slot(key string) int {
	for i, k := range a.keys {
		if k == key {
			return i
		}
	}
	a.keys = append(a.keys, key)
	a.vals = append(a.vals, pcommon.Value{})
	a.has = append(a.has, false)
	size := 256
	for size < 4*len(a.keys) {
		size *= 2
	}
	a.table, a.mask = make([]int32, size), uint32(size-1)
	for i, k := range a.keys {
		h := attrHash(k) & a.mask
		for a.table[h] != 0 {
			h = (h + 1) & a.mask
		}
		a.table[h] = int32(i + 1)
	}
	return len(a.keys) - 1
}

func (a *spanAttrs) find(k string) int {
	for h := attrHash(k) & a.mask; ; h = (h + 1) & a.mask {
		s := a.table[h]
		if s == 0 {
			return -1
		}
		if a.keys[s-1] == k {
			return int(s - 1)
		}
	}
}

// load reads m. As pcommon.Map.Get, the first of duplicate keys counts.
func (a *spanAttrs) load(m pcommon.Map) {
	if len(a.keys) == 0 {
		return
	}
	clear(a.has)
	for k, v := range m.All() {
		if i := a.find(k); i >= 0 && !a.has[i] {
			a.vals[i], a.has[i] = v, true
		}
	}
}

func (a *spanAttrs) get(i int) (pcommon.Value, bool) { return a.vals[i], a.has[i] }
