// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package spanderiveconnector // import "github.com/gatewayz/otelcol-gatewayz/components/connector/spanderiveconnector"

// edgeTable maps a key hash to a slab index. Open addressing with linear
// probing and deletion by backward shift (no tombstones): the lookup that
// misses for a new edge finds the free slot its insert then takes, so a
// new edge costs one probe sequence, not a Go map's lookup and assignment.
// At hundreds of thousands of waiting edges every probe is a cache miss,
// and these were most of the connector's time.
type edgeTable struct {
	slots []tableSlot
	mask  uint64
	n     int
}

// tableSlot: h 0 is an empty slot (tableHash never returns 0).
type tableSlot struct {
	h   uint64
	idx int32
}

const tableMinSize = 1 << 10

func tableHash(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// find returns where h is, or the empty slot where it would go.
func (t *edgeTable) find(h uint64) (pos uint64, found bool) {
	if t.slots == nil {
		t.resize(tableMinSize)
	}
	for pos = h & t.mask; ; pos = (pos + 1) & t.mask {
		switch t.slots[pos].h {
		case h:
			return pos, true
		case 0:
			return pos, false
		}
	}
}

// insertAt stores h at pos, the empty slot find just returned for it
// (nothing changed the table since).
func (t *edgeTable) insertAt(pos, h uint64, idx int32) {
	if 10*(t.n+1) > 7*len(t.slots) {
		t.resize(2 * len(t.slots))
		pos, _ = t.find(h)
	}
	t.slots[pos] = tableSlot{h: h, idx: idx}
	t.n++
}

func (t *edgeTable) resize(size int) {
	old := t.slots
	t.slots, t.mask = make([]tableSlot, size), uint64(size-1)
	for _, s := range old {
		if s.h != 0 {
			pos := s.h & t.mask
			for t.slots[pos].h != 0 {
				pos = (pos + 1) & t.mask
			}
			t.slots[pos] = s
		}
	}
}

// delete removes h, which is in the table, and moves later entries of its
// probe run back so that every entry stays reachable from its home slot.
func (t *edgeTable) delete(h uint64) {
	i, _ := t.find(h)
	for j := i; ; {
		j = (j + 1) & t.mask
		s := t.slots[j]
		if s.h == 0 {
			break
		}
		// s stays if its home slot k lies cyclically in (i, j].
		k := s.h & t.mask
		if i <= j {
			if i < k && k <= j {
				continue
			}
		} else if i < k || k <= j {
			continue
		}
		t.slots[i] = s
		i = j
	}
	t.slots[i] = tableSlot{}
	t.n--
}
