// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import (
	"fmt"
	"unsafe"

	"github.com/klauspost/compress/zstd"
)

// One encoder and decoder for every target: EncodeAll and DecodeAll may
// run concurrently. The encoder keeps its history between bodies: 8 MB at
// the default window in a heap profile at 250k series. Label sets repeat
// within far less than 1 MB: that body packed to 462 KB with it, 480 KB
// with the default.
var (
	bodyEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	bodyDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
)

// packedBody keeps a scrape's exposition compressed until the next scrape
// needs the text of the series gone from it: an exposition is mostly the
// same label sets over and over, a tenth of its size or less in zstd,
// and held as text it was the largest part of the receiver's memory.
type packedBody struct {
	packed []byte
	n      int
}

func (b *packedBody) keep(body string) {
	b.packed = bodyEncoder.EncodeAll(unsafe.Slice(unsafe.StringData(body), len(body)), b.packed[:0])
	b.n = len(body)
}

func (b *packedBody) open() (string, error) {
	if b.n == 0 {
		return "", nil
	}
	raw, err := bodyDecoder.DecodeAll(b.packed, make([]byte, 0, b.n))
	if err != nil {
		return "", fmt.Errorf("decompressing the last scrape's body: %w", err)
	}
	if len(raw) != b.n {
		return "", fmt.Errorf("the last scrape's body decompressed to %d bytes, not %d", len(raw), b.n)
	}
	return unsafe.String(unsafe.SliceData(raw), len(raw)), nil
}
