// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package promscrapereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/promscrapereceiver"

import (
	"bytes"
	"errors"
	"fmt"
	"io"

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

// defaultChunk is how much of an exposition is read, packed and later
// parsed at a time: a scrape holds about this much of its text, not the
// whole body (21 MB at 250k series), plus what the requests still on
// their way to the exporter read their attributes from.
const defaultChunk = 1 << 20

// packedBody is a scrape's exposition as it is kept: zstd frames of one
// chunk each. An exposition is mostly the same label sets over and over,
// a tenth of its size or less in zstd, and held as text it was the
// largest part of the receiver's memory. The scrape parses it a frame at
// a time; the next one reads from it the text of the series gone since.
type packedBody struct {
	packed []byte
	frames []frame
	n      int
}

// frame is where a chunk ends in packed, and its length as text.
type frame struct{ end, n int }

// readFrom packs all of r in chunks of size bytes. Bodies of about
// expect bytes, the last one's size, need no more room than that.
func (b *packedBody) readFrom(r io.Reader, size, expect int) error {
	buf := make([]byte, min(size, max(expect+expect/16, 4096)))
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			b.add(buf[:n])
		}
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		case err != nil:
			return err
		}
		if len(buf) < size {
			buf = make([]byte, size) // larger than the last
		}
	}
}

// add packs one chunk.
func (b *packedBody) add(chunk []byte) {
	b.packed = bodyEncoder.EncodeAll(chunk, b.packed)
	b.frames = append(b.frames, frame{end: len(b.packed), n: len(chunk)})
	b.n += len(chunk)
}

// unpack appends frame i's text to dst.
func (b *packedBody) unpack(i int, dst []byte) ([]byte, error) {
	start := 0
	if i > 0 {
		start = b.frames[i-1].end
	}
	out, err := bodyDecoder.DecodeAll(b.packed[start:b.frames[i].end], dst)
	if err != nil {
		return nil, fmt.Errorf("decompressing the scrape's body: %w", err)
	}
	if len(out)-len(dst) != b.frames[i].n {
		return nil, fmt.Errorf("a chunk of the scrape's body decompressed to %d bytes, not %d", len(out)-len(dst), b.frames[i].n)
	}
	return out, nil
}

// open returns the whole text.
func (b *packedBody) open() ([]byte, error) {
	raw := make([]byte, 0, b.n)
	for i := range b.frames {
		var err error
		if raw, err = b.unpack(i, raw); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// eofLine ends each chunk of an OpenMetrics body but its last, as the
// parser requires.
var eofLine = []byte("# EOF\n")

// newChunk returns an empty buffer for n bytes of a body.
var newChunk = func(n int) []byte { return make([]byte, 0, n) }

// chunker hands out a packed body's text a chunk at a time, each ending at
// a line's end and in a buffer of its own, which the points read their
// attributes from. A chunk that starts within a family starts with the
// last TYPE line parsed (typeLine, which the parsing sets): that is all
// Prometheus's text parsers keep from one line to the next.
type chunker struct {
	body     *packedBody
	frame    int    // the next frame to unpack
	pos      int    // where carry starts in the body
	carry    []byte // the text after the last chunk
	typeLine []byte
	// whole is set once the rest of the body is to be one chunk.
	whole bool
}

type chunk struct {
	text []byte // nil after the last
	base int    // where text starts in the body
	last bool
}

func (c *chunker) next() (chunk, error) {
	for c.frame < len(c.body.frames) {
		from, n := c.frame, c.body.frames[c.frame].n
		if c.whole {
			n = c.body.n - c.pos - len(c.carry)
		}
		// Room for an eofLine, or the line break the text parser appends
		// (in place, else to a copy of the whole chunk).
		buf := newChunk(len(c.typeLine) + len(c.carry) + n + len(eofLine))
		buf = append(append(buf, c.typeLine...), c.carry...)
		for c.frame == from || (c.whole && c.frame < len(c.body.frames)) {
			var err error
			if buf, err = c.body.unpack(c.frame, buf); err != nil {
				return chunk{}, err
			}
			c.frame++
		}
		last := c.frame == len(c.body.frames)
		cut := len(buf)
		if !last {
			end, ok := lineEnd(buf[len(c.typeLine):])
			if !ok {
				// The lexers may read on past a line's end here: the
				// rest of the body is parsed whole.
				c.whole, c.frame = true, from
				continue
			}
			if end == 0 {
				c.carry = append(c.carry[:0], buf[len(c.typeLine):]...)
				continue
			}
			cut = len(c.typeLine) + end
		}
		c.carry = append(c.carry[:0], buf[cut:]...)
		base := c.pos - len(c.typeLine)
		c.pos += cut - len(c.typeLine)
		return chunk{text: buf[:cut], base: base, last: last}, nil
	}
	return chunk{}, nil
}

// lineEnd returns where the last whole line of b ends, 0 when there is
// none. It is false when b has a line break within double quotes, where
// the parsers' lexers might read a label value or a quoted name on into
// the next line, or a NUL byte, where they may stop as at the input's
// end. Quotes are counted everywhere, a HELP text's too, so a line's end
// it returns is one to the lexers as well.
func lineEnd(b []byte) (int, bool) {
	if bytes.IndexByte(b, 0) >= 0 {
		return 0, false
	}
	end := 0
	for {
		nl := bytes.IndexByte(b[end:], '\n')
		if nl < 0 {
			return end, true
		}
		if quotedAtEnd(b[end : end+nl]) {
			return 0, false
		}
		end += nl + 1
	}
}

// quotedAtEnd says whether line, which starts outside double quotes,
// ends within them.
func quotedAtEnd(line []byte) bool {
	if bytes.IndexByte(line, '\\') < 0 {
		return bytes.Count(line, []byte{'"'})%2 == 1
	}
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++ // escaped, the line break that may follow too
			}
		}
	}
	return quoted
}
