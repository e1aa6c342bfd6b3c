// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import "math/bits"

// seriesTable is every series of the last scrape by the hash of its text:
// an open-addressing table in one array, linear probing, 40 bytes a
// series, kept between 0.6 and 0.8 full. A Go map is the largest part of
// the receiver's memory at this size and holds more: 56 bytes a slot, and
// 1024-slot tables that split in two when full, so between 0.44 and 0.875
// of them filled (at 250k series a heap profile found 33 MB, 42% full).
type seriesTable struct {
	slots []seriesSlot
	n     int
}

type seriesSlot struct {
	key uint64 // 0: empty
	st  stored
}

const (
	// minSlots is the room of a new or emptied table.
	minSlots = 64
	// A table grows past maxLoad tenths full, shrinks below minLoad
	// tenths, and is rebuilt at rebuiltLoad tenths.
	maxLoad, minLoad, rebuiltLoad = 8, 2, 6
)

// tableKey keeps 0 for empty slots: a hash of 0 is stored as 1, one
// more collision of 64-bit hashes.
func tableKey(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

func (t *seriesTable) len() int { return t.n }

// home is where a key's probe starts: its hash scaled to the table's
// length, which need not be a power of two.
func (t *seriesTable) home(key uint64) int {
	hi, _ := bits.Mul64(key, uint64(len(t.slots)))
	return int(hi)
}

// find returns the slot holding key, or the empty slot where it would go.
func (t *seriesTable) find(key uint64) (int, bool) {
	i := t.home(key)
	for {
		switch t.slots[i].key {
		case key:
			return i, true
		case 0:
			return i, false
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
}

// ref returns the entry of a known series to update in place, nil for
// one not in the table; it holds until the next put.
func (t *seriesTable) ref(h uint64) *stored {
	if t.n == 0 {
		return nil
	}
	if i, ok := t.find(tableKey(h)); ok {
		return &t.slots[i].st
	}
	return nil
}

func (t *seriesTable) put(h uint64, st stored) {
	key := tableKey(h)
	if (t.n+1)*10 > len(t.slots)*maxLoad {
		t.rebuild(t.n + 1)
	}
	i, ok := t.find(key)
	if !ok {
		t.n++
	}
	t.slots[i] = seriesSlot{key: key, st: st}
}

// sweep removes every series drop says so of, then shrinks a table left
// mostly empty: a scrape with many more series than usual would otherwise
// keep its room for good.
func (t *seriesTable) sweep(drop func(st *stored) bool) {
	var gone []uint64
	for i := range t.slots {
		if s := &t.slots[i]; s.key != 0 && drop(&s.st) {
			gone = append(gone, s.key)
		}
	}
	for _, key := range gone {
		t.remove(key)
	}
	if len(t.slots) > minSlots && t.n*10 < len(t.slots)*minLoad {
		t.rebuild(t.n)
	}
}

// remove deletes key by moving back the entries after it that probed past
// it, so no lookup ever needs a tombstone.
func (t *seriesTable) remove(key uint64) {
	if t.n == 0 {
		return
	}
	i, ok := t.find(key)
	if !ok {
		return
	}
	for j := i; ; {
		if j++; j == len(t.slots) {
			j = 0
		}
		if t.slots[j].key == 0 {
			break
		}
		// The entry at j stays when its home lies cyclically in (i, j].
		k := t.home(t.slots[j].key)
		if i <= j {
			if i < k && k <= j {
				continue
			}
		} else if i < k || k <= j {
			continue
		}
		t.slots[i] = t.slots[j]
		i = j
	}
	t.slots[i] = seriesSlot{}
	t.n--
}

// rebuild moves every entry into a table with room for n at rebuiltLoad.
func (t *seriesTable) rebuild(n int) {
	old := t.slots
	t.slots = make([]seriesSlot, max(minSlots, n*10/rebuiltLoad))
	for _, s := range old {
		if s.key != 0 {
			i, _ := t.find(s.key)
			t.slots[i] = s
		}
	}
}
