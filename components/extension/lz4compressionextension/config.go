// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package lz4compressionextension // import "github.com/gatewayz/otelcol-gatewayz/components/extension/lz4compressionextension"

import (
	"fmt"

	"github.com/pierrec/lz4/v4"
)

// blockSizes are the block sizes the LZ4 frame format allows, by name.
var blockSizes = map[string]lz4.BlockSize{
	"64KiB":  lz4.Block64Kb,
	"256KiB": lz4.Block256Kb,
	"1MiB":   lz4.Block1Mb,
	"4MiB":   lz4.Block4Mb,
}

// Config of the lz4compression extension.
type Config struct {
	// BlockSize is the largest block of the frame: 64KiB, 256KiB, 1MiB or
	// 4MiB. Each request being compressed holds about three blocks.
	BlockSize string `mapstructure:"block_size"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate refuses a block size the LZ4 frame format does not have.
func (cfg *Config) Validate() error {
	if _, ok := blockSizes[cfg.BlockSize]; !ok {
		return fmt.Errorf("block_size must be one of 64KiB, 256KiB, 1MiB or 4MiB, got %q", cfg.BlockSize)
	}
	return nil
}
